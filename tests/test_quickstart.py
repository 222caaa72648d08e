"""The main job end to end, on tiny models and tiny corpora."""

from __future__ import annotations

import json
import shutil

import pytest

from newsdesk.cli import main
from newsdesk.data.records import DataError
from newsdesk.quickstart import quickstart


def test_quickstart_runs_the_whole_job(tmp_path, bbc_dir, fnc_dir, tiny_bert_dir, seed, capsys):
    data = tmp_path / "corpora"
    shutil.copytree(bbc_dir, data / "bbc-news-summary")
    shutil.copytree(fnc_dir, data / "fnc-1")
    out = tmp_path / "qs"
    metrics = quickstart(data, out, model=str(tiny_bert_dir), show=2, scale=0.05)
    printed = capsys.readouterr().out
    for folder in ("topic", "stance", "summary"):
        assert (out / "models" / folder / "newsdesk.json").is_file()
    assert printed.count("stance towards \"The government will raise taxes\"") == 2
    assert "=== dev metrics" in printed and "lead3" in printed
    assert 0 <= metrics["stance"]["fnc_score"] <= 100
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved) == {"topic", "stance", "summary"}
    # the folders it leaves are what `newsdesk analyze --models` reads
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "Profit rose at the bank. Shares fell."}) + "\n")
    assert main(["analyze", str(src), "--out", str(tmp_path / "o.jsonl"), "--models-dir",
                 str(out / "models"), "--targets", "Profit rose"]) == 0
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert {"topic", "stance", "summary"} <= set(row)


def test_quickstart_names_missing_corpora(tmp_path, bbc_dir):
    shutil.copytree(bbc_dir, tmp_path / "bbc-news-summary")
    with pytest.raises(DataError, match=r"missing fnc-1/"):
        quickstart(tmp_path, tmp_path / "out")
    assert main(["quickstart", "--data", str(tmp_path / "nowhere")]) == 2
