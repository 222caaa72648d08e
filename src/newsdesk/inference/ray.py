"""Distributed batch inference on Ray Data (the optional extra `newsdesk[ray]`).

`AnalyzeBatch` is a callable class for `ray.data.Dataset.map_batches`: each Ray actor loads the
models once, then analyses the batches it is given with the same engine as the single-process job.
`analyze_with_ray` reads Parquet, JSONL or CSV through Ray Data, maps it, and writes the results
(and the records that could not be analysed) as folders of Parquet or JSONL files.

    import ray
    from newsdesk.inference.ray import AnalyzeBatch

    ds = ray.data.read_parquet("s3://bucket/articles/")
    out = ds.map_batches(AnalyzeBatch, fn_constructor_kwargs={"topic": "/models/topic"},
                         batch_size=256, batch_format="pyarrow", concurrency=4)
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from newsdesk.data.furniture import RULE_NAMES
from newsdesk.data.pages import PAGE_FIELDS
from newsdesk.data.tables import FORMATS
from newsdesk.errors import DataError, NewsdeskError
from newsdesk.inference.analyzer import NewsAnalyzer
from newsdesk.inference.memory import return_freed_memory
from newsdesk.inference.options import InferenceOptions


def output_schema(analyzer: NewsAnalyzer, targets: list[str] | None) -> pa.Schema:
    """The output columns, fixed up front (labels and targets are known) so every batch agrees,
    even one whose records all failed."""

    def prediction(labels: list[str]) -> pa.DataType:
        return pa.struct([("label", pa.string()),
                          ("scores", pa.struct([(lab, pa.float64()) for lab in labels]))])

    fields = [("id", pa.string())]
    for name, predictor in analyzer.models.items():
        output = predictor.task.output  # see models.tasks
        if output == "prediction" and getattr(predictor.settings, "multi_label", False):
            fields.append((name, pa.struct([
                ("labels", pa.list_(pa.string())),
                ("scores", pa.struct([(lab, pa.float64()) for lab in predictor.labels]))])))
        elif output == "prediction":
            fields.append((name, prediction(predictor.labels)))
        elif output == "per_target" and targets:
            fields.append((name, pa.struct([(t, prediction(predictor.labels)) for t in targets])))
        elif output == "text":
            fields.append((name, pa.string()))
    ran = [n for n, p in analyzer.models.items() if p.task.output != "per_target" or targets]
    fields.append(("engine", pa.struct([(n, pa.string()) for n in ran])))
    fields.append(("cleaning", pa.struct([(rule, pa.int64()) for rule in RULE_NAMES])))
    fields.append(("page", pa.struct([(k, pa.string()) for k in PAGE_FIELDS])))
    fields.append(("error", pa.string()))
    return pa.schema(fields)


class AnalyzeBatch:
    """Analyse a batch of articles (a `pyarrow.Table` with `text` or `html`, optional `id`,
    `title` and `url`).

    Records that cannot be analysed (missing or empty text, wrong types) come back with the reason
    in the `error` column and no results, so one bad record never fails a batch.
    """

    def __init__(self, topic: str | None = None, stance: str | None = None,
                 summary: str | None = None, targets: list[str] | None = None,
                 options: InferenceOptions | None = None, threads: int | None = None,
                 clean: bool = True, **changes):
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.analyzer = NewsAnalyzer.from_pretrained(topic, stance, summary, options, clean,
                                                     **changes)
        self.targets = list(targets) if targets else None
        if self.targets and self.analyzer.stance is None:
            raise NewsdeskError("targets given, but no stance model is loaded")
        self.schema = output_schema(self.analyzer, self.targets)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        out: list[dict] = [{} for _ in rows]
        good = []
        for i, row in enumerate(rows):
            ident = row.get("id")
            out[i]["id"] = None if ident is None else str(ident)
            try:
                good.append((i, self.analyzer.article(row)))
            except DataError as e:
                out[i]["error"] = str(e)
        items = [a for _, a in good]
        results = self.analyzer.run(self.analyzer.prepare(items), self.targets) if good else []
        for (i, _), result in zip(good, results):
            out[i].update({k: v for k, v in result.items() if k != "id"})
        table = pa.Table.from_pylist(out, schema=self.schema)
        return_freed_memory()
        return table


def data_format(path: str) -> str:
    """parquet, jsonl or csv, from the file or folder name's suffix."""
    suffix = Path(path.rstrip("/")).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: cannot tell the format from the name; use a .parquet, .jsonl or "
                        ".csv file or folder")
    return FORMATS[suffix]


def analyze_with_ray(input_path: str, output_path: str, topic: str | None = None,
                     stance: str | None = None, summary: str | None = None,
                     targets: list[str] | None = None, options: InferenceOptions | None = None,
                     batch_size: int = 256, actors: int = 1, cpus_per_actor: float = 1,
                     gpus_per_actor: float = 0, clean: bool = True, **changes) -> dict:
    """Analyse `input_path` with Ray Data into the folder `output_path`.

    Args:
        input_path: a Parquet, JSONL or CSV file or folder (local or any filesystem Ray reads).
        output_path: a folder; its suffix (.parquet or .jsonl) picks the format. Records that
            could not be analysed go to the folder `OUTPUT.errors.jsonl` with their id and reason.
        topic, stance, summary: model folders, readable from every Ray node.
        targets: claims for the stance model.
        options: how each actor runs the models (device "auto" picks cuda where it has a GPU);
            `**changes` changes its fields (device, precision, max_tokens).
        batch_size: articles per `map_batches` call.
        actors: how many analyzer actors (each loads the models once).
        cpus_per_actor, gpus_per_actor: resources of each actor; with GPUs, device "auto" picks cuda.
        clean: remove page furniture before analysis (`html` columns are always extracted).

    Returns:
        {"records", "errors", "output", "errors_folder"}.
    """
    import ray

    if not (topic or stance or summary):
        raise DataError("give at least one of topic, stance, summary model folders")
    reader = {"parquet": ray.data.read_parquet, "jsonl": ray.data.read_json,
              "csv": ray.data.read_csv}[data_format(input_path)]
    writer_format = data_format(output_path)
    if writer_format == "csv":
        raise DataError(f"{output_path}: Ray output must be a .parquet or .jsonl folder")
    if not ray.is_initialized():
        ray.init(log_to_driver=False)  # RAY_ADDRESS joins a cluster; else a local instance
    cpus = ray.cluster_resources().get("CPU", 0)
    if actors * cpus_per_actor >= cpus:
        raise DataError(f"{actors} actors x {cpus_per_actor} CPUs would take all {cpus:g} CPUs of "
                        "this Ray cluster and leave none to read and write the data; use fewer "
                        "actors or a smaller cpus_per_actor (fractions are fine)")
    kwargs = {"topic": topic, "stance": stance, "summary": summary, "targets": targets,
              "options": InferenceOptions.of(options, **changes), "clean": clean,
              "threads": max(1, int(cpus_per_actor))}
    results = reader(input_path).map_batches(
        AnalyzeBatch, fn_constructor_kwargs=kwargs, batch_size=batch_size, batch_format="pyarrow",
        concurrency=actors, num_cpus=cpus_per_actor, num_gpus=gpus_per_actor or None,
    ).materialize()
    good = results.map_batches(_keep_ok, batch_format="pyarrow")
    bad = results.map_batches(_keep_errors, batch_format="pyarrow")
    errors_path = output_path.rstrip("/") + ".errors.jsonl"
    if writer_format == "parquet":
        good.write_parquet(output_path)
    else:
        good.write_json(output_path)
    errors = bad.count()
    if errors:
        bad.write_json(errors_path)
    return {"records": results.count(), "errors": errors, "output": output_path,
            "errors_folder": errors_path if errors else None}


def _keep_ok(table: pa.Table) -> pa.Table:
    return table.filter(pc.is_null(table["error"])).drop_columns(["error"])


def _keep_errors(table: pa.Table) -> pa.Table:
    return table.filter(pc.is_valid(table["error"])).select(["id", "error"])
