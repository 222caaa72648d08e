"""The inference engine: batching, order, chunking, precision modes and the resumable job."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from newsdesk.cli import main
from newsdesk.data.records import Article, DataError
from newsdesk.inference import (
    ClassifierPredictor,
    InferenceOptions,
    NewsAnalyzer,
    batching,
    load_predictor,
)
from newsdesk.inference.backend import TorchBackend
from newsdesk.inference.batching import PAD_MULTIPLE, shaped_batches, token_budget_batches
from newsdesk.inference.job import run_job

from conftest import make_article, run_fails

CLAIM = "Bank profit grew in the market"


def articles(n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    topics = ["business", "sport", "tech"]
    return [{"id": f"a{i}", "title": f"Story {i}",
             "text": make_article(rng, topics[i % 3], rng.randint(1, 25))} for i in range(n)]


def test_token_budget_batches_cover_all_and_respect_budget():
    lengths = [random.Random(i).randint(1, 50) for i in range(200)]
    batches = list(token_budget_batches(lengths, max_tokens=256))
    assert sorted(i for b in batches for i in b) == list(range(200))
    assert all(len(b) * max(lengths[i] for i in b) <= 256 for b in batches)


def test_short_inputs_are_not_padded_to_the_longest():
    lengths = [256] * 40 + [81, 107, 140, 190, 240]  # full chunks and each article's last chunk
    batches = list(token_budget_batches(lengths, max_tokens=16384))
    computed = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert sum(lengths) / computed > 0.95  # one batch would pad all 45 to 256: 0.93
    assert len(batches) <= 5


def test_batches_are_padded_to_few_shapes():
    lengths = [random.Random(i).randint(1, 300) for i in range(500)] + [290, 600]
    shaped = list(shaped_batches(lengths, max_tokens=2048, limit=300))
    assert sorted(i for b, _ in shaped for i in b) == list(range(len(lengths)))
    for batch, n in shaped:
        assert n >= max(lengths[i] for i in batch)
        assert n % PAD_MULTIPLE == 0 or n in (300, 600)  # never past the limit, nor cut
        assert len(batch) * n <= 2048 or len(batch) == 1
    assert len({n for _, n in shaped}) <= 300 // PAD_MULTIPLE + 2


def test_padding_to_the_multiple_leaves_scores_unchanged(tiny_models, monkeypatch):
    texts = [a["text"] for a in articles(10)]
    topic = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu",
                                                precision="fp32", max_tokens=512)
    shapes = []
    call = TorchBackend.__call__  # the backend object stays: predictors read its state too
    monkeypatch.setattr(TorchBackend, "__call__", lambda self, inputs: shapes.append(
        inputs["input_ids"].shape[1]) or call(self, inputs))
    padded = topic.predict(texts)
    assert shapes and all(n % PAD_MULTIPLE == 0 or n == topic.settings.max_length
                          for n in shapes)
    monkeypatch.setattr(batching, "PAD_MULTIPLE", 1)
    shapes.clear()
    exact = topic.predict(texts)
    # the articles' own lengths, unpadded
    assert any(n % PAD_MULTIPLE and n != topic.settings.max_length for n in shapes)
    for a, b in zip(padded, exact):
        assert a["label"] == b["label"]
        for lab, p in a["scores"].items():
            assert p == pytest.approx(b["scores"][lab], abs=1e-5)


def test_batched_equals_one_by_one_and_order_kept(tiny_models):
    analyzer = NewsAnalyzer.from_pretrained(**tiny_models, device="cpu", precision="fp32",
                                            max_tokens=512)
    items = articles(12)
    batched = analyzer.analyze(items, targets=[CLAIM, "Team wins cup"])
    assert [r["id"] for r in batched] == [a["id"] for a in items]
    for item, got in zip(items, batched):
        alone = analyzer.analyze(item, targets=[CLAIM, "Team wins cup"])
        assert alone["topic"]["label"] == got["topic"]["label"]
        for lab, p in alone["topic"]["scores"].items():
            assert p == pytest.approx(got["topic"]["scores"][lab], abs=1e-5)
        for target in (CLAIM, "Team wins cup"):
            assert alone["stance"][target]["label"] == got["stance"][target]["label"]
        assert alone["summary"] == got["summary"]
        assert got["summary"] and all(s in item["text"] for s in got["summary"].split(". ")[:1])


def test_analyzer_matches_task_predictors(tiny_models):
    items = articles(6)
    texts = [a["text"] for a in items]
    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"],
                                            stance=tiny_models["stance"], device="cpu",
                                            precision="fp32")
    topic = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    stance = ClassifierPredictor.from_pretrained(tiny_models["stance"], device="cpu")
    got = analyzer.analyze(texts, targets=CLAIM)
    assert [g["topic"]["label"] for g in got] == [p["label"] for p in topic.predict(texts)]
    assert [g["stance"][CLAIM]["label"] for g in got] == [
        p["label"] for p in stance.predict(texts, targets=CLAIM)]


def test_inputs_accept_strings_dicts_and_records(tiny_models):
    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu")
    text = "profit shares market bank."
    one = analyzer.analyze(text)
    assert one["topic"] == analyzer.analyze({"text": text})["topic"]
    assert one["topic"] == analyzer.analyze(Article(id="x", text=text))["topic"]
    with pytest.raises(DataError, match="article 1: missing or empty 'text'"):
        analyzer.analyze([text, {"title": "no text"}])
    with pytest.raises(ValueError, match="no stance model is loaded"):
        analyzer.analyze(text, targets=CLAIM)


def test_long_article_chunks_are_averaged(tiny_models):
    predictor = ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu")
    long_text = make_article(random.Random(9), "tech", 40)
    encoded = __import__("newsdesk.models.encoding", fromlist=["x"]).encode_articles(
        predictor.tokenizer, [long_text])
    feats, owners = predictor.topic_features(encoded)
    assert len(feats) > 3 and set(owners) == {0}
    # every token of the article is inside some chunk
    body = encoded[0].ids
    seen = set()
    for f in feats:
        inner = f["input_ids"][1:-1]
        start = next(i for i in range(len(body)) if body[i : i + len(inner)] == inner)
        seen.update(range(start, start + len(inner)))
    assert seen == set(range(len(body)))
    # the article's probabilities are the mean of its chunks' probabilities
    per_chunk = predictor.run(feats, list(range(len(feats))), len(feats))
    expected = per_chunk.mean(0)
    got = predictor.run(feats, owners, 1)[0]
    assert torch.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("precision", ["fp32", "bf16", "int8", "auto"])
def test_every_cpu_precision_mode_runs(tiny_models, precision):
    analyzer = NewsAnalyzer.from_pretrained(**tiny_models, device="cpu", precision=precision)
    out = analyzer.analyze(articles(4), targets=CLAIM)
    assert all(abs(sum(r["topic"]["scores"].values()) - 1) < 1e-3 for r in out)
    assert all(r["summary"] for r in out)


def test_auto_precision_runs_the_mode_it_names(tiny_models):
    """Each predictor reports the concrete mode "auto" chose, and its outputs are that mode's."""
    auto = NewsAnalyzer.from_pretrained(**tiny_models, device="cpu")
    texts = [a["text"] for a in articles(4)]
    assert all(p.pending for p in auto.models.values())
    auto.analyze(texts, targets=CLAIM)  # the first real inputs calibrate
    for name, predictor in auto.models.items():
        assert not predictor.pending
        assert predictor.precision in ("fp32", "bf16", "int8")
        explicit = load_predictor(tiny_models[name], InferenceOptions(
            device="cpu", precision=predictor.precision, backend=predictor.backend.name,
            max_tokens=predictor.max_tokens))  # calibration may have kept OpenVINO
        if name == "summary":
            assert predictor.summarize(texts) == explicit.summarize(texts)
        elif name == "topic":
            assert predictor.predict(texts) == explicit.predict(texts)


def test_precision_errors(tiny_models):
    with pytest.raises(ValueError, match="fp16 is for GPUs"):
        ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu", precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        ClassifierPredictor.from_pretrained(tiny_models["topic"], device="cpu", precision="int4")


def write_input(path: Path, items: list[dict], bad: bool = True) -> None:
    lines = [json.dumps(a).encode() for a in items]
    if bad:
        lines.insert(3, b'{"id": "no-text"}')
        lines.insert(7, b"not json at all")
        lines.insert(9, b'{"text": "caf\xe9 bad bytes"}')
        lines.insert(11, b'{"text": 42}')
    path.write_bytes(b"\n".join(lines) + b"\n")


class Crash(RuntimeError):
    pass


def test_job_resumes_after_crash_exactly(tmp_path, tiny_models):
    analyzer = NewsAnalyzer.from_pretrained(**tiny_models, device="cpu", precision="fp32")
    src = tmp_path / "in.jsonl"
    write_input(src, articles(40))
    full = tmp_path / "full.jsonl"
    run_job(analyzer, src, full, targets=[CLAIM], window=7, progress_bar=False)

    out = tmp_path / "out.jsonl"
    torn = (out, b'{"position": 99, "partial')  # as if killed half-way through writing a window
    with run_fails(analyzer, 3, Crash("killed"), torn), pytest.raises(Crash):
        run_job(analyzer, src, out, targets=[CLAIM], window=7, progress_bar=False)
    result = run_job(analyzer, src, out, targets=[CLAIM], window=7, progress_bar=False)
    assert result["resumed_from"] > 0
    assert out.read_bytes() == full.read_bytes()
    errors = [json.loads(line) for line in Path(str(out) + ".errors.jsonl").read_text().splitlines()]
    assert [e["position"] for e in errors] == [4, 8, 10, 12]
    reasons = " | ".join(e["error"] for e in errors)
    for reason in ("missing or empty 'text'", "not valid JSON", "undecodable bytes",
                   "missing or empty 'text'"):
        assert reason in reasons
    assert all("in.jsonl, line" in e["where"] for e in errors)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(written) == 40 and len({w["id"] for w in written}) == 40


def test_job_refuses_other_arguments_and_unknown_output(tmp_path, tiny_models):
    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], stance=tiny_models["stance"],
                                            device="cpu")
    src = tmp_path / "in.jsonl"
    write_input(src, articles(5), bad=False)
    out = tmp_path / "out.jsonl"
    run_job(analyzer, src, out, targets=[CLAIM], progress_bar=False)
    with pytest.raises(DataError, match=r"other inputs, models or settings \(changed: targets\)"):
        run_job(analyzer, src, out, targets=["Another claim"], progress_bar=False)
    other = tmp_path / "other.jsonl"
    other.write_text("{}\n")
    with pytest.raises(DataError, match="not a resumable newsdesk output"):
        run_job(analyzer, src, other, progress_bar=False)
    run_job(analyzer, src, other, overwrite=True, progress_bar=False)
    assert len(other.read_text().splitlines()) == 5


def test_job_reads_csv_and_parquet_and_writes_parquet(tmp_path, tiny_models):
    import pyarrow as pa
    import pyarrow.parquet as pq

    analyzer = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu")
    items = articles(9)
    pq.write_table(pa.Table.from_pylist(items), tmp_path / "in.parquet")
    csv_path = tmp_path / "in.csv"
    csv_path.write_bytes(b"id,title,text\n" + b"".join(
        f'{a["id"]},{a["title"]},"{a["text"]}"\n'.encode() for a in items)
        + b'bad,t,"caf\xe9"\nshort,row\n')
    run_job(analyzer, tmp_path / "in.parquet", tmp_path / "a.jsonl", progress_bar=False)
    result = run_job(analyzer, csv_path, tmp_path / "b.parquet", progress_bar=False)
    assert result["errors"] == 2
    a = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    b = pq.read_table(tmp_path / "b.parquet").to_pylist()
    assert [r["topic"]["label"] for r in a] == [r["topic"]["label"] for r in b]
    assert [r["id"] for r in b] == [x["id"] for x in items]


def test_analyze_cli_survives_kill_9(tmp_path, tiny_models):
    src = tmp_path / "in.jsonl"
    write_input(src, articles(120, seed=4), bad=False)
    out = tmp_path / "out.jsonl"
    args = ["analyze", str(src), "--out", str(out), "--topic", str(tiny_models["topic"]),
            "--window", "2", "--precision", "fp32"]
    assert main([*args[:3], str(tmp_path / "full.jsonl"), *args[4:]]) == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "newsdesk", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    progress = Path(str(out) + ".progress.json")
    deadline = time.time() + 120
    while time.time() < deadline:
        if progress.exists() and json.loads(progress.read_text())["records"] >= 4:
            break
        time.sleep(0.05)
    proc.kill()  # SIGKILL
    proc.wait()
    assert json.loads(progress.read_text())["records"] < 120, "finished before it was killed"
    assert main(args) == 0
    assert out.read_bytes() == (tmp_path / "full.jsonl").read_bytes()


def test_analyze_cli_errors(tmp_path, tiny_models, capsys):
    assert main(["analyze", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "give at least one of --topic" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o.jsonl"),
                 "--topic", str(tiny_models["topic"])]) == 2
    assert "x.jsonl: no such file" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o.jsonl"),
                 "--topic", str(tiny_models["topic"]), "--targets", "a claim"]) == 2
    assert "--targets needs a stance model" in capsys.readouterr().err
