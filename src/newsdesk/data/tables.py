"""Row-by-row reading of CSV, JSONL and Parquet files, with the location of every row, and of
web pages saved as `.html`/`.htm` files (one file, or a folder of them: one record per page).

Used by the `table` builder and by the batch-analysis job, so both report bad rows the same way:
"<file>, line N" for text formats, "<file>, row N" for Parquet and "<file>" for a page.

A wanted column may name alternatives, "text|html": a table needs one of them.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from newsdesk.data.clean import CleaningReport, decode, read_text
from newsdesk.data.records import DataError

csv.field_size_limit(sys.maxsize)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
PAGE_SUFFIXES = (".html", ".htm")


def table_format(path: Path) -> str:
    """csv, jsonl or parquet from the suffix, or "pages" for an .html/.htm file or a folder."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in PAGE_SUFFIXES:
        return "pages"
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unsupported file type {Path(path).suffix!r}; "
                        f"expected one of {sorted(FORMATS) + list(PAGE_SUFFIXES)} or a folder "
                        "of pages")
    return fmt


def page_files(path: Path) -> list[Path]:
    """The .html/.htm files of a page input: the file itself, or every one under a folder
    (sorted by relative path, so record numbers are stable); a DataError if there are none."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    pages = sorted(p for p in path.rglob("*") if p.suffix.lower() in PAGE_SUFFIXES and p.is_file())
    if not pages:
        raise DataError(f"{path}: no .html or .htm pages in this folder")
    return pages


def page_rows(path: Path) -> Iterator[tuple[int, str, dict | str]]:
    """(number, location, {"id", "html"}) per page; the id is the path under the folder (the
    file name for a single page). A page that cannot be read comes back as its message."""
    path = Path(path)
    for number, page in enumerate(page_files(path), start=1):
        ident = page.name if page == path else page.relative_to(path).as_posix()
        try:
            yield number, str(page), {"id": ident, "html": page.read_bytes()}
        except OSError as e:
            yield number, str(page), f"cannot read file ({e.strerror or e})"


def require_columns(path: Path, found: list[str], wanted: list[str] | None) -> None:
    """One DataError naming the `wanted` columns (or "a|b" alternatives, named "a or b") that
    the columns `found` in `path` lack."""
    missing = [w.replace("|", " or ") for w in wanted or []
               if not any(c in found for c in w.split("|"))]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {found}")


def read_table(path: str | Path, report: CleaningReport | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (location, row dict) for every row of a CSV, JSONL or Parquet file; the first bad row
    raises a DataError naming it. Text that is not UTF-8 is decoded with `decode`'s fallbacks
    (recorded in `report`), as data preparation does for whole files."""
    path = Path(path)
    if table_format(path) == "csv":  # a CSV's encoding is a property of the whole file
        _must_exist(path)
        for line, row in csv_rows(path, read_text(path, report)):
            yield f"{path}, line {line}", row
        return
    for _, where, row in stream_rows(path, report, fallback=True):
        if isinstance(row, str):
            raise DataError(f"{where}: {row}")
        yield where, row


def stream_rows(path: str | Path, report: CleaningReport | None = None, fallback: bool = False,
                wanted: list[str] | None = None) -> Iterator[tuple[int, str, dict | str]]:
    """Stream (row number, location, row dict or error message) for every row, in constant memory.

    A bad row (invalid JSON, not an object, wrong number of CSV fields, bytes that are not UTF-8
    unless `fallback`) comes back as its error message, so a batch job can log it and go on.
    Blank JSONL lines are skipped; a byte-order mark is not part of the first column's name.
    A CSV or Parquet file without the `wanted` columns is one DataError naming them.
    """
    path = Path(path)
    fmt = table_format(path)
    if fmt == "pages":
        yield from page_rows(path)
        return
    _must_exist(path)
    if fmt == "parquet":
        yield from _parquet_rows(path, wanted)
        return
    with open(path, "rb") as raw:
        if fmt == "jsonl":
            for number, line in enumerate(raw, start=1):
                where = f"{path}, line {number}"
                if line.strip():
                    yield number, where, _json_object(line, where, report, fallback)
            return
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        for number, (line, row) in enumerate(csv_rows(path, text, strict=False, wanted=wanted),
                                             start=1):
            where = f"{path}, line {line}"
            if isinstance(row, dict) and any("\udc80" <= ch <= "\udcff" for v in row.values()
                                             for ch in v):
                row = "undecodable bytes (not UTF-8)"
            yield number, where, row


def check_columns(path: str | Path, wanted: list[str]) -> None:
    """A CSV's header or a Parquet file's schema holds the `wanted` columns (JSONL rows are
    checked one by one as they are read); one DataError naming the missing ones otherwise."""
    path = Path(path)
    fmt = table_format(path)
    if fmt == "pages":
        page_files(path)
        return
    _must_exist(path)
    if fmt == "jsonl":
        return
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            found = next(csv.reader(f), [])
    else:
        import pyarrow.parquet as pq

        try:
            found = pq.ParquetFile(path).schema_arrow.names
        except Exception as e:  # pyarrow raises several types for a corrupt file
            raise DataError(f"{path}: cannot read as Parquet ({e})") from e
    require_columns(path, found, wanted)


def _must_exist(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"{path}: no such file")


def csv_rows(path: Path, text, strict: bool = True, wanted: list[str] | None = None
             ) -> Iterator[tuple[int, dict | str]]:
    """(line number, row) for every row of a CSV's `text` (a string or a text stream).

    The header must hold the `wanted` columns. A row with the wrong number of fields raises a
    DataError naming its line when `strict`; otherwise it comes back as the problem's message.
    """
    lines = text.splitlines(keepends=True) if isinstance(text, str) else text
    reader = csv.DictReader(lines)
    header = reader.fieldnames or []
    if not header:
        raise DataError(f"{path}: empty CSV (no header row)")
    require_columns(path, header, wanted)
    for row in reader:
        if None in row or None in row.values():
            problem = f"wrong number of fields (header has {len(header)})"
            if strict:
                raise DataError(f"{path}, line {reader.line_num}: {problem}")
            row = problem
        yield reader.line_num, row


def _json_object(line: bytes, where: str, report: CleaningReport | None, fallback: bool
                 ) -> dict | str:
    """One JSONL line as a dict, or the reason it is not one."""
    try:
        text = decode(line, where, report) if fallback else line.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"undecodable bytes (not UTF-8) at byte {e.start}"
    try:
        row = json.loads(text)
    except json.JSONDecodeError as e:
        return f"not valid JSON ({e.msg} at column {e.colno})"
    return row if isinstance(row, dict) else f"expected a JSON object, found {type(row).__name__}"


def _parquet_rows(path: Path, wanted: list[str] | None = None) -> Iterator[tuple[int, str, dict]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path}: cannot read as Parquet ({e})") from e
    names = pf.schema_arrow.names
    require_columns(path, names, wanted)
    number = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield number, f"{path}, row {number}", row
