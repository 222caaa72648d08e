"""Recipe: fine-tune the extractive summariser. setup -> label -> train -> save -> evaluate.

Evaluation prints ROUGE for the model beside Lead-3, Lead-k (k matched to the budget ratio) and
the extractive oracle, all through the same code.
"""

from __future__ import annotations

import json
import logging
import random
import statistics
import time
from pathlib import Path

import datasets
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import AutoTokenizer, get_linear_schedule_with_warmup, set_seed

from newsdesk.data.prepare import load_prepared, read_manifest
from newsdesk.data.records import DataError
from newsdesk.data.sentences import split_sentences
from newsdesk.inference.summarize import SummaryPredictor
from newsdesk.models.extractive import SentenceScorer, collate_windows, pack_windows
from newsdesk.models.inputs import Template, encode_texts
from newsdesk.models.loading import resolve_model
from newsdesk.training.card import write_card
from newsdesk.training.config import SummaryConfig, to_dict
from newsdesk.training.distributed import multi_cpu
from newsdesk.training.oracle import oracle_labels
from newsdesk.training.precision import accelerate_precision
from newsdesk.training.rouge import lead, lead_ratio, rouge, word_count

log = logging.getLogger("newsdesk")


def load_summary_splits(config: SummaryConfig) -> tuple[datasets.Dataset, datasets.Dataset]:
    manifest = read_manifest(config.data)
    if manifest["task"] != "article":
        raise DataError(f"{config.data}: prepared for {manifest['task']!r} records; a summariser "
                        "needs article records with summaries")
    train, dev = load_prepared(config.data, "train"), load_prepared(config.data, "dev")
    for name, ds in (("train", train), ("dev", dev)):
        missing = sum(1 for s in ds["summary"] if not s)
        if missing:
            raise DataError(f"{config.data}/{name}.jsonl: {missing} record(s) have no summary")
    if config.max_train_examples:
        train = train.shuffle(seed=config.seed).select(range(min(len(train), config.max_train_examples)))
    if config.max_eval_examples:
        dev = dev.select(range(min(len(dev), config.max_eval_examples)))
    return train, dev


def median_ratio(ds: datasets.Dataset) -> float:
    """The median share of the article's words that the reference summary keeps."""
    return round(statistics.median(word_count(s) / max(1, word_count(t))
                                   for s, t in zip(ds["summary"], ds["text"])), 3)


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
        from newsdesk.training.abstractive import train_abstractive

        return train_abstractive(config, command)
    started = time.perf_counter()
    set_seed(config.seed)
    train, dev = load_summary_splits(config)
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
                              cpu=multi_cpu())
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
            if step >= total_steps:
                break
    bar.close()
    train_seconds = time.perf_counter() - started
    if not accelerator.is_main_process:
        return {}
    model = accelerator.unwrap_model(model)

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    settings = {**to_dict(config), "base_model": config.model, "train_examples": len(train),
                "data_manifest": read_manifest(config.data)["splits"]}
    (out / "newsdesk.json").write_text(json.dumps(settings, indent=2) + "\n")
    (out / "train_log.json").write_text(json.dumps({"loss": losses[::10]}) + "\n")
    metrics = evaluate_summariser(out, dev, out)
    metrics["train_seconds"] = round(train_seconds, 1)
    write_card(out, settings, _flat(metrics), command)
    return metrics


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


def evaluate_summariser(folder: Path, ds: datasets.Dataset, out: Path | None = None) -> dict:
    """ROUGE of the saved summariser on `ds`, beside Lead-3, Lead-k and the extractive oracle."""
    predictor = SummaryPredictor.from_pretrained(folder, device="auto")
    if any(not s for s in ds["summary"]):
        raise DataError("evaluation data has records without a summary")
    refs = list(ds["summary"])
    predictions = predictor.summarize(list(ds["text"]))
    split = [split_sentences(t) for t in ds["text"]]
    ratio = predictor.settings.get("ratio") or median_ratio(ds)
    oracle = [" ".join(s for s, y in zip(sents, oracle_labels(sents, split_sentences(r),
                                                              predictor.settings.get("labels", "match")))
                       if y) for sents, r in zip(split, refs)]
    metrics = {
        "model": rouge(refs, predictions),
        "lead3": rouge(refs, [lead(s, 3) for s in split]),
        f"lead_k_ratio_{ratio}": rouge(refs, [lead_ratio(s, ratio) for s in split]),
        "oracle": rouge(refs, oracle),
        "examples": len(refs),
        "mean_words": {"model": statistics.fmean(map(word_count, predictions)) if predictions else 0,
                       "reference": statistics.fmean(map(word_count, refs))},
    }
    print(format_rouge(metrics))
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def format_rouge(metrics: dict) -> str:
    lines = [f"{'system':<22}{'R1':>8}{'R2':>8}{'RLsum':>8}"]
    for name, m in metrics.items():
        if isinstance(m, dict) and "rouge1" in m:
            lines.append(f"{name:<22}{m['rouge1']:>8.2f}{m['rouge2']:>8.2f}{m['rougeLsum']:>8.2f}")
    return "\n".join(lines)


def _flat(metrics: dict) -> dict:
    return {f"{name}_{k}": float(v) for name, m in metrics.items() if isinstance(m, dict)
            for k, v in m.items() if k.startswith("rouge")}
