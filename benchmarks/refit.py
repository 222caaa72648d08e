"""Redo a trained classifier folder's after-training fit with the current code, then score dev.

What a classifier decides after training is fitted on a validation slice carved from the
training split with the folder's own seed and share: for stance the word-overlap relatedness
model, the class offsets and the temperature; for a topic model with a TF-IDF partner that
partner (refitted on the whole training split), the blend weight, the temperature and any
multi-label thresholds. When that code changes, this copies the folder to `--out` and redoes
the fit there on the same slice (its settings, lexical or pair files, `metrics.json` and card),
without training the transformer again (its figures and the training time stay those
recorded). The folder itself is left as it was.

    python benchmarks/refit.py runs/stance-fnc1 --out runs/stance-fnc1-refit
    python benchmarks/refit.py runs/topic-bbc --out runs/topic-bbc-refit
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
    p.add_argument("folder", help="a stance or topic model folder trained with a validation "
                   "slice and a word model (lexical: tfidf)")
    p.add_argument("--out", required=True, help="where the refitted copy is written (new)")
    p.add_argument("--data", help="its prepared data (default: the one it was trained on)")
    args = p.parse_args()
    print_header()
    settings = read_settings(args.folder)
    config = settings.training
    task = settings.task_info
    if not config.get("validation") or config.get("lexical", "none") == "none":
        raise SystemExit(f"{args.folder}: not a folder with a word model fitted on a "
                         "validation slice")
    if Path(args.out).exists():
        raise SystemExit(f"{args.out} exists; the refitted copy goes to a new folder")
    folder = Path(shutil.copytree(args.folder, args.out))
    multi_label = settings.multi_label
    train, dev, labels = load_classifier_splits(args.data or config["data"], task.name,
                                                multi_label)
    train, validation = carve_validation(train, config["validation"], config["seed"], task.pair,
                                         multi_label)
    # as trained
    train = resample(train, config.get("downsample") or {}, config.get("max_train_examples", 0),
                     config["seed"])
    dev = resample(dev, {}, config.get("final_eval_examples", 0), config["seed"])
    vectorizer = PairModel.load(folder, labels).vectorizer if task.pair else None
    before = json.loads((folder / "metrics.json").read_text())
    fitted = fit_on_validation(folder, validation, settings, vectorizer, config["seed"], "cpu",
                               None if task.pair else train)
    metrics = {**evaluate_classifier(folder, dev, labels, "cpu"), "validation": fitted}
    metrics.update({k: before[k] for k in ("train_seconds", "epochs_run", "soup") if k in before})
    metrics["refitted"] = command()
    save_metrics(folder, metrics, "dev", settings.task_info)
    write_card(folder, settings, metrics, training_command(folder))
    primary = "micro_f1" if multi_label else "macro_f1"
    if task.pair:
        print(f"offsets {fitted['offsets']}; dev FNC {before['fnc_score']:.2f} -> "
              f"{metrics['fnc_score']:.2f}")
    else:
        print(f"lexical weight {fitted.get('lexical_weight')}; validation "
              f"{ {k: v for k, v in fitted.items() if k in ('model_only', 'words_only', 'blend')} }")
    print(f"dev {primary} {before[primary]:.4f} -> {metrics[primary]:.4f}")


if __name__ == "__main__":
    main()
