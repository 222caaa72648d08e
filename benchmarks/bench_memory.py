"""Memory of the streaming batch job (issue: inference engine): peak RSS of `newsdesk analyze`
over 1,000 and over 10,000 real BBC articles, each run in its own process.

The job's memory should not grow with the input: it reads, analyses and writes one window at a
time. To keep the run short on a CPU, the model is a small random BERT classifier built here
from a config (the job's memory behaviour does not depend on which weights it runs); the
articles are the real BBC articles from a prepared folder, cycled with fresh ids.

    python benchmarks/bench_memory.py --data data/bbc
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import resource, sys, time
from newsdesk.inference import NewsAnalyzer
from newsdesk.inference.job import run_job
analyzer = NewsAnalyzer.from_pretrained(topic=sys.argv[1], device="cpu", precision="fp32")
t = time.perf_counter()
r = run_job(analyzer, sys.argv[2], sys.argv[3], progress_bar=False)
print(r["records"], round(time.perf_counter() - t, 1),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


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
    args = p.parse_args()
    from newsdesk.models.loading import resolve_model

    rows = []
    for split in ("train", "dev"):
        rows += [json.loads(x) for x in (Path(args.data) / f"{split}.jsonl").read_text().splitlines()]
    print(f"date: {time.strftime('%Y-%m-%d %H:%M')}  machine: {platform.machine()}")
    print(f"command: python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_model(tmp / "model", resolve_model("minilm"))
        peaks = {}
        for n in map(int, args.sizes.split(",")):
            src = tmp / f"in-{n}.jsonl"
            with open(src, "w") as f:
                for i in range(n):
                    r = rows[i % len(rows)]
                    f.write(json.dumps({"id": f"{i}", "title": r["title"], "text": r["text"]}) + "\n")
            out = subprocess.run([sys.executable, "-c", CHILD, str(tmp / "model"), str(src),
                                  str(tmp / f"out-{n}.jsonl")], capture_output=True, text=True,
                                 check=True).stdout.split()
            records, seconds, rss = int(out[0]), float(out[1]), int(out[2])
            peaks[n] = rss
            print(f"{n:>6} articles: {records} written in {seconds} s, peak RSS {rss} MB")
        sizes = sorted(peaks)
        print(f"peak RSS ratio {sizes[-1]} / {sizes[0]} articles: {peaks[sizes[-1]] / peaks[sizes[0]]:.3f}")


if __name__ == "__main__":
    main()
