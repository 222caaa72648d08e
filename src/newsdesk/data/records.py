"""Standard records every builder maps its source onto."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

STANCE_LABELS = ("agree", "disagree", "discuss", "unrelated")


class DataError(ValueError):
    """Bad input data: the message names the file, line or column and the problem."""


@dataclass
class Article:
    """One news article. Any field but `id` and `text` may be absent (None)."""

    id: str
    text: str
    title: str | None = None
    topic: str | None = None
    summary: str | None = None


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


def columns_of(task: str) -> list[str]:
    """The standard column names for a task ("article" or "stance")."""
    if task not in RECORD_TYPES:
        raise DataError(f"unknown task {task!r}; expected one of {sorted(RECORD_TYPES)}")
    return [f.name for f in fields(RECORD_TYPES[task])]


def label_column(task: str) -> str:
    """The column that holds the label for a task: `topic` for articles, `label` for stance."""
    return "topic" if task == "article" else "label"


def to_rows(records: list[Article] | list[StancePair]) -> list[dict]:
    return [asdict(r) for r in records]
