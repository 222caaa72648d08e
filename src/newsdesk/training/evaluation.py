"""Evaluating saved model folders: classifiers by accuracy, macro-F1 (and FNC score), summarisers
by ROUGE beside Lead-3, Lead-k and the extractive oracle, all through the predictors users run.

Evaluation runs in fp32 on the folder's own settings, so its figures do not depend on the
machine's fastest precision.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import datasets
import torch

from newsdesk.data.sentences import split_sentences
from newsdesk.data.splits import story_keys
from newsdesk.errors import DataError
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.inference.options import InferenceOptions
from newsdesk.inference.summarize import SummaryPredictor
from newsdesk.models.confidence import calibration_report, expected_calibration_error, scale
from newsdesk.models.multilabel import (
    decide,
    multi_hot,
    names_of,
    threshold_vector,
    tune_thresholds,
)
from newsdesk.models.selection import word_count
from newsdesk.models.tasks import Task
from newsdesk.training.metrics import (
    MULTI_LABEL_METRICS,
    classification_metrics,
    format_metrics,
    multilabel_metrics,
    plot_confusion,
)
from newsdesk.training.oracle import oracle_labels
from newsdesk.training.rouge import lead, lead_ratio, rouge
from newsdesk.training.splits import median_ratio

REFERENCE = InferenceOptions(precision="fp32", cascade=1.0)  # the whole article, in fp32


def evaluate_classifier(folder: str | Path, ds: datasets.Dataset, labels: list[str] | None = None,
                        device: str = "auto", fit_temperature: bool = False) -> dict:
    """Evaluate a saved classifier on a split whose label column is `y` (chunked for topic).

    For a topic model that blends a lexical model, the metrics are the blend's, with the
    accuracy and macro-F1 of each part alone under "model_only" and "words_only" (a stance model
    that combines word-overlap features: the transformer's alone under "model_only").

    "calibration" reports the expected calibration error of the scores users get (the folder's
    temperature applied). With `fit_temperature` (after training, on dev) the temperature is
    fitted on this split instead and the ECE is reported before and after (`models.confidence`);
    the caller records it in the folder."""
    predictor = ClassifierPredictor.from_pretrained(folder, REFERENCE, device=device)
    task = predictor.task
    labels = labels or predictor.labels
    gold, parts = classifier_parts(predictor, ds)
    fnc = "fnc_score" in task.metrics
    if predictor.settings.multi_label:
        return evaluate_multilabel(predictor, gold, parts, fit_thresholds=fit_temperature)
    guess = {k: [predictor.labels[i] for i in p.argmax(-1).tolist()] for k, p in parts.items()}
    stories = story_keys(list(ds["target"]), list(ds["group"]), gold) \
        if task.pair and "group" in ds.column_names and None not in ds["group"] else None
    metrics = classification_metrics(gold, guess["blend"], labels, fnc=fnc, groups=stories)
    if predictor.lexical is not None:
        for part in ("model", "words"):
            if part not in parts:
                continue
            m = classification_metrics(gold, guess[part], labels)
            metrics[f"{part}_only"] = {k: m[k] for k in ("accuracy", "macro_f1")}
    index = torch.tensor([predictor.labels.index(y) for y in gold])
    if fit_temperature:
        metrics["calibration"] = calibration_report(parts["blend"], index)
    else:
        temperature = predictor.settings.temperature
        metrics["calibration"] = {"temperature": temperature, "ece": round(
            expected_calibration_error(scale(parts["blend"], temperature), index), 4)}
    return metrics


def classifier_parts(predictor: ClassifierPredictor, ds: datasets.Dataset
                     ) -> tuple[list, dict[str, torch.Tensor]]:
    """The gold labels of a split (column `y`) and the predictor's probabilities on it: "model"
    (the transformer's), "words" (a topic folder's TF-IDF model) and "blend" (what it predicts),
    checking that the split holds no label the model lacks."""
    flat = [lab for y in ds["y"] for lab in (y if isinstance(y, list) else [y])]
    unseen = sorted(set(flat) - set(predictor.labels) - {None})
    if unseen and not predictor.settings.multi_label:  # multi-label: counted as missed
        raise DataError(f"evaluation data has label(s) {unseen} the model was not trained on "
                        f"(model labels: {predictor.labels})")
    texts = list(ds["text"])
    titles = list(ds["title"]) if "title" in ds.column_names else [None] * len(texts)
    encoded = predictor.encode([{"text": t, "title": h} for t, h in zip(texts, titles)])
    if predictor.task.pair:
        return list(ds["y"]), predictor.stance_probs(encoded, texts, list(ds["target"]))
    return list(ds["y"]), predictor.topic_probs(encoded, texts, titles)


def record_fitted(settings, metrics: dict) -> None:
    """Put what `evaluate_classifier(..., fit_temperature=True)` fitted into a classifier
    folder's settings: the per-label thresholds (multi-label) or the confidence temperature."""
    if settings.multi_label:
        settings.thresholds = metrics["thresholds"]["per_label"]
        settings.threshold = metrics["thresholds"]["global"]
    else:
        settings.temperature = metrics["calibration"]["temperature"]


def evaluate_multilabel(predictor, gold: list[list[str]], parts: dict[str, torch.Tensor],
                        fit_thresholds: bool = False) -> dict:
    """Multi-label metrics of the blend (and of each part alone) with the folder's thresholds,
    or with thresholds tuned here (`fit_thresholds`, after training on dev: recorded under
    "thresholds" for the folder). Tuning and scoring on the same split flatters the figures, so
    "crossfit" also gives them with each half's thresholds tuned on the other half."""
    s, labels = predictor.settings, predictor.labels
    y = multi_hot(gold, labels)
    if fit_thresholds:
        per_label, fallback = tune_thresholds(parts["blend"], y, labels, s.no_label)
    else:
        per_label, fallback = s.thresholds, s.threshold

    on = decide(parts["blend"], threshold_vector(labels, per_label, fallback), s.no_label)
    metrics = multilabel_metrics(gold, names_of(on, labels), labels)
    at_half = multilabel_metrics(gold, names_of(decide(parts["blend"], torch.full(
        (len(labels),), 0.5), s.no_label), labels), labels)
    metrics["at_threshold_0.5"] = {k: at_half[k] for k in MULTI_LABEL_METRICS}
    for name, probs in parts.items():
        crossed = multilabel_metrics(
            gold, names_of(crossfit_decisions(probs, y, labels, s.no_label), labels), labels)
        key = "crossfit" if name == "blend" else f"{name}_only"
        metrics[key] = {k: crossed[k] for k in MULTI_LABEL_METRICS}
    metrics["thresholds"] = {"per_label": per_label, "global": fallback,
                             "tuned_here": fit_thresholds}
    return metrics


def crossfit_decisions(probs: torch.Tensor, y: torch.Tensor, labels: list[str], no_label: str
                       ) -> torch.Tensor:
    """Decisions for each half of the rows (alternate rows) with thresholds tuned on the other."""
    on = torch.zeros_like(y)
    halves = [torch.arange(0, len(y), 2), torch.arange(1, len(y), 2)]
    for fit, held in (halves, halves[::-1]):
        per_label, fallback = tune_thresholds(probs[fit], y[fit], labels, no_label)
        on[held] = decide(probs[held], threshold_vector(labels, per_label, fallback), no_label)
    return on


def evaluate_summariser(folder: str | Path, ds: datasets.Dataset, device: str = "auto") -> dict:
    """ROUGE of the saved summariser on `ds`, beside Lead-3, Lead-k and the extractive oracle."""
    predictor = SummaryPredictor.from_pretrained(folder, REFERENCE, device=device)
    if any(not s for s in ds["summary"]):
        raise DataError("evaluation data has records without a summary")
    refs = list(ds["summary"])
    predictions = predictor.summarize(list(ds["text"]))
    split = [split_sentences(t) for t in ds["text"]]
    ratio = getattr(predictor.settings, "ratio", 0.0) or median_ratio(ds)
    rule = getattr(predictor.settings, "oracle_labels", "match")
    oracle = [" ".join(s for s, y in zip(sents, oracle_labels(sents, split_sentences(r), rule)) if y)
              for sents, r in zip(split, refs)]
    return {
        "model": rouge(refs, predictions),
        "lead3": rouge(refs, [lead(s, 3) for s in split]),
        f"lead_k_ratio_{ratio}": rouge(refs, [lead_ratio(s, ratio) for s in split]),
        "oracle": rouge(refs, oracle),
        "examples": len(refs),
        "mean_words": {"model": statistics.fmean(map(word_count, predictions)) if predictions else 0,
                       "reference": statistics.fmean(map(word_count, refs))},
    }


def save_metrics(folder: str | Path, metrics: dict, split: str, task: Task) -> Path:
    """Write `metrics.json` (and the confusion matrix PNG for classifiers) and print a table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2) + "\n")
    if task.output == "text":
        print(format_rouge(metrics))
    else:
        if "confusion_matrix" in metrics:
            plot_confusion(metrics, folder / "confusion_matrix.png",
                           title=f"{folder.name} on {split}")
        print(format_metrics(metrics))
    return path


def format_rouge(metrics: dict) -> str:
    lines = [f"{'system':<22}{'R1':>8}{'R2':>8}{'RLsum':>8}"]
    for name, m in metrics.items():
        if isinstance(m, dict) and "rouge1" in m:
            lines.append(f"{name:<22}{m['rouge1']:>8.2f}{m['rouge2']:>8.2f}{m['rougeLsum']:>8.2f}")
    return "\n".join(lines)
