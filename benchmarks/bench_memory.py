"""Memory of the streaming batch job (issue: inference engine): peak RSS of `newsdesk analyze`
over 1,000 and over 10,000 real BBC articles, each run in its own process.

The job's memory should not grow with the input: it reads, analyses and writes one window at a
time. By default, to keep the run short on a CPU, the model is a small random BERT topic
classifier built here from a config, run in fp32. With `--models DIR` the job runs what users
run: the trained topic, stance and summary folders found there (as `bench_inference.py` finds
them), under the default options (precision "auto", calibrated on the machine), stance towards
one claim. The articles are the real BBC articles from a prepared folder, cycled with fresh ids.

    python benchmarks/bench_memory.py --data data/bbc
    python benchmarks/bench_memory.py --data data/bbc --models runs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from newsdesk.inference import NewsAnalyzer
from newsdesk.inference.job import run_job
folders, options = json.loads(sys.argv[1]), json.loads(sys.argv[4])
analyzer = NewsAnalyzer.from_pretrained(**folders, device="cpu", **options)
t = time.perf_counter()
targets = ["The government will raise taxes"] if "stance" in folders else None
r = run_job(analyzer, sys.argv[2], sys.argv[3], targets=targets, progress_bar=False)
engines = ",".join(f"{n}={m.engine}" for n, m in analyzer.models.items())
print(r["records"], round(time.perf_counter() - t, 1),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, engines)
"""
WARM_UP = 300  # articles; more than calibration's sample


def make_model(folder: Path, tokenizer_from: str) -> None:
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tok = AutoTokenizer.from_pretrained(tokenizer_from)
    labels = ["business", "entertainment", "politics", "sport", "tech"]
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=64, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=128, num_labels=5,
                        id2label=dict(enumerate(labels)),
                        label2id={lab: i for i, lab in enumerate(labels)})
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    from newsdesk.models.folder import ClassifierSettings, write_settings

    write_settings(folder, ClassifierSettings(task="topic", labels=labels, max_length=256))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/bbc")
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--models", help="folder with trained topic/stance/summary folders: run them "
                   "under the default options (default: a small random topic model in fp32)")
    args = p.parse_args()
    from bench_inference import find_models

    from newsdesk.models.loading import resolve_model

    rows = []
    for split in ("train", "dev"):
        rows += [json.loads(x) for x in (Path(args.data) / f"{split}.jsonl").read_text().splitlines()]
    from header import print_header

    print_header()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.models:
            folders, options = find_models(Path(args.models)), {}
            if not folders:
                p.error(f"--models {args.models}: no topic, stance or summary folder in it")
        else:
            make_model(tmp / "model", resolve_model("minilm"))
            folders, options = {"topic": str(tmp / "model")}, {"precision": "fp32"}
        print(f"models: {folders}  options: {options or 'defaults'}")
        peaks = {}
        sizes = list(map(int, args.sizes.split(",")))
        if args.models:  # so that every measured run finds the calibration decisions cached
            sizes = [WARM_UP] + sizes
        for k, n in enumerate(sizes):
            src = tmp / f"in-{n}.jsonl"
            with open(src, "w") as f:
                for i in range(n):
                    r = rows[i % len(rows)]
                    f.write(json.dumps({"id": f"{i}", "title": r["title"], "text": r["text"]}) + "\n")
            out = subprocess.run([sys.executable, "-c", CHILD,
                                  json.dumps(folders), str(src), str(tmp / f"out-{n}.jsonl"),
                                  json.dumps(options)], capture_output=True, text=True,
                                 check=True).stdout.split()
            records, seconds, rss = int(out[0]), float(out[1]), int(out[2])
            warm_up = args.models and k == 0
            if not warm_up:
                peaks[n] = rss
            print(f"{n:>6} articles: {records} written in {seconds} s, peak RSS {rss} MB, "
                  f"engines {out[3]}" + (" (warm-up: calibrates if needed; not counted)"
                                         if warm_up else ""))
        sizes = sorted(peaks)
        print(f"peak RSS ratio {sizes[-1]} / {sizes[0]} articles: {peaks[sizes[-1]] / peaks[sizes[0]]:.3f}")


if __name__ == "__main__":
    main()
