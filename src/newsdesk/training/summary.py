"""Recipe: fine-tune the extractive summariser. setup -> label -> train -> save -> evaluate.

Evaluation prints ROUGE for the model beside Lead-3, Lead-k (k matched to the budget ratio) and
the extractive oracle, all through the same code.
"""

from __future__ import annotations

import logging
import random
import statistics
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import AutoTokenizer, get_linear_schedule_with_warmup, set_seed

from newsdesk.data.prepare import read_manifest
from newsdesk.data.sentences import split_sentences
from newsdesk.models.extractive import SentenceScorer, collate_windows, pack_windows
from newsdesk.models.folder import ExtractiveSettings
from newsdesk.models.inputs import Template, encode_texts
from newsdesk.models.loading import resolve_model
from newsdesk.training.abstractive import train_abstractive
from newsdesk.training.config import SummaryConfig, to_dict
from newsdesk.training.distributed import multi_cpu
from newsdesk.training.evaluation import evaluate_summariser
from newsdesk.training.finish import finish_run
from newsdesk.training.oracle import oracle_labels
from newsdesk.training.precision import accelerate_precision
from newsdesk.training.splits import load_summary_splits, median_ratio

log = logging.getLogger("newsdesk")


def training_windows(ds, tokenizer, template, config):
    """Windows with per-sentence labels for every training article."""
    examples = []
    for text, summary in zip(ds["text"], ds["summary"]):
        sentences = split_sentences(text)
        if not sentences:
            continue
        labels = oracle_labels(sentences, split_sentences(summary), config.labels)
        for w in pack_windows(encode_texts(tokenizer, sentences), template, config.max_length):
            examples.append((w, [labels[s] for s in w.sentences]))
    return examples


def train_summariser(config: SummaryConfig, command: str = "") -> dict:
    """Train the summariser named by `config.kind`, save it and evaluate it on dev."""
    if config.kind == "abstractive":
        return train_abstractive(config, command)
    started = time.perf_counter()
    set_seed(config.seed)
    train, dev = load_summary_splits(config.data, config.max_train_examples,
                                     config.max_eval_examples, config.seed)
    if not config.ratio:
        config.ratio = median_ratio(train)
        log.info("budget ratio learned from training references: %.3f", config.ratio)
    base = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    template = Template.of(tokenizer)
    examples = training_windows(train, tokenizer, template, config)
    positives = sum(sum(lab) for _, lab in examples)
    log.info("train %d articles -> %d windows, %d summary sentences", len(train), len(examples),
             positives)
    model = SentenceScorer.from_encoder(base)
    model.train()
    accelerator = Accelerator(gradient_accumulation_steps=config.grad_accum,
                              mixed_precision=accelerate_precision(config.precision),
                              cpu=multi_cpu(),
                              log_with=None if config.report_to == "none" else config.report_to)
    if config.report_to != "none":
        accelerator.init_trackers("newsdesk-summary", config=to_dict(config))
    ranks = accelerator.num_processes
    steps_per_epoch = -(-len(examples) // (config.batch_size * config.grad_accum * ranks))
    total_steps = max(1, round(steps_per_epoch * config.epochs))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, round(config.warmup_ratio * total_steps),
                                               total_steps)
    model, optimizer = accelerator.prepare(model, optimizer)
    rng = random.Random(config.seed)  # the same on every rank: each takes its share of one order
    pad = tokenizer.pad_token_id or 0
    step, losses = 0, []
    bar = tqdm(total=total_steps, desc="train summary", disable=not accelerator.is_main_process)
    while step < total_steps:
        order = _length_grouped(examples, config.batch_size, rng)
        share = len(order) // ranks  # equal counts, so no rank waits on a gradient sync
        for batch in order[accelerator.process_index : share * ranks : ranks]:
            inputs = collate_windows([examples[i][0] for i in batch], pad,
                                     [examples[i][1] for i in batch])
            with accelerator.accumulate(model):
                loss, _ = model(**{k: v.to(accelerator.device) for k, v in inputs.items()})
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad()
            losses.append(loss.item())
            if not accelerator.sync_gradients:
                continue
            schedule.step()
            step += 1
            bar.update()
            bar.set_postfix(loss=f"{statistics.fmean(losses[-20:]):.4f}")
            if config.report_to != "none" and step % config.logging_steps == 0:
                accelerator.log({"loss": statistics.fmean(losses[-20:])}, step=step)
            if step >= total_steps:
                break
    bar.close()
    if config.report_to != "none":
        accelerator.end_training()
    accelerator.wait_for_everyone()
    scorer = accelerator.unwrap_model(model)

    def save(out: Path) -> None:
        scorer.save_pretrained(out)
        tokenizer.save_pretrained(out)

    settings = ExtractiveSettings.from_config(
        config, oracle_labels=config.labels, base_model=config.model, train_examples=len(train),
        data_manifest=read_manifest(config.data)["splits"],
        data_source=read_manifest(config.data)["source"])
    return finish_run(config.output_dir, settings, save,
                      lambda out: evaluate_summariser(out, dev, str(accelerator.device)),
                      {"loss": losses[::10]}, command, started)


def _length_grouped(examples, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of windows of similar length (less padding)."""
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(idx), mega):
        part = sorted(idx[start : start + mega], key=lambda i: len(examples[i][0].input_ids))
        batches.extend(part[j : j + batch_size] for j in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches
