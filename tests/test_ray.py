"""Ray Data batch inference gives the single-process analyzer's results (local Ray, 2 CPUs)."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray", reason="the Ray extra is not installed (pip install -e '.[ray]')")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from newsdesk.cli import main  # noqa: E402
from newsdesk.inference import NewsAnalyzer  # noqa: E402
from newsdesk.inference.ray import AnalyzeBatch, analyze_with_ray  # noqa: E402

from conftest import TOPIC_WORDS, make_article  # noqa: E402

CLAIM = "Shares rose in the market"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    yield
    ray.shutdown()


def articles(n: int = 24) -> list[dict]:
    import random

    rng = random.Random(7)
    topics = list(TOPIC_WORDS)
    return [{"id": f"a{i}", "title": f"Story {i}",
             "text": make_article(rng, topics[i % 3], 3 + i % 9)} for i in range(n)]


def test_ray_results_equal_single_process(tmp_path, tiny_models, local_ray):
    rows = articles()
    bad = {"id": "bad", "title": "No body", "text": "   "}
    pq.write_table(pa.Table.from_pylist(rows[:12] + [bad] + rows[12:]), tmp_path / "in.parquet")
    folders = {k: str(v) for k, v in tiny_models.items()}
    summary = analyze_with_ray(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"),
                               **folders, targets=[CLAIM], device="cpu", precision="fp32",
                               batch_size=5, actors=2, cpus_per_actor=0.5)  # CPUs left to read
    assert summary["records"] == 25 and summary["errors"] == 1

    got = {r["id"]: r for r in pq.read_table(tmp_path / "out.parquet").to_pylist()}
    want = NewsAnalyzer.from_pretrained(**folders, device="cpu", precision="fp32").analyze(
        rows, targets=[CLAIM])
    assert set(got) == {r["id"] for r in want}
    for w in want:
        g = got[w["id"]]
        assert g["topic"]["label"] == w["topic"]["label"]
        assert g["stance"][CLAIM]["label"] == w["stance"][CLAIM]["label"]
        assert g["summary"] == w["summary"]
        for lab, p in w["topic"]["scores"].items():
            assert g["topic"]["scores"][lab] == pytest.approx(p, abs=1e-5)

    errors = [json.loads(line) for f in sorted((tmp_path / "out.parquet.errors.jsonl").iterdir())
              for line in f.read_text().splitlines()]
    assert [e["id"] for e in errors] == ["bad"]
    assert errors[0]["error"].startswith("'text' has no visible characters")


def test_callable_class_keeps_bad_records_in_place(tiny_models):
    fn = AnalyzeBatch(topic=str(tiny_models["topic"]), device="cpu", precision="fp32")
    table = pa.Table.from_pylist([{"id": 1, "text": "goal match team."}, {"id": 2, "text": None},
                                  {"id": 3, "text": "profit shares market."}])
    out = fn(table).to_pylist()
    assert [r["id"] for r in out] == ["1", "2", "3"]
    assert out[1]["error"].startswith("missing or empty 'text'") and out[1]["topic"] is None
    assert out[0]["error"] is None and out[0]["topic"]["label"] in TOPIC_WORDS


def test_cli_engine_ray_writes_jsonl(tmp_path, tiny_models, local_ray, capsys):
    rows = articles(6)
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["analyze", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out.jsonl"),
                 "--topic", str(tiny_models["topic"]), "--engine", "ray", "--device", "cpu"])
    assert code == 0
    lines = [json.loads(line) for f in sorted((tmp_path / "out.jsonl").iterdir())
             for line in f.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == sorted(r["id"] for r in rows)
    assert "6 records, 0 errors" in capsys.readouterr().out


def test_unknown_format_and_starved_reads_are_named(tmp_path, tiny_models, local_ray):
    from newsdesk.data import DataError

    with pytest.raises(DataError, match="in.txt: cannot tell the format"):
        analyze_with_ray(str(tmp_path / "in.txt"), str(tmp_path / "out.parquet"),
                         topic=str(tiny_models["topic"]))
    with pytest.raises(DataError, match="2 actors x 1 CPUs would take all 2 CPUs"):
        analyze_with_ray(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"),
                         topic=str(tiny_models["topic"]), actors=2)


def test_callable_class_reads_html_and_returns_label_lists(tmp_path, tiny_models):
    import shutil

    from newsdesk.models.folder import read_settings, write_settings

    multi = tmp_path / "multi"
    shutil.copytree(tiny_models["topic"], multi)
    settings = read_settings(multi)
    settings.multi_label, settings.threshold = True, 0.0  # every label passes
    write_settings(multi, settings)
    fn = AnalyzeBatch(topic=str(multi), device="cpu", precision="fp32")
    html = "<html><body><article><p>The team won the match with a late goal.</p>" \
           "<p>ADVERTISEMENT</p><p>The coach praised the players after the game.</p>" \
           "</article></body></html>"
    out = fn(pa.Table.from_pylist([{"id": "p", "html": html, "text": None}])).to_pylist()[0]
    assert out["error"] is None and sorted(out["topic"]["labels"]) == sorted(TOPIC_WORDS)
    assert out["page"]["extractor"].startswith("trafilatura")
    assert out["cleaning"]["advertisement"] == 1
