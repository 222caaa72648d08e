"""Which article sentences belong in the summary: training labels for the extractive summariser.

Where references copy sentences word for word (BBC News Summary), exact matching finds them; a
reference sentence with no exact copy falls back to its closest article sentence by ROUGE-1; for
abstractive references, a greedy ROUGE oracle picks the sentences that best cover the reference.
"""

from __future__ import annotations

import re

from rouge_score import rouge_scorer

_NORM = re.compile(r"\W+")
_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)


def _norm(s: str) -> str:
    return _NORM.sub(" ", s.lower()).strip()


def match_labels(article: list[str], reference: list[str], min_f1: float = 0.6) -> list[int]:
    """1 for each article sentence the reference copies (exactly, else its best ROUGE-1 match)."""
    index: dict[str, int] = {}
    for i, s in enumerate(article):
        index.setdefault(_norm(s), i)
    labels = [0] * len(article)
    for ref in reference:
        i = index.get(_norm(ref))
        if i is None:
            best = max(range(len(article)), default=None,
                       key=lambda j: _SCORER.score(ref, article[j])["rouge1"].fmeasure)
            if best is None or _SCORER.score(ref, article[best])["rouge1"].fmeasure < min_f1:
                continue
            i = best
        labels[i] = 1
    return labels


def greedy_oracle(article: list[str], reference: str, max_sentences: int = 0) -> list[int]:
    """Greedily add the sentence that most raises ROUGE-1 + ROUGE-2 F1; stop when none does."""
    chosen: list[int] = []
    best = 0.0
    limit = max_sentences or len(article)
    while len(chosen) < limit:
        gains = []
        for i in range(len(article)):
            if i in chosen:
                continue
            text = "\n".join(article[j] for j in sorted(chosen + [i]))
            s = _SCORER.score(reference, text)
            gains.append((s["rouge1"].fmeasure + s["rouge2"].fmeasure, i))
        if not gains:
            break
        score, i = max(gains)
        if score <= best:
            break
        best = score
        chosen.append(i)
    return [1 if i in chosen else 0 for i in range(len(article))]


def oracle_labels(article: list[str], reference: list[str], mode: str = "match") -> list[int]:
    """Labels by `mode`: "match" (exact copies, ROUGE fallback) or "greedy" (ROUGE oracle)."""
    if mode == "match":
        labels = match_labels(article, reference)
        if any(labels) or not article:
            return labels
    return greedy_oracle(article, "\n".join(reference))
