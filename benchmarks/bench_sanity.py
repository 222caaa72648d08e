"""Sanity suite for stance models on real BBC text: claims against stories from other sections.

Each sampled BBC article's title is a claim, paired with its own body (must be related: agree,
disagree or discuss) and with the body of an article from another section (must be "unrelated").
Prints, per stance model, the share of each kind it gets right, then the quickstart's claim
against a few dev articles as the quickstart prints them.

    python benchmarks/bench_sanity.py --stance runs/stance-fnc1 runs/quickstart/models/stance
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from header import print_header

from newsdesk.data.prepare import load_prepared, prepare
from newsdesk.inference import ClassifierPredictor
from newsdesk.quickstart import DEFAULT_CLAIM
from newsdesk.training.sanity import cross_section_pairs, sanity_rates


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stance", nargs="+", required=True, help="stance model folders")
    p.add_argument("--bbc", default="../shared/data/bbc-news-summary", help="BBC News Summary")
    p.add_argument("--prepared", default="/tmp/newsdesk-sanity-bbc",
                   help="where the BBC corpus is prepared (its dev split gives the articles)")
    p.add_argument("--per-section", type=int, default=40)
    p.add_argument("--seed", type=int, default=13)
    args = p.parse_args()
    print_header()
    prepare("bbc", args.bbc, args.prepared)
    dev = load_prepared(args.prepared, "dev")
    articles = [{"title": r["title"], "text": r["text"], "topic": r["topic"]} for r in dev]
    pairs = cross_section_pairs(articles, args.per_section, args.seed)
    print(f"{len(pairs)} pairs from {len(articles)} BBC dev articles "
          f"({args.per_section} claims per section, seed {args.seed})\n")
    print(f"{'model':<40}{'cross-section unrelated':>25}{'own story related':>20}{'s':>8}")
    for folder in args.stance:
        predictor = ClassifierPredictor.from_pretrained(folder, device="cpu")
        started = time.perf_counter()
        got = predictor.predict([q["text"] for q in pairs], targets=[q["target"] for q in pairs])
        seconds = time.perf_counter() - started
        labels = [g["label"] for g in got]
        rates = sanity_rates(pairs, labels)
        print(f"{folder:<40}{rates['cross_section_unrelated']:>25.1%}"
              f"{rates['own_story_related']:>20.1%}{seconds:>8.1f}")
        own = Counter(lab for q, lab in zip(pairs, labels) if q["expect"] == "related")
        print(f"{'':<4}own-story labels: {dict(own)}")
        examples = predictor.predict([a["text"] for a in articles[:3]], targets=DEFAULT_CLAIM)
        for a, g in zip(articles[:3], examples):
            print(f"{'':<4}{DEFAULT_CLAIM!r} vs {a['title'][:50]!r}: {g['label']} "
                  f"({g['scores'][g['label']]:.2f})")


if __name__ == "__main__":
    main()
