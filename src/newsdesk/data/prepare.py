"""`newsdesk data prepare`: build, clean, split and write a prepared folder that training reads.

A prepared folder holds `train.jsonl`, `dev.jsonl` (and `test.jsonl` if asked) plus
`manifest.json`: the record type, the source, counts per split and label, source file checksums and what
cleaning repaired or dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

import datasets

from newsdesk.data import builders
from newsdesk.data.clean import CleaningReport, sha256_file
from newsdesk.data.records import LIST_COLUMNS, DataError, features_of, label_column
from newsdesk.data.splits import (
    DEFAULT_SEED,
    split_indices,
    story_keys,
    story_split,
    story_spread,
)

log = logging.getLogger("newsdesk")

MANIFEST = "manifest.json"
SOURCES = ("bbc", "fnc1", "reuters", "table")


def prepare(
    source: str,
    src: str | Path,
    out: str | Path,
    dev: float = 0.15,
    test: float = 0.0,
    seed: int = DEFAULT_SEED,
    columns: dict[str, str] | None = None,
    record_type: str = "article",
    labels: list[str] | None = None,
    unlabelled: bool = False,
    clean: bool = True,
    split_by: str = "story",
) -> dict:
    """Build a corpus from `src`, split it and write the prepared folder `out`.

    Args:
        source: "bbc", "fnc1" or "table".
        src: the corpus folder (bbc, fnc1) or file (table).
        out: the folder to write; created if needed.
        dev, test: held-out fractions (test 0 means no test split).
        seed: split seed.
        columns, record_type, labels: passed to the `table` builder.
        unlabelled: accept a table with no label at all (otherwise a missing label column is an
            error, not a folder of null labels).
        clean: remove page furniture from texts (counted in the manifest's "cleaning").
        split_by: stance pairs only: "story" keeps every claim and every body on one side (pairs
            that would join two sides are written to `apart.jsonl`, see `story_split`); "body"
            only keeps bodies apart, so a claim can be seen in training and again in dev.

    Returns:
        The manifest written to `out/manifest.json`.
    """
    started = time.perf_counter()
    report = CleaningReport()
    src = Path(src)
    if source == "bbc":
        ds = builders.bbc_news_summary(src, report, clean)
    elif source == "fnc1":
        ds = builders.fnc1(src, report, clean)
    elif source == "reuters":
        ds = builders.reuters(src, report, clean)
    elif source == "table":
        ds = builders.table(src, columns=columns, record_type=record_type, labels=labels,
                            report=report, clean=clean)
    else:
        raise DataError(f"unknown source {source!r}; expected one of {list(SOURCES)}")
    record_type = ds.info.description
    label_col = label_column(record_type)
    multi = record_type == "article" and all(v is None for v in ds[label_col]) and any(
        ds["topics"])
    if multi:  # multi-label articles: labels are lists
        label_col = "topics"
    if source == "table" and not unlabelled and all(v is None for v in ds[label_col]):
        wanted = (columns or {}).get(label_col, label_col)
        raise DataError(f"{src}: no labels (column {wanted!r} is missing or empty in every "
                        f"record); map yours with --columns {label_col}=..., or pass "
                        "--unlabelled to prepare unlabelled data")
    group_col = "group" if record_type == "stance" else None
    if split_by not in ("story", "body"):
        raise DataError(f"split_by must be 'story' or 'body', got {split_by!r}")
    fractions = {"dev": dev, **({"test": test} if test else {})}
    try:
        strata = rarest_labels(ds[label_col]) if multi else ds[label_col]
        if group_col and split_by == "story":
            splits = story_split(ds["target"], ds[group_col], strata, fractions, seed)
        else:
            splits = split_indices(strata, ds[group_col] if group_col else None, fractions, seed)
    except ValueError as e:  # scikit-learn's refusals (a label too rare to stratify, ...)
        if isinstance(e, DataError):
            raise
        raise DataError(f"{src}: cannot split {len(ds)} records by {label_col!r} ({e})") from e

    moved: dict[str, str] = {}
    if multi:
        splits, moved = learnable(splits, ds[label_col])
        if moved:
            log.info("%s: a story of each of these categories moved to train, which would "
                     "otherwise lack them (category: the split it left): %s", out, moved)
    unused = [c for c in LIST_COLUMNS if c in ds.column_names and not any(ds[c])]
    ds = ds.remove_columns(unused)  # an empty list column is left out (loading restores it)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, idx in splits.items():
        part = ds.select(idx)
        _write_jsonl(out / f"{name}.jsonl", part)
        found = Counter(lab for labs in part[label_col] for lab in labs or [None]) if multi else \
            Counter(part[label_col])
        counts[name] = {"total": len(part), "labels": dict(sorted(found.items(),
                                                                   key=lambda kv: str(kv[0])))}
        if group_col and split_by == "story" and name != "apart" and len(part):
            counts[name]["stories"] = story_spread(Counter(story_keys(
                list(part["target"]), list(part[group_col]), list(part[label_col]))))
    trained = set(counts["train"]["labels"])
    for name, c in counts.items():
        absent = sorted(str(k) for k in set(c["labels"]) - trained if k is not None)
        if name not in ("train", "apart") and absent:
            log.warning("%s: label(s) %s are in the %s split but not in train; a model trained "
                        "on this folder cannot predict them", out, absent, name)
    manifest = {
        "record_type": record_type,
        "source": source,
        "source_path": str(src.resolve()),
        "label_column": label_col,
        "multi_label": multi,
        "group_column": group_col,
        "split_by": split_by if group_col else None,
        "seed": seed,
        "fractions": fractions,
        "moved_to_train": moved,
        "records": len(ds),
        "splits": counts,
        "cleaning": report.to_dict(),
        "checksums": _checksums(src),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def learnable(splits: dict[str, list[int]], label_lists: list[list[str] | None]
              ) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Multi-label splits where every category has a story in train: for a category whose
    stories all went to held-out splits, the first of them moves to train (a category seen
    once in the whole corpus cannot be scored on one held-out story, and train can learn it).

    Returns:
        (the splits, {category: the split its story came from}).
    """
    splits = {name: list(idx) for name, idx in splits.items()}
    trained = {lab for i in splits["train"] for lab in label_lists[i] or []}
    moved = {}
    for name in [n for n in splits if n not in ("train", "apart")]:
        for i in list(splits[name]):
            missing = set(label_lists[i] or []) - trained
            if missing:
                splits[name].remove(i)
                splits["train"].append(i)
                trained |= missing
                moved |= {lab: name for lab in sorted(missing)}
    return {name: sorted(idx) for name, idx in splits.items()}, moved


def rarest_labels(label_lists: list[list[str] | None]) -> list[str | None]:
    """Each record's rarest label (ties: the first listed), so that a stratified split of
    multi-label records spreads the rare labels over the splits."""
    counts = Counter(lab for labs in label_lists for lab in labs or [])
    return [min(labs, key=lambda lab: counts[lab]) if labs else None for labs in label_lists]


def _write_jsonl(path: Path, ds: datasets.Dataset) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in ds:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _checksums(src: Path) -> dict[str, str]:
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
    base = src.parent if src.is_file() else src
    return {str(p.relative_to(base)): sha256_file(p) for p in files}


def read_manifest(folder: str | Path) -> dict:
    """Read a prepared folder's manifest; a clear error if the folder was not prepared."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise DataError(f"{folder}: not a prepared data folder (no {MANIFEST}); run "
                        "`newsdesk data prepare bbc|fnc1|table SRC --out DIR` first")
    manifest = json.loads(path.read_text())
    if "task" in manifest:  # written before the rename to record_type
        manifest["record_type"] = manifest.pop("task")
    return manifest


def load_prepared(folder: str | Path, split: str = "train") -> datasets.Dataset:
    """Load one split of a prepared folder as a `datasets.Dataset` with the standard columns."""
    manifest = read_manifest(folder)
    path = Path(folder) / f"{split}.jsonl"
    if split not in manifest["splits"] or not path.is_file():
        raise DataError(f"{folder}: no {split!r} split; it has {sorted(manifest['splits'])}")
    features = features_of(manifest["record_type"])
    with open(path, encoding="utf-8") as f:  # folders prepared before a column existed lack it
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [{c: row.get(c) for c in features} for row in rows]
    ds = datasets.Dataset.from_list(rows, features=features)
    ds.info.description = manifest["record_type"]
    return ds
