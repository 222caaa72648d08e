"""What the TF-IDF blend (`lexical: tfidf`) adds to topic models, and what it costs at inference.

Fits one lexical model on the prepared train split (as training does), then for each topic model
folder given: dev accuracy and macro-F1 of the transformer alone, the lexical model alone and
their average, and the time each part takes over the dev split in this process.

    python benchmarks/bench_lexical.py --data data/bbc --models runs/topic-bbc runs/topic-chunks
"""

from __future__ import annotations

import argparse
import time

import torch
from header import print_header

from newsdesk.data.prepare import load_prepared
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.models.encoding import encode_articles
from newsdesk.models.inputs import article_texts
from newsdesk.models.lexical import LexicalModel
from newsdesk.training.metrics import classification_metrics


def scores(gold: list[str], probs: torch.Tensor, labels: list[str]) -> str:
    guess = [labels[i] for i in probs.argmax(-1).tolist()]
    m = classification_metrics(gold, guess, labels)
    wrong = sum(g != p for g, p in zip(gold, guess))
    return f"{m['accuracy']:.4f} / {m['macro_f1']:.4f} ({wrong} wrong)"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="prepared BBC-style article folder")
    p.add_argument("--models", nargs="+", required=True, help="topic model folders")
    p.add_argument("--weight", type=float, default=0.5, help="share of the lexical model")
    args = p.parse_args()
    train, dev = load_prepared(args.data, "train"), load_prepared(args.data, "dev")
    labels = sorted(set(train["topic"]))
    texts, titles, gold = list(dev["text"]), list(dev["title"]), list(dev["topic"])

    t0 = time.perf_counter()
    lexical = LexicalModel.fit(article_texts(train["title"], train["text"]),
                               list(train["topic"]), labels)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    words = torch.from_numpy(lexical.predict_proba(article_texts(titles, texts))).float()
    words_s = time.perf_counter() - t0

    print_header()
    print(f"lexical model: fitted on {len(train)} articles in {fit_s:.1f} s (C={lexical.c:g}); "
          f"dev {len(dev)} articles in {words_s:.2f} s; alone {scores(gold, words, labels)}")
    print("| model folder | transformer alone | blend | transformer s | lexical s | overhead |")
    print("|---|---|---|---|---|---|")
    for folder in args.models:
        predictor = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32")
        predictor.lexical = None  # the transformer part alone, whatever the folder holds
        if predictor.labels != labels:
            raise SystemExit(f"{folder}: labels {predictor.labels} differ from the data's {labels}")
        t0 = time.perf_counter()
        encoded = encode_articles(predictor.tokenizer, texts, titles, predictor.separable)
        model = predictor.topic_probs(encoded, texts, titles)["model"]
        model_s = time.perf_counter() - t0
        blend = (1 - args.weight) * model + args.weight * words
        print(f"| {folder} | {scores(gold, model, labels)} | {scores(gold, blend, labels)} | "
              f"{model_s:.1f} | {words_s:.2f} | {100 * words_s / model_s:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
