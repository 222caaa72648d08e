"""Classification metrics: accuracy, macro-F1, per-class scores, confusion matrix, FNC score."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from newsdesk.data.splits import story_spread
from newsdesk.models.confidence import MIN_ERRORS

RELATED = ("agree", "disagree", "discuss")


def fnc_score(gold: list[str], pred: list[str]) -> float:
    """The official FNC-1 score, as a percentage of the best possible score.

    Each pair earns 0.25 if related/unrelated is right, and 0.75 more if a related pair gets its
    exact class among agree/disagree/discuss.
    """
    earned = best = 0.0
    for g, p in zip(gold, pred, strict=True):
        g_related, p_related = g in RELATED, p in RELATED
        best += 1.0 if g_related else 0.25
        if g_related == p_related:
            earned += 0.25
            if g_related and g == p:
                earned += 0.75
    return 100.0 * earned / best if best else 0.0


def classification_metrics(gold: list[str], pred: list[str], labels: list[str],
                           fnc: bool = False, groups: list[str] | None = None) -> dict:
    """Accuracy, macro-F1 (over the classes present in `gold`; `absent_labels` names the others),
    per-class precision/recall/F1/support and the confusion matrix.

    Args:
        gold, pred: label strings.
        labels: the label order for per-class scores and the matrix rows/columns.
        fnc: also compute the FNC score (for tasks whose metrics list it, see `models.tasks`).
        groups: one key per example (a stance pair's story): the bootstrap intervals then
            resample whole groups, since examples of one story are not independent.
    """
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    out = {
        **headline_figures(gold, pred, labels, fnc),
        "absent_labels": absent_labels(gold, labels),
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                            "support": int(s[i])} for i, lab in enumerate(labels)},
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(gold, pred, labels=labels).tolist(),
        "examples": len(gold),
    }
    if gold:
        out["interval_95"] = bootstrap_intervals(gold, pred, labels, fnc, groups=groups)
        out["interval_95_resamples"] = "story" if groups is not None else "example"
    if gold and groups is not None:
        out["stories"] = largest_story(gold, pred, labels, fnc, groups)
    return out


def headline_figures(gold: list[str], pred: list[str], labels: list[str], fnc: bool) -> dict:
    """Accuracy, macro-F1 over the classes present in `gold` (a class absent from the data has no
    F1 to average, not an F1 of 0) and, with `fnc`, the FNC score."""
    absent = absent_labels(gold, labels)
    present = [lab for lab in labels if lab not in absent]
    out = {"accuracy": float(accuracy_score(gold, pred)),
           "macro_f1": float(f1_score(gold, pred, labels=present or labels, average="macro",
                                      zero_division=0))}
    if fnc:
        out["fnc_score"] = fnc_score(gold, pred)
    return out


def absent_labels(gold: list[str], labels: list[str]) -> list[str]:
    """The labels that no example of `gold` has."""
    seen = set(gold)
    return [lab for lab in labels if lab not in seen]


def largest_story(gold: list[str], pred: list[str], labels: list[str], fnc: bool,
                  groups: list[str]) -> dict:
    """How many stories (`groups`) a split holds, the largest one's share of its examples, and
    the figures without that story: on a split of a few dozen stories one of them can hold half
    the pairs (FNC-1's James Foley story holds 56% of the story-disjoint dev split) and decide
    the headline figures alone."""
    sizes = Counter(groups)
    largest = max(sizes, key=sizes.get)
    out = story_spread(sizes)
    rest = [i for i, key in enumerate(groups) if key != largest]
    if rest:
        out["without_largest"] = headline_figures([gold[i] for i in rest],
                                                  [pred[i] for i in rest], labels, fnc)
    return out


BOOTSTRAP_RESAMPLES = 1000


def bootstrap_intervals(gold: list[str], pred: list[str], labels: list[str], fnc: bool = False,
                        resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                        groups: list[str] | None = None) -> dict:
    """95% percentile-bootstrap intervals of accuracy, macro-F1 (and the FNC score): the
    examples (or, given `groups`, whole groups of examples) are resampled with replacement
    `resamples` times (seeded), each resample scored from its confusion matrix.

    Returns:
        {metric: [low, high]}.
    """
    index = {lab: i for i, lab in enumerate(labels)}
    k = len(labels)
    g = np.array([index[x] for x in gold])
    p = np.array([index.get(x, k) for x in pred])  # a prediction outside `labels` is just wrong
    rng = np.random.default_rng(seed)
    cell = g * (k + 1) + p  # each example's confusion cell
    if groups is None:
        draws = rng.integers(0, len(g), size=(resamples, len(g)))
        rows = list(cell[draws])
    else:
        members: dict[str, list[int]] = {}
        for i, key in enumerate(groups):
            members.setdefault(key, []).append(i)
        clusters = [np.array(m) for m in members.values()]
        draws = rng.integers(0, len(clusters), size=(resamples, len(clusters)))
        rows = [cell[np.concatenate([clusters[c] for c in row])] for row in draws]
    confusion = np.stack([np.bincount(row, minlength=k * (k + 1)) for row in rows]).reshape(
        resamples, k, k + 1).astype(float)
    right = confusion[:, np.arange(k), np.arange(k)]
    support, predicted = confusion.sum(2), confusion[:, :, :k].sum(1)
    f1 = np.where(support + predicted > 0, 2 * right / np.maximum(support + predicted, 1), 0.0)
    present = support > 0  # macro-F1 over the classes each resample holds, as above
    figures = {"accuracy": right.sum(1) / confusion.sum((1, 2)),
               "macro_f1": (f1 * present).sum(1) / np.maximum(present.sum(1), 1)}
    if fnc:
        related = np.array([lab in RELATED for lab in labels] + [False])
        best = (confusion.sum(2) * np.where(related[:k], 1.0, 0.25)).sum(1)
        same_side = related[:k, None] == related[None, :]  # (gold, pred) on the same side
        earned = (confusion * same_side).sum((1, 2)) * 0.25 + 0.75 * (right * related[:k]).sum(1)
        figures["fnc_score"] = 100 * earned / np.maximum(best, 1e-9)
    return {name: [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
            for name, v in figures.items()}


MULTI_LABEL_METRICS = ("micro_f1", "macro_f1", "subset_accuracy")
"""Headline metrics of a multi-label model, the primary one first."""


def multilabel_metrics(gold: list[list[str]], pred: list[list[str]], labels: list[str]) -> dict:
    """Micro-F1, macro-F1 (over the labels present in `gold`; `absent_labels` names the others),
    subset accuracy (the exact label set), and per-label precision/recall/F1/support.

    A gold label outside `labels` (one the model never trained on) counts: its stories are
    misses and its F1 (0) is in the macro average; `unseen_labels` names them.
    """
    unseen = sorted({lab for g in gold for lab in g or []} - set(labels))
    labels = list(labels) + unseen
    y = np.array([[lab in g for lab in labels] for g in map(set, gold)], dtype=int)
    x = np.array([[lab in q for lab in labels] for q in map(set, pred)], dtype=int)
    p, r, f, s = precision_recall_fscore_support(y, x, zero_division=0)
    present = [i for i in range(len(labels)) if s[i] > 0]
    tp, fp, fn = (y & x).sum(), ((1 - y) & x).sum(), (y & (1 - x)).sum()
    return {
        "micro_f1": float(2 * tp / max(1, 2 * tp + fp + fn)),
        "macro_f1": float(np.mean(f[present])) if present else 0.0,
        "subset_accuracy": float(np.mean([set(g) == set(q) for g, q in zip(gold, pred)])),
        "absent_labels": [labels[i] for i in range(len(labels)) if s[i] == 0],
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                            "support": int(s[i])} for i, lab in enumerate(labels)},
        "labels": list(labels),
        "unseen_labels": unseen,
        "examples": len(gold),
    }


# Metrics of a blended topic model's parts alone (see `training.evaluation.evaluate_classifier`).
PARTS = {"model_only": "transformer alone", "words_only": "TF-IDF model alone"}


def format_metrics(m: dict) -> str:
    """A short table for the terminal."""
    if "micro_f1" in m:
        head = (f"micro-F1 {m['micro_f1']:.4f}  macro-F1 {m['macro_f1']:.4f}  subset accuracy "
                f"{m['subset_accuracy']:.4f}")
    else:
        head = f"accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}"
    if "fnc_score" in m:
        head += f"  FNC score {m['fnc_score']:.2f}"
    lines = [head + f"  ({m['examples']} examples)"]
    if "interval_95" in m:
        by = m.get("interval_95_resamples", "example")
        lines.append(f"  95% bootstrap intervals (resampling by {by}): " + "  ".join(
            f"{k.replace('_', ' ')} [{lo:.4f}, {hi:.4f}]" for k, (lo, hi) in m["interval_95"].items()))
    if "without_largest" in m.get("stories", {}):
        lines.append(f"  {describe_stories(m['stories'])}")
    if m.get("absent_labels"):
        lines.append(f"  not in the data, so not in macro-F1: {', '.join(m['absent_labels'])}")
    for part, name in PARTS.items():
        if part in m:
            lines.append(f"  {name}: " + "  ".join(f"{k.replace('_', ' ')} {v:.4f}"
                                                   for k, v in m[part].items()))
    if "calibration" in m:
        lines.append("  " + describe_calibration(m["calibration"]))
    if "crossfit" in m:
        lines.append("  thresholds tuned on one half of this split, scored on the other: "
                     + "  ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in m["crossfit"].items()))
    lines.append(f"{'label':<14}{'P':>8}{'R':>8}{'F1':>8}{'n':>7}")
    for lab, c in m["per_class"].items():
        lines.append(f"{lab:<14}{c['precision']:>8.3f}{c['recall']:>8.3f}{c['f1']:>8.3f}"
                     f"{c['support']:>7}")
    return "\n".join(lines)


def describe_stories(stories: dict) -> str:
    """One line from `largest_story`'s figures (which must hold "without_largest")."""
    rest = ", ".join(f"{k.replace('_', ' ')} {v:.4f}" for k, v in stories["without_largest"].items())
    return (f"{stories['count']} stories, the largest {100 * stories['largest_share']:.0f}% of "
            f"the examples; without it: {rest}")


def describe_calibration(c: dict) -> str:
    """One line on confidence calibration (see `models.confidence`)."""
    if "ece_before" not in c:
        return f"calibration: ECE {c['ece']:.4f} at temperature {c['temperature']}"
    crossfit = c.get("ece_after_crossfit")
    few = c.get("errors", MIN_ERRORS) < MIN_ERRORS
    kept = "" if c["temperature"] == c.get("fitted_temperature", c["temperature"]) else \
        f" (not applied: {c.get('errors')} wrong predictions are too few to fit on, so the " \
        "temperature stays 1.0)" if few else \
        " (not applied: it raised the ECE, so the temperature stays 1.0)"
    return (f"calibration: temperature {c.get('fitted_temperature', c['temperature'])} fitted "
            f"here; ECE {c['ece_before']:.4f} before, {c['ece_after']:.4f} after{kept}"
            + (f" ({crossfit:.4f} fitted on one half, scored on the other)" if crossfit is not None
               else ""))


def plot_confusion(m: dict, path: Path, title: str = "") -> None:
    """Write the confusion matrix as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.array(m["confusion_matrix"])
    labels = m["labels"]
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.1 * len(labels) + 1.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def loss_points(log_history: list | dict) -> list[tuple[float, float]]:
    """(step, loss) pairs from a Trainer's log history (dicts with "loss" and "step") or from
    the extractive recipe's log ({"loss": [every 10th step's loss]})."""
    if isinstance(log_history, dict):
        return [(10.0 * i + 1, float(v)) for i, v in enumerate(log_history.get("loss", []))]
    return [(float(e["step"]), float(e["loss"])) for e in log_history
            if "loss" in e and "step" in e]


def plot_loss(log_history: list | dict, path: Path, title: str = "",
              again: list | None = None) -> bool:
    """Write the training loss curve as a PNG; False (and no file) when nothing was logged.
    `again`: a second training's log (`retrain`), drawn beside the first."""
    curves = {"first training": loss_points(log_history),
              "trained again": loss_points(again or [])}
    curves = {name: points for name, points in curves.items() if points}
    if not curves:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, points in curves.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], label=name,
                marker="." if len(points) < 30 else "")
    if len(curves) > 1:
        ax.legend()
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
