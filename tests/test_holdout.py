"""Honest held-out protocol: claim- and body-disjoint stance splits, the validation slice, the
blend weight chosen on it, the stance word-overlap combination and the sanity-suite pairs."""

from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
from transformers import pipeline

from newsdesk.data import DataError, load_prepared, prepare
from newsdesk.data.splits import story_split
from newsdesk.inference import ClassifierPredictor
from newsdesk.models.folder import read_settings
from newsdesk.models.lexical import LexicalModel, choose_weight
from newsdesk.models.relatedness import PairModel, choose_offsets, shift
from newsdesk.training.classifier import train_classifier
from newsdesk.training.metrics import bootstrap_intervals, classification_metrics, format_metrics
from newsdesk.training.sanity import cross_section_pairs, sanity_rates
from newsdesk.training.splits import carve_validation, load_classifier_splits
from test_classifier import tiny_config

from conftest import SHARED_DATA, TOPIC_WORDS, make_article

LABELS = ["agree", "disagree", "discuss", "unrelated"]


def sides_of(splits: dict, values: list[str]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for name, idx in splits.items():
        if name != "apart":
            for i in idx:
                seen.setdefault(values[i], set()).add(name)
    return seen


def test_story_split_keeps_claims_and_bodies_on_one_side():
    rng = random.Random(0)
    targets, groups, labels = [], [], []
    for story in range(40):  # each story: 3 claims related to 2 bodies
        for c in range(3):
            for b in range(2):
                targets.append(f"claim {story}-{c}")
                groups.append(f"body {story}-{b}")
                labels.append(["agree", "discuss", "disagree"][(story + c) % 3])
    for _ in range(400):  # unrelated pairs across stories
        s, t = rng.sample(range(40), 2)
        targets.append(f"claim {s}-{rng.randrange(3)}")
        groups.append(f"body {t}-{rng.randrange(2)}")
        labels.append("unrelated")
    targets.append("claim seen only unrelated")  # no story of its own
    groups.append("body 0-0")
    labels.append("unrelated")
    splits = story_split(targets, groups, labels, {"dev": 0.25}, seed=3)
    assert splits == story_split(targets, groups, labels, {"dev": 0.25}, seed=3)
    assert sorted(i for idx in splits.values() for i in idx) == list(range(len(targets)))
    assert all(len(s) == 1 for s in sides_of(splits, targets).values())
    assert all(len(s) == 1 for s in sides_of(splits, groups).values())
    assert all(labels[i] == "unrelated" for i in splits["apart"])
    assert 0 < len(splits["apart"]) < 400
    related = [i for i, lab in enumerate(labels) if lab != "unrelated"]
    assert not set(related) & set(splits["apart"])  # every related pair is trained or scored
    dev_stories = {targets[i].split("-")[0] for i in splits["dev"] if labels[i] != "unrelated"}
    assert 5 <= len(dev_stories) <= 15


def test_prepare_sets_apart_pairs_and_body_split_keeps_the_old_behaviour(tmp_path, fnc_dir):
    stances = fnc_dir / "train_stances.csv"
    with open(stances, "a") as f:  # one claim of body 0 also paired, unrelated, with others
        f.writelines(f"Headline 0-1 about things,{b},unrelated\n" for b in range(1, 20))
    m = prepare("fnc1", fnc_dir, tmp_path / "story", dev=0.25)
    assert m["split_by"] == "story" and m["splits"]["apart"]["total"] > 0
    assert sum(s["total"] for s in m["splits"].values()) == m["records"]
    train, dev = (load_prepared(tmp_path / "story", s) for s in ("train", "dev"))
    assert not set(train["target"]) & set(dev["target"])
    assert not set(train["group"]) & set(dev["group"])
    old = prepare("fnc1", fnc_dir, tmp_path / "body", dev=0.25, split_by="body")
    assert "apart" not in old["splits"]
    with pytest.raises(DataError, match="split_by must be"):
        prepare("fnc1", fnc_dir, tmp_path / "x", split_by="claims")


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real corpora not found at {SHARED_DATA}")
def test_real_stance_split_shares_no_headline_and_no_body(tmp_path):
    prepare("fnc1", SHARED_DATA / "fnc-1", tmp_path / "fnc")
    train, dev = (load_prepared(tmp_path / "fnc", s) for s in ("train", "dev"))
    assert not set(train["target"]) & set(dev["target"])
    assert not set(train["text"]) & set(dev["text"])
    assert set(dev["label"]) == set(LABELS)


def test_carve_validation_is_story_disjoint_for_pairs(tmp_path, fnc_dir):
    prepare("fnc1", fnc_dir, tmp_path / "p", dev=0.2)
    train, _, _ = load_classifier_splits(str(tmp_path / "p"), "stance")
    part, held = carve_validation(train, 0.25, 13, pair=True)
    assert not set(part["target"]) & set(held["target"])
    assert not set(part["group"]) & set(held["group"])
    assert len(part) + len(held) == len(train)  # no unrelated pair joins two stories here


def test_blend_weight_is_chosen_where_the_answer_is_known():
    rng = np.random.default_rng(0)
    n, k = 200, 3
    gold = rng.integers(0, k, n)
    right = np.full((n, k), 0.1)
    right[np.arange(n), gold] = 0.8
    noise = rng.dirichlet(np.ones(k), n)
    assert choose_weight(right, noise, gold)[0] == 0.0  # the words part is noise
    assert choose_weight(noise, right, gold)[0] == 1.0  # the transformer is noise
    # each part is wrong on a different third (0.6 on a wrong label, 0.3 on the right one):
    # the blend is right everywhere for weights strictly between 0.3 and 0.7, and only there
    wrong = np.full((n, k), 0.1)
    wrong[np.arange(n), gold] = 0.3
    wrong[np.arange(n), (gold + 1) % k] = 0.6
    model, words = right.copy(), right.copy()
    model[: n // 3], words[n // 3: 2 * n // 3] = wrong[: n // 3], wrong[n // 3: 2 * n // 3]
    weight, scores = choose_weight(model, words, gold)
    assert scores[weight] == pytest.approx(1.0)
    assert scores[weight] > max(scores[0.0], scores[1.0])
    assert 0.3 < weight < 0.7


def pair_texts(rng: random.Random, n: int) -> tuple[list[str], list[str], list[str]]:
    """Claims with their own topic's body (discuss) or another topic's body (unrelated)."""
    topics = list(TOPIC_WORDS)
    targets, texts, gold = [], [], []
    for i in range(n):
        topic = topics[i % 3]
        targets.append(" ".join(rng.sample(TOPIC_WORDS[topic], 4)))
        related = i % 2 == 0
        texts.append(make_article(rng, topic if related else topics[(i + 1) % 3], 4))
        gold.append(["discuss", "agree"][i % 4 == 0] if related else "unrelated")
    return targets, texts, gold


def test_pair_model_learns_relatedness_from_word_overlap_and_reloads(tmp_path):
    rng = random.Random(1)
    targets, texts, gold = pair_texts(rng, 240)
    labels = ["agree", "discuss", "unrelated"]
    flat = np.full((len(gold), 3), 1 / 3)  # a transformer that knows nothing
    vectorizer = PairModel.fit_vectorizer(targets + texts)
    model = PairModel.fit(vectorizer, targets, texts, flat, gold, labels)
    new_targets, new_texts, new_gold = pair_texts(random.Random(2), 120)
    probs = model.predict_proba(new_targets, new_texts, np.full((120, 3), 1 / 3))
    called = [labels[i] == "unrelated" for i in probs.argmax(1)]
    assert np.mean([c == (g == "unrelated") for c, g in zip(called, new_gold)]) >= 0.9
    model.save(tmp_path)
    again = PairModel.load(tmp_path, labels).predict_proba(new_targets, new_texts,
                                                            np.full((120, 3), 1 / 3))
    assert np.allclose(again, probs, atol=1e-6)
    with pytest.raises(DataError, match="labels .* differ"):
        PairModel.load(tmp_path, ["discuss", "agree", "unrelated"])
    with pytest.raises(DataError, match=r"label\(s\) \['agree'\] have no pairs"):
        PairModel.fit(vectorizer, targets[:4], texts[:4], flat[:4],
                      ["discuss", "unrelated", "discuss", "unrelated"], labels)


def test_stance_offsets_share_the_related_mass_and_leave_unrelated_alone():
    # unrelated at 0.40 wins against two related classes at 0.35 / 0.25 before any offset; a
    # large offset on the second related class moves most of that pair's related mass (0.60)
    # to it, which now beats unrelated, but P(unrelated) itself stays 0.40
    logp = np.log(np.array([[0.35, 0.25, 0.40], [0.05, 0.05, 0.90]]))
    shifted = np.exp(shift(logp, np.array([0.0, 3.0, 0.0]), keep=2))
    assert np.allclose(shifted.sum(1), 1.0) and np.allclose(shifted[:, 2], [0.40, 0.90])
    assert shifted[0, 1] > 0.40 > shifted[0, 0] and shifted.argmax(1).tolist() == [1, 2]
    gold = np.array([1, 2])
    assert choose_offsets(logp, gold, free=[1], keep=2)[2] == 0.0
    assert (shift(logp, choose_offsets(logp, gold, free=[1], keep=2), 2).argmax(1) == gold).all()
    # without keep, the same offset would also take mass from unrelated
    assert np.exp(shift(logp, np.array([0.0, 3.0, 0.0])))[0, 2] < 0.40


def test_offsets_lift_a_class_the_scores_underrate():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 3, 300)
    logp = np.log(np.full((300, 3), 0.2))
    logp[np.arange(300), gold] = np.log(0.6)
    logp[gold == 2, 2] = np.log(0.3)  # class 2 is right but below class 0
    logp[gold == 2, 0] = np.log(0.5)
    offsets = choose_offsets(logp, gold)
    assert offsets[0] == 0 and offsets[2] > np.log(0.5 / 0.3)
    assert ((logp + offsets).argmax(1) == gold).mean() == 1.0


def test_a_gated_offset_lifts_only_the_rows_it_applies_to():
    # class 1 is right but underrated (0.3 against 0.5) on the first 100 rows, where its
    # offset applies; on the next 100 class 0 is right with class 1 close behind (0.45 / 0.35):
    # one offset for all rows cannot lift the first without flipping the second, a gated one can
    logp = np.log(np.array([[0.5, 0.3, 0.2]] * 100 + [[0.45, 0.35, 0.2]] * 100))
    gold = np.array([1] * 100 + [0] * 100)
    applies = np.ones_like(logp)
    applies[100:, 1] = 0
    offsets = choose_offsets(logp, gold, applies=applies)
    assert (shift(logp, offsets * applies).argmax(1) == gold).all()
    assert (shift(logp, choose_offsets(logp, gold)).argmax(1) != gold).any()


def test_offsets_apply_where_the_body_refutes_or_does_not_hedge_and_old_folders_keep_theirs(
        tmp_path):
    texts = ["Officials said the video was a hoax and the story fake.",
             "The minister said the budget would reportedly rise next year."]
    targets = ["Video shows the minister", "Budget to rise"]
    vectorizer = PairModel.fit_vectorizer(texts + targets)
    model = PairModel(vectorizer, np.zeros(4, np.float32), -3.0, np.zeros(4, np.float32),
                      np.ones(4, np.float32), np.array([0.0, 2.0, 0.0, 0.0], np.float32), LABELS)
    applies = model.applies(texts)
    assert applies[:, 1].tolist() == [1.0, 0.0]  # disagree: only where a word refutes
    assert applies[:, 2].tolist() == [1.0, 0.0]  # discuss: only where no word hedges
    assert (applies[:, [0, 3]] == 1).all()
    probs = np.array([[0.15, 0.1, 0.4, 0.35]] * 2)  # discuss ahead of disagree
    got = model.predict_proba(targets, texts, probs)
    assert [LABELS[i] for i in got.argmax(1)] == ["disagree", "discuss"]
    assert np.allclose(got[:, 3], got[0, 3])  # P(unrelated) is the regression's either way
    model.save(tmp_path)
    assert np.allclose(PairModel.load(tmp_path, LABELS).predict_proba(targets, texts, probs), got)
    saved = json.loads((tmp_path / "pairs.json").read_text())
    del saved["gated"]  # a folder fitted before the gate: its offsets apply to every pair
    (tmp_path / "pairs.json").write_text(json.dumps(saved))
    old = PairModel.load(tmp_path, LABELS).predict_proba(targets, texts, probs)
    assert [LABELS[i] for i in old.argmax(1)] == ["disagree", "disagree"]
    with pytest.raises(ValueError, match="present or absent"):  # checked where built, too
        PairModel(vectorizer, model.coef, -3.0, model.mean, model.std, model.offsets, LABELS,
                  gates={"disagree": ("hoax", "sometimes")})
    for broken in ({"disagree": {"words": "(unclosed", "when": "present"}},
                   {"disagree": {"words": "hoax", "when": "sometimes"}}, {"disagree": "hoax"}):
        saved["gated"] = broken
        (tmp_path / "pairs.json").write_text(json.dumps(saved))
        with pytest.raises(DataError, match="unreadable word-overlap model"):
            PairModel.load(tmp_path, LABELS)


def test_stance_training_fits_on_the_validation_slice(tmp_path, fnc_dir, tiny_bert_dir, seed):
    prepare("fnc1", fnc_dir, tmp_path / "p", dev=0.2)
    out = tmp_path / "stance"
    metrics = train_classifier(tiny_config(tmp_path / "p", out, tiny_bert_dir, "stance",
                                           lexical="tfidf", validation=0.25))
    settings = read_settings(out)
    assert settings.fitted_on == "validation" and settings.lexical == "tfidf"
    assert (out / "pairs.json").is_file()
    fitted = metrics["validation"]
    assert fitted["examples"] > 0 and {"model_only", "blend", "calibration"} <= set(fitted)
    assert set(metrics["model_only"]) == {"accuracy", "macro_f1"}
    stories = metrics["stories"]  # dev's stories, and the figures without its largest one
    assert stories["count"] > 1 and 0 < stories["largest_share"] < 1
    card = (out / "README.md").read_text()
    assert f"dev: {stories['count']} stories, the largest" in card
    assert "95% bootstrap interval, resampling the dev stories" in card
    dev = load_prepared(tmp_path / "p", "dev")
    predictor = ClassifierPredictor.from_pretrained(out, device="cpu", precision="fp32")
    got = predictor.predict(list(dev["text"][:4]), targets=list(dev["target"][:4]))
    assert all(g["label"] in LABELS for g in got)
    pipe = pipeline("text-classification", model=str(out), device="cpu")  # the transformer alone
    assert pipe([{"text": dev["target"][0], "text_pair": dev["text"][0]}])[0]["label"] in LABELS
    # redone in a copy by this version's code: the same combination as training fitted
    from newsdesk.training.refit import refit

    before, after = refit(out, tmp_path / "again")
    assert before["fnc_score"] == pytest.approx(metrics["fnc_score"])
    assert after["validation"]["offsets"] == fitted["offsets"]
    assert after["fnc_score"] == pytest.approx(metrics["fnc_score"])
    assert json.loads((tmp_path / "again" / "pairs.json").read_text()) == \
        json.loads((out / "pairs.json").read_text())
    # a folder whose slice this version would draw otherwise (another size) is refused
    recorded = json.loads((out / "metrics.json").read_text())
    recorded["validation"]["examples"] += 1
    (out / "metrics.json").write_text(json.dumps(recorded))
    with pytest.raises(DataError, match=r"stance: its validation slice held \d+ examples, but"):
        refit(out, tmp_path / "third")
    assert not (tmp_path / "third").exists()


def test_topic_blend_weight_is_recorded_from_the_validation_slice(tmp_path, bbc_dir,
                                                                   tiny_bert_dir, seed,
                                                                   monkeypatch):
    from newsdesk.models import lexical

    prepare("bbc", bbc_dir, tmp_path / "p", dev=0.3)
    out = tmp_path / "topic"
    picks, pick_c = [], lexical._pick_c
    monkeypatch.setattr(lexical, "_pick_c", lambda *a: picks.append(pick_c(*a)) or picks[-1])
    metrics = train_classifier(tiny_config(tmp_path / "p", out, tiny_bert_dir, "topic",
                                           lexical="tfidf", validation=0.3))
    # the strength is chosen once, for the model refitted on the part and the slice: the fit on
    # the training part alone only stands in until the slice has chosen the weight
    assert len(picks) == 1 and LexicalModel.load(out, read_settings(out).labels).c == picks[0]
    settings = read_settings(out)
    fitted = metrics["validation"]
    assert settings.fitted_on == "validation"
    assert settings.lexical_weight == fitted["lexical_weight"]
    by_weight = fitted["macro_f1_by_weight"]
    assert by_weight[str(fitted["lexical_weight"])] >= max(by_weight["0.0"], by_weight["1.0"])
    assert json.loads((out / "newsdesk.json").read_text())["lexical_weight"] == \
        fitted["lexical_weight"]
    # the TF-IDF partner was refitted on the whole training split, the slice included
    train_total = read_settings(out).data_manifest["train"]["total"]
    assert fitted["lexical_refit_on"].startswith(f"{train_total} training articles")

    # `newsdesk refit` redoes that fit in a copy, the same way, and leaves the folder alone
    from newsdesk.cli import main

    before = (out / "metrics.json").read_bytes()
    again = tmp_path / "again"
    assert main(["refit", str(out), "--out", str(again)]) == 0
    assert (out / "metrics.json").read_bytes() == before
    redone = json.loads((again / "metrics.json").read_text())
    assert redone["refitted"].startswith("newsdesk refit")
    assert redone["validation"]["lexical_weight"] == fitted["lexical_weight"]
    assert redone["macro_f1"] == pytest.approx(metrics["macro_f1"])
    assert read_settings(again).lexical_weight == settings.lexical_weight
    card = (again / "README.md").read_text()
    assert "redone on the same validation slice" in card and "newsdesk refit topic --out again" \
        in card and "redone" not in (out / "README.md").read_text()
    assert main(["refit", str(out), "--out", str(again)]) == 2  # the copy must be new
    assert main(["refit", str(out), "--out", str(tmp_path / "other"), "--data",
                 str(tmp_path / "nowhere")]) == 2
    assert not (tmp_path / "other").exists()
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    (broken / "metrics.json").unlink()  # said before anything is copied
    assert main(["refit", str(broken), "--out", str(tmp_path / "other")]) == 2
    assert not (tmp_path / "other").exists()
    shutil.rmtree(broken)
    shutil.copytree(out, broken)
    # fails once copied: no half-refitted copy is left
    (broken / "model.safetensors").write_bytes(b"not weights")
    assert main(["refit", str(broken), "--out", str(tmp_path / "other")]) == 2
    assert not (tmp_path / "other").exists()


def test_topic_lexical_refit_learns_the_slice_and_gives_out_of_fold_probabilities(tmp_path):
    import datasets

    from newsdesk.training import fitting

    rng = random.Random(3)
    filler = "said would also year people new first last time".split()
    labels = ["business", "sport"]

    def story(word: str) -> str:
        return " ".join([word] + rng.sample(filler, 5))

    def part(rows: list[tuple[str, str]]) -> datasets.Dataset:
        return datasets.Dataset.from_dict({"title": [None] * len(rows),
                                           "text": [story(w) for _, w in rows],
                                           "y": [y for y, _ in rows]})

    # "tariff" is a business word only the slice holds
    train = part([("business", "shares"), ("sport", "goals")] * 20)
    val = part([("business", "tariff"), ("sport", "goals")] * 6)
    model = LexicalModel.fit(list(train["text"]), list(train["y"]), labels)
    model.save(tmp_path)
    assert "tariff" not in model.features.words.vocabulary_

    class Holder:  # what `refit_on_training_split` reads of a predictor
        lexical = model

    oof = fitting.refit_on_training_split(Holder(), tmp_path, [train, val])
    texts, ys = list(train["text"]) + list(val["text"]), list(train["y"]) + list(val["y"])
    assert oof.shape == (52, 2)
    refit = LexicalModel.load(tmp_path, labels)
    assert np.array_equal(oof, LexicalModel.out_of_fold(texts, ys, labels, multi_label=False,
                                                        c=refit.c))
    assert np.allclose(oof.sum(1), 1.0, atol=1e-5)  # one label per article
    assert not refit.multi_label and "tariff" in refit.features.words.vocabulary_
    assert refit.predict_proba([story("tariff")])[0, 0] > 0.5
    # a label with a single article cannot be held out of a fold: the folder is left as it was
    lone = part([("business", "shares"), ("sport", "goals")] * 20 + [("tech", "chips")])
    three = ["business", "sport", "tech"]
    (tmp_path / "lone").mkdir()
    LexicalModel.fit(list(lone["text"]), list(lone["y"]), three).save(tmp_path / "lone")
    before = (tmp_path / "lone" / "lexical.safetensors").read_bytes()
    Holder.lexical = LexicalModel.load(tmp_path / "lone", three)
    assert fitting.refit_on_training_split(Holder(), tmp_path / "lone", [lone, val]) is None
    assert (tmp_path / "lone" / "lexical.safetensors").read_bytes() == before
    # two articles: two folds, each holding one out
    pair = part([("business", "shares"), ("sport", "goals")] * 20 + [("tech", "chips")] * 2)
    Holder.lexical = LexicalModel.fit(list(pair["text"]), list(pair["y"]), three)
    oof = fitting.refit_on_training_split(Holder(), tmp_path / "lone", [pair, val])
    assert oof.shape == (54, 3) and (tmp_path / "lone" / "lexical.safetensors").read_bytes() != before


def test_cross_section_pairs_and_rates():
    articles = [{"title": f"{t} story {i}", "text": f"{t} body {i}.", "topic": t}
                for t in ("business", "sport", "tech") for i in range(5)]
    pairs = cross_section_pairs(articles, per_section=3, seed=1)
    assert pairs == cross_section_pairs(articles, per_section=3, seed=1)
    assert len(pairs) == 18
    for own, cross in zip(pairs[::2], pairs[1::2]):
        assert own["expect"] == "related" and cross["expect"] == "unrelated"
        assert own["target"] == cross["target"]
        assert own["text"].split()[0] == own["claim_section"] == cross["claim_section"]
        assert cross["text"].split()[0] == cross["body_section"] != cross["claim_section"]
    labels = ["discuss", "unrelated"] * 8 + ["unrelated", "agree"]
    rates = sanity_rates(pairs, labels)
    assert rates["cross_section_unrelated"] == pytest.approx(8 / 9, abs=1e-4)
    assert rates["own_story_related"] == pytest.approx(8 / 9, abs=1e-4)
    with pytest.raises(DataError, match="two sections or more"):
        cross_section_pairs(articles[:5])
    with pytest.raises(DataError, match="article 0: a title, a text and a topic"):
        cross_section_pairs([{"title": "", "text": "x", "topic": "a"}])


def test_bootstrap_intervals_match_scoring_each_resample():
    rng = random.Random(4)
    gold = [rng.choice(LABELS) for _ in range(120)]
    pred = [g if rng.random() < 0.7 else rng.choice(LABELS) for g in gold]
    got = bootstrap_intervals(gold, pred, LABELS, fnc=True, resamples=50, seed=5)
    draws = np.random.default_rng(5).integers(0, len(gold), size=(50, len(gold)))
    slow = {"accuracy": [], "macro_f1": [], "fnc_score": []}
    for row in draws:
        m = classification_metrics([gold[i] for i in row], [pred[i] for i in row], LABELS,
                                   fnc=True)
        for name in slow:
            slow[name].append(m[name])
    for name, values in slow.items():
        assert got[name] == pytest.approx([np.percentile(values, 2.5),
                                           np.percentile(values, 97.5)], abs=1e-4)
    point = classification_metrics(gold, pred, LABELS, fnc=True)
    for name, (low, high) in point["interval_95"].items():
        assert low <= point[name] <= high
    perfect = classification_metrics(gold, gold, LABELS, fnc=True)["interval_95"]
    assert perfect == {"accuracy": [1.0, 1.0], "macro_f1": [1.0, 1.0], "fnc_score": [100.0, 100.0]}


def test_bootstrap_by_story_resamples_whole_stories():
    gold = ["agree"] * 50 + ["discuss"] * 50
    pred = ["agree"] * 50 + ["agree"] * 50  # one story all right, the other all wrong
    groups = ["a"] * 50 + ["b"] * 50
    by_story = bootstrap_intervals(gold, pred, LABELS, resamples=200, groups=groups)
    by_pair = bootstrap_intervals(gold, pred, LABELS, resamples=200)
    assert by_story["accuracy"] == [0.0, 1.0]  # a resample holds story a twice, or b twice
    assert 0.35 < by_pair["accuracy"][0] < by_pair["accuracy"][1] < 0.65
    m = classification_metrics(gold, pred, LABELS, groups=groups)
    assert m["interval_95_resamples"] == "story"


def test_metrics_name_the_largest_story_and_score_without_it():
    gold = ["agree"] * 60 + ["discuss"] * 25 + ["unrelated"] * 15
    pred = ["discuss"] * 60 + ["discuss"] * 25 + ["unrelated"] * 15  # the big story all wrong
    groups = ["big"] * 60 + ["b"] * 25 + ["c"] * 15
    m = classification_metrics(gold, pred, LABELS, fnc=True, groups=groups)
    assert m["accuracy"] == pytest.approx(0.4)
    assert m["stories"]["count"] == 3 and m["stories"]["largest_share"] == 0.6
    assert m["stories"]["without_largest"]["accuracy"] == 1.0
    assert m["stories"]["without_largest"]["fnc_score"] == 100.0
    assert "3 stories, the largest 60% of the examples; without it: accuracy 1.0000" in \
        format_metrics(m)
    assert "stories" not in classification_metrics(gold, pred, LABELS)  # no stories, no figure
    one = classification_metrics(gold, pred, LABELS, groups=["x"] * 100)["stories"]
    assert one == {"count": 1, "largest_share": 1.0}  # nothing is left without it
