"""Recipe: fine-tune an abstractive summariser with `Seq2SeqTrainer`.

Any seq2seq checkpoint (BART, T5, Pegasus ...) works; "minilm" warm-starts an encoder-decoder
from the packaged MiniLM (both halves initialised from it, cross-attention new), the offline
option. Sources longer than `max_length` are truncated, and how many were is logged and saved.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
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
from newsdesk.models.folder import AbstractiveSettings
from newsdesk.models.loading import DEFAULT_MODEL, load_kwargs, resolve_model
from newsdesk.training.config import SummaryConfig
from newsdesk.training.evaluation import evaluate_summariser
from newsdesk.training.finish import finish_run, training_arguments
from newsdesk.training.rouge import rouge
from newsdesk.training.splits import load_summary_splits

log = logging.getLogger("newsdesk")


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
    started = time.perf_counter()
    set_seed(config.seed)
    train, dev = load_summary_splits(config.data, config.max_train_examples,
                                     config.max_eval_examples, config.seed)
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

    settings = AbstractiveSettings.from_config(
        config, base_model=config.model, train_examples=len(train), source_truncated=truncated,
        data_manifest=read_manifest(config.data)["splits"],
        data_source=read_manifest(config.data)["source"])
    gen = GenerationConfig(**{**model.generation_config.to_dict(), **settings.generation_kwargs()})
    model.generation_config = gen

    def compute_metrics(pred):
        preds, labels = pred
        preds = np.where(preds < 0, tokenizer.pad_token_id, preds)
        labels = np.where(labels < 0, tokenizer.pad_token_id, labels)
        return rouge(tokenizer.batch_decode(labels, skip_special_tokens=True),
                     tokenizer.batch_decode(preds, skip_special_tokens=True))

    args = training_arguments(config, Seq2SeqTrainingArguments, eval_strategy="epoch",
                              save_strategy="no", predict_with_generate=True,
                              generation_config=gen)
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=train_enc, eval_dataset=dev_enc,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                             processing_class=tokenizer, compute_metrics=compute_metrics)
    trainer.train()

    def save(out: Path) -> None:
        trainer.save_model(str(out))
        tokenizer.save_pretrained(str(out))

    return finish_run(config.output_dir, settings, save,
                      lambda out: evaluate_summariser(out, dev, str(trainer.args.device)),
                      trainer.state.log_history, command, started)
