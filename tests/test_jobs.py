"""Batch jobs that never lose, mix or invent records (the job's files, signature and lock)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsdesk.cli import main
from newsdesk.errors import DataError
from newsdesk.inference import NewsAnalyzer
from newsdesk.inference.job import run_job
from newsdesk.inference.jobfiles import OutputLock

from conftest import make_article, run_fails

CLAIM = "Profit rose at the bank"


def write_articles(path: Path, n: int, seed: int = 0) -> list[dict]:
    import random

    rng = random.Random(seed)
    topics = ["business", "sport", "tech"]
    rows = [{"id": f"a{i}", "title": f"Story {i}", "text": make_article(rng, topics[i % 3], 4)}
            for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


@pytest.fixture
def analyzer(tiny_models):
    return NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu",
                                        precision="fp32")


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_output_is_never_the_input(tmp_path, analyzer, suffix, capsys):
    src = tmp_path / f"x{suffix}"
    if suffix == ".jsonl":
        write_articles(src, 5)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(write_articles(tmp_path / "rows.jsonl", 5)), src)
    before = src.read_bytes()
    for out, overwrite in ((src, True), (src, False), (tmp_path / "sub" / ".." / src.name, True)):
        with pytest.raises(DataError, match="is the input file"):
            run_job(analyzer, src, out, overwrite=overwrite, progress_bar=False)
    link = tmp_path / f"link{suffix}"
    os.link(src, link)
    with pytest.raises(DataError, match="is the input file"):
        run_job(analyzer, src, link, overwrite=True, progress_bar=False)
    assert main(["analyze", str(src), "--out", str(src), "--overwrite", "--topic",
                 str(tmp_path / "no-model")]) == 2  # refused before any model loads
    assert "is the input file" in capsys.readouterr().err
    assert src.read_bytes() == before


def test_resume_refuses_other_models_precision_or_input(tmp_path, tiny_models, analyzer):
    src = tmp_path / "in.jsonl"
    write_articles(src, 12)
    out = tmp_path / "out.jsonl"
    with run_fails(analyzer, 2, KeyboardInterrupt()), pytest.raises(KeyboardInterrupt):
        run_job(analyzer, src, out, window=4, progress_bar=False)
    partial = out.read_bytes()
    retrained = tmp_path / "retrained"
    shutil.copytree(tiny_models["topic"], retrained)
    (retrained / "model.safetensors").write_bytes(
        (tiny_models["stance"] / "model.safetensors").read_bytes()[:64]
        + (retrained / "model.safetensors").read_bytes()[64:])
    cases = {
        "models.topic.folder": NewsAnalyzer.from_pretrained(topic=retrained, device="cpu",
                                                            precision="fp32"),
        "models.topic.options.precision": NewsAnalyzer.from_pretrained(
            topic=tiny_models["topic"], device="cpu", precision="int8"),
    }
    for changed, other in cases.items():
        with pytest.raises(DataError, match=rf"changed: [^)]*{changed}"):
            run_job(other, src, out, window=4, progress_bar=False)
    lines = src.read_text().splitlines()
    src.write_text("\n".join(lines[::-1]) + "\n")  # same path, rows reordered
    with pytest.raises(DataError, match=r"changed: input\.\S*"):
        run_job(analyzer, src, out, window=4, progress_bar=False)
    assert out.read_bytes() == partial  # refused before writing anything


def test_resume_from_a_kill_in_the_first_window(tmp_path, analyzer):
    src = tmp_path / "in.jsonl"
    write_articles(src, 10)
    whole = tmp_path / "whole.jsonl"
    run_job(analyzer, src, whole, window=4, progress_bar=False)
    out = tmp_path / "out.jsonl"
    torn = (out, b'{"position": 1, "half a rec')  # killed while writing the first window
    with run_fails(analyzer, 1, KeyboardInterrupt(), torn), pytest.raises(KeyboardInterrupt):
        run_job(analyzer, src, out, window=4, progress_bar=False)
    result = run_job(analyzer, src, out, window=4, progress_bar=False)
    assert result["resumed_from"] == 0
    assert out.read_bytes() == whole.read_bytes()


def test_a_second_job_on_the_same_output_stops_at_once(tmp_path, tiny_models):
    src = tmp_path / "in.jsonl"
    write_articles(src, 20)
    out = tmp_path / "out.jsonl"
    args = ["analyze", str(src), "--out", str(out), "--topic", str(tiny_models["topic"]),
            "--window", "2", "--precision", "fp32", "--device", "cpu"]
    # another process holds the output (as a running job does) until it is killed
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; "
        "from newsdesk.inference.jobfiles import OutputLock; "
        "lock = OutputLock(Path(sys.argv[1])).__enter__(); print('held', flush=True); "
        "time.sleep(300)"), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run([sys.executable, "-m", "newsdesk", *args], capture_output=True,
                                text=True, env={**os.environ})
        assert second.returncode == 2
        assert f"another job (pid {holder.pid}) is writing this output" in second.stderr
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale, so the job takes it over and completes
    assert main(args) == 0
    written = [json.loads(x) for x in out.read_text().splitlines()]
    assert [w["id"] for w in written] == [f"a{i}" for i in range(20)]
    assert not out.with_name(out.name + ".lock").exists()


def test_stale_lock_is_taken_over(tmp_path):
    out = tmp_path / "out.jsonl"
    lock = out.with_name(out.name + ".lock")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid}))
    with OutputLock(out):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_parquet_errors_file_sits_beside_the_output(tmp_path, analyzer):
    src = tmp_path / "in.jsonl"
    write_articles(src, 3)
    with open(src, "a") as f:
        f.write('{"id": "empty", "text": ""}\n')
    result = run_job(analyzer, src, tmp_path / "x.parquet", progress_bar=False)
    assert result["errors"] == 1
    assert (tmp_path / "x.parquet.errors.jsonl").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "x.parquet",
                                                          "x.parquet.errors.jsonl"]


def test_csv_with_a_byte_order_mark(tmp_path, analyzer):
    rows = write_articles(tmp_path / "rows.jsonl", 3)
    for first in ("text", "id"):
        cols = [first] + [c for c in ("id", "text") if c != first]
        body = "".join(",".join(f'"{r[c]}"' for c in cols) + "\n" for r in rows)
        src = tmp_path / f"bom-{first}.csv"
        src.write_bytes("\ufeff".encode() + (",".join(cols) + "\n" + body).encode())
        out = tmp_path / f"bom-{first}.jsonl"
        result = run_job(analyzer, src, out, progress_bar=False)
        written = [json.loads(x) for x in out.read_text().splitlines()]
        assert result["errors"] == 0 and [w["id"] for w in written] == ["a0", "a1", "a2"]


def test_ids_are_strings_and_missing_ones_cannot_collide(tmp_path, analyzer):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "2", "text": "Profit rose at the bank."},
        {"text": "The team won the match."},             # line 2: no id
        {"id": 7, "text": "The phone maker sold chips."},
        {"id": {"a": 1}, "text": "A dict is not an id."}]))
    run_job(analyzer, src, tmp_path / "out.parquet", progress_bar=False)
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["id"] for r in rows] == ["2", "line:2", "7"]
    assert [r["id_generated"] for r in rows] == [False, True, False]
    errors = (tmp_path / "out.parquet.errors.jsonl").read_text()
    assert "'id' should be text or a whole number, found dict" in errors


def test_csv_without_a_text_column_is_one_error(tmp_path, analyzer, capsys, tiny_models):
    src = tmp_path / "in.csv"
    src.write_text("id,body\n1,Profit rose.\n2,The team won.\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['text or html'\]; found \['id', 'body'\]"):
        run_job(analyzer, src, tmp_path / "out.jsonl", progress_bar=False)
    assert not (tmp_path / "out.jsonl").exists()  # checked before anything is written


def test_content_free_text_goes_to_the_errors_file(tmp_path, analyzer):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "zw", "text": "\u200b\u200c\u2060\ufeff"}, {"id": "ctl", "text": "\x00\x07\x1b \n"},
        {"id": "ok", "text": "Profit rose at the bank."}]))
    result = run_job(analyzer, src, tmp_path / "out.jsonl", progress_bar=False)
    assert result["errors"] == 2
    written = [json.loads(x)["id"] for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert written == ["ok"]


def test_a_summary_never_returns_an_unpunctuated_article_whole(tiny_models):
    from newsdesk.inference import SummaryPredictor

    predictor = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu",
                                                 precision="fp32")
    words = ("profit market bank shares team match phone chips " * 2500).split()
    summary = predictor.summarize(" ".join(words))
    assert 0 < len(summary.split()) <= round(predictor.settings.ratio * len(words))


def test_resume_after_a_kill_between_the_output_write_and_the_progress_save(
        tmp_path, analyzer, monkeypatch):
    import newsdesk.inference.job as job

    src = tmp_path / "in.jsonl"
    write_articles(src, 12)
    whole = tmp_path / "whole.jsonl"
    run_job(analyzer, src, whole, window=4, progress_bar=False)
    out = tmp_path / "out.jsonl"
    real_save = job.Progress.save
    saves = {"n": 0}

    def killed_before_save(self, done=False):
        saves["n"] += 1
        if saves["n"] == 3:  # the second window is written and flushed, its progress is not
            raise KeyboardInterrupt
        real_save(self, done)

    with monkeypatch.context() as m:
        m.setattr(job.Progress, "save", killed_before_save)
        with pytest.raises(KeyboardInterrupt):
            run_job(analyzer, src, out, window=4, progress_bar=False)
    assert len(out.read_text().splitlines()) == 8  # two windows on disk, one recorded
    result = run_job(analyzer, src, out, window=4, progress_bar=False)
    assert result["resumed_from"] == 4
    assert out.read_bytes() == whole.read_bytes()


def test_a_resumed_job_keeps_its_checked_mode(tmp_path, tiny_models):
    from newsdesk.inference.calibrate import cache_file

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_articles(src, 12)
    first = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu")
    with run_fails(first, 2, RuntimeError("killed")), pytest.raises(RuntimeError):
        run_job(first, src, out, window=4, progress_bar=False)
    started = json.loads(Path(str(out) + ".progress.json").read_text())["engines"]["topic"]
    assert set(started) == {"backend", "precision", "max_tokens", "tolerance"}
    # the machine forgets its calibration, and the started mode is made a checked one
    cache_file().unlink()
    progress = Path(str(out) + ".progress.json")
    state = json.loads(progress.read_text())
    # (written as a job of newsdesk 0.1 wrote it: no backend, which means torch)
    state["engines"]["topic"] = {"precision": "int8", "max_tokens": 2048, "tolerance": 0.25}
    progress.write_text(json.dumps(state))
    again = NewsAnalyzer.from_pretrained(topic=tiny_models["topic"], device="cpu")
    result = run_job(again, src, out, window=4, progress_bar=False)
    topic = again.models["topic"]
    assert result["resumed_from"] == 4 and not topic.pending
    assert (topic.precision, topic.max_tokens, topic.tolerance) == ("int8", 2048, 0.25)
    assert topic.engine == "torch:int8+check"


def test_freed_memory_is_handed_back_after_every_window(tmp_path, analyzer, monkeypatch):
    from newsdesk.inference import job, memory

    calls = []
    monkeypatch.setattr(job, "return_freed_memory", lambda: calls.append(1))
    write_articles(tmp_path / "in.jsonl", 10)
    run_job(analyzer, tmp_path / "in.jsonl", tmp_path / "out.jsonl", window=4, progress_bar=False)
    assert len(calls) == 3  # windows of 4, 4 and 2 articles

    class Libc:
        def malloc_trim(self, pad):
            calls.append(pad)

    monkeypatch.setattr(memory, "_glibc", lambda: Libc())
    memory.return_freed_memory()
    assert calls[-1] == 0
    monkeypatch.setattr(memory, "_glibc", lambda: None)  # no glibc (macOS, Windows): a no-op
    memory.return_freed_memory()
