"""Multi-label TF-IDF regressions (issue: multi-label topics): how should each label's examples be
weighted? For a prepared Reuters folder, the one-vs-rest regressions unweighted, with the square
root of the inverse-frequency weight of the positives, and class-balanced (what newsdesk fits):

- out-of-fold over the whole training part (5 folds; thresholds tuned per label on the
  out-of-fold probabilities with `tune_thresholds`), which never reads dev;
- the training protocol on two validation carves (fit on the training part, thresholds on the
  validation slice, scored on dev), the transformer left out.

    python benchmarks/bench_lexical_weights.py --data data/reuters
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from sklearn.model_selection import KFold

from newsdesk.inference.hardware import detect
from newsdesk.models.inputs import article_texts
from newsdesk.models.lexical import LexicalModel
from newsdesk.models.multilabel import decide, multi_hot, names_of, threshold_vector, tune_thresholds
from newsdesk.training.metrics import multilabel_metrics
from newsdesk.training.splits import carve_validation, load_classifier_splits

WEIGHTINGS = ("none", "sqrt", "balanced")


def scores(gold, probs, thresholds_from, gold_from, labels) -> tuple[float, float]:
    own, shared = tune_thresholds(thresholds_from, multi_hot(gold_from, labels), labels)
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
    args = p.parse_args()
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}  machine: {detect().describe()}")
    print(f"command: python {' '.join(sys.argv)}")
    train, dev, labels = load_classifier_splits(args.data, "topic", True)
    texts, ys = article_texts(train["title"], train["text"]), list(train["y"])
    print(f"train {len(train)}, dev {len(dev)} stories, {len(labels)} labels")
    print("| weighting | out-of-fold over train: micro-F1 / macro-F1 | "
          + " | ".join(f"carve {s}: dev micro-F1 / macro-F1" for s in args.seeds.split(",")) + " |")
    print("|---|---|" + "---|" * len(args.seeds.split(",")))
    for weighting in WEIGHTINGS:
        start = time.perf_counter()
        oof = torch.zeros(len(ys), len(labels))
        for fit_rows, held in KFold(args.folds, shuffle=True, random_state=13).split(texts):
            model = LexicalModel.fit_multilabel([texts[i] for i in fit_rows],
                                                [ys[i] for i in fit_rows], labels,
                                                weighting=weighting)
            oof[held] = torch.from_numpy(model.predict_proba([texts[i] for i in held])).float()
        cells = ["{:.4f} / {:.4f}".format(*scores(ys, oof, oof, ys, labels))]
        for seed in map(int, args.seeds.split(",")):
            part, val = carve_validation(train, 0.15, seed, False, True)
            model = LexicalModel.fit_multilabel(article_texts(part["title"], part["text"]),
                                                list(part["y"]), labels, weighting=weighting)
            cells.append("{:.4f} / {:.4f}".format(*scores(list(dev["y"]), proba(model, dev),
                                                          proba(model, val), list(val["y"]),
                                                          labels)))
        print(f"| {weighting} | " + " | ".join(cells) + f" |  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
