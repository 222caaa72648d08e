"""The ceiling on "% of the best matmul peak" for a model's own layer shapes (issue 14).

`bench_inference.py` reports each path's share of the machine's best matmul peak: the FLOPs of
the encoder's linear layers divided by the path's time, over the best of a 2048x2048 matmul in
fp32, bf16 and int8. A forward pass cannot run its linear layers faster than the same matmuls
run alone, so the rate those matmuls reach at the model's own shapes, over the same peak, is a
ceiling on that share, before attention, GELU, layer norm and tokenising take their part. This
times them: for every linear layer shape of the model (tokens x in -> out, the tokens of one
batch of `--batch` x `--length`), in each precision, best of `--repeat`.

    python benchmarks/bench_shapes.py --model runs/topic-bbc
"""

from __future__ import annotations

import argparse

from bench_inference import matmul_peaks, matmul_rate  # benchmarks/ is on the path
from header import print_header
from transformers import AutoConfig

DTYPES = {"fp32": "float32", "bf16": "bfloat16", "int8": "int8"}  # matmul_peaks' names


def layer_shapes(model_dir: str) -> list[tuple[str, int, int, int]]:
    """(name, in, out, per layer) of a BERT-like encoder's linear layers."""
    c = AutoConfig.from_pretrained(model_dir)
    h, i = c.hidden_size, c.intermediate_size
    return [("query/key/value/output", h, h, 4), ("intermediate", h, i, 1),
            ("output", i, h, 1)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="runs/topic-bbc", help="a model folder (its config.json)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    print_header()
    tokens = args.batch * args.length
    peaks = matmul_peaks()
    best_peak = max(peaks.values())
    print("matmul peak (2048x2048): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in peaks.items()))
    shapes = layer_shapes(args.model)
    print(f"\nlinear layers of {args.model} on {tokens} tokens ({args.batch} x {args.length}):")
    print("| layer | in x out | " + " | ".join(peaks) + " |")
    print("|---|---|" + "---|" * len(peaks))
    seconds = dict.fromkeys(peaks, 0.0)  # per token-layer pass, weighted by how often each runs
    flops = 0.0
    for name, n_in, n_out, count in shapes:
        rates = {d: matmul_rate(DTYPES[d], tokens, n_in, n_out, args.repeat) for d in peaks}
        print(f"| {name} | {n_in} x {n_out} | " + " | ".join(
            f"{r:.0f} ({100 * r / best_peak:.0f}%)" for r in rates.values()) + " |")
        f = 2.0 * n_in * n_out * count
        flops += f
        for d, r in rates.items():
            seconds[d] += f / r
    print("\nall linear layers of one encoder layer, as the share of the best peak "
          f"({best_peak:.0f}) that they reach alone: " + ", ".join(
              f"{d} {100 * flops / s / best_peak:.0f}%" for d, s in seconds.items()))
    print("That is the ceiling on bench_inference.py's '% peak' for a path in that precision; "
          "attention, GELU, layer norm and tokenising only lower it.")


if __name__ == "__main__":
    main()
