"""Redo a trained stance folder's after-training fit with the current code, then score dev.

What a stance preset decides after training (the word-overlap relatedness model, the class
offsets, the temperature) is fitted on a validation slice carved from the training split with
the folder's own seed and share. When that code changes, this copies the folder to `--out`
and redoes the fit there on the same slice (its `pairs.json`, settings, `metrics.json` and
card), without training the transformer again (its figures and the training time stay those
recorded). The folder itself is left as it was.

    python benchmarks/refit_stance.py runs/stance-fnc1 --out runs/stance-fnc1-refit
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from header import command, print_header

from newsdesk.models.folder import read_settings
from newsdesk.models.relatedness import PairModel
from newsdesk.training.card import write_card
from newsdesk.training.classifier import resample
from newsdesk.training.evaluation import evaluate_classifier, save_metrics
from newsdesk.training.fitting import fit_on_validation
from newsdesk.training.splits import carve_validation, load_classifier_splits


def training_command(folder: Path) -> str:
    """The command the folder's model card records (the card is rewritten with it)."""
    card = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    _, found, rest = card.partition("## Command\n\n```\n")
    return rest.partition("\n```")[0] if found else ""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", help="a stance model folder trained with a validation slice")
    p.add_argument("--out", required=True, help="where the refitted copy is written (new)")
    p.add_argument("--data", help="its prepared data (default: the one it was trained on)")
    args = p.parse_args()
    print_header()
    settings = read_settings(args.folder)
    config = settings.training
    if not settings.task_info.pair or not config.get("validation") or \
            settings.lexical == "none":
        raise SystemExit(f"{args.folder}: not a stance folder fitted on a validation slice")
    if Path(args.out).exists():
        raise SystemExit(f"{args.out} exists; the refitted copy goes to a new folder")
    folder = Path(shutil.copytree(args.folder, args.out))
    train, dev, labels = load_classifier_splits(args.data or config["data"], "stance", False)
    _, validation = carve_validation(train, config["validation"], config["seed"], True)
    dev = resample(dev, {}, config.get("final_eval_examples", 0), config["seed"])  # as trained
    vectorizer = PairModel.load(folder, labels).vectorizer  # the one training fitted
    before = json.loads((folder / "metrics.json").read_text())
    fitted = fit_on_validation(folder, validation, settings, vectorizer, config["seed"], "cpu")
    metrics = {**evaluate_classifier(folder, dev, labels, "cpu"), "validation": fitted}
    metrics.update({k: before[k] for k in ("train_seconds", "epochs_run", "soup") if k in before})
    metrics["refitted"] = command()
    save_metrics(folder, metrics, "dev", settings.task_info)
    write_card(folder, settings, metrics, training_command(folder))
    print(f"offsets {fitted['offsets']}; dev FNC {before['fnc_score']:.2f} -> "
          f"{metrics['fnc_score']:.2f}, macro-F1 {before['macro_f1']:.4f} -> "
          f"{metrics['macro_f1']:.4f}")


if __name__ == "__main__":
    main()
