"""`newsdesk train` under torchrun: two CPU processes (gloo), rank 0 alone writes and prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from newsdesk.data import prepare
from newsdesk.inference import ClassifierPredictor, SummaryPredictor
from test_classifier import EXPECTED_FILES


def torchrun(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "newsdesk", *args]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture
def bbc_prepared(tmp_path, bbc_dir):
    prepare("bbc", bbc_dir, tmp_path / "bbc-prep", dev=0.3)
    return tmp_path / "bbc-prep"


def test_topic_training_under_torchrun(tmp_path, bbc_prepared, tiny_bert_dir):
    out = tmp_path / "topic"
    done = torchrun(["train", "topic", "--data", str(bbc_prepared), "--model", str(tiny_bert_dir),
                     "--output-dir", str(out), "--max-length", "48", "--chunk-stride", "8",
                     "--epochs", "2", "--batch-size", "4", "--learning-rate", "1e-3",
                     "--early-stopping-patience", "0", "--logging-steps", "1"], tmp_path)
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    log = json.loads((out / "train_log.json").read_text())
    # 17 training articles, 2 ranks x batch 4 -> 3 optimizer steps per epoch (one process: 5)
    assert max(e["step"] for e in log) == 6
    assert done.stdout.count("model folder:") == 1  # printed by rank 0 only
    assert done.stdout.count('"macro_f1"') == 1  # the final metrics, once
    assert done.stdout.count("'eval_macro_f1'") == 2  # one evaluation log per epoch, not per rank
    preds = ClassifierPredictor.from_pretrained(out, device="cpu").predict(["goal match team."])
    assert preds[0]["label"] in {"business", "sport", "tech"}


def test_summary_training_under_torchrun(tmp_path, bbc_prepared, tiny_bert_dir):
    out = tmp_path / "summary"
    done = torchrun(["train", "summary", "--data", str(bbc_prepared), "--model",
                     str(tiny_bert_dir), "--output-dir", str(out), "--max-length", "48",
                     "--epochs", "1", "--batch-size", "2", "--learning-rate", "1e-3"], tmp_path)
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "newsdesk.json", "metrics.json",
            "README.md"} <= names
    assert done.stdout.count("model folder:") == 1
    assert done.stdout.count("lead3") == 1  # the ROUGE table, from rank 0 only
    summary = SummaryPredictor.from_pretrained(out, device="cpu").summarize(
        "Profit rose at the bank. Shares fell in the market. The firm said sales grew.")
    assert summary
