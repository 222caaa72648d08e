"""The sentence selection rule: which sentences make a summary under its length budget.

The extractive summariser (by score), Lead-k (in article order) and training's evaluation all
use this one rule, so every summary compared is held to the same budget.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")


def word_count(s: str) -> int:
    return len(s.split())


def within_budget(sentences: list[str], order: list[int], words: int,
                  skip: set[int] | None = None) -> list[int]:
    """Take sentences in `order` until `words` words are reached; return them in article order.

    Indices in `skip` are passed over.
    """
    chosen, used = [], 0
    for i in order:
        if used >= words:
            break
        if skip and i in skip:
            continue
        chosen.append(i)
        used += word_count(sentences[i])
    return sorted(chosen)


def trigrams(sentence: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(sentence.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def select_sentences(sentences: list[str], scores: list[float], settings) -> list[int]:
    """Indices of the chosen sentences, in article order, under the folder's budget.

    Args:
        sentences: the article's sentences.
        scores: one score per sentence (higher is better).
        settings: an `ExtractiveSettings` (budget, ratio, sentences, words, trigram_blocking).
    """
    if not sentences:
        return []
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    blocked: set[int] = set()
    if settings.trigram_blocking:
        seen: set[tuple[str, ...]] = set()
        for i in order:  # a sentence repeating a trigram of a better-scored one is skipped
            grams = trigrams(sentences[i])
            if grams & seen:
                blocked.add(i)
            else:
                seen |= grams
    if settings.budget == "sentences":
        return sorted([i for i in order if i not in blocked][: settings.sentences])
    if settings.budget == "words":
        words = settings.words
    else:
        words = max(1, round(settings.ratio * sum(map(word_count, sentences))))
    return within_budget(sentences, order, words, skip=blocked)
