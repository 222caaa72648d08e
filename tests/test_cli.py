"""The command line: every user mistake prints one line and exits 2; --debug shows the traceback."""

from __future__ import annotations

import json

import pytest
import torch

from newsdesk.cli import main
from newsdesk.errors import NewsdeskError
from newsdesk.models.folder import SCHEMA_VERSION
from newsdesk.version import __version__


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def inputs(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "1", "text": "Profit rose at the bank."}) + "\n")
    return path


def user_error_cases(tmp_path, inputs, models, bbc_dir):
    out = str(tmp_path / "out.jsonl")
    newer = tmp_path / "newer"
    newer.mkdir()
    for f in models["topic"].iterdir():
        (newer / f.name).write_bytes(f.read_bytes())
    settings = json.loads((newer / "newsdesk.json").read_text())
    (newer / "newsdesk.json").write_text(json.dumps({**settings,
                                                     "schema_version": SCHEMA_VERSION + 1}))
    prepare = ["data", "prepare", "bbc", str(bbc_dir), "--out", str(tmp_path / "p")]
    return {
        "cuda without a GPU": (["analyze", str(inputs), "--out", out, "--topic",
                                str(models["topic"]), "--device", "cuda"],
                               "no CUDA device is available"),
        "fp16 on CPU": (["analyze", str(inputs), "--out", out, "--topic", str(models["topic"]),
                         "--device", "cpu", "--precision", "fp16"], "fp16 is for GPUs"),
        "dev 1.2": (prepare + ["--dev", "1.2"], "split fraction for 'dev' must be in (0, 1)"),
        "dev 0": (prepare + ["--dev", "0"], "split fraction for 'dev' must be in (0, 1)"),
        "dev+test > 1": (prepare + ["--dev", "0.6", "--test", "0.5"], "leave nothing for train"),
        "fp16 training on CPU": (["train", "topic", "--data", str(tmp_path), "--precision",
                                  "fp16"], "fp16 training needs a CUDA device"),
        "bad config value": (["train", "stance", "--epochs", "0"], "epochs must be positive"),
        "newer folder": (["evaluate", str(newer), str(tmp_path)], "Upgrade newsdesk"),
        "stance folder as topic": (["analyze", str(inputs), "--out", out, "--topic",
                                    str(models["stance"]), "--device", "cpu"],
                                   "a stance model folder was given as the topic model"),
        "no model folder": (["evaluate", str(tmp_path / "nowhere"), str(tmp_path)],
                            "model folder not found"),
    }


CASES = ["cuda without a GPU", "fp16 on CPU", "dev 1.2", "dev 0", "dev+test > 1",
         "fp16 training on CPU", "bad config value", "newer folder", "stance folder as topic",
         "no model folder"]


@pytest.mark.parametrize("case", CASES)
def test_user_errors_print_one_line_and_exit_2(case, tmp_path, inputs, tiny_models, bbc_dir,
                                               no_gpu, capsys):
    argv, message = user_error_cases(tmp_path, inputs, tiny_models, bbc_dir)[case]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("newsdesk: error: ") and message in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_debug_shows_the_traceback(tmp_path, inputs, tiny_models, bbc_dir, no_gpu):
    argv, message = user_error_cases(tmp_path, inputs, tiny_models, bbc_dir)["cuda without a GPU"]
    with pytest.raises(NewsdeskError, match=message):
        main(argv + ["--debug"])


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"newsdesk {__version__}"


def test_flag_help_comes_from_the_config_field_docs(capsys):
    with pytest.raises(SystemExit):
        main(["train", "topic", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--chunk-stride CHUNK_STRIDE Tokens shared by consecutive chunks. (default 64)" in shown
    assert "--cascade CASCADE Inference reads an article's next chunk only while" in shown


def test_quiet_and_verbose_set_the_log_level():
    import subprocess
    import sys

    for flag, level in (("-q", "WARNING"), ("-v", "DEBUG")):
        code = ("import logging, sys; from newsdesk.cli import main; "
                "main([sys.argv[1], 'data', 'prepare', 'bbc', '/nowhere', '--out', '/tmp/x']); "
                "print(logging.getLevelName(logging.getLogger('newsdesk').level))")
        out = subprocess.run([sys.executable, "-c", code, flag], capture_output=True, text=True)
        assert out.stdout.strip().splitlines()[-1] == level


def test_presets_ship_with_the_package(capsys):
    from importlib.resources import files

    from newsdesk.training.config import ClassifierConfig, load_config, preset_path

    shipped = sorted(p.name for p in (files("newsdesk") / "presets").iterdir())
    assert shipped == ["stance-fnc1.yaml", "summary-bbc.yaml", "topic-bbc.yaml", "topics-reuters.yaml"]
    assert main(["presets"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("topic-bbc", "stance-fnc1", "summary-bbc"))
    config = load_config(ClassifierConfig, preset_path("bbc", "topic"))
    assert config.lexical == "tfidf" and config.truncation == "chunks"
    assert main(["train", "topic", "--preset", "reuters", "--data", "x"]) == 2
    assert "no preset 'reuters'; the presets are" in capsys.readouterr().err


def test_one_name_per_concept_with_the_former_names_kept():
    from newsdesk.cli import build_parser

    parser = build_parser()
    train = parser.parse_args(["train", "topic", "--out", "runs/x"])
    assert train.output_dir == "runs/x"
    assert parser.parse_args(["train", "topic", "--output-dir", "runs/y"]).output_dir == "runs/y"
    for flag in ("--models-dir", "--models"):
        analyze = parser.parse_args(["analyze", "in.jsonl", "--out", "o.jsonl", flag, "runs/m"])
        assert analyze.models == "runs/m"
    prepare = parser.parse_args(["data", "prepare", "table", "t.csv", "--out", "d", "--task",
                                 "stance"])
    assert prepare.record_type == "stance"
