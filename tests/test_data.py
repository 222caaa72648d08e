"""Builders, cleaning, splits and `newsdesk data prepare` on small assets with real quirks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from newsdesk.cli import main
from newsdesk.data import CleaningReport, DataError, bbc_news_summary, fnc1, prepare, table
from newsdesk.data.clean import decode, normalise_whitespace, repair_sentence_spacing
from newsdesk.data.prepare import load_prepared
from newsdesk.data.splits import split_indices, story_keys

from conftest import SHARED_DATA


def test_decode_falls_back_and_counts():
    report = CleaningReport()
    assert decode("caf\u00e9".encode(), "a.txt", report) == "caf\u00e9"
    assert decode("\u00a3600m".encode("latin-1"), "b.txt", report) == "\u00a3600m"
    assert decode("\u201cquoted\u201d".encode("cp1252"), "c.txt", report) == "\u201cquoted\u201d"
    assert report.decoded_with_fallback == {"b.txt": "cp1252", "c.txt": "cp1252"}


def test_normalise_whitespace_keeps_paragraphs():
    assert normalise_whitespace("  A  b\t c \r\n\r\n\n D\u00a0e ") == "A b c\nD e"
    assert normalise_whitespace("A\n\nB", keep_paragraphs=False) == "A B"


@pytest.mark.parametrize("glued, fixed, n", [
    ("rose to $10.9bn.For the year", "rose to $10.9bn. For the year", 1),
    ("It was 1.13 times.Then U.S.A won", "It was 1.13 times. Then U.S.A won", 1),
    ('he said."It is over," she said.Then', 'he said. "It is over," she said. Then', 2),
    ('"We won."The coach left.', '"We won." The coach left.', 1),
    ("No change needed. Here.", "No change needed. Here.", 0),
])
def test_repair_sentence_spacing(glued, fixed, n):
    assert repair_sentence_spacing(glued) == (fixed, n)


def test_bbc_builder_repairs_and_drops(bbc_dir: Path):
    report = CleaningReport()
    ds = bbc_news_summary(bbc_dir, report)
    assert set(ds.column_names) == {"id", "title", "text", "topic", "summary", "topics"}
    assert len(ds) == 3 * 8 + 1  # 24 generated + the Latin-1 one; the duplicate is dropped
    assert report.duplicates_dropped == ["sport/010"]
    assert report.duplicate_of == {"sport/010": "sport/001"}
    assert any(k.endswith("009.txt") for k in report.decoded_with_fallback)
    row = ds[[i for i, x in enumerate(ds["id"]) if x == "business/009"][0]]
    assert "\u00a3600m" in row["text"] and row["title"] == "Pound story"
    assert report.summary_spacing_repairs >= 24
    assert all(".For" not in s and "." not in s.replace(". ", "")[:-1] for s in ds["summary"])


def test_bbc_builder_errors(tmp_path: Path, bbc_dir: Path):
    with pytest.raises(DataError, match="missing 'News Articles/'"):
        bbc_news_summary(tmp_path)
    (bbc_dir / "Summaries" / "tech" / "003.txt").unlink()
    with pytest.raises(DataError, match=r"tech/003.txt: no matching summary file"):
        bbc_news_summary(bbc_dir)


def test_bbc_builder_rejects_article_without_body(bbc_dir: Path):
    (bbc_dir / "News Articles" / "tech" / "002.txt").write_text("Only a title\n")
    with pytest.raises(DataError, match=r"tech/002.txt: expected a title line then the article body"):
        bbc_news_summary(bbc_dir)


def test_fnc1_joins_groups_and_drops_duplicate_pairs(fnc_dir: Path):
    report = CleaningReport()
    ds = fnc1(fnc_dir, report)
    assert set(ds.column_names) == {"id", "target", "text", "label", "group"}
    assert len(ds) == 20 * 6  # the duplicate pair is dropped
    assert len(report.duplicates_dropped) == 1
    assert len(set(ds["group"])) == 20
    assert set(ds["label"]) == {"agree", "disagree", "discuss", "unrelated"}


def test_fnc1_identical_bodies_share_a_group(fnc_dir: Path):
    rows = (fnc_dir / "train_bodies.csv").read_text().splitlines()
    copy = rows[1].split(",", 1)[1]
    (fnc_dir / "train_bodies.csv").write_text("\n".join(rows + [f"99,{copy}"]) + "\n")
    with open(fnc_dir / "train_stances.csv", "a") as f:
        f.write("A new headline,99,unrelated\n")
    ds = fnc1(fnc_dir)
    groups = {g for g, t in zip(ds["group"], ds["target"]) if t == "A new headline"}
    assert groups == {"0"}


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("Stance", "Label"), r"train_stances.csv: missing column\(s\) \['Stance'\]"),
    (lambda s: s + "Some headline,12345,agree\n", r"line 123: Body ID '12345' is not in"),
    (lambda s: s + "Some headline,1,maybe\n", r"line 123: unknown Stance 'maybe'"),
])
def test_fnc1_errors_name_file_and_line(fnc_dir: Path, edit, message):
    path = fnc_dir / "train_stances.csv"
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataError, match=message):
        fnc1(fnc_dir)


def test_fnc1_missing_files(tmp_path: Path, fnc_dir: Path):
    with pytest.raises(DataError, match="no FNC-1 files"):
        fnc1(tmp_path)
    (fnc_dir / "train_bodies.csv").unlink()
    with pytest.raises(DataError, match="train_bodies.csv: missing"):
        fnc1(fnc_dir)


def test_table_formats_and_mapping(tmp_path: Path):
    rows = [{"body": f"Text number {i}.", "section": "a" if i % 2 else "b", "key": f"k{i}"}
            for i in range(6)]
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("body,section,key\n" + "".join(
        f"{r['body']},{r['section']},{r['key']}\n" for r in rows))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq_path = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_pylist(rows), pq_path)
    mapping = {"text": "body", "topic": "section", "id": "key"}
    for path in (jsonl, csv_path, pq_path):
        ds = table(path, columns=mapping)
        assert ds["id"] == [f"k{i}" for i in range(6)], path
        assert ds["topic"] == [r["section"] for r in rows]


@pytest.mark.parametrize("content, message", [
    ('{"text": "x"}\n{"nope": 1}\n', r"x.jsonl, line 2: missing column\(s\) \['text'\]"),
    ('{"text": "x"}\n{"text": ""}\n', r"x.jsonl, line 2: empty 'text'"),
    ('{"text": "x"}\n{"text": [1, 2]}\n', r"x.jsonl, line 2: column 'text' should be text, found list"),
    ('{"text": "x"}\nnot json\n', r"x.jsonl, line 2: not valid JSON"),
    ('{"text": "x", "topic": "zzz"}\n', r"x.jsonl, line 1: unknown label 'zzz'"),
    ('{"text": "x", "id": "1"}\n{"text": "y", "id": "1"}\n', r"id '1' appears more than once"),
])
def test_table_errors(tmp_path: Path, content, message):
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        table(path, labels=["a", "b"])


def test_table_unknown_format_and_mapping(tmp_path: Path):
    with pytest.raises(DataError, match="unsupported file type '.xlsx'"):
        table(tmp_path / "x.xlsx")
    (tmp_path / "x.csv").write_text("text\nhello\n")
    with pytest.raises(DataError, match=r"unknown standard column\(s\) \['body'\]"):
        table(tmp_path / "x.csv", columns={"body": "text"})
    (tmp_path / "y.csv").write_text("text,topic\nhello\n")
    with pytest.raises(DataError, match="y.csv, line 2: wrong number of fields"):
        table(tmp_path / "y.csv")


def test_splits_are_reproducible_stratified_and_group_aware():
    labels = [["a", "b", "c"][i % 3] for i in range(300)]
    groups = [str(i // 5) for i in range(300)]
    one = split_indices(labels, groups, {"dev": 0.2, "test": 0.1}, seed=3)
    two = split_indices(labels, groups, {"dev": 0.2, "test": 0.1}, seed=3)
    assert one == two
    assert sorted(sum(one.values(), [])) == list(range(300))
    seen = {}
    for name, idx in one.items():
        for i in idx:
            assert seen.setdefault(groups[i], name) == name  # no group in two splits
    assert 45 <= len(one["dev"]) <= 75
    dev_labels = [labels[i] for i in one["dev"]]
    assert min(dev_labels.count(x) for x in "abc") >= 10
    assert split_indices(labels, groups, {"dev": 0.2}, seed=4) != split_indices(
        labels, groups, {"dev": 0.2}, seed=3)


def test_group_splits_follow_the_seed_when_groups_differ_in_their_labels():
    """Stories differ in size and label mix; scikit-learn then deals them to the same folds
    whatever its seed, so the seed picks the held-out fold (the default seed the first)."""
    from sklearn.model_selection import StratifiedGroupKFold

    labels, groups = [], []
    for g in range(40):  # no two stories with the same spread of label counts
        counts = {"a": 1 + g, "b": 1 + g % 3, "c": 1}
        labels += [lab for lab, n in counts.items() for _ in range(n)]
        groups += [f"s{g}"] * sum(counts.values())
    y, grp = np.array(labels), np.array(groups)
    first = [sorted(fold) for _, fold in StratifiedGroupKFold(5, shuffle=True, random_state=13)
             .split(y, y, grp)][0]
    assert [sorted(fold) for _, fold in StratifiedGroupKFold(5, shuffle=True, random_state=7)
            .split(y, y, grp)][0] == first  # what made the seed do nothing
    splits = {seed: split_indices(labels, groups, {"dev": 0.2}, seed) for seed in (13, 7, 14)}
    assert splits[13]["dev"] == first  # the default seed: the split recorded figures used
    assert len({tuple(s["dev"]) for s in splits.values()}) == 3
    for s in splits.values():
        assert not {groups[i] for i in s["dev"]} & {groups[i] for i in s["train"]}
    assert split_indices(labels, groups, {"dev": 0.2}, 18) == splits[13]  # 5 folds: 13 + 5


def test_prepare_writes_splits_and_manifest(tmp_path: Path, fnc_dir: Path, capsys):
    out = tmp_path / "prep"
    assert main(["data", "prepare", "fnc1", str(fnc_dir), "--out", str(out), "--dev", "0.25",
                 "--test", "0.2"]) == 0
    printed = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["record_type"] == "stance"
    assert manifest["cleaning"]["duplicates_dropped"] == 1
    assert set(manifest["checksums"]) == {"train_bodies.csv", "train_stances.csv"}
    total = sum(s["total"] for s in manifest["splits"].values())
    assert total == manifest["records"] == 120
    groups = {name: set(load_prepared(out, name)["group"]) for name in ("train", "dev", "test")}
    assert not groups["train"] & groups["dev"] and not groups["train"] & groups["test"]
    assert not groups["dev"] & groups["test"]
    for name in ("train", "dev", "test"):  # how many stories each split holds, and how even
        part = load_prepared(out, name)
        stories = story_keys(list(part["target"]), list(part["group"]), list(part["label"]))
        largest = max(Counter(stories).values())
        assert manifest["splits"][name]["stories"] == {
            "count": len(set(stories)), "largest_share": round(largest / len(stories), 4)}
    dev_stories = manifest["splits"]["dev"]["stories"]
    assert f"{dev_stories['count']} stories, the largest {100 * dev_stories['largest_share']:.0f}%" \
        in printed


def test_prepare_cli_errors(tmp_path: Path, capsys):
    assert main(["data", "prepare", "bbc", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a BBC News Summary folder" in capsys.readouterr().err
    with pytest.raises(DataError, match="not a prepared data folder"):
        load_prepared(tmp_path)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real corpora not found at {SHARED_DATA}")
def test_real_corpora_prepare_without_leaks(tmp_path: Path):
    bbc = prepare("bbc", SHARED_DATA / "bbc-news-summary", tmp_path / "bbc")
    assert bbc["records"] + bbc["cleaning"]["duplicates_dropped"] == 1996
    assert bbc["cleaning"]["decoding_repairs"] >= 1
    texts = [set(load_prepared(tmp_path / "bbc", s)["text"]) for s in ("train", "dev")]
    assert not texts[0] & texts[1]
    fnc = prepare("fnc1", SHARED_DATA / "fnc-1", tmp_path / "fnc")
    assert fnc["records"] + fnc["cleaning"]["duplicates_dropped"] == 49972
    train, dev = (load_prepared(tmp_path / "fnc", s) for s in ("train", "dev"))
    assert not set(train["group"]) & set(dev["group"])
    assert not set(train["text"]) & set(dev["text"])
    assert set(dev["label"]) == {"agree", "disagree", "discuss", "unrelated"}
    assert fnc["splits"]["dev"]["stories"] == {"count": 29, "largest_share": 0.5588}  # Foley


def test_prepare_table_refuses_missing_labels_unless_unlabelled(tmp_path: Path, capsys):
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": f"Story number {i} here."}) + "\n"
                            for i in range(20)))
    with pytest.raises(DataError, match=r"no labels \(column 'topic' is missing"):
        prepare("table", path, tmp_path / "p")
    assert main(["data", "prepare", "table", str(path), "--out", str(tmp_path / "q")]) == 2
    assert "--unlabelled" in capsys.readouterr().err
    manifest = prepare("table", path, tmp_path / "p", unlabelled=True)
    assert manifest["splits"]["train"]["labels"] == {None: manifest["splits"]["train"]["total"]}


def test_prepare_warns_when_a_dev_label_is_absent_from_train(tmp_path: Path, monkeypatch,
                                                             caplog):
    import importlib

    preparing = importlib.import_module("newsdesk.data.prepare")  # the module, not the function

    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": f"Story {i}.",
                                        "topic": "rare" if i == 9 else "common"}) + "\n"
                            for i in range(10)))
    monkeypatch.setattr(preparing, "split_indices",
                        lambda labels, groups, fractions, seed: {"train": list(range(8)),
                                                                 "dev": [8, 9]})
    with caplog.at_level("WARNING", logger="newsdesk"):
        prepare("table", path, tmp_path / "p")
    assert "label(s) ['rare'] are in the dev split but not in train" in caplog.text


def test_a_table_that_cannot_be_split_is_one_line_error(tmp_path: Path, capsys):
    """Rows that mix schemas (one without a group) made scikit-learn's splitter raise a traceback."""
    rows = [{"id": str(i), "text": f"Body {i}.", "target": "c", "label": "agree", "group": i % 2}
            for i in range(6)] + [{"id": "q", "text": "t", "target": "c", "label": "discuss"}]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["data", "prepare", "table", str(path), "--record-type", "stance", "--out",
                 str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot split 7 records by 'label'" in err[0]
