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


def select_sentences(sentences: list[str], scores: list[float], settings,
                     grams: list[set] | None = None) -> list[int]:
    """Indices of the chosen sentences, in article order, under the folder's budget.

    Args:
        sentences: the article's sentences.
        scores: one score per sentence (higher is better).
        settings: an `ExtractiveSettings` (budget, ratio, sentences, words, trigram_blocking).
        grams: each sentence's `trigrams`, when the caller selects from the same sentences
            many times; computed here otherwise.
    """
    if not sentences:
        return []
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    blocked: set[int] = set()
    if getattr(settings, "sentences_only", False):
        blocked = unfinished(sentences, settings)
    if settings.trigram_blocking:
        seen: set[tuple[str, ...]] = set()
        for i in order:  # a sentence repeating a trigram of a better-scored one is skipped
            if i in blocked:
                continue
            mine = grams[i] if grams is not None else trigrams(sentences[i])
            if mine & seen:
                blocked.add(i)
            else:
                seen |= mine
    if settings.budget == "sentences":
        return sorted([i for i in order if i not in blocked][: settings.sentences])
    return within_budget(sentences, order, budget_words(sentences, settings), skip=blocked)


def stable_selection(sentences: list[str], scores: list[float], settings, tolerance: float
                     ) -> bool:
    """Whether `select_sentences` would choose the same sentences if any two scores closer than
    `tolerance` swapped places, among the sentences it reads (the better-scored ones down to
    the first it did not need, and any within `tolerance` of that one).

    The choice depends only on the order of the scores, so a small shift of the scores can
    change it only by swapping close neighbours; one swap at a time is tried.
    """
    return not doubtful_sentences(sentences, scores, settings, tolerance)


def doubtful_sentences(sentences: list[str], scores: list[float], settings, tolerance: float,
                       exact: set[int] | frozenset[int] = frozenset()) -> set[int]:
    """The sentences of the swaps that would change the choice (see `stable_selection`); none
    when the choice is stable. Two sentences whose scores are both `exact` (made again in the
    reference precision) cannot swap."""
    grams = [trigrams(s) for s in sentences] if settings.trigram_blocking else None
    chosen = select_sentences(sentences, scores, settings, grams)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    place = {i: k for k, i in enumerate(order)}
    end = max((place[i] for i in chosen), default=0) + 2
    while end < len(order) and scores[order[end - 1]] - scores[order[end]] < tolerance:
        end += 1
    read = order[:end]
    doubtful: set[int] = set()
    for a, i in enumerate(read):
        for j in read[a + 1 :]:
            if scores[i] - scores[j] >= tolerance:
                break  # sorted: the rest are further apart
            if i in exact and j in exact or {i, j} <= doubtful:
                continue
            swapped = list(scores)
            swapped[i], swapped[j] = scores[j], scores[i]
            if select_sentences(sentences, swapped, settings, grams) != chosen:
                doubtful |= {i, j}
    return doubtful


SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


def unfinished(sentences: list[str], settings) -> set[int]:
    """Lines that do not end like a sentence (headings, captions, link text), when the
    sentences that do are enough to fill the budget; otherwise none (an unpunctuated article
    still gets a summary)."""
    lines = {i for i, s in enumerate(sentences) if not SENTENCE_END.search(s)}
    if not lines:
        return set()
    finished = [s for i, s in enumerate(sentences) if i not in lines]
    words = budget_words(sentences, settings)
    enough = len(finished) >= settings.sentences if words is None else \
        sum(map(word_count, finished)) >= words
    return lines if enough else set()


def budget_words(sentences: list[str], settings) -> int | None:
    """The summary's length budget in words (None for a budget in sentences)."""
    if settings.budget == "sentences":
        return None
    if settings.budget == "words":
        return settings.words
    return max(1, round(settings.ratio * sum(map(word_count, sentences))))


LONGEST_SENTENCE = 80
"""Words beyond which a "sentence" is text the splitter found no boundary in."""


def summary_text(sentences: list[str], chosen: list[int], settings) -> str:
    """The chosen sentences, joined. A "sentence" longer than both the word budget and
    LONGEST_SENTENCE words (text without sentence boundaries) is cut to the budget, so an
    unpunctuated article never comes back whole as its own summary; a real one-sentence article
    is its own summary."""
    words = budget_words(sentences, settings)

    def fit(sentence: str) -> str:
        n = word_count(sentence)
        if words is None or n <= max(words, LONGEST_SENTENCE):
            return sentence
        return " ".join(sentence.split()[: max(words, 1)])

    return " ".join(fit(sentences[i]) for i in chosen)
