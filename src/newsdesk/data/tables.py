"""Row-by-row reading of CSV, JSONL and Parquet files, with the location of every row.

Used by the `table` builder and by the batch-analysis job, so both report bad rows the same way:
"<file>, line N" for text formats and "<file>, row N" for Parquet.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from newsdesk.data.clean import CleaningReport, decode
from newsdesk.data.records import DataError

csv.field_size_limit(sys.maxsize)

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: Path) -> str:
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unsupported file type {Path(path).suffix!r}; "
                        f"expected one of {sorted(FORMATS)}")
    return fmt


def read_table(path: str | Path, report: CleaningReport | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (location, row dict) for every row of a CSV, JSONL or Parquet file."""
    path = Path(path)
    fmt = table_format(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if fmt == "parquet":
        yield from _parquet_rows(path)
        return
    raw = path.read_bytes()
    if fmt == "csv":
        text = decode(raw, str(path), report)
        reader = csv.DictReader(text.splitlines(keepends=True))
        if not reader.fieldnames:
            raise DataError(f"{path}: empty CSV (no header row)")
        for row in reader:
            if None in row or None in row.values():
                raise DataError(f"{path}, line {reader.line_num}: wrong number of fields "
                                f"(header has {len(reader.fieldnames)})")
            yield f"{path}, line {reader.line_num}", row
        return
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        yield f"{path}, line {number}", parse_json_line(line, f"{path}, line {number}", report)


def parse_json_line(line: bytes, where: str, report: CleaningReport | None = None) -> dict:
    """Parse one JSONL line into a dict; a clear error naming `where` otherwise."""
    try:
        row = json.loads(decode(line, where, report))
    except json.JSONDecodeError as e:
        raise DataError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, found {type(row).__name__}")
    return row


def _parquet_rows(path: Path) -> Iterator[tuple[str, dict]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise DataError(f"{path}: cannot read as Parquet ({e})") from e
    number = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            number += 1
            yield f"{path}, row {number}", row
