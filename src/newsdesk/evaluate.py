"""`newsdesk evaluate`: metrics for any saved model folder on a prepared split or a table file."""

from __future__ import annotations

import json
from pathlib import Path

from newsdesk.data.builders import table
from newsdesk.data.prepare import load_prepared
from newsdesk.data.records import DataError
from newsdesk.models.loading import check_model_folder


def evaluate(model_dir: str | Path, data: str | Path, split: str = "dev",
             out: str | Path | None = None) -> dict:
    """Evaluate `model_dir` on `data` and write metrics.json (and a PNG for classifiers).

    Args:
        model_dir: a folder written by `newsdesk train`.
        data: a prepared folder (its `split` is read) or a CSV/JSONL/Parquet file with standard
            column names.
        split: the split of a prepared folder.
        out: the folder for the results (default `MODEL_DIR/eval-<data name>-<split>`).
    """
    model_dir = Path(model_dir)
    check_model_folder(model_dir, need_newsdesk=True)
    settings = json.loads((model_dir / "newsdesk.json").read_text())
    data = Path(data)
    if data.is_dir():
        ds = load_prepared(data, split)
        name = f"{data.name}-{split}"
    elif data.is_file():
        ds = table(data, task="stance" if settings.get("task") == "stance" else "article")
        name = data.stem
    else:
        raise DataError(f"{data}: no such prepared folder or file")
    out = Path(out) if out else model_dir / f"eval-{name}"
    out.mkdir(parents=True, exist_ok=True)
    if settings["kind"] == "classifier":
        from newsdesk.training.classifier import evaluate_classifier, save_metrics

        column = "label" if settings["task"] == "stance" else "topic"
        if any(v is None for v in ds[column]):
            raise DataError(f"{data}: some records have no {column!r}; evaluation needs labels")
        metrics = evaluate_classifier(model_dir, ds.rename_column(column, "y"))
        save_metrics(out, metrics, name)
    else:
        from newsdesk.training.summary import evaluate_summariser

        metrics = evaluate_summariser(model_dir, ds, out)
    metrics["_written"] = str(out / "metrics.json")
    return metrics
