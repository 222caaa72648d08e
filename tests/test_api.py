"""The package's public face: top-level names, input types `analyze` accepts, honest macro-F1."""

from __future__ import annotations

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
    assert set(newsdesk.__all__) <= set(dir(newsdesk))
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
