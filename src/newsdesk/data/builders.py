"""One builder per corpus source, each returning a `datasets.Dataset` with standard columns.

- `bbc_news_summary(dir)`: BBC News Summary's `News Articles/<topic>/NNN.txt` + `Summaries/...`.
- `fnc1(dir)`: FNC-1 bodies joined with stances on Body ID (train, and competition_test if present).
- `table(path, columns=...)`: a user's CSV, JSONL or Parquet file, with a column mapping.

Builders clean as they read (decoding, whitespace, summary spacing, page furniture unless
`clean=False`), drop exact duplicates and count everything they repair or drop in the
`CleaningReport` passed to them. The furniture rules are the ones inference applies, so a model
reads its training text and its users' text the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

import datasets

from newsdesk.data.clean import (
    CleaningReport,
    normalise_whitespace,
    read_text,
    repair_sentence_spacing,
    text_key,
)
from newsdesk.data.furniture import clean_page_text
from newsdesk.data.pages import extract_article
from newsdesk.data.records import (
    LIST_COLUMNS,
    RECORD_TYPES,
    STANCE_LABELS,
    Article,
    DataError,
    StancePair,
    columns_of,
    features_of,
    label_column,
    to_rows,
)
from newsdesk.data.tables import csv_rows, read_table


def bbc_news_summary(root: str | Path, report: CleaningReport | None = None,
                     clean: bool = True) -> datasets.Dataset:
    """Load BBC News Summary from its publisher's folder layout.

    Args:
        root: the folder holding `News Articles/` and `Summaries/`.
        report: filled with what cleaning repaired or dropped.
        clean: remove page furniture (it changes nothing on this corpus; counted if it did).

    Returns:
        Articles with id "<topic>/<NNN>", title, text, topic and summary.
    """
    report = report if report is not None else CleaningReport()
    root = Path(root)
    articles_dir, summaries_dir = root / "News Articles", root / "Summaries"
    for d in (articles_dir, summaries_dir):
        if not d.is_dir():
            raise DataError(
                f"{root}: not a BBC News Summary folder: missing '{d.name}/' "
                "(wanted 'News Articles/<topic>/NNN.txt' and 'Summaries/<topic>/NNN.txt')"
            )
    topics = sorted(p.name for p in articles_dir.iterdir() if p.is_dir())
    if not topics:
        raise DataError(f"{articles_dir}: no topic folders found")
    records: list[Article] = []
    for topic in topics:
        for path in sorted((articles_dir / topic).glob("*.txt")):
            summary_path = summaries_dir / topic / path.name
            if not summary_path.is_file():
                raise DataError(f"{path}: no matching summary file {summary_path}")
            title, text = _split_title(read_text(path, report), path)
            if clean:
                text = _without_furniture(text, title, f"{topic}/{path.stem}", path, report)
            summary = normalise_whitespace(read_text(summary_path, report), keep_paragraphs=False)
            summary, repairs = repair_sentence_spacing(summary)
            report.summary_spacing_repairs += repairs
            if not summary:
                raise DataError(f"{summary_path}: empty summary")
            records.append(Article(f"{topic}/{path.stem}", text, title, topic, summary))
    if not records:
        raise DataError(f"{articles_dir}: no .txt articles found")
    records = _drop_duplicates(records, lambda r: text_key(r.text), report)
    return _dataset(records, "article")


def _split_title(raw: str, path: Path) -> tuple[str, str]:
    """BBC files: the first line is the title, then a blank line, then the body."""
    text = normalise_whitespace(raw)
    title, _, body = text.partition("\n")
    if not body.strip():
        raise DataError(f"{path}: expected a title line then the article body; found no body")
    return title.strip(), body.strip()


def fnc1(root: str | Path, report: CleaningReport | None = None,
         clean: bool = True) -> datasets.Dataset:
    """Load FNC-1: `train_bodies.csv` joined with `train_stances.csv` on Body ID.

    A `competition_test_bodies.csv`/`competition_test_stances.csv` pair is loaded too when present
    (ids prefixed "test-", groups kept apart from the training bodies). Bodies with identical text
    share one group, so a split never puts the same body text on both sides. Exact duplicate
    (headline, body) pairs are dropped and counted. With `clean`, page furniture is removed from
    the bodies (scraped pages: "Related: ..." links, agency credits, share prompts), counted per
    Body ID.
    """
    report = report if report is not None else CleaningReport()
    root = Path(root)
    pairs: list[StancePair] = []
    found = False
    for prefix in ("train", "competition_test"):
        bodies_path, stances_path = root / f"{prefix}_bodies.csv", root / f"{prefix}_stances.csv"
        if not bodies_path.exists() and not stances_path.exists():
            continue
        for p in (bodies_path, stances_path):
            if not p.is_file():
                raise DataError(f"{p}: missing (FNC-1 needs both {prefix}_bodies.csv and "
                                f"{prefix}_stances.csv)")
        found = True
        pairs.extend(_fnc1_pairs(bodies_path, stances_path, prefix, report, clean))
    if not found:
        raise DataError(f"{root}: no FNC-1 files (wanted train_bodies.csv and train_stances.csv)")
    pairs = _drop_duplicates(pairs, lambda r: text_key(r.target, r.text), report)
    return _dataset(pairs, "stance")


def _fnc1_pairs(bodies_path: Path, stances_path: Path, prefix: str, report: CleaningReport,
                clean: bool):
    tag = "" if prefix == "train" else "test-"
    bodies: dict[str, str] = {}
    group_of_text: dict[str, str] = {}
    group: dict[str, str] = {}
    for line, row in csv_rows(bodies_path, read_text(bodies_path, report),
                              wanted=["Body ID", "articleBody"]):
        body = normalise_whitespace(row["articleBody"])
        if not body:
            raise DataError(f"{bodies_path}, line {line}: empty articleBody for Body ID "
                            f"{row['Body ID']!r}")
        body_id = row["Body ID"].strip()
        if clean:
            body = _without_furniture(body, None, f"body {tag}{body_id}",
                                      f"{bodies_path}, line {line}", report)
        bodies[body_id] = body
        group[body_id] = group_of_text.setdefault(text_key(body), tag + body_id)
    for line, row in csv_rows(stances_path, read_text(stances_path, report),
                              wanted=["Headline", "Body ID", "Stance"]):
        body_id, stance = row["Body ID"].strip(), row["Stance"].strip().lower()
        if body_id not in bodies:
            raise DataError(f"{stances_path}, line {line}: Body ID {body_id!r} is not in "
                            f"{bodies_path.name}")
        if stance not in STANCE_LABELS:
            raise DataError(f"{stances_path}, line {line}: unknown Stance {row['Stance']!r}; "
                            f"expected one of {list(STANCE_LABELS)}")
        headline = normalise_whitespace(row["Headline"], keep_paragraphs=False)
        if not headline:
            raise DataError(f"{stances_path}, line {line}: empty Headline")
        yield StancePair(f"{tag}{line}", headline, bodies[body_id], stance, group[body_id])


REUTERS_CATEGORIES = "categories-90.txt"
_SIGNOFF = re.compile(r"\s*\b(?:Reuter|REUTER)\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def reuters(root: str | Path, report: CleaningReport | None = None,
            clean: bool = True) -> datasets.Dataset:
    """Load Reuters-21578 as `train.jsonl` holds it ({"id", "title", "text", "topics", ...} per
    line, the ModApte train part) into multi-label articles (`topics`).

    Repairs, each counted: the ETX and DEL control characters are removed; the "Reuter"
    sign-off is cut; the fixed-width line wrapping is undone (an indented line or a blank line
    starts a paragraph); BRIEF stories, whose whole text is in the title, take it as their text.
    Left out, each listed by id: UNPROC stories (no title, no text), and stories with none of
    the categories in `categories-90.txt` (the 90 the field reports on; all topics if the file
    is absent). Exact duplicate texts are dropped as in the other builders.
    """
    report = report if report is not None else CleaningReport()
    root = Path(root)
    path = root / "train.jsonl"
    if not path.is_file():
        raise DataError(f"{root}: not a Reuters-21578 folder (no train.jsonl)")
    listed = root / REUTERS_CATEGORIES
    categories = set(read_text(listed).split()) if listed.is_file() else None
    records = []
    for where, row in read_table(path, report):
        ident = str(row.get("id"))
        topics = row.get("topics")
        if not isinstance(topics, list):
            raise DataError(f"{where}: 'topics' should be a list, found {type(topics).__name__}")
        title, text = (_reflow(row.get(k) or "", report) for k in ("title", "text"))
        if not text and title:
            text, title = title, None
            report.repair("brief_text_from_title")
        if not text:
            report.drop("no_text", ident)
            continue
        topics = [t for t in dict.fromkeys(topics) if categories is None or t in categories]
        if not topics:
            report.drop("no_category", ident)
            continue
        if clean:
            text = _without_furniture(text, title, ident, where, report)
        records.append(Article(ident, text, title, topics=topics))
    if not records:
        raise DataError(f"{path}: no stories with text and a category")
    records = _drop_duplicates(records, lambda r: text_key(r.text), report)
    return _dataset(records, "article")


def _reflow(raw: str, report: CleaningReport) -> str:
    """Reuters text: control characters out, sign-off cut, hard-wrapped lines joined into
    paragraphs (a new paragraph starts at an indented or blank line)."""
    text, n = _CONTROL.subn("", raw)
    if n:
        report.repair("control_characters_removed", n)
    text, n = _SIGNOFF.subn("", text)
    if n:
        report.repair("signoff_removed")
    paragraphs = re.split(r"\n\s*\n|\n(?=[ \t]+)", text)
    return normalise_whitespace("\n".join(" ".join(p.split()) for p in paragraphs))


def table(
    path: str | Path,
    columns: dict[str, str] | None = None,
    record_type: str = "article",
    labels: list[str] | None = None,
    report: CleaningReport | None = None,
    clean: bool = True,
) -> datasets.Dataset:
    """Load a user's CSV, JSONL or Parquet file (or web pages) into standard records.

    Args:
        path: the file; its format is taken from the suffix (.csv, .jsonl/.json, .parquet).
        columns: standard column -> column in the file, e.g. {"text": "body", "topic": "section"}.
            Standard columns not mapped are looked up under their own names; `id` defaults to the
            row number.
        record_type: "article" (id, title, text, topic, summary) or "stance" (id, target, text,
            label, group).
        labels: if given, the only labels accepted (anything else is an error naming the row).
        report: filled with what cleaning repaired or dropped.
        clean: remove page furniture from the text. A row with an `html` column and no text is
            a web page: `extract_article` gives its text (and title, unless the row has one);
            an .html/.htm file or a folder of them is read as one such row per page.
    """
    report = report if report is not None else CleaningReport()
    path = Path(path)
    wanted = columns_of(record_type)
    mapping = {c: (columns or {}).get(c, c) for c in wanted}
    unknown = sorted(set(columns or {}) - set(wanted))
    if unknown:
        raise DataError(f"unknown standard column(s) {unknown} in the mapping; the {record_type} "
                        f"columns are {wanted}")
    required = ["text"] + (["target"] if record_type == "stance" else [])
    label_col = label_column(record_type)
    records = []
    for where, row in read_table(path, report):
        page = None
        if row.get(mapping["text"]) is None and row.get("html") is not None:
            page = extract_article(row["html"], row.get("url"), f"{where}: ")
            report.extracted_pages += 1
            row = {**row, mapping["text"]: page["text"]}
            if "title" in mapping and not row.get(mapping["title"]):
                row[mapping["title"]] = page["title"]
        missing = [mapping[c] for c in required if mapping[c] not in row]
        if missing:
            raise DataError(f"{where}: missing column(s) {missing}; found {sorted(row)}, wanted "
                            f"{[mapping[c] for c in required]} (map yours with columns=...)")
        values = {}
        for col in wanted:
            value = row.get(mapping[col])
            if col in LIST_COLUMNS:
                values[col] = label_list(value, where, mapping[col])
                continue
            if value is not None and not isinstance(value, str):
                if isinstance(value, (int, float)) and col in ("id", "group", label_col):
                    value = str(value)
                else:
                    raise DataError(f"{where}: column {mapping[col]!r} should be text, found "
                                    f"{type(value).__name__} {value!r:.60}")
            if value is not None:
                value = normalise_whitespace(value, keep_paragraphs=col == "text")
            values[col] = value or None
        for col in required:
            if not values[col]:
                raise DataError(f"{where}: empty {mapping[col]!r}")
        if values.get("summary"):
            values["summary"], repairs = repair_sentence_spacing(values["summary"])
            report.summary_spacing_repairs += repairs
        for col in (label_col, *LIST_COLUMNS):
            given = values.get(col)
            for label in (given if isinstance(given, list) else [given]):
                if labels is not None and label is not None and label not in labels:
                    raise DataError(f"{where}: unknown label {label!r} in column "
                                    f"{mapping[col]!r}; expected one of {labels}")
        values["id"] = values["id"] or where.rsplit(" ", 1)[-1]
        if page is not None:  # extract_article has run the furniture rules already
            report.count_furniture(values["id"], page["cleaning"])
        elif clean:
            values["text"] = _without_furniture(values["text"], values.get("title"), values["id"],
                                                where, report)
        records.append(RECORD_TYPES[record_type](**values))
    if not records:
        raise DataError(f"{path}: no records")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataError(f"{path}: id {dup!r} appears more than once; ids must be unique")
    key = (lambda r: text_key(r.text)) if record_type == "article" else (
        lambda r: text_key(r.target, r.text))
    records = _drop_duplicates(records, key, report)
    return _dataset(records, record_type)


def label_list(value, where: str, column: str) -> list[str] | None:
    """A list-valued label column: a list of strings, or one string of comma-separated labels
    ("grain, wheat"); labels are stripped and kept once, in order; no labels is None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(f"{where}: column {column!r} should be a list of labels or a "
                        f"comma-separated string, found {type(value).__name__} {value!r:.60}")
    labels = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    return labels or None


def _without_furniture(text: str, title: str | None, ident: str, where, report: CleaningReport
                       ) -> str:
    cleaned, counts = clean_page_text(text, title)
    if not cleaned:
        raise DataError(f"{where}: the text holds only page furniture ({sorted(counts)}); "
                        "nothing is left to train on (pass --keep-furniture to keep it)")
    report.count_furniture(ident, counts)
    return cleaned


def _drop_duplicates(records, key, report: CleaningReport):
    seen: dict[str, str] = {}
    kept = []
    for r in records:
        k = key(r)
        if k in seen:
            report.duplicates_dropped.append(r.id)
            report.duplicate_of[r.id] = seen[k]
            continue
        seen[k] = r.id
        kept.append(r)
    return kept


def _dataset(records, record_type: str) -> datasets.Dataset:
    ds = datasets.Dataset.from_list(to_rows(records), features=features_of(record_type))
    ds.info.description = record_type
    return ds
