"""Standard records every builder maps its source onto."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from newsdesk.errors import DataError

__all__ = ["LIST_COLUMNS", "STANCE_LABELS", "Article", "DataError", "RECORD_TYPES", "StancePair",
           "columns_of", "features_of", "label_column", "to_rows"]

STANCE_LABELS = ("agree", "disagree", "discuss", "unrelated")


@dataclass
class Article:
    """One news article. Any field but `id` and `text` may be absent (None).

    `topic` is its one section (single-label topic models); `topics` its list of subjects
    (multi-label topic models, such as Reuters' categories)."""

    id: str
    text: str
    title: str | None = None
    topic: str | None = None
    summary: str | None = None
    topics: list[str] | None = None


@dataclass
class StancePair:
    """A (target, text) pair: does `text` agree with, disagree with, discuss, or not relate to `target`?

    `group` ties together pairs that share an article body, so splits never cut a group in two.
    """

    id: str
    target: str
    text: str
    label: str | None = None
    group: str | None = None


RECORD_TYPES = {"article": Article, "stance": StancePair}


def columns_of(record_type: str) -> list[str]:
    """The standard column names of a record type ("article" or "stance")."""
    if record_type not in RECORD_TYPES:
        raise DataError(f"unknown record type {record_type!r}; expected one of {sorted(RECORD_TYPES)}")
    return [f.name for f in fields(RECORD_TYPES[record_type])]


LIST_COLUMNS = ("topics",)
"""Standard columns holding a list of labels."""


def features_of(record_type: str):
    """The `datasets.Features` of a record type: strings, and lists of strings for `topics`."""
    import datasets

    return datasets.Features({c: datasets.Sequence(datasets.Value("string")) if c in LIST_COLUMNS
                              else datasets.Value("string") for c in columns_of(record_type)})


def label_column(record_type: str) -> str:
    """The column holding a record type's label: `topic` for articles, `label` for stance pairs."""
    return "topic" if record_type == "article" else "label"


def to_rows(records: list[Article] | list[StancePair]) -> list[dict]:
    return [asdict(r) for r in records]
