"""Recipe: fine-tune a topic or stance classifier. setup -> train -> save -> evaluate.

Topic and stance share this path; stance inputs are (target, evidence from the text) pairs.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import Counter
from pathlib import Path

import datasets
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from newsdesk.data.prepare import load_prepared, read_manifest
from newsdesk.data.records import DataError
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.inference.encoding import encode_articles, is_separable
from newsdesk.models.inputs import Template, article_chunks, article_texts, training_inputs
from newsdesk.models.lexical import LexicalModel
from newsdesk.models.loading import load_kwargs, resolve_model
from newsdesk.training.card import write_card
from newsdesk.training.config import ClassifierConfig, to_dict
from newsdesk.training.distributed import multi_cpu
from newsdesk.training.metrics import classification_metrics, format_metrics, plot_confusion
from newsdesk.training.precision import precision_flags

log = logging.getLogger("newsdesk")
CHECKPOINTS = "checkpoints"


class WeightedTrainer(Trainer):
    """A Trainer whose cross-entropy weighs classes (for imbalanced data such as FNC-1)."""

    def __init__(self, *args, class_weights: torch.Tensor | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = self.class_weights.to(outputs.logits.device, outputs.logits.dtype)
        loss = torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weight)
        return (loss, outputs) if return_outputs else loss


def load_splits(config: ClassifierConfig) -> tuple[datasets.Dataset, datasets.Dataset, list[str]]:
    """Read the prepared train/dev splits and check they suit the task; return the label list."""
    manifest = read_manifest(config.data)
    wanted = "stance" if config.task == "stance" else "article"
    if manifest["task"] != wanted:
        raise DataError(f"{config.data}: prepared for {manifest['task']!r} records, but a "
                        f"{config.task} model needs {wanted!r} records")
    column = "label" if config.task == "stance" else "topic"
    train, dev = load_prepared(config.data, "train"), load_prepared(config.data, "dev")
    if any(v is None for v in train[column]):
        raise DataError(f"{config.data}/train.jsonl: some records have no {column!r}")
    labels = sorted(set(train[column]))
    unseen = sorted(set(dev[column]) - set(labels) - {None})
    if unseen:
        raise DataError(f"{config.data}/dev.jsonl: label(s) {unseen} never appear in training "
                        f"(training labels: {labels})")
    if len(labels) < 2:
        raise DataError(f"{config.data}/train.jsonl: need at least 2 labels, found {labels}")
    return train.rename_column(column, "y"), dev.rename_column(column, "y"), labels


def resample(ds: datasets.Dataset, keep: dict[str, float], cap: int, seed: int) -> datasets.Dataset:
    """Keep a seeded fraction of some labels, then cap the total (stratified by label)."""
    rng = random.Random(seed)
    ys = ds["y"]
    idx = [i for i, y in enumerate(ys) if rng.random() < float(keep.get(y, 1.0))]
    if cap and len(idx) > cap:
        by_label: dict[str, list[int]] = {}
        for i in idx:
            by_label.setdefault(ys[i], []).append(i)
        total = len(idx)
        idx = []
        for members in by_label.values():
            rng.shuffle(members)
            idx.extend(members[: max(1, round(cap * len(members) / total))])
        idx.sort()
    return ds.select(idx)


def class_weight_tensor(ys: list[str], labels: list[str], mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = Counter(ys)
    w = torch.tensor([len(ys) / (len(labels) * max(1, counts[lab])) for lab in labels])
    return w.sqrt() if mode == "sqrt" else w


def encode(ds: datasets.Dataset, tokenizer, template, config, label2id) -> datasets.Dataset:
    if config.task == "topic" and config.truncation == "chunks":
        return encode_chunks(ds, tokenizer, template, config, label2id)
    texts = article_texts(ds["title"], ds["text"]) \
        if config.task == "topic" else ds["text"]
    feats = training_inputs(tokenizer, template, texts, config.max_length, config.truncation,
                            targets=ds["target"] if config.task == "stance" else None,
                            evidence=config.evidence)
    for f, y in zip(feats, ds["y"]):
        f["labels"] = label2id[y]
    return datasets.Dataset.from_list(feats)


def encode_chunks(ds: datasets.Dataset, tokenizer, template, config, label2id) -> datasets.Dataset:
    """Every title-prefixed chunk the predictor reads becomes a training example with the
    article's label, so training sees the same inputs as chunked inference."""
    articles = encode_articles(tokenizer, ds["text"], ds["title"], is_separable(tokenizer))
    feats, owners = article_chunks(template, articles, config.max_length, config.chunk_stride,
                                   config.max_chunks)
    ys = ds["y"]
    return datasets.Dataset.from_list([{**f, "labels": label2id[ys[i]]}
                                       for f, i in zip(feats, owners)])


def train_classifier(config: ClassifierConfig, resume: bool = False, command: str = "") -> dict:
    """Fine-tune, save the model folder and evaluate it on the dev split.

    Args:
        config: the resolved config.
        resume: continue from the last checkpoint in `output_dir/checkpoints`.
        command: the command line, recorded in the model card.

    Returns:
        The dev metrics (also written to `metrics.json`).
    """
    started = time.perf_counter()
    set_seed(config.seed)
    out = Path(config.output_dir)
    train, dev, labels = load_splits(config)
    train = resample(train, config.downsample, config.max_train_examples, config.seed)
    dev_epoch = resample(dev, {}, config.max_eval_examples, config.seed)  # for per-epoch checks
    dev = resample(dev, {}, config.final_eval_examples, config.seed)
    log.info("train %d, dev %d (per-epoch %d) examples; labels %s", len(train), len(dev),
             len(dev_epoch), labels)
    label2id = {lab: i for i, lab in enumerate(labels)}

    base = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    template = Template.of(tokenizer)
    train_enc = encode(train, tokenizer, template, config, label2id)
    dev_enc = encode(dev_epoch, tokenizer, template, config, label2id)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id,
        **load_kwargs())

    stance = config.task == "stance"

    def compute_metrics(pred):
        logits, gold = pred
        guess = logits.argmax(-1)
        m = classification_metrics([labels[i] for i in gold], [labels[i] for i in guess], labels,
                                   stance=stance)
        return {k: v for k, v in m.items() if isinstance(v, float)}

    args = TrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=config.primary_metric,
        greater_is_better=True,
        train_sampling_strategy="group_by_length",
        logging_steps=config.logging_steps,
        seed=config.seed,
        report_to="none",
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=multi_cpu(),
        **precision_flags(config.precision),
    )
    callbacks = [EarlyStoppingCallback(config.early_stopping_patience)] \
        if config.early_stopping_patience else []
    trainer = WeightedTrainer(
        model=model, args=args, train_dataset=train_enc, eval_dataset=dev_enc,
        data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
        compute_metrics=compute_metrics, callbacks=callbacks,
        class_weights=class_weight_tensor(train["y"], labels, config.class_weights),
    )
    checkpoint = get_last_checkpoint(args.output_dir) if resume and Path(args.output_dir).is_dir() \
        else None
    if resume and checkpoint is None:
        log.warning("--resume: no checkpoint in %s; starting from the beginning", args.output_dir)
    trainer.train(resume_from_checkpoint=checkpoint)
    if not trainer.is_world_process_zero():
        return {}  # rank 0 alone writes the folder and evaluates
    trainer.save_model(str(out))
    if config.lexical == "tfidf":
        log.info("fitting the TF-IDF model blended with the transformer")
        LexicalModel.fit(article_texts(train["title"], train["text"]), list(train["y"]), labels,
                         config.seed).save(out)
    train_seconds = time.perf_counter() - started
    tokenizer.save_pretrained(str(out))
    (out / "training_args.bin").unlink(missing_ok=True)  # pickled; newsdesk.json has it all
    settings = {"kind": "classifier", **to_dict(config), "labels": labels,
                "base_model": config.model, "train_examples": len(train),
                "data_manifest": read_manifest(config.data)["splits"]}
    (out / "newsdesk.json").write_text(json.dumps(settings, indent=2) + "\n")
    (out / "train_log.json").write_text(json.dumps(trainer.state.log_history, indent=1) + "\n")
    metrics = evaluate_classifier(out, dev, labels, device=str(trainer.args.device))
    metrics["train_seconds"] = round(train_seconds, 1)
    metrics["epochs_run"] = trainer.state.epoch
    save_metrics(out, metrics, "dev")
    write_card(out, settings, metrics, command)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    return metrics


def evaluate_classifier(folder: Path, ds: datasets.Dataset, labels: list[str] | None = None,
                        device: str = "auto") -> dict:
    """Evaluate a saved classifier on a split whose label column is `y` (chunked for topic).

    For a topic model that blends a lexical model, the metrics are the blend's, with the
    accuracy and macro-F1 of each part alone under "model_only" and "words_only"."""
    predictor = ClassifierPredictor.from_pretrained(folder, device=device)
    labels = labels or predictor.labels
    unseen = sorted(set(ds["y"]) - set(predictor.labels))
    if unseen:
        raise DataError(f"evaluation data has label(s) {unseen} the model was not trained on "
                        f"(model labels: {predictor.labels})")
    gold = list(ds["y"])
    if predictor.task == "stance":
        preds = predictor.predict(list(ds["text"]), targets=ds["target"])
        return classification_metrics(gold, [p["label"] for p in preds], labels, stance=True)
    texts, titles = list(ds["text"]), list(ds["title"])
    encoded = encode_articles(predictor.tokenizer, texts, titles, predictor.separable)
    parts = predictor.topic_probs(encoded, texts, titles)
    guess = {k: [predictor.labels[i] for i in p.argmax(-1).tolist()] for k, p in parts.items()}
    metrics = classification_metrics(gold, guess["blend"], labels)
    if "words" in parts:
        for part in ("model", "words"):
            m = classification_metrics(gold, guess[part], labels)
            metrics[f"{part}_only"] = {k: m[k] for k in ("accuracy", "macro_f1")}
    return metrics


def save_metrics(folder: Path, metrics: dict, split: str) -> None:
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_confusion(metrics, folder / "confusion_matrix.png", title=f"{folder.name} on {split}")
    print(format_metrics(metrics))
