"""Multi-label topics: one probability per label, a decision threshold per label, the label lists.

A multi-label model scores every label independently (sigmoid outputs, binary cross-entropy in
training). Which labels an article gets is decided by a threshold per label, tuned on held-out
articles to maximise that label's F1 and pulled toward a shared threshold the fewer positives
it was tuned on; the labels seen too rarely there to tune alone use that shared threshold,
tuned for their pooled F1. When no label reaches its threshold,
`no_label` says what to return: "best" (the highest-scored label alone) or "none" (no label).
"""

from __future__ import annotations

import torch

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
"""Candidate thresholds: 0.05 to 0.95."""

MIN_POSITIVES = 3
"""Held-out articles a label needs before it gets its own threshold."""

SHRINK = 5.0
"""Positives' worth of pull toward the shared threshold: a label tuned on n held-out positives
gets (n * its own best + SHRINK * shared) / (n + SHRINK). Its own best fits the few positives
it saw; the pull trades a little of that fit for thresholds that hold on new articles (on
Reuters, cross-fitted over train's out-of-fold scores for four fold assignments: micro-F1 up on
all four, +0.0004 to +0.0029, macro-F1 on three; `benchmarks/RESULTS.md`)."""

NO_LABEL = ("best", "none")


def multi_hot(label_lists: list[list[str] | None], labels: list[str]) -> torch.Tensor:
    """A (records x labels) 0/1 float matrix; labels outside `labels` are ignored."""
    index = {lab: i for i, lab in enumerate(labels)}
    out = torch.zeros(len(label_lists), len(labels))
    for row, labs in enumerate(label_lists):
        for lab in labs or []:
            if lab in index:
                out[row, index[lab]] = 1.0
    return out


MAX_POSITIVE_WEIGHT = 100.0
"""Cap on a label's positive weight (negatives / positives), so a label seen once stays sane."""


def positive_weights(gold: torch.Tensor, mode: str) -> torch.Tensor:
    """Each label's weight for its positives, from a (records x labels) 0/1 matrix: negatives /
    positives, capped at `MAX_POSITIVE_WEIGHT`, or its square root for mode "sqrt"."""
    positives = gold.sum(0).clamp(min=1)
    w = ((len(gold) - positives) / positives).clamp(max=MAX_POSITIVE_WEIGHT)
    return w.sqrt() if mode == "sqrt" else w


def names_of(on, labels: list[str]) -> list[list[str]]:
    """The label lists of a (records x labels) 0/1 matrix (tensor, array or lists): the
    inverse of `multi_hot`."""
    rows = on.tolist() if hasattr(on, "tolist") else on
    return [[lab for lab, o in zip(labels, row) if o] for row in rows]


def decide(probs: torch.Tensor, thresholds: torch.Tensor, no_label: str = "best") -> torch.Tensor:
    """0/1 decisions: a label is on where its probability reaches its threshold; a row with none
    on gets its best label when `no_label` is "best"."""
    on = probs >= thresholds
    if no_label == "best":
        empty = ~on.any(-1)
        on[empty, probs[empty].argmax(-1)] = True
    return on.float()


def f1_counts(on: torch.Tensor, gold: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per-label true positives, false positives and false negatives."""
    tp = (on * gold).sum(0)
    return tp, (on * (1 - gold)).sum(0), ((1 - on) * gold).sum(0)


def tune_thresholds(probs: torch.Tensor, gold: torch.Tensor, labels: list[str],
                    no_label: str = "best") -> tuple[dict[str, float], float]:
    """Per-label thresholds that maximise each label's F1 on (probs, gold), for the labels with
    at least `MIN_POSITIVES` positives, each pulled toward the shared threshold (`SHRINK`),
    and the shared threshold for the others.

    The shared threshold maximises the pooled F1 of the labels it serves (true and false
    positives summed over them, the tuned labels at their own thresholds): a rare label's
    probabilities sit lower than a frequent one's, so the threshold that suits the frequent
    labels misses most rare positives. Where those labels have no positive here, it maximises
    micro-F1 over all labels.

    Returns:
        ({label: threshold} for the labels tuned on their own, shared threshold).
    """
    own = {}
    positives = gold.sum(0)
    for j, lab in enumerate(labels):
        if positives[j] < MIN_POSITIVES:
            continue
        scores = []
        for t in GRID:
            on = (probs[:, j] >= t).float()
            tp = float((on * gold[:, j]).sum())
            scores.append(2 * tp / max(1.0, float(on.sum() + gold[:, j].sum())))
        own[lab] = _plateau_middle(scores)
    rest = [j for j, lab in enumerate(labels) if lab not in own]
    if rest and positives[rest].sum() > 0:
        scores = []
        for t in GRID:
            on = decide(probs, threshold_vector(labels, own, t), no_label)[:, rest]
            scores.append(micro_f1(on, gold[:, rest]))
        return _pulled(own, positives, labels, _plateau_middle(scores))
    best_global, best_micro = 0.5, -1.0
    for t in GRID:
        micro = micro_f1(decide(probs, torch.full((len(labels),), t), no_label), gold)
        if micro > best_micro + 1e-9:
            best_global, best_micro = t, micro
    return _pulled(own, positives, labels, best_global)


def _pulled(own: dict[str, float], positives: torch.Tensor, labels: list[str], shared: float
            ) -> tuple[dict[str, float], float]:
    """(own thresholds pulled toward `shared` by `SHRINK`, shared)."""
    index = {lab: j for j, lab in enumerate(labels)}
    pulled = {}
    for lab, t in own.items():
        n = float(positives[index[lab]])
        pulled[lab] = round((n * t + SHRINK * shared) / (n + SHRINK), 4)
    return pulled, shared


def micro_f1(on: torch.Tensor, gold: torch.Tensor) -> float:
    """F1 of 0/1 decisions against 0/1 targets, counts pooled over every label."""
    tp, fp, fn = (count.sum() for count in f1_counts(on, gold))
    return float(2 * tp / max(1.0, float(2 * tp + fp + fn)))


def _plateau_middle(scores: list[float]) -> float:
    """The middle of the best plateau of `GRID`'s scores: a threshold not at the edge of its
    range."""
    top = max(scores)
    best = [t for t, s in zip(GRID, scores) if s >= top - 1e-9]
    return best[len(best) // 2]


def threshold_vector(labels: list[str], thresholds: dict[str, float], fallback: float
                     ) -> torch.Tensor:
    return torch.tensor([thresholds.get(lab, fallback) for lab in labels])
