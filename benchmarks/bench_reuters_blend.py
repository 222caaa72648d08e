"""Multi-label topics: how much does a fine-tuned transformer add to the TF-IDF part, per blend
weight, on the validation slice and on dev? For a Reuters folder trained with `validation`:

- the slice (the one training carved, same seed): the transformer's probabilities (held out) and
  the TF-IDF part's out of fold over the training part and the slice together (5 fits), so
  neither part has read the stories it scores; thresholds tuned on one random half of the slice
  and scored on the other, both ways, averaged ("slice");
- dev: the transformer's probabilities and the TF-IDF part refitted on the training part and
  the slice (`--refitted`, a folder whose blend is the TF-IDF part alone, such as the preset's;
  else the folder's own part), thresholds tuned on the whole slice.

Blends average probabilities (newsdesk's rule), then log-odds: one table each.

    python benchmarks/bench_reuters_blend.py --model runs/topics-reuters-v3 \
        --refitted runs/topics-reuters-v2 --data data/reuters-v2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from header import print_header

from newsdesk.data.prepare import load_prepared
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.models.folder import read_settings
from newsdesk.models.inputs import article_texts
from newsdesk.models.lexical import LexicalModel, blend
from newsdesk.models.multilabel import decide, multi_hot, names_of, threshold_vector, tune_thresholds
from newsdesk.training.evaluation import REFERENCE
from newsdesk.training.metrics import multilabel_metrics
from newsdesk.training.splits import carve_validation

WEIGHTS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0)


def items(ds) -> list[dict]:
    return [{"text": t, "title": h} for t, h in zip(ds["text"], ds["title"])]


def mix(model: np.ndarray, words: np.ndarray, weight: float, log_odds: bool) -> torch.Tensor:
    if not log_odds:
        return torch.from_numpy(blend(model, words, weight)).float()
    odds = [torch.from_numpy(np.clip(p, 1e-6, 1 - 1e-6)).float().logit() for p in (model, words)]
    return blend(odds[0], odds[1], weight).sigmoid()


def scored(probs: torch.Tensor, thresholds: tuple[dict, float], gold: list, labels: list[str]):
    on = decide(probs, threshold_vector(labels, *thresholds))
    return multilabel_metrics(gold, names_of(on, labels), labels)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a multi-label topic folder trained with validation")
    p.add_argument("--refitted", help="a folder whose TF-IDF part was refitted on train + slice")
    p.add_argument("--data", default="data/reuters", help="the prepared folder it trained on")
    args = p.parse_args()
    print_header()
    settings = read_settings(args.model)
    training = settings.training
    if not training.get("validation") or not settings.multi_label:
        raise SystemExit(f"{args.model}: not a multi-label topic folder trained with a validation "
                         "slice (the slice is what the weights are compared on)")
    train = load_prepared(args.data, "train").rename_column("topics", "y")
    dev = load_prepared(args.data, "dev").rename_column("topics", "y")
    part, piece = carve_validation(train, training["validation"], training["seed"], False, True)
    started = time.perf_counter()
    model = ClassifierPredictor.from_pretrained(args.model, REFERENCE, device="cpu")
    labels = model.labels

    def probs(predictor, ds, which):
        return predictor.topic_probs(predictor.encode(items(ds)), list(ds["text"]),
                                     list(ds["title"]))[which].numpy()

    words = ClassifierPredictor.from_pretrained(args.refitted or args.model, REFERENCE, device="cpu")
    if words.lexical is None or words.lexical.labels != labels:
        raise SystemExit(f"{args.refitted or args.model}: no TF-IDF part over the model's labels")
    slice_model, dev_model = probs(model, piece, "model"), probs(model, dev, "model")
    dev_words = probs(words, dev, "words")
    both = [part, piece]
    titles = [t for ds in both for t in ds["title"]]
    bodies = [t for ds in both for t in ds["text"]]
    embeddings = None
    if words.lexical.reads_embeddings:
        embeddings = words.embeddings(words.encode([{"text": b, "title": h}
                                                    for b, h in zip(bodies, titles)]))
    oof = LexicalModel.out_of_fold(article_texts(titles, bodies),
                                   [y for ds in both for y in ds["y"]], labels,
                                   training["seed"], chars=words.lexical.features.chars is not None,
                                   embeddings=embeddings)
    slice_words = oof[len(part):]
    print(f"slice {len(piece)}, dev {len(dev)} stories; probabilities in "
          f"{time.perf_counter() - started:.0f} s")
    gold_slice, gold_dev = list(piece["y"]), list(dev["y"])
    y_slice = multi_hot(gold_slice, labels)
    halves = np.random.default_rng(training["seed"]).random(len(piece)) < 0.5
    for log_odds in (False, True):
        print(f"\n{'log-odds' if log_odds else 'probabilities'} averaged\n"
              "| lexical weight | slice micro-F1 (halves) | dev micro-F1 | dev macro-F1 |\n"
              "|---|---|---|---|")
        for weight in WEIGHTS:
            on_slice = mix(slice_model, slice_words, weight, log_odds)
            halved = []
            for side in (halves, ~halves):
                tuned = tune_thresholds(on_slice[side], y_slice[side], labels)
                held = np.flatnonzero(~side)
                halved.append(scored(on_slice[held], tuned, [gold_slice[i] for i in held],
                                    labels)["micro_f1"])
            m = scored(mix(dev_model, dev_words, weight, log_odds),
                      tune_thresholds(on_slice, y_slice, labels), gold_dev, labels)
            print(f"| {weight} | {np.mean(halved):.4f} | {m['micro_f1']:.4f} | "
                  f"{m['macro_f1']:.4f} |")


if __name__ == "__main__":
    main()
