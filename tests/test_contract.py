"""The model-folder contract (`newsdesk.json`), the task table and the predictor interface."""

from __future__ import annotations

import json

import pytest

from newsdesk.errors import DataError, NewsdeskError
from newsdesk.inference import (
    ClassifierPredictor,
    InferenceOptions,
    NewsAnalyzer,
    SummaryPredictor,
    load_predictor,
)
from newsdesk.models.folder import (
    SCHEMA_VERSION,
    AbstractiveSettings,
    ClassifierSettings,
    ExtractiveSettings,
    read_settings,
    write_settings,
)
from newsdesk.models.tasks import TASKS, get_task
from newsdesk.training.config import ClassifierConfig, SummaryConfig
from newsdesk.version import __version__


def test_settings_round_trip_with_version(tmp_path):
    for settings in (ClassifierSettings(task="stance", labels=["agree", "unrelated"], max_length=64,
                                        evidence="head"),
                     ExtractiveSettings(max_length=128, budget="words", words=50),
                     AbstractiveSettings(max_length=256, num_beams=2)):
        write_settings(tmp_path, settings)
        raw = json.loads((tmp_path / "newsdesk.json").read_text())
        assert raw["schema_version"] == SCHEMA_VERSION and raw["newsdesk_version"] == __version__
        assert raw["kind"] == settings.kind
        assert read_settings(tmp_path) == settings


def test_defaults_live_in_the_contract():
    """A config's inference fields default to the contract's, so a folder trained with defaults
    reads back the same whether the field was written or not."""
    written = ClassifierSettings.from_config(ClassifierConfig(), labels=["a", "b"])
    minimal = ClassifierSettings(task="topic", labels=["a", "b"], max_length=256)
    for name in ("truncation", "eval_chunks", "chunk_stride", "max_chunks", "lexical",
                 "lexical_weight", "evidence"):
        assert getattr(written, name) == getattr(minimal, name), name
    extractive = ExtractiveSettings.from_config(SummaryConfig(), oracle_labels="match")
    assert extractive.training["kind"] == "extractive" and extractive.max_length == 512
    assert AbstractiveSettings.from_config(SummaryConfig(kind="abstractive")).generation_kwargs() \
        == AbstractiveSettings(max_length=512).generation_kwargs()


def test_folders_from_before_the_schema_still_load(tmp_path):
    legacy = {"kind": "classifier", "task": "topic", "data": "data/bbc", "max_length": 128,
              "truncation": "chunks", "eval_chunks": True, "chunk_stride": 32, "max_chunks": 4,
              "lexical": "tfidf", "lexical_weight": 0.5, "evidence": "overlap", "epochs": 1,
              "labels": ["business", "sport"], "base_model": "minilm", "train_examples": 900,
              "data_manifest": {"train": {"total": 900}}}
    (tmp_path / "newsdesk.json").write_text(json.dumps(legacy))
    s = read_settings(tmp_path)
    assert isinstance(s, ClassifierSettings) and s.chunk_stride == 32 and s.lexical == "tfidf"
    assert s.training["epochs"] == 1 and s.newsdesk_version == "0.1.0"
    old_summary = {"kind": "extractive", "max_length": 256, "labels": "greedy", "budget": "ratio",
                   "ratio": 0.45, "trigram_blocking": True, "num_beams": 4}
    (tmp_path / "newsdesk.json").write_text(json.dumps(old_summary))
    s = read_settings(tmp_path)
    assert isinstance(s, ExtractiveSettings) and s.oracle_labels == "greedy" and s.ratio == 0.45


@pytest.mark.parametrize("change, message", [
    ({"schema_version": SCHEMA_VERSION + 1, "newsdesk_version": "9.0"},
     r"written by newsdesk 9.0 with folder schema 2; .* Upgrade newsdesk"),
    ({"kind": "regressor"}, r"unknown folder kind 'regressor'"),
    ({"colour": "blue"}, r"unknown field\(s\) \['colour'\] for a classifier folder"),
    ({"labels": None}, r"labels must be a non-empty list"),
    ({"task": "summary"}, r"a classifier folder is for \['topic', 'stance'\], not 'summary'"),
    ({"task": "weather"}, r"unknown task 'weather'"),
])
def test_contract_errors_name_the_file_and_problem(tmp_path, change, message):
    good = ClassifierSettings(task="topic", labels=["a", "b"], max_length=32).to_json()
    (tmp_path / "newsdesk.json").write_text(json.dumps({**good, **change}))
    with pytest.raises(NewsdeskError, match=message) as caught:
        read_settings(tmp_path)
    assert "newsdesk.json" in str(caught.value)


def test_missing_required_field(tmp_path):
    good = ClassifierSettings(task="topic", labels=["a", "b"], max_length=32).to_json()
    del good["labels"]
    (tmp_path / "newsdesk.json").write_text(json.dumps(good))
    with pytest.raises(NewsdeskError, match=r"missing field\(s\) \['labels'\]"):
        read_settings(tmp_path)


def test_task_table_describes_each_task():
    assert {t.record_type for t in TASKS.values()} == {"article", "stance"}
    assert [n for n, t in TASKS.items() if t.pair] == ["stance"]
    assert get_task("stance").primary_metric == "fnc_score"
    assert ClassifierConfig(task="stance").task_info.label_column == "label"
    with pytest.raises(NewsdeskError, match="unknown task 'sports'"):
        get_task("sports")


def test_a_folder_loaded_as_the_wrong_task_is_refused(tiny_models):
    with pytest.raises(NewsdeskError, match="a stance model folder was given as the topic model"):
        NewsAnalyzer.from_pretrained(topic=tiny_models["stance"], device="cpu")
    with pytest.raises(NewsdeskError, match="ClassifierPredictor loads classifier folders"):
        ClassifierPredictor.from_pretrained(tiny_models["summary"], device="cpu")
    with pytest.raises(NewsdeskError, match="SummaryPredictor loads extractive or abstractive"):
        SummaryPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    assert isinstance(load_predictor(tiny_models["summary"], task="summary"), SummaryPredictor)


def test_every_entry_point_has_the_same_default(tiny_models):
    """One folder scores the same whether loaded alone or through the analyzer."""
    text = "Profit rose at the bank and shares of the firm fell in the market. " * 6
    alone = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    first = alone.predict(text)  # calibrates on this machine and caches the decision
    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu")
    assert alone.options == analyzer.topic.options
    assert analyzer.topic.decision == alone.decision and not analyzer.topic.pending
    assert first == analyzer.analyze(text)["topic"]


def test_options_are_checked_before_any_model_loads(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    missing = tmp_path / "no-such-folder"
    with pytest.raises(NewsdeskError, match="no CUDA device is available"):
        ClassifierPredictor.from_pretrained(missing, device="cuda")
    with pytest.raises(NewsdeskError, match="fp16 is for GPUs"):
        NewsAnalyzer.from_pretrained(topic=missing, device="cpu", precision="fp16")
    with pytest.raises(NewsdeskError, match="precision must be one of"):
        InferenceOptions(precision="int4")
    with pytest.raises(NewsdeskError, match=r"unknown inference option\(s\) \['batch'\]"):
        InferenceOptions.of(batch=3)
    with pytest.raises(DataError, match="model folder not found"):
        ClassifierPredictor.from_pretrained(missing, device="cpu")


def test_predictor_interface_shares_encodings(tiny_models):
    """The analyzer only calls encode/predict_encoded; models with one tokenizer share one
    encoding, and results equal each predictor's own API."""
    analyzer = NewsAnalyzer.from_pretrained(**tiny_models, device="cpu", precision="fp32")
    items = [{"id": "a", "title": "Markets", "text": "Profit rose at the bank. Shares fell."},
             {"id": "b", "title": None, "text": "The team won the match. The coach was happy."}]
    prepared = analyzer.prepare(items)
    assert len(prepared.encodings) == 1  # the tiny models share a tokenizer
    out = analyzer.run(prepared, ["Profit rose"])
    assert [r["summary"] for r in out] == analyzer.summary.summarize([a["text"] for a in items])
    stance = analyzer.stance.predict([a["text"] for a in items], targets="Profit rose")
    assert [r["stance"]["Profit rose"] for r in out] == stance
    assert "stance" not in analyzer.run(prepared)[0]  # no targets, no stance
