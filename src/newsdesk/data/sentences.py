"""A rule-based sentence splitter that needs no downloaded data.

It handles the cases news text is full of: abbreviations ("Mr. Smith", "Jan. 5"), initials
("J. K. Rowling"), acronyms ("U.S."), decimals and currencies ("$1.13bn"), and quotations
("he said." followed by a quote, or a stop inside closing quotes). Paragraph breaks (newlines)
always end a sentence.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt rev gen col lt sgt capt cmdr gov sen rep pres supt insp
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    inc ltd co corp plc bros dept univ est approx fig vol no nos vs etc cf al e.g i.e""".split()
)

# Words that start sentences: after an acronym such as "U.S." they mark a real boundary.
SENTENCE_STARTERS = frozenset(
    """the a an it he she they we i this that these those there but and however in on at
    his her their its our after before when while if as so yet for mr mrs ms dr""".split()
)

# A candidate boundary: a stop, optional closing quotes/brackets, whitespace, then the start of
# the next sentence (capital, digit or opening quote/bracket).
_BOUNDARY = re.compile(
    r"([.!?]+)([\"'\u2019\u201d)\]]*)(\s+)(?=[\"'\u2018\u201c(\[]*[A-Z0-9\u00c0-\u00de])"
)
_LAST_WORD = re.compile(r"(\S+)$")
_ACRONYM = re.compile(r"^(?:[A-Za-z]\.){2,}$")  # U.S. / e.g.
_NEXT_WORD = re.compile(r"[\"'\u2018\u201c(\[]*([A-Za-z]+)")


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, in order, each stripped; empty input gives [].

    Args:
        text: any text; newlines are treated as hard sentence (paragraph) breaks.

    Returns:
        The sentences; joined with spaces they give back the text up to whitespace.
    """
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if paragraph:
            sentences.extend(_split_paragraph(paragraph))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        stop, closers = m.group(1), m.group(2)
        if stop == "." and not closers and not _is_boundary(paragraph, start, m):
            continue
        end = m.start(3)
        piece = paragraph[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return out


def _is_boundary(paragraph: str, start: int, m: re.Match) -> bool:
    """Decide whether a bare "." followed by space and a capital ends the sentence."""
    word_match = _LAST_WORD.search(paragraph, start, m.start(1))
    word = word_match.group(1) if word_match else ""
    word = word.lstrip("\"'(\u2018\u201c[")
    bare = word.lower().rstrip(".")
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. K. Rowling"
    if bare in ABBREVIATIONS:
        return False
    if _ACRONYM.match(word + "."):
        nxt = _NEXT_WORD.match(paragraph, m.end())
        return bool(nxt) and nxt.group(1).lower() in SENTENCE_STARTERS
    return True
