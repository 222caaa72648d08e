"""The ceiling on "% of the best matmul peak" for a model's own layer shapes (issue 14).

`bench_inference.py` reports each path's share of the machine's best matmul peak: the FLOPs of
the encoder's linear layers divided by the path's time, over the best of a 2048x2048 matmul in
fp32, bf16 and int8. A forward pass cannot run its linear layers faster than the same matmuls
run alone, so the rate those matmuls reach at the model's own shapes, over the same peak, is a
ceiling on that share, before attention, GELU, layer norm and tokenising take their part. This
times them: for every linear layer shape of the model (tokens x in -> out, the tokens of one
batch of `--batch` x `--length`), in each precision, best of `--repeat`. Where openvino is
installed it then runs the model's whole forward pass on such a batch in OpenVINO bf16 (the
engine calibration keeps on AMX machines) with its per-operator counters: how much of the pass
the fully connected layers take, and the linear layers' FLOP rate over the whole pass.

    python benchmarks/bench_shapes.py --model runs/topic-bbc
"""

from __future__ import annotations

import argparse
import importlib.util
from collections import defaultdict

import torch
from bench_inference import encoder_flops_per_token, matmul_peaks, matmul_rate  # benchmarks/
from header import best_of, print_header
from transformers import AutoConfig, AutoModelForSequenceClassification

DTYPES = {"fp32": "float32", "bf16": "bfloat16", "int8": "int8"}  # matmul_peaks' names


def layer_shapes(model_dir: str) -> list[tuple[str, int, int, int]]:
    """(name, in, out, per layer) of a BERT-like encoder's linear layers."""
    c = AutoConfig.from_pretrained(model_dir)
    h, i = c.hidden_size, c.intermediate_size
    return [("query/key/value/output", h, h, 4), ("intermediate", h, i, 1),
            ("output", i, h, 1)]


def openvino_forward(model_dir: str, batch: int, length: int, repeat: int
                     ) -> tuple[float, dict[str, float]]:
    """Seconds of one bf16 forward pass in OpenVINO (best of `repeat`) and the time its
    operator counters give each node type over one pass."""
    import openvino as ov

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    feeds = {"input_ids": torch.randint(1000, 2000, (batch, length)),
             "attention_mask": torch.ones(batch, length, dtype=torch.long)}
    with torch.no_grad():
        network = ov.convert_model(model, example_input=feeds)
    compiled = ov.Core().compile_model(network, "CPU", {
        "INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": torch.get_num_threads(),
        "PERF_COUNT": True})
    request, arrays = compiled.create_infer_request(), {k: v.numpy() for k, v in feeds.items()}
    best = best_of(lambda: request.infer(arrays), repeat)
    by_type: dict[str, float] = defaultdict(float)
    for op in request.profiling_info:  # the last pass
        by_type[op.node_type] += op.real_time.total_seconds()
    return best, dict(by_type)


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
    if importlib.util.find_spec("openvino") is None:
        print("\nopenvino is not installed: no whole-pass breakdown")
        return
    seconds, by_type = openvino_forward(args.model, args.batch, args.length, args.repeat)
    linear = encoder_flops_per_token(args.model) * tokens
    total = sum(by_type.values())
    print(f"\nOpenVINO bf16 forward pass on {tokens} tokens: {1000 * seconds:.1f} ms, the linear "
          f"layers' {linear / seconds / 1e9:.0f} GFLOP/s over the whole pass "
          f"({100 * linear / seconds / 1e9 / best_peak:.0f}% of the best peak)")
    print("| node type | ms | share of the pass |")
    print("|---|---|---|")
    for kind, t in sorted(by_type.items(), key=lambda kv: -kv[1])[:8]:
        print(f"| {kind} | {1000 * t:.1f} | {100 * t / total:.0f}% |")
    fc = by_type.get("FullyConnected", 0.0)
    if fc:
        print(f"fully connected layers alone: {linear / fc / 1e9:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
