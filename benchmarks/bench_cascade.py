"""Topic cascade (issue: inference engine): how far must an article be read?

For each threshold, every article's first chunk is classified and further chunks are read only
while the running averaged (blended) top probability stays under the threshold. Prints, per
threshold: label agreement with whole-article reading (1.0), the share of articles that needed
more than one chunk, the share of chunks read, time and macro-F1 against the reference topics.
All in fp32 so that only the cascade differs.

    python benchmarks/bench_cascade.py --model runs/topic-bbc --data data/bbc
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from header import print_header
from sklearn.metrics import f1_score

from newsdesk.inference import ClassifierPredictor

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", required=True, help="topic model folder(s)")
    p.add_argument("--data", default="data/bbc", help="prepared BBC folder")
    p.add_argument("--split", default="dev")
    args = p.parse_args()
    rows = [json.loads(x) for x in (Path(args.data) / f"{args.split}.jsonl").read_text().splitlines()]
    items = [{"text": r["text"], "title": r["title"]} for r in rows]
    gold = [r["topic"] for r in rows]
    print_header()
    print(f"{len(items)} articles from {args.data} ({args.split})")
    for folder in args.model:
        predictor = ClassifierPredictor.from_pretrained(folder, device="cpu", precision="fp32")
        encoded = predictor.encode(items)
        texts, titles = [a["text"] for a in items], [a["title"] for a in items]
        chunks = len(predictor.topic_features(encoded)[0])
        print(f"\n{folder}: {chunks} chunks in all ({chunks / len(items):.2f} per article)")
        print("| cascade | agree with 1.0 | >1 chunk | chunks read | seconds | macro-F1 |")
        print("|---|---|---|---|---|---|")
        reference = None
        for threshold in sorted(THRESHOLDS, reverse=True):  # 1.0 first: the reference
            predictor.options = predictor.options.__class__.of(predictor.options, cascade=threshold)
            predictor.stats = {"real_tokens": 0, "computed_tokens": 0}
            start = time.perf_counter()
            probs = predictor.topic_probs(encoded, texts, titles)["blend"]
            seconds = time.perf_counter() - start
            labels = [predictor.labels[i] for i in probs.argmax(-1).tolist()]
            reference = reference or labels
            agree = sum(a == b for a, b in zip(labels, reference)) / len(labels)
            more = predictor.stats.get("more_than_one_chunk", 0) / len(items) if threshold < 1 \
                else float("nan")
            read = predictor.stats["computed_tokens"]
            if threshold == 1.0:
                whole = read
            f1 = f1_score(gold, labels, average="macro")
            print(f"| {threshold:.2f} | {agree:.4f} | {more:.3f} | {read / whole:.3f} (tokens) | "
                  f"{seconds:.1f} | {f1:.4f} |", flush=True)


if __name__ == "__main__":
    main()
