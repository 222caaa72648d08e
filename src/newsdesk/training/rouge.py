"""ROUGE for summaries and the baselines they are judged against (Lead-3, Lead-k).

ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 with stemming, sentences on separate lines (rouge-score).
"""

from __future__ import annotations

from rouge_score import rouge_scorer

from newsdesk.data.sentences import split_sentences
from newsdesk.models.selection import within_budget, word_count

KEYS = ("rouge1", "rouge2", "rougeLsum")
_SCORER = rouge_scorer.RougeScorer(list(KEYS), use_stemmer=True)


def rouge(references: list[str], predictions: list[str]) -> dict[str, float]:
    """Mean F1 (x100) over pairs; texts are split into sentences, one per line."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references for {len(predictions)} predictions")
    totals = dict.fromkeys(KEYS, 0.0)
    for ref, pred in zip(references, predictions):
        scores = _SCORER.score("\n".join(split_sentences(ref)), "\n".join(split_sentences(pred)))
        for k in KEYS:
            totals[k] += scores[k].fmeasure
    n = max(1, len(references))
    return {k: round(100 * v / n, 2) for k, v in totals.items()}


def lead(sentences: list[str], k: int) -> str:
    return " ".join(sentences[:k])


def lead_ratio(sentences: list[str], ratio: float) -> str:
    """Leading sentences up to `ratio` of the article's words (Lead-k with k from the ratio)."""
    words = max(1, round(ratio * sum(map(word_count, sentences))))
    return " ".join(sentences[i] for i in within_budget(sentences, list(range(len(sentences))), words))
