"""Redo a trained classifier folder's after-training fit with this version's code, in a copy.

What a classifier decides after training is fitted on a validation slice carved from the
training split with the folder's own seed and share (`training.fitting`): for stance the
word-overlap relatedness model, the class offsets and their gates, the temperature; for a topic
model with a TF-IDF partner that partner (refitted on the whole training split), the blend
weight, the temperature and any multi-label thresholds. A folder trained by an earlier version
keeps the choices of that version until this redoes them on the same slice, without training
the transformer again (its figures and the training time stay those recorded). `newsdesk
refit` calls it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from newsdesk.errors import DataError
from newsdesk.models.folder import read_settings
from newsdesk.models.relatedness import PairModel
from newsdesk.training.card import write_card
from newsdesk.training.classifier import resample
from newsdesk.training.evaluation import evaluate_classifier, save_metrics
from newsdesk.training.fitting import fit_on_validation
from newsdesk.training.splits import carve_validation, load_classifier_splits

KEPT = ("train_seconds", "epochs_run", "soup", "retrained")
"""Figures of the training itself, carried over from the folder's `metrics.json`."""


def refit(folder: str | Path, out: str | Path, data: str | Path | None = None,
          device: str = "cpu", command: str = "") -> tuple[dict, dict]:
    """Copy `folder` to `out` (a new folder) and redo its after-training fit there, then score
    dev; `folder` is left as it was.

    Args:
        folder: a classifier folder trained with a validation slice and `lexical: tfidf`.
        out: where the refitted copy goes; must not exist.
        data: its prepared data folder (default: the one it was trained on).
        command: recorded in the copy's `metrics.json` as `refitted`.

    Returns:
        (the dev metrics before, after).
    """
    folder, out = Path(folder), Path(out)
    settings = read_settings(folder)
    config = settings.training
    if settings.task_info.output == "text" or not config.get("validation") \
            or config.get("lexical", "none") == "none":
        raise DataError(f"{folder}: not a classifier trained with a validation slice and a word "
                        "model (lexical: tfidf); there is nothing to refit")
    if config.get("retrain"):
        raise DataError(f"{folder}: its transformer was trained again on the validation slice "
                        "(retrain: true), so the slice can no longer fit what is decided after "
                        "training; train it again instead")
    if not (folder / "metrics.json").is_file():
        raise DataError(f"{folder}: metrics.json is missing; refit checks the validation slice "
                        "against the one training recorded there")
    before = json.loads((folder / "metrics.json").read_text())
    if out.exists():
        raise DataError(f"{out} exists; the refitted copy goes to a new folder")
    task, multi_label = settings.task_info, settings.multi_label
    source = data or config["data"]
    if not Path(source).is_dir():
        raise DataError(f"{folder} was trained on {source}, which is not here: pass the "
                        "prepared data folder (refit needs the same training split)")
    train, dev, labels = load_classifier_splits(source, task.name, multi_label)
    train, validation = carve_validation(train, config["validation"], config["seed"], task.pair,
                                         multi_label)
    recorded = before.get("validation", {}).get("examples")
    if recorded is not None and recorded != len(validation):
        # e.g. a stance folder trained with a seed other than 13 before story splits followed
        # the seed: the slice drawn now would hold pairs the transformer trained on
        raise DataError(f"{folder}: its validation slice held {recorded} examples, but this "
                        f"version draws {len(validation)} from {source} with seed "
                        f"{config['seed']}; the slice the transformer did not train on cannot "
                        "be drawn again, so there is nothing to refit on (train it again)")
    # the training part and dev as training drew them
    train = resample(train, config.get("downsample") or {}, config.get("max_train_examples", 0),
                     config["seed"])
    dev = resample(dev, {}, config.get("final_eval_examples", 0), config["seed"])
    out = Path(shutil.copytree(folder, out))
    try:
        vectorizer = PairModel.load(out, labels).vectorizer if task.pair else None  # training's
        fitted = fit_on_validation(out, validation, settings, vectorizer, config["seed"],
                                   device, None if task.pair else train)
        after = {**evaluate_classifier(out, dev, labels, device), "validation": fitted}
        after.update({k: before[k] for k in KEPT if k in before})
        after["refitted"] = command
        save_metrics(out, after, "dev", task)
        write_card(out, settings, after, training_command(folder))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half-refitted copy left behind
        raise
    return before, after


def training_command(folder: Path) -> str:
    """The command the folder's model card records (the copy's card is rewritten with it)."""
    card = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    _, found, rest = card.partition("## Command\n\n```\n")
    return rest.partition("\n```")[0] if found else ""
