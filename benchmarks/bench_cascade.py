"""Topic cascade (issue: inference engine): how far must an article be read?

For each threshold, every article's first chunk is classified and further chunks are read only
while the running averaged (blended) top probability stays under the threshold. Prints, per
threshold: label agreement with whole-article reading (1.0), the share of articles that needed
more than one chunk, the share of chunks read, time and macro-F1 against the reference topics.
All in fp32 so that only the cascade differs.

Then, at the cascade threshold `--at`, the same for each glance length (tokens of the opening read
before the first chunk, where a sure article stops): with the folder's TF-IDF partner blended in,
and with the transformer alone (agreement then against the transformer alone reading every
chunk), since the default glance is for folders with a partner only (`models.folder.GLANCE`).

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
GLANCES = (0, 32, 48, 64, 96, 128, 192)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", nargs="+", required=True, help="topic model folder(s)")
    p.add_argument("--data", default="data/bbc", help="prepared BBC folder")
    p.add_argument("--split", default="dev")
    p.add_argument("--at", type=float, default=0.9, help="cascade threshold of the glance table")
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
            predictor.options = predictor.options.__class__.of(predictor.options, cascade=threshold,
                                                                glance=0)
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
        glance_table(predictor, encoded, texts, titles, gold, args.at, whole)


def glance_table(predictor, encoded, texts, titles, gold, threshold: float, whole: int) -> None:
    """Per glance length at `threshold`: with the TF-IDF partner, and with the transformer alone."""
    partner = predictor.lexical
    for lexical, name in ((partner, "with its TF-IDF partner"), (None, "transformer alone")):
        if name != "transformer alone" and partner is None:
            continue
        predictor.lexical = lexical
        print(f"\nglances at cascade {threshold}, {name} (agreement with reading every chunk so)")
        print("| glance | agree | stopped at glance | >1 chunk | tokens read | seconds | macro-F1 |")
        print("|---|---|---|---|---|---|---|")
        options = predictor.options.__class__.of(predictor.options, cascade=1.0, glance=0)
        predictor.options = options
        reference = predictor.topic_probs(encoded, texts, titles)["blend"].argmax(-1).tolist()
        for glance in GLANCES:
            predictor.options = options.__class__.of(options, cascade=threshold, glance=glance)
            predictor.stats = {"real_tokens": 0, "computed_tokens": 0}
            start = time.perf_counter()
            probs = predictor.topic_probs(encoded, texts, titles)["blend"]
            seconds = time.perf_counter() - start
            ids = probs.argmax(-1).tolist()
            n = len(ids)
            agree = sum(a == b for a, b in zip(ids, reference)) / n
            f1 = f1_score(gold, [predictor.labels[i] for i in ids], average="macro")
            stats = predictor.stats
            print(f"| {glance} | {agree:.4f} | {stats.get('stopped_at_glance', 0) / n:.3f} | "
                  f"{stats.get('more_than_one_chunk', 0) / n:.3f} | "
                  f"{stats['computed_tokens'] / whole:.3f} | {seconds:.1f} | {f1:.4f} |",
                  flush=True)
    predictor.lexical = partner


if __name__ == "__main__":
    main()
