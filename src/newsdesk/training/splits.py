"""Reading a prepared folder's train and dev splits for a task, with clear errors."""

from __future__ import annotations

import logging
import statistics

import datasets

from newsdesk.data.prepare import load_prepared, rarest_labels, read_manifest
from newsdesk.data.splits import split_indices, story_split
from newsdesk.errors import DataError
from newsdesk.models.selection import word_count
from newsdesk.models.tasks import get_task

log = logging.getLogger("newsdesk")


def check_records(data: str, task_name: str) -> dict:
    """The folder's manifest, after checking it holds the records `task_name` trains on."""
    manifest = read_manifest(data)
    task = get_task(task_name)
    if manifest["record_type"] != task.record_type:
        raise DataError(f"{data}: prepared for {manifest['record_type']!r} records, but a "
                        f"{task.name} model needs {task.record_type!r} records")
    return manifest


def load_classifier_splits(data: str, task_name: str, multi_label: bool = False
                           ) -> tuple[datasets.Dataset, datasets.Dataset, list[str]]:
    """Train and dev splits with the label in column `y` (a list of labels for a multi-label
    model, from `topics`), and the sorted label list."""
    check_records(data, task_name)
    column = "topics" if multi_label else get_task(task_name).label_column
    train, dev = load_prepared(data, "train"), load_prepared(data, "dev")
    if any(not v for v in train[column]):
        raise DataError(f"{data}/train.jsonl: some records have no {column!r}"
                        + (" (a multi-label model reads the list column 'topics': prepare "
                           "with `data prepare reuters` or --columns topics=...)"
                           if multi_label else ""))
    flat = (lambda col: [lab for labs in col for lab in labs or []]) if multi_label else list
    labels = sorted(set(flat(train[column])))
    unseen = sorted(set(flat(dev[column])) - set(labels) - {None})
    if unseen and multi_label:  # rare categories: dev may hold one that train lacks
        log.warning("%s/dev.jsonl: label(s) %s never appear in training; they count as missed "
                    "in the dev figures", data, unseen)
    elif unseen:
        raise DataError(f"{data}/dev.jsonl: label(s) {unseen} never appear in training "
                        f"(training labels: {labels})")
    if len(labels) < 2:
        raise DataError(f"{data}/train.jsonl: need at least 2 labels, found {labels}")
    return train.rename_column(column, "y"), dev.rename_column(column, "y"), labels


def load_summary_splits(data: str, max_train: int = 0, max_dev: int = 0, seed: int = 13
                        ) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Train (a seeded sample of `max_train` if set) and dev (the first `max_dev` if set)
    articles, every one with a reference summary."""
    check_records(data, "summary")
    train, dev = load_prepared(data, "train"), load_prepared(data, "dev")
    for name, ds in (("train", train), ("dev", dev)):
        missing = sum(1 for s in ds["summary"] if not s)
        if missing:
            raise DataError(f"{data}/{name}.jsonl: {missing} record(s) have no summary")
    if max_train:
        train = train.shuffle(seed=seed).select(range(min(len(train), max_train)))
    if max_dev:
        dev = dev.select(range(min(len(dev), max_dev)))
    return train, dev


def median_ratio(ds: datasets.Dataset) -> float:
    """The median share of the article's words that the reference summary keeps."""
    return round(statistics.median(word_count(s) / max(1, word_count(t))
                                   for s, t in zip(ds["summary"], ds["text"])), 3)


def carve_validation(train: datasets.Dataset, fraction: float, seed: int, pair: bool,
                     multi_label: bool = False) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Hold a validation slice out of the training split, as `data prepare` holds out dev:
    stance pairs by story (no claim or body on both sides; the unrelated pairs that would join
    the two sides are left out of this run and counted in the log), articles stratified by label.

    Returns:
        (the training part, the validation slice), each with the label in column `y`.
    """
    labels = rarest_labels(train["y"]) if multi_label else list(train["y"])
    if pair:
        parts = story_split(train["target"], train["group"], labels, {"validation": fraction},
                            seed)
        if parts["apart"]:
            log.info("validation slice: %d unrelated pairs join a validation claim to a "
                     "training body (or the reverse) and are left out of this run",
                     len(parts["apart"]))
    else:
        parts = split_indices(labels, None, {"validation": fraction}, seed)
    if not parts["validation"] or not parts["train"]:
        raise DataError(f"validation {fraction} of {len(train)} training examples leaves an "
                        "empty part")
    return train.select(parts["train"]), train.select(parts["validation"])
