"""Peak memory and time of a short classifier training run with the training batches padded to
a multiple of N tokens (0: to the longest in each batch only, newsdesk's behaviour before
`training.classifier.PAD_MULTIPLE`). Run once per N, back to back, with nothing else running.

    python benchmarks/probe_training_memory.py --multiple 0
    python benchmarks/probe_training_memory.py --multiple 16

Defaults: the topics-reuters preset, one epoch on 2,000 stories, no TF-IDF part.
"""

from __future__ import annotations

import argparse
import resource
import time

from header import print_header

import newsdesk.training.classifier as training
from newsdesk.api import make_config


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--multiple", type=int, required=True, help="pad_to_multiple_of (0: none)")
    p.add_argument("--preset", default="topics-reuters")
    p.add_argument("--examples", type=int, default=2000)
    args = p.parse_args()
    print_header()
    training.PAD_MULTIPLE = args.multiple or None
    config = make_config("topic", args.preset, None, epochs=1, lexical="none",
                         lexical_chars=False, max_train_examples=args.examples,
                         output_dir=f"/tmp/probe-training-memory-{args.multiple}")
    started = time.perf_counter()
    metrics = training.train_classifier(config)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"multiple {args.multiple}: wall {time.perf_counter() - started:.0f} s, peak RSS "
          f"{peak:.2f} GB, dev micro-F1 {metrics.get('micro_f1', float('nan')):.4f}")


if __name__ == "__main__":
    main()
