"""Where CPU inference time goes (issue: inference engine): tokenisation rate and an operator
profile of one classifier forward pass, beside this machine's fp32 matrix-multiply peak.

    python benchmarks/profile_forward.py --model runs/topic-bbc --data data/bbc
    python benchmarks/profile_forward.py --model runs/topic-bbc --data data/bbc --compile

--compile also times the same forward pass under int8 dynamic quantisation and under
`torch.compile` (inductor, with and without weight freezing) against eager fp32, and each of the
encoder's linear-layer shapes under MKL (what eager PyTorch calls) and oneDNN with prepacked weights.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from bench_inference import matmul_peak  # benchmarks/ is on the path when run as a script
from header import print_header


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="runs/topic-bbc", help="a newsdesk classifier folder")
    p.add_argument("--data", default="data/bbc", help="prepared folder (train split is read)")
    p.add_argument("--articles", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--length", type=int, default=256)
    p.add_argument("--compile", action="store_true", help="also time int8 and torch.compile")
    args = p.parse_args()
    torch.set_num_threads(2)
    from torch.profiler import ProfilerActivity, profile

    from newsdesk.inference import NewsAnalyzer

    print_header()
    lines = (Path(args.data) / "train.jsonl").read_text().splitlines()[: args.articles]
    items = [{k: r[k] for k in ("id", "title", "text")} for r in map(json.loads, lines)]
    analyzer = NewsAnalyzer.from_pretrained(topic=args.model, device="cpu", precision="fp32")
    t = time.perf_counter()
    analyzer.prepare(items)
    print(f"tokenisation (sentences + ids): {len(items) / (time.perf_counter() - t):.0f} articles/s")

    print(f"fp32 matmul peak (2048^3, best of 3): {matmul_peak('float32'):.1f} GFLOP/s")

    model = analyzer.topic.backend.model
    c = model.config
    ids = torch.randint(1000, 2000, (args.batch, args.length))
    mask = torch.ones_like(ids)
    linear_flops = 2 * (4 * c.hidden_size**2 + 2 * c.hidden_size * c.intermediate_size) \
        * c.num_hidden_layers * ids.numel()
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            model(input_ids=ids, attention_mask=mask)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    addmm = sum(e.self_cpu_time_total for e in events if e.key == "aten::addmm")
    print(f"forward {args.batch} x {args.length} tokens: {total / 1e6:.3f} s; linear layers "
          f"(aten::addmm) {100 * addmm / total:.0f}% of it at "
          f"{linear_flops / (addmm / 1e6) / 1e9:.1f} GFLOP/s")
    print(events.table(sort_by="self_cpu_time_total", row_limit=6))
    if args.compile:
        compare_modes(model, {"input_ids": ids, "attention_mask": mask})
        compare_linear_kernels(c.hidden_size, c.intermediate_size, rows=(args.length, ids.numel()))


def timed(fn, *args, repeats: int = 30, **kwargs):
    """(seconds per call, the last call's output) after two warm-up calls (and compilation)."""
    with torch.inference_mode():
        fn(*args, **kwargs)
        fn(*args, **kwargs)
        t = time.perf_counter()
        for _ in range(repeats):
            out = fn(*args, **kwargs)
    return (time.perf_counter() - t) / repeats, out


def compare_modes(model, inputs: dict) -> None:
    """Eager fp32 against int8 and torch.compile on one batch, in this process."""
    import copy

    import torch._inductor.config as inductor

    from newsdesk.inference.backend import quantize

    base, reference = timed(model, repeats=6, **inputs)
    print(f"eager fp32: {base:.3f} s per forward")
    quantised = quantize(copy.deepcopy(model))
    t, _ = timed(quantised, repeats=6, **inputs)
    print(f"eager int8 (dynamic): {t:.3f} s, {base / t:.2f}x fp32")
    for freezing in (False, True):
        inductor.freezing = freezing
        torch._dynamo.reset()
        compiled = torch.compile(copy.deepcopy(model), dynamic=False)
        start = time.perf_counter()
        with torch.inference_mode():
            compiled(**inputs)
        build = time.perf_counter() - start
        t, out = timed(compiled, repeats=6, **inputs)
        print(f"torch.compile fp32 (inductor, freezing={freezing}): {t:.3f} s, {base / t:.2f}x "
              f"fp32, compile {build:.0f} s, max |logit diff| "
              f"{float((out.logits - reference.logits).abs().max()):.1e}")


def compare_linear_kernels(hidden: int, inner: int, rows: tuple[int, ...]) -> None:
    """GFLOP/s of the encoder's linear shapes: MKL (eager `F.linear`) vs oneDNN, prepacked."""
    if not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        print("oneDNN linear: not in this torch build")
        return
    for m in rows:
        for k, n in ((hidden, hidden), (hidden, inner), (inner, hidden)):
            x, w, b = torch.randn(m, k), torch.randn(n, k), torch.randn(n)
            packed = torch.ops.mkldnn._reorder_linear_weight(w, None)
            flops = 2 * m * k * n
            mkl = flops / timed(torch.nn.functional.linear, x, w, b)[0] / 1e9
            onednn = flops / timed(torch.ops.mkldnn._linear_pointwise,
                                   x, packed, b, "none", [], "")[0] / 1e9
            print(f"linear {m}x{k} -> {n}: MKL {mkl:.0f} GFLOP/s, oneDNN prepacked "
                  f"{onednn:.0f} GFLOP/s ({onednn / mkl:.2f}x)")


if __name__ == "__main__":
    main()
