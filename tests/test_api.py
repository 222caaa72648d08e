"""The package's public face: top-level names, input types `analyze` accepts, honest macro-F1."""

from __future__ import annotations

import importlib
import json

import pytest

import newsdesk
from newsdesk.errors import DataError
from newsdesk.training.metrics import classification_metrics

ROWS = [{"id": "a", "title": "Markets", "text": "Profit rose at the bank. Shares fell."},
        {"id": "b", "title": "Match", "text": "The team won the match. The coach was happy."}]


def test_top_level_names():
    from newsdesk import ClassifierPredictor, InferenceOptions, NewsAnalyzer, NewsdeskError

    assert NewsAnalyzer.__module__ == "newsdesk.inference.analyzer"
    assert issubclass(DataError, NewsdeskError)
    assert ClassifierPredictor and InferenceOptions and newsdesk.__version__
    importlib.import_module("newsdesk.api")  # a submodule import must not shadow the functions

    assert newsdesk.train.__module__ == newsdesk.evaluate.__module__ == "newsdesk.api"
    assert callable(newsdesk.train) and callable(newsdesk.evaluate) and callable(newsdesk.prepare)
    assert newsdesk.extract_article.__module__ == "newsdesk.data.pages"
    from importlib.resources import files

    assert (files("newsdesk") / "py.typed").is_file()  # type checkers read the hints
    assert set(newsdesk.__all__) <= set(dir(newsdesk))
    import newsdesk.inference as inference  # its names load on first use too

    assert set(inference.__all__) <= set(dir(inference))
    assert inference.NewsAnalyzer.__module__ == "newsdesk.inference.analyzer"
    with pytest.raises(AttributeError, match="'newsdesk.inference' has no attribute 'Nope'"):
        inference.Nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        newsdesk.Nope  # noqa: B018


def test_tables_give_the_same_results_as_lists(tiny_models):
    import datasets
    import pandas as pd
    import pyarrow as pa

    analyzer = newsdesk.NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu",
                                                     precision="fp32")
    expected = analyzer.analyze(ROWS)
    for table in (pd.DataFrame(ROWS), datasets.Dataset.from_list(ROWS), pa.Table.from_pylist(ROWS),
                  (r for r in ROWS)):
        got = analyzer.analyze(table)
        assert got == expected, type(table).__name__
    with pytest.raises(DataError, match="articles must be a string, a dict, an Article, or a list"):
        analyzer.analyze(42)
    with pytest.raises(DataError, match="article 1: article must be a string, a dict or an Article"):
        analyzer.analyze(["fine text", 3.5])


def test_macro_f1_counts_only_the_classes_in_the_data(tmp_path):
    labels = ["business", "politics", "sport", "tech", "weather"]
    m = classification_metrics(["sport", "tech", "tech"], ["sport", "tech", "tech"], labels)
    assert m["macro_f1"] == 1.0 and m["absent_labels"] == ["business", "politics", "weather"]
    m = classification_metrics(["sport", "tech"], ["sport", "weather"], labels)
    assert m["macro_f1"] == pytest.approx(0.5)  # sport 1.0, tech 0.0; weather is not in gold
    assert json.dumps(m)  # what metrics.json holds


def test_train_from_python_with_a_preset_and_fields(tmp_path, bbc_dir, tiny_bert_dir, seed):
    from huggingface_hub import ModelCard

    newsdesk.prepare("bbc", bbc_dir, tmp_path / "bbc", dev=0.3)
    out = tmp_path / "topic"
    metrics = newsdesk.train("topic", preset="bbc", data=str(tmp_path / "bbc"), output_dir=str(out),
                             model=str(tiny_bert_dir), max_length=48, chunk_stride=8, epochs=1,
                             batch_size=8, early_stopping_patience=0, lexical="none")
    assert 0 <= metrics["macro_f1"] <= 1
    settings = newsdesk.load_predictor(out).settings
    assert settings.truncation == "chunks" and settings.training["learning_rate"] == 1e-4
    assert ModelCard.load(out / "README.md").data.datasets == ["bbc-news-summary"]
    with pytest.raises(DataError, match="not both"):
        newsdesk.train("topic", preset="bbc", config="x.yaml")
