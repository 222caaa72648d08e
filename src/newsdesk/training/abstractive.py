"""Recipe: fine-tune an abstractive summariser with `Seq2SeqTrainer`.

Any seq2seq checkpoint (BART, T5, Pegasus ...) works; "minilm" warm-starts an encoder-decoder
from the packaged MiniLM (both halves initialised from it, cross-attention new), the offline
option. Sources longer than `max_length` are truncated, and how many were is logged and saved.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from transformers import (
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    EncoderDecoderModel,
    GenerationConfig,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    set_seed,
)

from newsdesk.data.prepare import read_manifest
from newsdesk.models.loading import DEFAULT_MODEL, load_kwargs, resolve_model
from newsdesk.training.card import write_card
from newsdesk.training.config import SummaryConfig, to_dict
from newsdesk.training.precision import precision_flags
from newsdesk.training.rouge import rouge

log = logging.getLogger("newsdesk")


def generation_kwargs(settings: dict) -> dict:
    """Generation settings from a summariser config (dict form)."""
    return {"num_beams": settings["num_beams"], "min_new_tokens": settings["min_new_tokens"],
            "max_new_tokens": settings["max_new_tokens"],
            "no_repeat_ngram_size": settings["no_repeat_ngram_size"],
            "length_penalty": settings["length_penalty"]}


def load_seq2seq(name: str):
    """A seq2seq model and tokenizer; "minilm" builds a MiniLM-to-MiniLM encoder-decoder."""
    path = resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if name in (None, "", DEFAULT_MODEL):
        model = EncoderDecoderModel.from_encoder_decoder_pretrained(path, path)
        model.config.decoder_start_token_id = tokenizer.cls_token_id
        model.config.pad_token_id = tokenizer.pad_token_id
        model.config.eos_token_id = tokenizer.sep_token_id
        model.generation_config.decoder_start_token_id = tokenizer.cls_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.eos_token_id = tokenizer.sep_token_id
        return model, tokenizer
    return AutoModelForSeq2SeqLM.from_pretrained(path, **load_kwargs()), tokenizer


def train_abstractive(config: SummaryConfig, command: str = "") -> dict:
    """Fine-tune, save with generation settings, evaluate ROUGE on dev (generation at eval)."""
    from newsdesk.training.summary import evaluate_summariser, load_summary_splits

    started = time.perf_counter()
    set_seed(config.seed)
    train, dev = load_summary_splits(config)
    model, tokenizer = load_seq2seq(config.model)

    def tokenize(batch):
        enc = tokenizer(batch["text"], max_length=config.max_length, truncation=True)
        enc["labels"] = tokenizer(text_target=batch["summary"], max_length=config.max_target_length,
                                  truncation=True)["input_ids"]
        return enc

    lengths = [len(ids) for ids in tokenizer(list(train["text"]))["input_ids"]]
    truncated = sum(n > config.max_length for n in lengths)
    log.info("source truncation: %d of %d training articles exceed %d tokens and are cut",
             truncated, len(lengths), config.max_length)
    keep = ["input_ids", "attention_mask", "labels"]
    train_enc = train.map(tokenize, batched=True, remove_columns=train.column_names)
    dev_enc = dev.map(tokenize, batched=True, remove_columns=dev.column_names)
    train_enc = train_enc.select_columns([c for c in keep if c in train_enc.column_names])
    dev_enc = dev_enc.select_columns([c for c in keep if c in dev_enc.column_names])

    gen = GenerationConfig(**{**model.generation_config.to_dict(), **generation_kwargs(to_dict(config))})
    model.generation_config = gen

    def compute_metrics(pred):
        preds, labels = pred
        preds = np.where(preds < 0, tokenizer.pad_token_id, preds)
        labels = np.where(labels < 0, tokenizer.pad_token_id, labels)
        return rouge(tokenizer.batch_decode(labels, skip_special_tokens=True),
                     tokenizer.batch_decode(preds, skip_special_tokens=True))

    args = Seq2SeqTrainingArguments(
        output_dir=str(Path(config.output_dir) / "checkpoints"),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        eval_strategy="epoch",
        save_strategy="no",
        predict_with_generate=True,
        generation_config=gen,
        logging_steps=20,
        seed=config.seed,
        report_to="none",
        dataloader_pin_memory=torch.cuda.is_available(),
        **precision_flags(config.precision),
    )
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=train_enc, eval_dataset=dev_enc,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                             processing_class=tokenizer, compute_metrics=compute_metrics)
    trainer.train()
    train_seconds = time.perf_counter() - started
    out = Path(config.output_dir)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    (out / "training_args.bin").unlink(missing_ok=True)
    settings = {**to_dict(config), "base_model": config.model, "train_examples": len(train),
                "source_truncated": truncated, "data_manifest": read_manifest(config.data)["splits"]}
    (out / "newsdesk.json").write_text(json.dumps(settings, indent=2) + "\n")
    metrics = evaluate_summariser(out, dev, out)
    metrics["train_seconds"] = round(train_seconds, 1)
    write_card(out, settings, {f"model_{k}": float(v) for k, v in metrics["model"].items()}, command)
    return metrics


