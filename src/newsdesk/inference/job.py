"""`newsdesk analyze`: a streaming, resumable batch job over JSONL, CSV or Parquet.

Input is read in windows of records (constant memory); each window is analysed and its results
appended to the output, then a small progress file (`OUTPUT.progress.json`) records how many
input records and how many output bytes are complete. After a crash or kill -9, rerunning the
same command truncates the output to the last complete window and continues after it, so nothing
is lost or duplicated. Bad records go to `OUTPUT.errors.jsonl` with their location and reason.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

from newsdesk.data.tables import check_columns, stream_rows
from newsdesk.errors import DataError
from newsdesk.inference.analyzer import NewsAnalyzer
from newsdesk.inference.jobfiles import (
    OutputLock,
    beside,
    check_paths,
    differences,
    job_signature,
)
from newsdesk.inference.memory import return_freed_memory


class Progress:
    """The job's resumable state, written atomically before the first window and after every
    window: the signature of what decides the results, the engines that produced them, and how
    many records and bytes are complete."""

    def __init__(self, path: Path, signature: dict):
        self.path, self.signature = path, signature
        self.records = self.output_bytes = self.error_bytes = self.errors = 0
        self.engines: dict[str, str] = {}

    def load(self) -> bool:
        if not self.path.is_file():
            return False
        state = json.loads(self.path.read_text())
        old = state.get("signature")
        if old != self.signature:
            changed = differences(old, self.signature) if isinstance(old, dict) else ["all"]
            raise DataError(f"{self.path}: this output was written by a job with other inputs, "
                            f"models or settings (changed: {', '.join(changed)}); resuming would "
                            "mix two kinds of result. Use another --out, or --overwrite to start "
                            "again")
        self.records, self.output_bytes = state["records"], state["output_bytes"]
        self.error_bytes, self.errors = state["error_bytes"], state["errors"]
        self.engines = state.get("engines", {})
        return True

    def save(self, done: bool = False) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"signature": self.signature, "engines": self.engines,
                                   "records": self.records, "output_bytes": self.output_bytes,
                                   "errors": self.errors, "error_bytes": self.error_bytes,
                                   "done": done}))
        os.replace(tmp, self.path)


def check_job(input_path: str | Path, output_path: str | Path) -> None:
    """The checks that need no model: the input exists and has a known format, and the output
    (and its side files) is a JSONL or Parquet path that is not the input."""
    input_path, output_path = Path(input_path), Path(output_path)
    if not input_path.exists():
        raise DataError(f"{input_path}: no such file or folder")
    check_columns(input_path, ["text|html"])
    if output_path.suffix.lower() not in (".jsonl", ".json", ".ndjson", ".parquet", ".pq"):
        raise DataError(f"{output_path}: output must be .jsonl or .parquet")
    partial = beside(output_path, ".partial.jsonl")
    side = [beside(output_path, s) for s in (".errors.jsonl", ".progress.json", ".lock")]
    check_paths(input_path, output_path, partial, *side)
    for held in (output_path, partial):
        OutputLock(held).check()


def run_job(analyzer: NewsAnalyzer, input_path: str | Path, output_path: str | Path,
            targets: list[str] | None = None, window: int = 256, overwrite: bool = False,
            progress_bar: bool = True, errors_path: str | Path | None = None) -> dict:
    """Analyse every record of `input_path` into `output_path` (JSONL), resumably.

    Args:
        analyzer: the loaded models.
        input_path: JSONL, CSV or Parquet with a `text` or `html` column (and optional `id`,
            `title`, `url`), or web pages: an .html/.htm file or a folder of them.
        output_path: JSONL output; `.errors.jsonl` and `.progress.json` files sit beside it.
        targets: claims for the stance model.
        window: records read, sorted and analysed together.
        overwrite: discard an earlier partial output instead of resuming it.
        errors_path: where bad records go (default `OUTPUT.errors.jsonl`).

    Returns:
        {"records", "written", "errors", "seconds", "resumed_from"}.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    check_job(input_path, output_path)
    errors_path = Path(errors_path) if errors_path else beside(output_path, ".errors.jsonl")
    if output_path.suffix.lower() in (".parquet", ".pq"):
        partial = beside(output_path, ".partial.jsonl")
        summary = run_job(analyzer, input_path, partial, targets, window, overwrite, progress_bar,
                          errors_path)
        jsonl_to_parquet(partial, output_path)
        partial.unlink()
        beside(partial, ".progress.json").unlink(missing_ok=True)
        return {**summary, "output": str(output_path)}
    with OutputLock(output_path):
        return _run(analyzer, input_path, output_path, errors_path, targets, window, overwrite,
                    progress_bar)


def _run(analyzer, input_path: Path, output_path: Path, errors_path: Path, targets, window: int,
         overwrite: bool, progress_bar: bool) -> dict:
    state = Progress(beside(output_path, ".progress.json"),
                     job_signature(analyzer, input_path, targets))
    if overwrite:
        for p in (output_path, errors_path, state.path):
            p.unlink(missing_ok=True)
    elif not state.load() and output_path.exists():
        raise DataError(f"{output_path}: exists and is not a resumable newsdesk output; "
                        "use --overwrite or another --out")
    for name, mode in state.engines.items():  # a resumed job keeps the modes it started with
        analyzer.models[name].keep_mode(mode["precision"], mode["max_tokens"],
                                        mode.get("tolerance", 0.0), mode.get("backend", "torch"))
    resumed_from = state.records
    output_path.parent.mkdir(parents=True, exist_ok=True)
    state.save()  # before any output: a kill in the first window leaves a resumable job
    started = time.perf_counter()
    with open(output_path, "ab") as out, open(errors_path, "ab") as err:
        out.truncate(state.output_bytes)  # drop a window that was cut off mid-way
        err.truncate(state.error_bytes)
        bar = tqdm(disable=not progress_bar, unit=" articles", initial=state.records,
                   desc="analyze", dynamic_ncols=True)
        records = (r for r in stream_rows(input_path, wanted=["text|html"]) if r[0] > state.records)

        def next_window():  # read, check and tokenise; runs while the models run the last one
            chunk = _take(records, window)
            good, bad = _validate(chunk, analyzer.article)
            return chunk, good, bad, analyzer.prepare([a for _, a in good])

        with ThreadPoolExecutor(max_workers=1) as reader:
            future = reader.submit(next_window)
            while True:
                chunk, good, bad, prepared = future.result()
                if not chunk:
                    break
                future = reader.submit(next_window)
                results = analyzer.run(prepared, targets) if good else []
                for (position, article), result in zip(good, results):
                    # a missing id gets a fallback no real id can collide with, marked as such
                    generated = article["id"] is None
                    result = {"position": position, **result, "id_generated": generated,
                              "id": f"line:{position}" if generated else article["id"]}
                    out.write((json.dumps(result, ensure_ascii=False) + "\n").encode())
                for record in bad:
                    err.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
                out.flush()
                err.flush()
                os.fsync(out.fileno())
                os.fsync(err.fileno())
                state.records = chunk[-1][0]
                state.engines = {n: {"backend": m.backend.name, "precision": m.precision,
                                     "max_tokens": m.max_tokens, "tolerance": m.tolerance}
                                 for n, m in analyzer.models.items() if not m.pending}
                state.output_bytes, state.error_bytes = out.tell(), err.tell()
                state.errors += len(bad)
                state.save()
                bar.update(len(chunk))
                return_freed_memory()
        bar.close()
    state.save(done=True)
    return {"records": state.records, "errors": state.errors, "resumed_from": resumed_from,
            "seconds": round(time.perf_counter() - started, 2), "output": str(output_path),
            "errors_file": str(errors_path)}


def jsonl_to_parquet(src: Path, dst: Path, batch: int = 5000) -> None:
    """Convert the finished JSONL output to Parquet in batches (constant memory).

    A first pass unifies the batches' schemas (a key or struct field missing from some rows, or
    null in a whole batch, takes its type from the others); the second pass writes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def batches():
        with open(src, encoding="utf-8") as f:
            while True:
                rows = [json.loads(line) for _, line in zip(range(batch), f)]
                if not rows:
                    return
                keys = list(dict.fromkeys(k for r in rows for k in r))  # every key, every row
                yield pa.Table.from_pydict({k: [r.get(k) for r in rows] for k in keys})

    schemas = [table.schema for table in batches()]
    tmp = dst.with_name(dst.name + ".tmp")
    if not schemas:  # no records at all
        pq.write_table(pa.table({"position": pa.array([], pa.int64())}), tmp)
        os.replace(tmp, dst)
        return
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(tmp, schema) as writer:
        for table in batches():
            columns = [table.column(f.name).cast(f.type) if f.name in table.column_names
                       else pa.nulls(table.num_rows, f.type) for f in schema]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    os.replace(tmp, dst)


def _take(it, n: int) -> list:
    out = []
    for item in it:
        out.append(item)
        if len(out) == n:
            break
    return out


def _validate(chunk, article) -> tuple[list, list]:
    good, bad = [], []
    for position, where, row in chunk:
        if isinstance(row, str):
            bad.append({"position": position, "where": where, "error": row})
            continue
        try:
            good.append((position, article(row)))
        except DataError as e:
            ident = row.get("id")
            bad.append({"position": position, "where": where, "error": str(e),
                        "id": str(ident) if isinstance(ident, (str, int)) else None})
    return good, bad
