"""`newsdesk evaluate`: metrics for any saved model folder on a prepared split or a table file."""

from __future__ import annotations

from pathlib import Path

from newsdesk.data.builders import table
from newsdesk.data.prepare import load_prepared
from newsdesk.errors import DataError
from newsdesk.models.folder import read_settings
from newsdesk.models.loading import check_model_folder, local_folder
from newsdesk.training.evaluation import evaluate_classifier, evaluate_summariser, save_metrics


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
    model_dir = local_folder(model_dir)
    check_model_folder(model_dir)
    task = read_settings(model_dir).task_info
    data = Path(data)
    if data.is_dir():
        ds = load_prepared(data, split)
        name = f"{data.name}-{split}"
    elif data.is_file():
        ds = table(data, record_type=task.record_type)
        name = data.stem
    else:
        raise DataError(f"{data}: no such prepared folder or file")
    out = Path(out) if out else model_dir / f"eval-{name}"
    if task.output == "text":
        metrics = evaluate_summariser(model_dir, ds)
    else:
        column = task.label_column
        if any(v is None for v in ds[column]):
            raise DataError(f"{data}: some records have no {column!r}; evaluation needs labels")
        metrics = evaluate_classifier(model_dir, ds.rename_column(column, "y"))
    metrics["_written"] = str(save_metrics(out, metrics, name, task))
    return metrics
