"""Checked reduced precision (issue: inference engine): which tolerance catches what bf16 changes?

For a model folder and real articles: the scores behind each decision in fp32 and in a reduced
precision; the tolerance the calibration would set from the first `--calibrate` articles at each
quantile of the moves (`inference.calibrate.shift`); then, over all articles, how many decisions
the reduced precision alone changes, how many a checked run would make again in fp32 (close
calls) and how many changed ones it would miss (changed, yet not a close call). The first
`--calibrate` articles set the tolerance; the rest are articles it never saw.

    python benchmarks/bench_checked.py --model runs/summary-bbc --data data/bbc
    python benchmarks/bench_checked.py --model runs/stance-fnc1 --data data/bbc
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from header import print_header

from newsdesk.inference import load_predictor
from newsdesk.inference.calibrate import shift
from newsdesk.inference.options import CALIBRATION_SAMPLE, InferenceOptions
from newsdesk.models.selection import select_sentences, stable_selection

QUANTILES = (0.9, 0.95, 0.99, 1.0)
CLAIM = "The government plans to raise taxes"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a topic, stance or extractive summary folder")
    p.add_argument("--data", default="data/bbc", help="prepared folder (its dev split is read)")
    p.add_argument("--precision", default="bf16")
    p.add_argument("--calibrate", type=int, default=CALIBRATION_SAMPLE,
                   help="articles that set the tolerance")
    p.add_argument("--target", default=CLAIM, help="stance: the claim paired with every article")
    args = p.parse_args()
    rows = [json.loads(x) for x in (Path(args.data) / "dev.jsonl").read_text().splitlines()]
    items = [{"text": r["text"], "title": r.get("title")} for r in rows]
    print_header()
    predictor = load_predictor(args.model, InferenceOptions(device="cpu", precision="fp32"))
    encoded = predictor.encode(items)
    targets = [args.target] if predictor.task.pair else None
    reference = predictor.values(items, encoded, targets)
    predictor.use(args.precision, predictor.max_tokens)
    moved = predictor.values(items, encoded, targets)
    summary = predictor.task.output == "text"

    def decision(scores: torch.Tensor, i: int):
        if summary:
            return select_sentences(encoded[i].sentences, scores.tolist(), predictor.settings)
        return int(scores[: len(predictor.labels)].argmax())  # a multi-label row ends in thresholds

    def close_call(scores: torch.Tensor, i: int, tolerance: float) -> bool:
        if summary:
            return not stable_selection(encoded[i].sentences, scores.tolist(), predictor.settings,
                                        tolerance)
        predictor.tolerance = tolerance
        return not predictor.stable(scores[: len(predictor.labels)])

    n, k = len(moved), args.calibrate
    changed = [decision(a, i) != decision(b, i) for i, (a, b) in enumerate(zip(reference, moved))]
    print(f"{args.model}: {n} decisions ({n - k} after the {k} that set the tolerance); "
          f"{args.precision} alone changes {sum(changed)} ({sum(changed[k:])} of the unseen)")
    print(f"{'quantile':>9}{'tolerance':>11}{'close calls':>13}{'missed':>8}{'missed unseen':>15}"
          f"{'equal to fp32':>15}")
    for q in QUANTILES:
        tolerance = shift(reference[:k], moved[:k], q)
        close = [close_call(b, i, tolerance) for i, b in enumerate(moved)]
        missed = [c and not cc for c, cc in zip(changed, close)]
        print(f"{q:>9.2f}{tolerance:>11.4f}{sum(close) / n:>13.3f}{sum(missed):>8}"
              f"{sum(missed[k:]):>15}{1 - sum(missed) / n:>15.4f}")


if __name__ == "__main__":
    main()
