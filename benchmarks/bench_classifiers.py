"""Quality benchmark for the topic and stance classifiers (issue: fine-tune classifiers).

Trains with the shipped presets on the prepared train splits, evaluates on the dev splits and
prints the figures beside a TF-IDF (1-2 grams, sublinear tf) + linear SVM baseline computed on the
same split by this script.

    python benchmarks/bench_classifiers.py --task topic --data data/bbc
    python benchmarks/bench_classifiers.py --task stance --data data/fnc1

Each figure carries a 95% bootstrap interval over the dev examples. For a second seed, prepare
a second split and train on it with the same seed:

    newsdesk data prepare bbc ../shared/data/bbc-news-summary --out data/bbc-seed7 --seed 7
    python benchmarks/bench_classifiers.py --task topic --data data/bbc-seed7 --seed 7 \
        --output-dir runs/topic-bbc-seed7
"""

from __future__ import annotations

import argparse
import json
import time

from header import command, print_header
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from newsdesk.data.prepare import load_prepared
from newsdesk.models.inputs import article_texts
from newsdesk.models.tasks import get_task
from newsdesk.training.classifier import train_classifier
from newsdesk.training.config import ClassifierConfig, load_config
from newsdesk.training.metrics import PARTS, classification_metrics, format_metrics


def tfidf_svm(data: str, task: str) -> dict:
    """The TF-IDF + linear SVM baseline on the same train/dev split."""
    train, dev = load_prepared(data, "train"), load_prepared(data, "dev")
    if task == "stance":
        x_train = [f"{t} ||| {x}" for t, x in zip(train["target"], train["text"])]
        x_dev = [f"{t} ||| {x}" for t, x in zip(dev["target"], dev["text"])]
        col = "label"
    else:
        x_train = article_texts(train["title"], train["text"])
        x_dev = article_texts(dev["title"], dev["text"])
        col = "topic"
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    clf = LinearSVC(C=1.0).fit(vec.fit_transform(x_train), train[col])
    pred = clf.predict(vec.transform(x_dev))
    labels = sorted(set(train[col]))
    return classification_metrics(list(dev[col]), list(pred), labels,
                                  fnc="fnc_score" in get_task(task).metrics)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=["topic", "stance"], required=True)
    p.add_argument("--data", required=True, help="prepared folder")
    p.add_argument("--config", help="preset (default configs/topic-bbc.yaml or stance-fnc1.yaml)")
    p.add_argument("--output-dir", help="model folder (default: the preset's)")
    p.add_argument("--seed", type=int, help="training seed (default: the preset's); prepare the "
                   "data with the same --seed for a second split")
    args = p.parse_args()
    config_path = args.config or f"configs/{'topic-bbc' if args.task == 'topic' else 'stance-fnc1'}.yaml"
    overrides = {"data": args.data, "output_dir": args.output_dir, "seed": args.seed}
    config = load_config(ClassifierConfig, config_path, overrides)

    t0 = time.perf_counter()
    baseline = tfidf_svm(args.data, args.task)
    baseline_s = time.perf_counter() - t0
    started = time.perf_counter()
    metrics = train_classifier(config, command=command())
    total_s = time.perf_counter() - started

    print("\n=== results ===")
    print_header()
    print(f"TF-IDF + linear SVM baseline ({baseline_s:.1f} s):")
    print(format_metrics(baseline))
    print(f"newsdesk {args.task} (train {metrics['train_seconds']:.0f} s, train+eval {total_s:.0f} s, "
          f"epochs {metrics['epochs_run']}):")
    print(format_metrics(metrics))
    keys = ("accuracy", "macro_f1", "fnc_score", "interval_95", "stories", *PARTS)
    print(json.dumps({"baseline": {k: baseline[k] for k in keys if k in baseline},
                      "newsdesk": {k: metrics[k] for k in keys if k in metrics},
                      "train_seconds": metrics["train_seconds"], "total_seconds": round(total_s)}))


if __name__ == "__main__":
    main()
