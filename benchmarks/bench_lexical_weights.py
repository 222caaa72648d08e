"""Multi-label TF-IDF regressions (issue: multi-label topics): how should each label's examples be
weighted, which features should they read, where should their thresholds be tuned? For a
prepared Reuters folder, the one-vs-rest regressions unweighted, with the square root of the
inverse-frequency weight of the positives, and class-balanced (what newsdesk fits), over words
(and, with --chars, character n-grams too):

- out-of-fold over the whole training part (5 folds; thresholds tuned per label on the
  out-of-fold probabilities with `tune_thresholds`), which never reads dev;
- the training protocol on two validation carves (fit on the training part, thresholds on the
  validation slice, scored on dev), the transformer left out; and the same with the rare
  labels' thresholds tuned on the slice plus the part's out-of-fold probabilities (what
  training does when the slice gives the TF-IDF model the whole blend,
  `training.fitting.thresholds_with_training_part`).

    python benchmarks/bench_lexical_weights.py --data data/reuters [--chars]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from newsdesk.inference.hardware import detect
from newsdesk.models.inputs import article_texts
from newsdesk.models.lexical import LexicalModel
from newsdesk.models.multilabel import decide, multi_hot, names_of, threshold_vector, tune_thresholds
from newsdesk.training.fitting import thresholds_with_training_part
from newsdesk.training.metrics import multilabel_metrics
from newsdesk.training.splits import carve_validation, load_classifier_splits

WEIGHTINGS = ("none", "sqrt", "balanced")


def scores(gold, probs, tuned, labels) -> tuple[float, float]:
    """Micro- and macro-F1 of `probs` against the label lists `gold` under the (own, shared)
    thresholds `tuned`."""
    own, shared = tuned
    on = decide(probs, threshold_vector(labels, own, shared))
    m = multilabel_metrics(gold, names_of(on, labels), labels)
    return m["micro_f1"], m["macro_f1"]


def proba(model, ds) -> torch.Tensor:
    return torch.from_numpy(model.predict_proba(article_texts(ds["title"], ds["text"]))).float()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/reuters")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", default="13,7", help="validation carves (the preset uses 13)")
    p.add_argument("--weightings", default=",".join(WEIGHTINGS))
    p.add_argument("--chars", action="store_true", help="words and character n-grams")
    args = p.parse_args()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}  machine: {detect().describe()}")
    print(f"command: python {' '.join(sys.argv)}")
    train, dev, labels = load_classifier_splits(args.data, "topic", True)
    texts, ys = article_texts(train["title"], train["text"]), list(train["y"])
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"train {len(train)}, dev {len(dev)} stories, {len(labels)} labels, "
          f"features: {'words + characters' if args.chars else 'words'}")
    print("| weighting | out-of-fold over train: micro-F1 / macro-F1 | "
          + " | ".join(f"carve {s}, thresholds on validation; with out of fold: "
                       "dev micro-F1 / macro-F1" for s in seeds) + " |")
    print("|---|---|" + "---|" * len(seeds))
    for weighting in args.weightings.split(","):
        start = time.perf_counter()
        options = {"weighting": weighting, "chars": args.chars}
        oof = torch.from_numpy(LexicalModel.out_of_fold(texts, ys, labels, folds=args.folds,
                                                        **options))
        gold = multi_hot(ys, labels)
        cells = ["{:.4f} / {:.4f}".format(*scores(ys, oof, tune_thresholds(oof, gold, labels),
                                                   labels))]
        for seed in seeds:
            part, val = carve_validation(train, 0.15, seed, False, True)
            model = LexicalModel.fit_multilabel(article_texts(part["title"], part["text"]),
                                                list(part["y"]), labels, **options)
            on_val, on_dev = proba(model, val), proba(model, dev)
            val_gold = multi_hot(list(val["y"]), labels)
            val_only = scores(list(dev["y"]), on_dev, tune_thresholds(on_val, val_gold, labels),
                              labels)
            tuned = thresholds_with_training_part(model, part, on_val, val_gold, seed=seed,
                                                  weighting=weighting)
            with_oof = scores(list(dev["y"]), on_dev, tuned, labels)
            cells.append("{:.4f} / {:.4f}; {:.4f} / {:.4f}".format(*val_only, *with_oof))
        print(f"| {weighting} | " + " | ".join(cells) + f" |  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
