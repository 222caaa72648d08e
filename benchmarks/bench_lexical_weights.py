"""Multi-label TF-IDF regressions (issue: multi-label topics): how should each label's examples be
weighted, which features should they read, where should their thresholds be tuned? For a
prepared Reuters folder, the one-vs-rest regressions unweighted, with the square root of the
inverse-frequency weight of the positives, and class-balanced (what newsdesk fits), over words
(with --chars, character n-grams too; with --embedder, a frozen encoder's article embeddings
too, `models.embedding`):

- out of fold over the whole training part (5 folds; thresholds tuned per label on the
  out-of-fold probabilities with `tune_thresholds`), which never reads dev; then those
  thresholds on the regressions refitted on the whole training part, scored on dev: what
  training ends with when the validation slice gives the TF-IDF model the whole blend
  (`training.fitting.refit_on_training_split`);
- the validation protocol alone on two carves (fit on the training part less the slice,
  thresholds on the slice, scored on dev), the transformer left out.

    python benchmarks/bench_lexical_weights.py --data data/reuters [--chars] [--embedder minilm]
"""

from __future__ import annotations

import argparse
import time

import torch
from header import print_header
from transformers import AutoTokenizer

from newsdesk.inference.embed import embed_articles
from newsdesk.models.embedding import MeanPooled
from newsdesk.models.inputs import article_texts
from newsdesk.models.lexical import LexicalModel
from newsdesk.models.loading import resolve_model
from newsdesk.models.multilabel import decide, multi_hot, names_of, threshold_vector, tune_thresholds
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


def proba(model, ds, embeddings) -> torch.Tensor:
    texts = article_texts(ds["title"], ds["text"])
    return torch.from_numpy(model.predict_proba(texts, embeddings)).float()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/reuters")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", default="13,7", help="validation carves (the preset uses 13)")
    p.add_argument("--weightings", default=",".join(WEIGHTINGS))
    p.add_argument("--chars", action="store_true", help="words and character n-grams")
    p.add_argument("--embedder", help="also read this pretrained encoder's article embeddings "
                   "(a model id, alias or folder; the preset reads its own model's)")
    p.add_argument("--max-length", type=int, default=256, help="the embedding's first chunk")
    args = p.parse_args()
    print_header()
    train, dev, labels = load_classifier_splits(args.data, "topic", True)
    texts, ys = article_texts(train["title"], train["text"]), list(train["y"])
    seeds = [int(s) for s in args.seeds.split(",")]
    emb = dev_emb = None
    if args.embedder:
        start = time.perf_counter()
        embedder = MeanPooled.from_pretrained(resolve_model(args.embedder))
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(args.embedder))
        emb, dev_emb = (embed_articles(embedder, tokenizer, list(ds["title"]), list(ds["text"]),
                                       args.max_length) for ds in (train, dev))
        print(f"embeddings of {len(train) + len(dev)} stories: "
              f"{time.perf_counter() - start:.0f} s (fp32)")
    features = "words" + (" + characters" if args.chars else "") + \
        (f" + {args.embedder} embeddings" if args.embedder else "")
    print(f"train {len(train)}, dev {len(dev)} stories, {len(labels)} labels, "
          f"features: {features}")
    print("| weighting | out of fold over train: micro-F1 / macro-F1 | refitted on train, "
          "thresholds out of fold: dev micro-F1 / macro-F1 | "
          + " | ".join(f"carve {s}, thresholds on validation: dev" for s in seeds) + " |")
    print("|---|---|---|" + "---|" * len(seeds))
    index = {text: i for i, text in enumerate(texts)}
    for weighting in args.weightings.split(","):
        start = time.perf_counter()
        options = {"weighting": weighting, "chars": args.chars}
        oof = torch.from_numpy(LexicalModel.out_of_fold(texts, ys, labels, folds=args.folds,
                                                        embeddings=emb, **options))
        tuned = tune_thresholds(oof, multi_hot(ys, labels), labels)
        whole = LexicalModel.fit_multilabel(texts, ys, labels, embeddings=emb, **options)
        cells = ["{:.4f} / {:.4f}".format(*scores(ys, oof, tuned, labels)),
                 "{:.4f} / {:.4f}".format(*scores(list(dev["y"]), proba(whole, dev, dev_emb),
                                                  tuned, labels))]
        for seed in seeds:
            part, val = carve_validation(train, 0.15, seed, False, True)
            rows = {name: None if emb is None else
                    emb[[index[t] for t in article_texts(ds["title"], ds["text"])]]
                    for name, ds in (("part", part), ("val", val))}
            model = LexicalModel.fit_multilabel(article_texts(part["title"], part["text"]),
                                                list(part["y"]), labels,
                                                embeddings=rows["part"], **options)
            on_val = proba(model, val, rows["val"])
            val_gold = multi_hot(list(val["y"]), labels)
            cells.append("{:.4f} / {:.4f}".format(*scores(
                list(dev["y"]), proba(model, dev, dev_emb),
                tune_thresholds(on_val, val_gold, labels), labels)))
        print(f"| {weighting} | " + " | ".join(cells) + f" |  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
