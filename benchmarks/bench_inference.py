"""Inference benchmark (issue: inference engine): newsdesk against the Hugging Face pipeline.

On real BBC dev articles, with the same trained models, in one run:
- topic: `pipeline("text-classification")` (truncation at the model's max length) against newsdesk
  on the same inputs (head truncation, like-for-like) in every CPU precision mode, and newsdesk's
  default (title-prefixed chunks over the whole article);
- stance: `pipeline("text-classification")` with text pairs against newsdesk's evidence pairs;
- summary: a plain one-article-at-a-time loop against newsdesk's batched scorer;
- full analysis (topic + stance towards one claim + summary): the three baselines against one
  `NewsAnalyzer.analyze` call.
Each configuration runs in its own child process, so peak RSS is per configuration. Label
agreement is against newsdesk fp32 on the same inputs. The fraction of this machine's bf16 and
fp32 matrix-multiply peak is measured here with a large `torch.matmul`.

    python benchmarks/bench_inference.py --models runs --articles 282
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

CLAIM = "The government plans to raise taxes"


def load_articles(data: str, n: int) -> list[dict]:
    rows = [json.loads(line) for line in (Path(data) / "dev.jsonl").read_text().splitlines()]
    return [{"id": r["id"], "title": r["title"], "text": r["text"]} for r in rows[:n]]


def matmul_peak(dtype_name: str, size: int = 2048, repeat: int = 3) -> float:
    """GFLOP/s of a large square matmul in the given dtype (best of `repeat`)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


def native_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX); else torch emulates."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def encoder_flops_per_token(model_dir: str) -> float:
    """Forward FLOPs per token of the encoder's linear layers (2 * weights), attention aside."""
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(model_dir)
    per_layer = 4 * c.hidden_size**2 + 2 * c.hidden_size * c.intermediate_size
    return 2.0 * per_layer * c.num_hidden_layers


def run_case(case: dict, queue) -> None:
    """One configuration, in a child process; puts its figures on the queue."""
    import torch

    torch.set_num_threads(case["threads"])
    from newsdesk.inference import NewsAnalyzer, SummaryPredictor

    arts = load_articles(case["data"], case["articles"])
    texts = [a["text"] for a in arts]
    models = case["models"]
    kind, mode = case["kind"], case["mode"]
    out: dict = {"name": case["name"]}
    tokens = 0
    if kind == "pipeline-topic" or kind == "pipeline-stance":
        from transformers import pipeline

        task = "topic" if kind.endswith("topic") else "stance"
        pipe = pipeline("text-classification", model=models[task], device="cpu")
        max_length = json.loads((Path(models[task]) / "newsdesk.json").read_text())["max_length"]
        inputs = texts if task == "topic" else [{"text": CLAIM, "text_pair": t} for t in texts]
        pipe(inputs[:2], truncation=True, max_length=max_length)  # warm-up
        t0 = time.perf_counter()
        preds = pipe(inputs, truncation=True, max_length=max_length)
        seconds = time.perf_counter() - t0
        out["labels"] = [p["label"] for p in preds]
        enc = pipe.tokenizer(*( [texts] if task == "topic" else [[CLAIM] * len(texts), texts]),
                             truncation=True, max_length=max_length)
        tokens = sum(len(x) for x in enc["input_ids"])
        out["padding_efficiency"] = 1.0  # batch size 1: no padding
    elif kind == "loop-summary":
        p = SummaryPredictor.from_pretrained(models["summary"], device="cpu", precision="fp32")
        p.summarize(texts[:2])
        p.stats = {"real_tokens": 0, "computed_tokens": 0}
        t0 = time.perf_counter()
        out["summaries"] = [p.summarize(t) for t in texts]
        seconds = time.perf_counter() - t0
        tokens = p.stats["real_tokens"]
        out["padding_efficiency"] = tokens / max(1, p.stats["computed_tokens"])
    else:
        parts = {"topic": models["topic"]} if kind.startswith("newsdesk-topic") else models
        analyzer = NewsAnalyzer.from_pretrained(**parts, device="cpu", precision=mode)
        if kind == "newsdesk-topic-truncated":  # the pipeline's inputs: head truncation, no chunks
            settings = analyzer.topic.settings
            settings.eval_chunks, settings.truncation = False, "head"
            analyzer.topic.lexical = None  # and the transformer alone, as the pipeline reads it
        targets = [CLAIM] if kind == "newsdesk-full" else None
        analyzer.analyze(arts[:2], targets=targets)  # warm-up
        for m in analyzer.models.values():
            m.stats = {"real_tokens": 0, "computed_tokens": 0}
        t0 = time.perf_counter()
        results = analyzer.analyze(arts, targets=targets)
        seconds = time.perf_counter() - t0
        out["labels"] = [r["topic"]["label"] for r in results]
        if targets:
            out["stance_labels"] = [r["stance"][CLAIM]["label"] for r in results]
            out["summaries"] = [r["summary"] for r in results]
        real = sum(m.stats["real_tokens"] for m in analyzer.models.values())
        computed = sum(m.stats["computed_tokens"] for m in analyzer.models.values())
        tokens = real
        out["padding_efficiency"] = real / max(1, computed)
        out["computed_tokens"] = computed
    out.update(seconds=seconds, articles_per_s=len(texts) / seconds, tokens_per_s=tokens / seconds,
               tokens=tokens, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    queue.put(out)


def run(case: dict) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=run_case, args=(case, queue))
    proc.start()
    result = queue.get()
    proc.join()
    print(f"  {result['name']:<34} {result['articles_per_s']:8.2f} art/s  "
          f"{result['tokens_per_s']:9.0f} tok/s  pad-eff {result['padding_efficiency']:.3f}  "
          f"RSS {result['peak_rss_mb']:.0f} MB", flush=True)
    return result


def agreement(a: list, b: list) -> float:
    return sum(x == y for x, y in zip(a, b)) / max(1, len(a))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="runs", help="folder with topic-bbc/, stance-fnc1/, summary-bbc/")
    p.add_argument("--data", default="data/bbc", help="prepared BBC folder (dev split is read)")
    p.add_argument("--articles", type=int, default=282)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--modes", default="fp32,bf16,int8")
    p.add_argument("--bf16-articles", type=int, default=30,
                   help="bf16 runs on only the first N articles where the CPU emulates bf16")
    args = p.parse_args()
    root = Path(args.models)
    models = {"topic": str(root / "topic-bbc"), "stance": str(root / "stance-fnc1"),
              "summary": str(root / "summary-bbc")}
    have = {k: v for k, v in models.items() if Path(v, "newsdesk.json").is_file()}
    base = {"data": args.data, "articles": args.articles, "threads": args.threads, "models": have}
    modes = args.modes.split(",")

    def sized(mode: str) -> dict:
        """bf16 on a CPU without native bf16 is emulated: measure it on the first few articles
        (agreement is then against fp32 on those same articles)."""
        if mode == "bf16" and not native_bf16():
            return {**base, "articles": min(args.articles, args.bf16_articles)}
        return base

    import torch

    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}  machine: {platform.machine()}, "
          f"{args.threads} threads, torch {torch.__version__}")
    print(f"command: python {' '.join(sys.argv)}")
    torch.set_num_threads(args.threads)
    # bf16 without native CPU support (no AVX512-BF16/AMX) is emulated and ~40x slower than fp32:
    # a smaller matrix keeps the measurement short.
    peaks = {"float32": matmul_peak("float32", 2048), "bfloat16": matmul_peak("bfloat16", 768)}
    print(f"matmul peak: fp32 {peaks['float32']:.1f} GFLOP/s, bf16 {peaks['bfloat16']:.1f} GFLOP/s")
    flops_tok = encoder_flops_per_token(have["topic"])
    results: dict[str, dict] = {}

    print("topic (same model, same articles, same max length)")
    results["pipe-topic"] = run({**base, "name": "HF pipeline (batch 1)", "kind": "pipeline-topic",
                                 "mode": "fp32"})
    for mode in modes:
        results[f"trunc-{mode}"] = run({**sized(mode), "name": f"newsdesk truncated {mode}",
                                        "kind": "newsdesk-topic-truncated", "mode": mode})
    for mode in modes:
        results[f"chunks-{mode}"] = run({**sized(mode), "name": f"newsdesk chunked {mode}",
                                         "kind": "newsdesk-topic", "mode": mode})
    full = {"topic", "stance", "summary"} <= set(have)
    if full:
        print("full analysis (topic + stance towards one claim + summary)")
        results["pipe-stance"] = run({**base, "name": "HF pipeline stance pairs (batch 1)",
                                      "kind": "pipeline-stance", "mode": "fp32"})
        results["loop-summary"] = run({**base, "name": "plain summary loop (batch 1)",
                                       "kind": "loop-summary", "mode": "fp32"})
        for mode in [*modes, "auto"]:  # auto: the default, the measured mode per task
            results[f"full-{mode}"] = run({**sized(mode), "name": f"newsdesk analyze {mode}",
                                           "kind": "newsdesk-full", "mode": mode})

    print("\n=== summary ===")
    pipe = results["pipe-topic"]
    print(f"{'configuration':<34}{'art/s':>8}{'x pipe':>8}{'agree':>8}{'pad-eff':>9}"
          f"{'RSS MB':>8}{'%bf16pk':>9}{'%fp32pk':>9}")
    for key, r in results.items():
        if not (key.startswith("trunc") or key.startswith("chunks") or key == "pipe-topic"):
            continue
        ref = results[f"{key.split('-')[0]}-fp32"] if key != "pipe-topic" else results["trunc-fp32"]
        achieved = flops_tok * r.get("computed_tokens", r["tokens"]) / r["seconds"] / 1e9
        speedup = r["articles_per_s"] / pipe["articles_per_s"]
        print(f"{r['name']:<34}{r['articles_per_s']:>8.2f}{speedup:>8.2f}"
              f"{agreement(r['labels'], ref['labels']):>8.3f}{r['padding_efficiency']:>9.3f}"
              f"{r['peak_rss_mb']:>8.0f}{100 * achieved / peaks['bfloat16']:>9.1f}"
              f"{100 * achieved / peaks['float32']:>9.1f}")
    if full:
        base_s = results["pipe-topic"]["seconds"] + results["pipe-stance"]["seconds"] + \
            results["loop-summary"]["seconds"]
        print(f"baseline full analysis: {base_s:.1f} s for {args.articles} articles "
              f"({args.articles / base_s:.2f} art/s)")
        ref = results["full-fp32"]
        for mode in [*modes, "auto"]:
            r = results[f"full-{mode}"]
            same = [a == b and c == d and e == f for a, b, c, d, e, f in zip(
                r["labels"], ref["labels"], r["stance_labels"], ref["stance_labels"],
                r["summaries"], ref["summaries"])]
            print(f"newsdesk analyze {mode} ({len(r['labels'])} articles): {r['seconds']:.1f} s "
                  f"({r['articles_per_s']:.2f} art/s), "
                  f"{r['articles_per_s'] * base_s / args.articles:.2f}x baseline; "
                  f"topic/stance/summary all equal to fp32 on "
                  f"{sum(same) / len(same):.3f}; topic agree {agreement(r['labels'], ref['labels']):.3f}, "
                  f"stance agree {agreement(r['stance_labels'], ref['stance_labels']):.3f}, "
                  f"summary equal {agreement(r['summaries'], ref['summaries']):.3f}; "
                  f"RSS {r['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
