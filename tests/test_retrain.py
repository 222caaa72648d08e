"""Training the transformer again on the training part and the validation slice (`retrain`)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerControl

from newsdesk.data import DataError, prepare
from newsdesk.models import lexical
from newsdesk.training.classifier import StopAfter, kept_epochs, train_classifier
from newsdesk.training.config import ClassifierConfig
from newsdesk.training.refit import refit
from test_classifier import tiny_config


def test_retrain_needs_a_slice_and_no_soup(tmp_path):
    with pytest.raises(DataError, match="needs validation"):
        ClassifierConfig(task="topic", data=str(tmp_path), retrain=True)
    with pytest.raises(DataError, match="soup"):
        ClassifierConfig(task="topic", data=str(tmp_path), retrain=True, validation=0.2, soup=2)


def test_retrain_refuses_several_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = ClassifierConfig(task="topic", data=str(tmp_path), retrain=True, validation=0.2)
    with pytest.raises(DataError, match="one process"):
        train_classifier(config)


def test_kept_epochs_is_the_epoch_of_the_best_step():
    log = [{"loss": 1.0, "step": 5, "epoch": 0.5}, {"eval_fnc_score": 80.0, "step": 10,
                                                     "epoch": 1.0},
           {"eval_fnc_score": 70.0, "step": 20, "epoch": 2.0}]
    assert kept_epochs(SimpleNamespace(log_history=log, best_global_step=10, epoch=2.0)) == 1.0
    assert kept_epochs(SimpleNamespace(log_history=log, best_global_step=20, epoch=2.0)) == 2.0
    # no checks (no best step): every epoch run
    assert kept_epochs(SimpleNamespace(log_history=log, best_global_step=None, epoch=2.0)) == 2.0


def test_stop_after_ends_training_at_that_epoch_end():
    stop = StopAfter(1.0)
    control = stop.on_epoch_end(None, SimpleNamespace(epoch=0.9999999), TrainerControl())
    assert control.should_training_stop
    assert not stop.on_epoch_end(None, SimpleNamespace(epoch=0.5), TrainerControl()) \
        .should_training_stop


def test_retrain_keeps_the_slice_fit_and_replaces_the_transformer(tmp_path, fnc_dir,
                                                                 tiny_bert_dir, seed):
    prepare("fnc1", fnc_dir, tmp_path / "p", dev=0.25)
    settings = dict(lexical="tfidf", validation=0.25, epochs=2,
                    downsample={"unrelated": 0.5})
    once, twice = tmp_path / "once", tmp_path / "twice"
    first = train_classifier(tiny_config(tmp_path / "p", once, tiny_bert_dir, "stance",
                                         **settings))
    again = train_classifier(tiny_config(tmp_path / "p", twice, tiny_bert_dir, "stance",
                                         retrain=True, **settings))
    # the slice was fitted with the first transformer: the same choices as without retraining
    assert json.loads((once / "pairs.json").read_text()) == \
        json.loads((twice / "pairs.json").read_text())
    assert again["validation"] == first["validation"]
    record = again["retrained"]
    checks = [e for e in json.loads((once / "train_log.json").read_text()) if "eval_fnc_score" in e]
    best = max(checks, key=lambda e: e["eval_fnc_score"])  # the first of equals
    assert len(checks) == 2 and record["epochs"] == best["epoch"]
    assert record["examples"] > json.loads((once / "newsdesk.json").read_text())["train_examples"]
    assert json.loads((twice / "newsdesk.json").read_text())["train_examples"] == record["examples"]
    assert again["train_seconds"] >= record["seconds"] > 0
    # dev's figures with the first transformer: those of the folder trained once
    assert record["first_transformer"] == {k: round(first[k], 4)
                                           for k in ("accuracy", "macro_f1", "fnc_score")}
    # and the saved transformer is the second one
    a, b = load_file(once / "model.safetensors"), load_file(twice / "model.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a)
    # both trainings' logs: the first's (its checks chose the epochs) and the second's
    def losses(path):
        return [(e["step"], e.get("loss"), e.get("eval_fnc_score"))
                for e in json.loads(path.read_text())]

    assert losses(twice / "train_log.json") == losses(once / "train_log.json")
    second_log = json.loads((twice / "retrain_log.json").read_text())
    assert any("loss" in e for e in second_log) and not any("eval_fnc_score" in e for e in second_log)
    assert max(e["epoch"] for e in second_log) == pytest.approx(record["epochs"])
    assert not (once / "retrain_log.json").exists()
    card = (twice / "README.md").read_text()
    assert "trained again from the start" in card and "With the first transformer, dev" in card
    assert not (twice / "checkpoints").exists()
    with pytest.raises(DataError, match="trained again on the validation slice"):
        refit(twice, tmp_path / "copy")


def test_retrain_is_skipped_where_inference_does_not_run_the_transformer(
        tmp_path, bbc_dir, tiny_bert_dir, seed, monkeypatch):
    prepare("bbc", bbc_dir, tmp_path / "p", dev=0.3)
    monkeypatch.setattr(lexical, "choose_weight", lambda *a, **k: (1.0, {1.0: 1.0}))
    out = tmp_path / "topic"
    metrics = train_classifier(tiny_config(tmp_path / "p", out, tiny_bert_dir, "topic",
                                           lexical="tfidf", validation=0.3, retrain=True))
    assert "skipped" in metrics["retrained"] and "seconds" not in metrics["retrained"]
    assert json.loads((out / "newsdesk.json").read_text())["lexical_weight"] == 1.0
    assert "not trained again" in (out / "README.md").read_text()
