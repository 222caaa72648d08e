"""Recipe: fine-tune a topic or stance classifier. setup -> train -> save -> evaluate.

Topic and stance share this path; stance inputs are (target, evidence from the text) pairs.
"""

from __future__ import annotations

import json
import logging
import random
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
    TrainerCallback,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from newsdesk.data.prepare import read_manifest
from newsdesk.errors import DataError
from newsdesk.inference.embed import embed_articles
from newsdesk.models.embedding import MeanPooled
from newsdesk.models.encoding import encode_articles, is_separable
from newsdesk.models.folder import ClassifierSettings, write_settings
from newsdesk.models.inputs import Template, article_chunks, article_texts, training_inputs
from newsdesk.models.lexical import C_GRID, LexicalModel
from newsdesk.models.loading import load_kwargs, resolve_model
from newsdesk.models.multilabel import multi_hot, names_of, positive_weights
from newsdesk.models.relatedness import PairModel
from newsdesk.training.config import ClassifierConfig
from newsdesk.training.distributed import world_size
from newsdesk.training.evaluation import evaluate_classifier, record_fitted
from newsdesk.training.finish import CHECKPOINTS, finish_run, training_arguments
from newsdesk.training.fitting import fit_on_validation, single_article_labels
from newsdesk.training.metrics import classification_metrics, multilabel_metrics, plot_loss
from newsdesk.training.soup import greedy_soup
from newsdesk.training.splits import carve_validation, load_classifier_splits

log = logging.getLogger("newsdesk")

PAD_MULTIPLE = 16
"""Training batches are padded to a multiple of this many tokens: fewer distinct shapes for the
CPU kernels to build and keep (a 165-step Reuters probe: peak RSS 3.0 GB against 3.9 GB, 10%
faster; benchmarks/RESULTS.md)."""
RETRAIN_LOG = "retrain_log.json"
"""The second training's log (`retrain`), beside the first's `train_log.json`."""


def head_parameters(model) -> list[str]:
    """Names of the parameters a sequence classifier adds on top of its pretrained encoder: the
    classification head and the pooler that feeds it (a sentence encoder such as MiniLM was
    tuned through mean pooling, never through BERT's pooler)."""
    prefix = model.base_model_prefix + "."
    return [n for n, _ in model.named_parameters() if not n.startswith(prefix) or ".pooler." in n]


class WeightedTrainer(Trainer):
    """A Trainer whose cross-entropy weighs classes (for imbalanced data such as FNC-1) and
    whose head may learn at its own rate."""

    def __init__(self, *args, class_weights: torch.Tensor | None = None,
                 head_learning_rate: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights
        self.head_learning_rate = head_learning_rate

    def create_optimizer(self, model=None):
        """The Trainer's optimizer, with the head's parameters moved to groups of their own at
        `head_learning_rate` (the scheduler, built afterwards, scales every group alike)."""
        optimizer = super().create_optimizer(model)
        if not self.head_learning_rate or self.head_learning_rate == self.args.learning_rate:
            return optimizer
        named = dict(self.model.named_parameters())
        head = {id(named[n]) for n in head_parameters(self.model)}
        moved = []
        for group in optimizer.param_groups:
            mine = [p for p in group["params"] if id(p) in head]
            group["params"] = [p for p in group["params"] if id(p) not in head]
            if mine:
                moved.append({**group, "params": mine, "lr": self.head_learning_rate})
        for group in moved:
            optimizer.add_param_group(group)
        return optimizer

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = self.class_weights.to(outputs.logits.device, outputs.logits.dtype)
        if labels.dim() == 2:  # multi-label: the weights weigh each label's positives
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                outputs.logits, labels.to(outputs.logits.dtype), pos_weight=weight)
        else:
            loss = torch.nn.functional.cross_entropy(outputs.logits, labels, weight=weight)
        return (loss, outputs) if return_outputs else loss


def resample(ds: datasets.Dataset, keep: dict[str, float], cap: int, seed: int) -> datasets.Dataset:
    """Keep a seeded fraction of some labels, then cap the total (stratified by label)."""
    rng = random.Random(seed)
    ys = [y if isinstance(y, str) or y is None else min(y) for y in ds["y"]]  # a list: its first
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


def class_weight_tensor(ys: list, labels: list[str], mode: str) -> torch.Tensor | None:
    """Cross-entropy weights per class, or for label lists (multi-label) the weight of each
    label's positives: negatives / positives, capped at 100."""
    if mode == "none":
        return None
    if ys and isinstance(ys[0], list):
        return positive_weights(multi_hot(ys, labels), mode)
    counts = Counter(ys)
    w = torch.tensor([len(ys) / (len(labels) * max(1, counts[lab])) for lab in labels])
    return w.sqrt() if mode == "sqrt" else w


def start_at_priors(model, targets: torch.Tensor) -> None:
    """Start each label's output bias at the log-odds of its training frequency, so a multi-label
    model begins at the base rates instead of 0.5 everywhere and spends its first steps learning
    features, not pushing 90 outputs down (Lin et al., 2017, the prior initialisation)."""
    heads = [m for m in model.modules()
             if isinstance(m, torch.nn.Linear) and m.out_features == targets.shape[1]]
    if not heads or heads[-1].bias is None:
        return
    prior = targets.mean(0).clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():
        heads[-1].bias.copy_(torch.log(prior / (1 - prior)))


def encode(ds: datasets.Dataset, tokenizer, template, config, label2id) -> datasets.Dataset:
    """Model inputs with `labels` for a split whose label column is `y`."""
    if config.truncation == "chunks":  # topic only (checked by the config)
        return encode_chunks(ds, tokenizer, template, config, label2id)
    pair = config.task_info.pair
    texts = ds["text"] if pair else article_texts(ds["title"], ds["text"])
    feats = training_inputs(tokenizer, template, texts, config.max_length, config.truncation,
                            targets=ds["target"] if pair else None, evidence=config.evidence)
    for f, y in zip(feats, ds["y"]):
        f["labels"] = target_of(y, label2id)
    return datasets.Dataset.from_list(feats)


def target_of(y, label2id: dict[str, int]):
    """A class index, or for a label list (multi-label) a 0/1 float vector over the labels."""
    if isinstance(y, str):
        return label2id[y]
    return [1.0 if lab in y else 0.0 for lab in label2id]


def encode_chunks(ds: datasets.Dataset, tokenizer, template, config, label2id) -> datasets.Dataset:
    """Every title-prefixed chunk the predictor reads becomes a training example with the
    article's label, so training sees the same inputs as chunked inference."""
    articles = encode_articles(tokenizer, ds["text"], ds["title"], is_separable(tokenizer))
    feats, owners = article_chunks(template, articles, config.max_length, config.chunk_stride,
                                   config.max_chunks)
    ys = ds["y"]
    return datasets.Dataset.from_list([{**f, "labels": target_of(ys[i], label2id)}
                                       for f, i in zip(feats, owners)])


def make_soup(trainer: Trainer, others: list[Trainer], metric: str) -> dict:
    """Average the runs' best weights greedily (`training.soup`), scored by `metric` on the
    trainer's evaluation set (the validation slice), and leave the soup in `trainer.model`.

    Returns:
        The soup's report: each run's score, each trial, the runs kept, and the epochs each ran.
    """
    model = trainer.model
    states = [{k: v.detach().cpu().clone() for k, v in t.model.state_dict().items()}
              for t in [trainer, *others]]

    def score(state) -> float:
        model.load_state_dict(state)
        return trainer.evaluate()[f"eval_{metric}"]

    soup, report = greedy_soup(states, score)
    model.load_state_dict(soup)
    log.info("soup of runs %s: %s %.4f (runs alone %s)", report["kept"], metric,
             report["score"], report["runs"])
    return {**report, "metric": metric,
            "epochs_run": [t.state.epoch for t in [trainer, *others]]}


class StopAfter(TrainerCallback):
    """Stops training at the end of the given epoch (the schedule stays the configured one)."""

    def __init__(self, epochs: float):
        self.epochs = epochs

    def on_epoch_end(self, args, state, control, **kwargs):
        if state.epoch is not None and state.epoch >= self.epochs - 1e-6:
            control.should_training_stop = True
        return control


def kept_epochs(state) -> float:
    """How many epochs had run when the weights training kept were saved (the best epoch on
    the per-epoch checks, else the last)."""
    if state.best_global_step is not None:
        for entry in state.log_history:
            if entry.get("step") == state.best_global_step and "epoch" in entry:
                return round(entry["epoch"], 6)
    return round(state.epoch or 0, 6)


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
    if config.retrain and world_size() > 1:
        # the slice is fitted on rank 0 alone, between the two trainings
        raise DataError("retrain runs in one process: train without torchrun (or accelerate), "
                        "or set retrain: false")
    set_seed(config.seed)
    task = config.task_info
    train, dev, labels = load_classifier_splits(config.data, task.name, config.multi_label)
    validation = None
    if config.validation:
        train, validation = carve_validation(train, config.validation, config.seed, task.pair,
                                             config.multi_label)
    pool = train
    train = resample(pool, config.downsample, config.max_train_examples, config.seed)
    # per-epoch checks (and the best epoch) on the validation slice when there is one
    dev_epoch = resample(dev if validation is None else validation, {}, config.max_eval_examples,
                         config.seed)
    dev = resample(dev, {}, config.final_eval_examples, config.seed)
    log.info("train %d, validation %d, dev %d (per-epoch %d) examples; labels %s", len(train),
             len(validation or []), len(dev), len(dev_epoch), labels)
    label2id = {lab: i for i, lab in enumerate(labels)}

    base = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    template = Template.of(tokenizer)
    dev_enc = encode(dev_epoch, tokenizer, template, config, label2id)
    fnc = "fnc_score" in task.metrics
    primary = "micro_f1" if config.multi_label else task.primary_metric

    def compute_metrics(pred):
        logits, gold = pred
        if config.multi_label:  # per-epoch check at threshold 0.5; dev tunes them at the end
            on = torch.from_numpy(logits).sigmoid() >= 0.5
            m = multilabel_metrics(names_of(gold, labels), names_of(on, labels), labels)
            return {k: v for k, v in m.items() if isinstance(v, float)}
        guess = logits.argmax(-1)
        m = classification_metrics([labels[i] for i in gold], [labels[i] for i in guess], labels,
                                   fnc=fnc)
        return {k: v for k, v in m.items() if isinstance(v, float)}

    def run(k: int, part: datasets.Dataset | None = None,
            epochs: float | None = None) -> WeightedTrainer:
        """Train run k of the soup (run 0 alone without one): its own resample, data order and
        dropout (seed `config.seed + k`), the same start (the head is initialised under
        `config.seed` in every run). With `epochs`, train on `part` instead, on the same
        schedule, stopping after that many epochs, with no checks and no checkpoints (retrain)."""
        if part is None:
            part = train if k == 0 else resample(pool, config.downsample,
                                                 config.max_train_examples, config.seed + k)
        set_seed(config.seed)
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id,
            problem_type="multi_label_classification" if config.multi_label else None,
            **load_kwargs())
        if config.multi_label:
            start_at_priors(model, multi_hot(list(part["y"]), labels))
        folder = Path(config.output_dir) / CHECKPOINTS
        checks = dict(eval_strategy="epoch", save_strategy="epoch", save_total_limit=2,
                      load_best_model_at_end=True, metric_for_best_model=primary,
                      greater_is_better=True) if epochs is None else \
            dict(eval_strategy="no", save_strategy="no")
        args = training_arguments(
            config, train_sampling_strategy="group_by_length",
            output_dir=str(folder if k == 0 and epochs is None else
                           folder / ("retrain" if epochs is not None else f"run-{k}")),
            seed=config.seed + k, **checks)
        callbacks = [EarlyStoppingCallback(config.early_stopping_patience)] \
            if config.early_stopping_patience and epochs is None else []
        if epochs is not None:
            callbacks.append(StopAfter(epochs))
        trainer = WeightedTrainer(
            model=model, args=args, train_dataset=encode(part, tokenizer, template, config,
                                                         label2id),
            eval_dataset=dev_enc if epochs is None else None,
            data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=PAD_MULTIPLE),
            processing_class=tokenizer,
            compute_metrics=compute_metrics, callbacks=callbacks,
            class_weights=class_weight_tensor(part["y"], labels, config.class_weights),
            head_learning_rate=config.head_learning_rate,
        )
        checkpoint = get_last_checkpoint(args.output_dir) \
            if resume and epochs is None and Path(args.output_dir).is_dir() else None
        if resume and epochs is None and checkpoint is None:
            log.warning("--resume: no checkpoint in %s; starting from the beginning",
                        args.output_dir)
        trainer.train(resume_from_checkpoint=checkpoint)
        return trainer

    trainer = run(0)
    extra = {"epochs_run": trainer.state.epoch}
    if config.soup > 1:
        extra["soup"] = make_soup(trainer, [run(k) for k in range(1, config.soup)], primary)
    lexical = vectorizer = embeddings = None
    # the encoder as pretrained, loaded anew (fine-tuning changed the classifier's copy)
    embedder = MeanPooled.from_pretrained(base) if config.lexical_embedding else None
    if config.lexical == "tfidf" and task.pair and trainer.is_world_process_zero():
        vectorizer = PairModel.fit_vectorizer(sorted(set(train["target"]) | set(train["text"])))
    elif config.lexical == "tfidf" and trainer.is_world_process_zero():
        log.info("fitting the TF-IDF model blended with the transformer")
        fit = LexicalModel.fit_multilabel if config.multi_label else LexicalModel.fit
        if embedder is not None:
            embeddings = embed_articles(embedder, tokenizer, list(train["title"]),
                                        list(train["text"]), config.max_length,
                                        str(trainer.args.device))
        options = {"chars": config.lexical_chars, "embeddings": embeddings}
        if validation is not None and not config.multi_label and not single_article_labels(
                list(train["y"]) + list(validation["y"]), False):
            # refitted on the part and the slice, its strength chosen then, once the slice has
            # chosen the weight (`fit_on_validation`): this fit only stands in until then, so
            # it skips the choice (18 of 20 s on the BBC preset)
            options["c"] = C_GRID[2]
        lexical = fit(article_texts(train["title"], train["text"]), list(train["y"]), labels,
                      config.seed, **options)

    def save(out: Path) -> None:
        trainer.save_model(str(out))
        tokenizer.save_pretrained(str(out))
        if lexical is not None:
            lexical.save(out)
        if embedder is not None:
            embedder.save(out)

    settings = ClassifierSettings.from_config(
        config, labels=labels, base_model=config.model, train_examples=len(train),
        data_manifest=read_manifest(config.data)["splits"],
        data_source=read_manifest(config.data)["source"],
        lexical="none" if task.pair else config.lexical,  # stance: set once pairs.json is saved
        blend_space="log_odds" if config.multi_label else "probabilities")
    device = str(trainer.args.device)

    def evaluate(out: Path) -> dict:  # fit on validation (else on dev), then the dev metrics
        if validation is None:
            metrics = evaluate_classifier(out, dev, labels, device, fit_temperature=True)
            record_fitted(settings, metrics)
            write_settings(out, settings)
            return metrics
        fitted = fit_on_validation(out, validation, settings, vectorizer, config.seed, device,
                                   None if task.pair else train, embeddings)
        if config.retrain and not settings.uses_transformer:
            extra["retrained"] = {"skipped": "the slice gave the TF-IDF part the whole blend, "
                                             "so inference does not run the transformer"}
            log.info("not training again: %s", extra["retrained"]["skipped"])
        elif config.retrain:
            # dev's headline figures with the first transformer too: what retraining changed
            first = evaluate_classifier(out, dev, labels, device)
            extra["retrained"] = {**retrain(out), "first_transformer": {
                k: round(first[k], 4) for k in ("accuracy", "macro_f1", "fnc_score") if k in first}}
        return {**evaluate_classifier(out, dev, labels, device), "validation": fitted}

    def retrain(out: Path) -> dict:
        """Train the transformer again on the training part and the slice, for the epochs the
        slice kept, and save it over the first one in `out` (the fitted choices stay)."""
        started = time.perf_counter()
        epochs = kept_epochs(trainer.state)
        both = resample(datasets.concatenate_datasets([pool, validation]), config.downsample,
                        config.max_train_examples, config.seed)
        log.info("training again on the training part and the validation slice (%d examples), "
                 "stopping after epoch %g", len(both), epochs)
        second = run(0, both, epochs)
        second.save_model(str(out))
        (out / "training_args.bin").unlink(missing_ok=True)
        # the first training's log stays (its per-epoch checks chose `epochs`); this one beside it
        (out / RETRAIN_LOG).write_text(json.dumps(second.state.log_history, indent=1) + "\n")
        plot_loss(trainer.state.log_history, out / "loss_curve.png",
                  title=f"{settings.task} training loss", again=second.state.log_history)
        settings.train_examples = len(both)  # what the saved transformer trained on
        write_settings(out, settings)
        return {"examples": len(both), "epochs": round(second.state.epoch, 6),
                "seconds": round(time.perf_counter() - started, 1)}

    return finish_run(config.output_dir, settings, save, evaluate,
                      trainer.state.log_history, command, started,
                      extra=extra)
