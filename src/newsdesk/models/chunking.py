"""Long texts: truncation strategies, overlapping chunks and evidence selection.

One implementation, used by training, evaluation and the inference engine alike.
"""

from __future__ import annotations

import re

from newsdesk.data.sentences import split_sentences

STOPWORDS = frozenset(
    """a an the and or but of to in on at for with by from as is are was were be been being it its
    this that these those he she they we you i his her their our your not no has have had do does
    did will would can could should may might says said say after over into about than then so
    up out new more most who what when where which why how all just also""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def truncate(ids: list[int], budget: int, strategy: str = "head") -> list[int]:
    """Cut token ids to `budget`: keep the head, or the head and the tail (a quarter of the budget).

    Args:
        ids: token ids without special tokens.
        budget: the most ids to keep.
        strategy: "head" or "head+tail".
    """
    if len(ids) <= budget:
        return ids
    if strategy == "head":
        return ids[:budget]
    if strategy == "head+tail":
        tail = budget // 4
        return ids[: budget - tail] + ids[len(ids) - tail :]
    raise ValueError(f"unknown truncation strategy {strategy!r}; expected 'head' or 'head+tail'")


def chunk(ids: list[int], budget: int, stride: int) -> list[list[int]]:
    """Overlapping windows of at most `budget` ids covering every id; consecutive windows overlap
    by `stride` ids. A text that fits gives one window.
    """
    if budget <= 0:
        raise ValueError("chunk budget must be positive")
    if not 0 <= stride < budget:
        raise ValueError(f"chunk stride must be in [0, {budget}), got {stride}")
    if len(ids) <= budget:
        return [ids]
    step = budget - stride
    windows = []
    for start in range(0, len(ids), step):
        windows.append(ids[start : start + budget])
        if start + budget >= len(ids):
            break
    return windows


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def select_evidence(target: str, text: str, count_tokens, budget: int,
                    keep_lead: int = 1) -> str:
    """Fill a token budget with the sentences of `text` most relevant to `target`.

    Args:
        target: the claim or headline.
        text: the article body.
        count_tokens: a function giving the token count of a sentence.
        budget: the most tokens to fill.
        keep_lead: how many leading sentences to keep regardless of score.

    Returns:
        The chosen sentences in article order, joined by spaces.
    """
    sentences = split_sentences(text)
    chosen = evidence_indices(target, sentences, [count_tokens(s) for s in sentences], budget,
                              keep_lead)
    return " ".join(sentences[i] for i in chosen)


def evidence_indices(target: str, sentences: list[str], counts: list[int], budget: int,
                     keep_lead: int = 1) -> list[int]:
    """Indices (in article order) of the sentences most relevant to `target` within `budget`.

    Sentences are scored by the share of the target's content words they contain; the first
    `keep_lead` sentences are always kept (they state what the article is about); ties go to
    the earlier sentence.
    """
    wanted = content_words(target)
    ranked = sorted(range(len(sentences)), key=lambda i: (
        i < keep_lead, len(wanted & content_words(sentences[i])) / max(1, len(wanted)), -i),
        reverse=True)
    chosen, used = [], 0
    for i in ranked:
        if used + counts[i] > budget:
            if not chosen:  # one long sentence: keep it, it is cut to the budget later
                chosen.append(i)
                used = budget
            continue
        chosen.append(i)
        used += counts[i]
    return sorted(chosen)
