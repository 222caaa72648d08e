"""The one-call API: `train` any task from a preset, a config file or fields, and `evaluate` any
model folder on a prepared split or a table file (the `newsdesk train` and `newsdesk evaluate`
commands call these)."""

from __future__ import annotations

import logging
from pathlib import Path

from newsdesk.data.builders import table
from newsdesk.data.prepare import load_prepared
from newsdesk.errors import DataError
from newsdesk.models.folder import read_settings, write_settings
from newsdesk.models.loading import check_model_folder, local_folder
from newsdesk.models.tasks import get_task
from newsdesk.training.config import (
    CONFIGS,
    ClassifierConfig,
    SummaryConfig,
    load_config,
    preset_path,
)
from newsdesk.training.precision import precision_flags

log = logging.getLogger("newsdesk")


def make_config(task: str, preset: str | None = None, config: str | Path | None = None,
                **fields) -> ClassifierConfig | SummaryConfig:
    """The resolved config: a shipped preset or a YAML file, with `fields` over it (strings are
    parsed as the command line parses them; None leaves a field as it is)."""
    get_task(task)
    if config and preset:
        raise DataError("give a config file or a preset name, not both")
    cls = CONFIGS[task]
    if "task" in cls.__dataclass_fields__:
        fields["task"] = task
    resolved = load_config(cls, preset_path(preset, task) if preset else config, fields)
    precision_flags(resolved.precision)  # a precision this machine cannot train in fails now
    return resolved


def train(task: str, preset: str | None = None, config: str | Path | None = None,
          resume: bool = False, command: str = "", **fields) -> dict:
    """Fine-tune a topic, stance or summary model and write its folder.

    Args:
        task: "topic", "stance" or "summary".
        preset: a shipped preset's name (`newsdesk presets`), e.g. "topic-bbc" or "bbc".
        config: a YAML config file (instead of a preset).
        resume: classifiers: continue from the last checkpoint in the output folder.
        command: the command line, recorded in the model card.
        **fields: config fields over the preset, e.g. data="data/bbc", epochs=2.

    Returns:
        The dev metrics (empty on ranks other than 0 under torchrun).
    """
    return train_config(make_config(task, preset, config, **fields), resume, command)


def train_config(config: ClassifierConfig | SummaryConfig, resume: bool = False,
                 command: str = "") -> dict:
    """Run the recipe for a resolved config (see `train`)."""
    if isinstance(config, ClassifierConfig):
        from newsdesk.training.classifier import train_classifier

        return train_classifier(config, resume=resume, command=command)
    from newsdesk.training.summary import train_summariser

    if resume:
        log.warning("resume is not supported for summary training; starting anew")
    return train_summariser(config, command=command)


def evaluate(model_dir: str | Path, data: str | Path, split: str = "dev",
             out: str | Path | None = None, fit_temperature: bool = False) -> dict:
    """Evaluate `model_dir` on `data` and write metrics.json (and a PNG for classifiers).

    Args:
        model_dir: a folder written by `newsdesk train`.
        data: a prepared folder (its `split` is read) or a CSV/JSONL/Parquet file with standard
            column names.
        split: the split of a prepared folder.
        out: the folder for the results (default `MODEL_DIR/eval-<data name>-<split>`).
        fit_temperature: classifiers: fit the confidence temperature on this data and write it
            into the folder's `newsdesk.json` (training does this on dev; this is for folders
            trained before, or to refit on other held-out data).
    """
    from newsdesk.training.evaluation import (
        evaluate_classifier,
        evaluate_summariser,
        record_fitted,
        save_metrics,
    )

    model_dir = local_folder(model_dir)
    check_model_folder(model_dir)
    settings = read_settings(model_dir)
    task = settings.task_info
    if fit_temperature and task.output == "text":
        raise DataError(f"{model_dir}: fit_temperature is for topic and stance classifiers, not "
                        f"a {task.name} model")
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
        column = "topics" if getattr(settings, "multi_label", False) else task.label_column
        if any(not v for v in ds[column]):
            raise DataError(f"{data}: some records have no {column!r}; evaluation needs labels")
        metrics = evaluate_classifier(model_dir, ds.rename_column(column, "y"),
                                      fit_temperature=fit_temperature)
        if fit_temperature:
            record_fitted(settings, metrics)
            write_settings(model_dir, settings)
    metrics["_written"] = str(save_metrics(out, metrics, name, task))
    return metrics
