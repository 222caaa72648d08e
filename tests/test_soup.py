"""Greedy weight averaging of several runs (`training.soup`)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from newsdesk.data import DataError, prepare
from newsdesk.training.classifier import train_classifier
from newsdesk.training.config import ClassifierConfig
from newsdesk.training.soup import average, greedy_soup
from test_classifier import tiny_config


def state(w: float, steps: int = 7) -> dict:
    return {"w": torch.tensor([w]), "position_ids": torch.tensor([steps])}


def test_average_means_floats_and_keeps_integer_buffers():
    got = average([state(1.0, 7), state(3.0, 9)])
    assert got["w"].item() == 2.0 and got["position_ids"].item() == 7
    with pytest.raises(ValueError, match="keys"):
        average([state(1.0), {"v": torch.tensor([1.0])}])


def test_greedy_soup_keeps_a_run_only_where_the_average_scores_no_lower():
    # the score peaks at w = 1: runs at 0.8 and 1.3 average to 1.05 (better than either);
    # adding the run at 4.0 would pull the average away, so it stays out
    def score(s):
        return -abs(s["w"].item() - 1.0)

    soup, report = greedy_soup([state(4.0), state(1.3), state(0.8)], score)
    assert report["kept"] == [1, 2] and soup["w"].item() == pytest.approx(1.05)
    assert report["runs"] == [-3.0, -0.3, -0.2]
    assert [t["kept"] for t in report["tried"]] == [True, False]
    assert report["score"] == pytest.approx(-0.05)


def test_greedy_soup_of_runs_that_do_not_average_well_is_the_best_run():
    def score(s):  # two good points far apart: their mean is worse than each
        return -min(abs(s["w"].item() - 1.0), abs(s["w"].item() - 3.0))

    soup, report = greedy_soup([state(3.1), state(0.95)], score)
    assert report["kept"] == [1] and soup["w"].item() == pytest.approx(0.95)


def test_soup_must_have_a_run(tmp_path):
    with pytest.raises(DataError, match="soup"):
        ClassifierConfig(task="topic", data=str(tmp_path), soup=0)


def test_a_soup_of_two_runs_is_saved_and_recorded(tmp_path, fnc_dir, tiny_bert_dir, seed):
    prepare("fnc1", fnc_dir, tmp_path / "p", dev=0.25)
    out = tmp_path / "stance"
    metrics = train_classifier(tiny_config(tmp_path / "p", out, tiny_bert_dir, "stance",
                                           lexical="tfidf", validation=0.25, soup=2,
                                           downsample={"unrelated": 0.5}))
    soup = metrics["soup"]
    assert len(soup["runs"]) == 2 and len(soup["epochs_run"]) == 2
    assert soup["kept"] in ([0], [1], [0, 1]) and soup["score"] >= max(soup["runs"])
    assert not (out / "checkpoints").exists()
    assert f"average of {len(soup['kept'])} of 2 runs" in (out / "README.md").read_text()
    saved = load_file(out / "model.safetensors")
    assert all(torch.isfinite(v).all() for v in saved.values() if v.is_floating_point())
