"""`newsdesk quickstart`: the whole job in one command, small enough for a 2-core CPU.

Prepares BBC News Summary and FNC-1, fine-tunes quick topic, stance and summary models, evaluates
them on the dev splits, and analyses a few dev articles.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from newsdesk.data.prepare import load_prepared, prepare
from newsdesk.errors import DataError
from newsdesk.inference import NewsAnalyzer
from newsdesk.training.classifier import train_classifier
from newsdesk.training.config import ClassifierConfig, SummaryConfig
from newsdesk.training.evaluation import format_rouge
from newsdesk.training.summary import train_summariser

DEFAULT_CLAIM = "The government will raise taxes"

# The quick preset: fewer examples and shorter inputs than configs/*.yaml, same code paths.
QUICK_TOPIC = dict(max_length=128, chunk_stride=32, max_chunks=4, epochs=1, batch_size=16,
                   learning_rate=2e-4, max_train_examples=900, early_stopping_patience=0,
                   lexical="tfidf", validation=0.15)
QUICK_STANCE = dict(max_length=96, chunk_stride=32, epochs=1, batch_size=16, learning_rate=2e-4,
                    class_weights="sqrt", downsample={"unrelated": 0.3}, max_train_examples=2000,
                    max_eval_examples=600, final_eval_examples=1000, early_stopping_patience=0,
                    lexical="tfidf", validation=0.15)
QUICK_SUMMARY = dict(max_length=256, epochs=1, batch_size=8, learning_rate=1e-4,
                     max_train_examples=240, max_eval_examples=120)


def data_folder(data: str | Path | None) -> Path:
    """The corpora folder: the argument, else $NEWSDESK_DATA, else ../shared/data."""
    folder = Path(data or os.environ.get("NEWSDESK_DATA") or "../shared/data")
    missing = [name for name in ("bbc-news-summary", "fnc-1") if not (folder / name).is_dir()]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(n + '/' for n in missing)} (quickstart needs "
                        "BBC News Summary in bbc-news-summary/ and FNC-1 in fnc-1/; point --data "
                        "or NEWSDESK_DATA at the folder holding them)")
    return folder


def quickstart(data: str | Path | None = None, out: str | Path = "runs/quickstart",
               model: str = "minilm", claim: str = DEFAULT_CLAIM, show: int = 3,
               scale: float = 1.0) -> dict:
    """Run the whole job and return the dev metrics of the three models.

    Args:
        data: folder with bbc-news-summary/ and fnc-1/.
        out: where prepared data (out/data) and models (out/models/{topic,stance,summary}) go.
        model: the base encoder (default: the packaged MiniLM).
        claim: the claim whose stance is shown for the sample articles.
        show: how many dev articles to analyse and print.
        scale: multiplies the quick preset's example counts (tests use a small scale).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    started = time.perf_counter()
    folder = data_folder(data)
    out = Path(out)
    prepared, models = out / "data", out / "models"

    def step(message: str) -> None:
        print(f"\n==> [{time.perf_counter() - started:6.0f} s] {message}", flush=True)

    step("preparing BBC News Summary and FNC-1")
    prepare("bbc", folder / "bbc-news-summary", prepared / "bbc")
    prepare("fnc1", folder / "fnc-1", prepared / "fnc1")

    def scaled(preset: dict) -> dict:
        keys = ("max_train_examples", "max_eval_examples", "final_eval_examples")
        return {k: max(8, int(v * scale)) if k in keys and v else v for k, v in preset.items()}

    metrics = {}
    step("fine-tuning the topic classifier (quick preset)")
    metrics["topic"] = train_classifier(ClassifierConfig(
        task="topic", data=str(prepared / "bbc"), output_dir=str(models / "topic"), model=model,
        **scaled(QUICK_TOPIC)), command="newsdesk quickstart")
    step("fine-tuning the stance classifier (quick preset)")
    metrics["stance"] = train_classifier(ClassifierConfig(
        task="stance", data=str(prepared / "fnc1"), output_dir=str(models / "stance"), model=model,
        **scaled(QUICK_STANCE)), command="newsdesk quickstart")
    step("fine-tuning the extractive summariser (quick preset)")
    metrics["summary"] = train_summariser(SummaryConfig(
        data=str(prepared / "bbc"), output_dir=str(models / "summary"), model=model,
        **scaled(QUICK_SUMMARY)), command="newsdesk quickstart")

    step(f"analysing {show} dev articles")
    analyzer = NewsAnalyzer.from_pretrained(topic=models / "topic", stance=models / "stance",
                                            summary=models / "summary")
    dev = load_prepared(prepared / "bbc", "dev").select(range(show))
    for row, result in zip(dev, analyzer.analyze(list(dev), targets=[claim])):
        stance = result["stance"][claim]
        print(f"\n--- {row['id']}: {row['title']}")
        topic = result["topic"]
        print(f"topic:   {topic['label']} ({topic['scores'][topic['label']]:.2f})"
              f"   [reference: {row['topic']}]")
        print(f"stance towards \"{claim}\": {stance['label']} ({stance['scores'][stance['label']]:.2f})")
        print(f"summary: {result['summary']}")

    print("\n=== dev metrics (quick models; see README for full-quality figures) ===")
    t, s = metrics["topic"], metrics["stance"]
    print(f"topic   accuracy {t['accuracy']:.3f}  macro-F1 {t['macro_f1']:.3f}  ({t['examples']} articles)")
    print(f"stance  FNC score {s['fnc_score']:.1f}  macro-F1 {s['macro_f1']:.3f}  "
          f"({s['examples']} pairs)")
    print("summary (ROUGE F1)")
    print(format_rouge(metrics["summary"]))
    print(f"\nmodels in {models}/{{topic,stance,summary}}; finished in "
          f"{time.perf_counter() - started:.0f} s")
    summary = {k: {m: v for m, v in d.items() if isinstance(v, (float, int, dict))}
               for k, d in metrics.items()}
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return metrics
