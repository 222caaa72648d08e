"""Text cleaning: decoding with fallbacks, whitespace, summary spacing, duplicates.

Every repair and every drop is counted in a `CleaningReport`, which ends up in the manifest.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

FALLBACK_ENCODINGS = ("utf-8", "cp1252", "latin-1")


@dataclass
class CleaningReport:
    """What cleaning repaired or dropped, per kind of repair."""

    decoded_with_fallback: dict[str, str] = field(default_factory=dict)  # file -> encoding used
    summary_spacing_repairs: int = 0
    whitespace_normalised: int = 0
    duplicates_dropped: list[str] = field(default_factory=list)  # ids of dropped copies
    duplicate_of: dict[str, str] = field(default_factory=dict)  # dropped id -> kept id
    furniture_lines: dict[str, int] = field(default_factory=dict)  # rule -> lines removed
    furniture_texts: list[str] = field(default_factory=list)  # ids of texts the rules changed
    extracted_pages: int = 0  # records whose text came from an `html` column
    dropped: dict[str, list[str]] = field(default_factory=dict)  # reason -> ids of records dropped
    repaired: dict[str, int] = field(default_factory=dict)  # repair -> records repaired

    def drop(self, reason: str, ident: str) -> None:
        """Record a source record left out, and why (it is counted and listed in the manifest)."""
        self.dropped.setdefault(reason, []).append(ident)

    def repair(self, kind: str, n: int = 1) -> None:
        self.repaired[kind] = self.repaired.get(kind, 0) + n

    def count_furniture(self, source: str, counts: dict[str, int]) -> None:
        """Record what the page-furniture rules removed from one text (see data.furniture)."""
        if counts:
            self.furniture_texts.append(source)
            for rule, n in counts.items():
                self.furniture_lines[rule] = self.furniture_lines.get(rule, 0) + n

    def to_dict(self) -> dict:
        return {
            "decoded_with_fallback": dict(sorted(self.decoded_with_fallback.items())),
            "decoding_repairs": len(self.decoded_with_fallback),
            "summary_spacing_repairs": self.summary_spacing_repairs,
            "whitespace_normalised": self.whitespace_normalised,
            "duplicates_dropped": len(self.duplicates_dropped),
            "duplicate_of": dict(sorted(self.duplicate_of.items())),
            "furniture_lines": dict(sorted(self.furniture_lines.items())),
            "furniture_texts": len(self.furniture_texts),
            "furniture_text_ids": sorted(self.furniture_texts),
            "extracted_pages": self.extracted_pages,
            "dropped": {reason: {"count": len(ids), "ids": ids}
                        for reason, ids in sorted(self.dropped.items())},
            "repaired": dict(sorted(self.repaired.items())),
        }


def decode(raw: bytes, source: str, report: CleaningReport | None = None) -> str:
    """Decode bytes as UTF-8, falling back to cp1252 then Latin-1 (which never fails).

    A UTF-8 byte-order mark is removed. The fallback used is recorded against `source`.
    """
    for encoding in FALLBACK_ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-8" and report is not None:
            report.decoded_with_fallback[source] = encoding
        return text.removeprefix("\ufeff")
    raise AssertionError("latin-1 decodes every byte string")


def read_text(path: Path, report: CleaningReport | None = None) -> str:
    """Read a text file with `decode`'s fallbacks; a clear error if it cannot be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise OSError(f"{path}: cannot read file ({e.strerror or e})") from e
    return decode(raw, str(path), report)


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def normalise_whitespace(text: str, keep_paragraphs: bool = True) -> str:
    """NFC-normalise, collapse runs of spaces, strip lines; keep one newline between paragraphs.

    With `keep_paragraphs=False` all whitespace collapses to single spaces.
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if not keep_paragraphs:
        return " ".join(text.split())
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n", "\n".join(line for line in lines if line) + "\n").strip()


# A sentence end glued to the next sentence: "$10.9bn.For", "said.\"It", "now!The".
# The character before the stop is lower case, a digit, % or a closing bracket, so "U.S.A"
# and decimals ("1.13") never match.
_GLUED = re.compile(r"(?<=[a-z0-9%)\]])([.!?])([\"'\u201c\u201d]?)(?=[A-Z\u2018\u201c\"'])")


def repair_sentence_spacing(text: str) -> tuple[str, int]:
    """Insert the missing space after sentence ends ("bn.For" -> "bn. For").

    A straight double quote right after the stop belongs to the sentence before it when it
    closes an open quotation (odd number of quotes so far), and to the next one otherwise.

    Returns:
        The repaired text and the number of spaces inserted.
    """
    out: list[str] = []
    last = 0
    repairs = 0
    for m in _GLUED.finditer(text):
        stop, quote = m.group(1), m.group(2)
        before = text[last : m.start()]
        out.append(before)
        if quote and _closes_quote(text[: m.start()], quote):
            out.append(stop + quote + " ")
        elif quote:
            out.append(stop + " " + quote)
        else:
            out.append(stop + " ")
        last = m.end()
        repairs += 1
    out.append(text[last:])
    return "".join(out), repairs


def _closes_quote(prefix: str, quote: str) -> bool:
    if quote == "\u201d":
        return True
    if quote == "\u201c":
        return False
    return prefix.count(quote) % 2 == 1


def text_key(*parts: str | None) -> str:
    """A digest of the whitespace-normalised, case-folded text, for exact-duplicate detection."""
    joined = "\x1f".join(" ".join((p or "").split()).casefold() for p in parts)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
