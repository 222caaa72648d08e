"""Quality benchmark for the extractive summariser (issue: news summariser).

Trains with the shipped preset on the prepared BBC train split and prints ROUGE-1/2/Lsum on the
dev split beside Lead-3, Lead-k (k matched to the length ratio) and the extractive oracle.

    python benchmarks/bench_summary.py --data data/bbc
"""

from __future__ import annotations

import argparse
import json
import time

from header import command, print_header

from newsdesk.training.config import SummaryConfig, load_config
from newsdesk.training.evaluation import format_rouge
from newsdesk.training.summary import train_summariser


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="prepared BBC folder")
    p.add_argument("--config", default="configs/summary-bbc.yaml")
    p.add_argument("--output-dir", help="model folder (default: the preset's)")
    args = p.parse_args()
    config = load_config(SummaryConfig, args.config, {"data": args.data,
                                                      "output_dir": args.output_dir})
    started = time.perf_counter()
    metrics = train_summariser(config, command=command())
    total = time.perf_counter() - started
    print("\n=== results ===")
    print_header()
    print(f"train {metrics['train_seconds']:.0f} s, train+eval {total:.0f} s, "
          f"{metrics['examples']} dev articles, ratio {config.ratio}")
    print(format_rouge(metrics))
    lead_k = next(v for k, v in metrics.items() if k.startswith("lead_k"))
    print(f"ROUGE-2 over Lead-k: {metrics['model']['rouge2'] - lead_k['rouge2']:+.2f}")
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, dict)}))


if __name__ == "__main__":
    main()
