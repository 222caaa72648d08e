"""Where a default full analysis spends its time (issue: inference engine): per model, the tokens
computed and the share of decisions made again in fp32; over the whole call, the operators
(cProfile) and the linear layers' FLOP rate.

    python benchmarks/profile_analyze.py --models runs --data data/bbc --articles 282
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

import torch
from bench_inference import CLAIM, encoder_flops_per_token, find_models, load_articles
from header import print_header

OPERATORS = ("linear", "scaled_dot_product_attention", "gelu", "layer_norm")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="runs")
    p.add_argument("--data", default="data/bbc")
    p.add_argument("--articles", type=int, default=282)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["NEWSDESK_CACHE"] = tempfile.mkdtemp(prefix="newsdesk-profile-cache-")
    from newsdesk.inference import NewsAnalyzer

    print_header()
    models = find_models(Path(args.models))
    articles = load_articles(args.data, args.articles)
    analyzer = NewsAnalyzer.from_pretrained(**models, device="cpu")
    analyzer.analyze(articles[:128], targets=[CLAIM])  # calibrates, as a job's first window does
    for m in analyzer.models.values():
        m.stats = {"real_tokens": 0, "computed_tokens": 0}
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(analyzer.analyze, articles, targets=[CLAIM])
    seconds = time.perf_counter() - start
    print(f"analyze of {len(articles)} articles: {seconds:.1f} s (under the profiler)")
    flops = 0.0
    for name, m in analyzer.models.items():
        s = m.stats
        flops += encoder_flops_per_token(models[name]) * s["computed_tokens"]
        print(f"  {name:<8} {m.engine:<18} {s['computed_tokens']:>8} tokens computed, "
              f"{s.get('rechecked', 0)} of {s.get('checked', 0)} decisions made again in fp32")
    stats = pstats.Stats(profile)
    for op in OPERATORS:
        total = sum(v[2] for k, v in stats.stats.items() if k[2] == f"<built-in method torch._C._nn.{op}>"
                    or k[2] == f"<built-in method torch.{op}>")
        line = f"  {op:<30} {total:6.2f} s"
        if op == "linear" and total:
            line += f"  ({flops / total / 1e9:.0f} GFLOP/s in the encoders' linear layers)"
        print(line)


if __name__ == "__main__":
    main()
