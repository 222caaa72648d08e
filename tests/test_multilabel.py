"""Multi-label topics: Reuters builder, list-valued label columns, thresholds, metrics, training,
inference."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from newsdesk.data import builders
from newsdesk.data.prepare import prepare, rarest_labels
from newsdesk.errors import DataError
from newsdesk.inference import ClassifierPredictor, NewsAnalyzer
from newsdesk.models import multilabel
from newsdesk.models.lexical import WEIGHT_GRID, LexicalModel, blend, choose_multilabel_weight
from newsdesk.models.multilabel import decide, multi_hot, tune_thresholds
from newsdesk.training.classifier import train_classifier
from newsdesk.training.metrics import multilabel_metrics
from test_classifier import tiny_config

from conftest import FILLER, TOPIC_WORDS, make_sentence

ETX, DEL = "\u0003", "\u007f"


def reuters_folder(root: Path, n: int = 48, seed: int = 0) -> Path:
    """A Reuters-21578 folder as ../shared/data holds it: wrapped lines, ETX and sign-off,
    BRIEF stories (text in the title), an UNPROC story, a topic-less story, a duplicate."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    topics = ["business", "sport", "tech"]
    rows = []
    for i in range(n):
        mine = [topics[i % 3]] + ([topics[(i + 1) % 3]] if i % 4 == 0 else [])
        body = " ".join(make_sentence(rng, TOPIC_WORDS[t]) for t in mine for _ in range(3))
        words = body.split()
        wrapped = "\n".join(" ".join(words[k:k + 9]) for k in range(0, len(words), 9))
        rows.append({"id": i + 1, "title": f"STORY {i}", "text": f"{wrapped}\n Reuter\n{ETX}",
                     "topics": mine, "date": " 5-MAR-1987"})
    rows.append({"id": 900, "title": "BRIEF: " + make_sentence(rng, TOPIC_WORDS["tech"]),
                 "text": "", "topics": ["tech"], "date": ""})
    rows.append({"id": 901, "title": "", "text": "", "topics": ["sport"], "date": ""})  # UNPROC
    rows.append({"id": 902, "title": "NO TOPIC", "text": "Some text.\n Reuter\n" + ETX,
                 "topics": [], "date": ""})
    rows.append({**rows[0], "id": 903})  # an exact duplicate of story 1
    rows.append({"id": 904, "title": "T", "text": f"Odd{DEL} text here.\n{ETX}",
                 "topics": ["business", "elsewhere"], "date": ""})
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "categories-90.txt").write_text("\n".join(topics) + "\n")
    return root


def test_reuters_builder_repairs_and_accounts_for_every_story(tmp_path):
    from newsdesk.data.clean import CleaningReport

    report = CleaningReport()
    ds = builders.reuters(reuters_folder(tmp_path / "reuters"), report)
    rows = {r["id"]: r for r in ds}
    first = rows["1"]
    assert "\n" not in first["text"] and ETX not in first["text"]  # one paragraph, unwrapped
    assert not first["text"].endswith("Reuter") and first["topics"] == ["business", "sport"]
    assert rows["900"]["text"].startswith("BRIEF:") and rows["900"]["title"] is None
    assert rows["904"]["topics"] == ["business"] and DEL not in rows["904"]["text"]
    assert report.dropped == {"no_text": ["901"], "no_category": ["902"]}
    assert report.duplicate_of == {"903": "1"}
    assert report.repaired["brief_text_from_title"] == 1 and report.repaired["signoff_removed"] >= 48
    assert len(ds) == 48 + 2  # 48 stories + BRIEF + 904; UNPROC, topic-less and duplicate listed


def test_prepare_reuters_splits_multi_label_and_counts_labels(tmp_path):
    manifest = prepare("reuters", reuters_folder(tmp_path / "r"), tmp_path / "out", dev=0.25)
    assert manifest["label_column"] == "topics" and manifest["multi_label"]
    assert manifest["splits"]["train"]["labels"]["business"] > 0
    dev = [json.loads(x) for x in (tmp_path / "out" / "dev.jsonl").read_text().splitlines()]
    assert all(isinstance(r["topics"], list) and r["topics"] for r in dev)
    assert rarest_labels([["a", "b"], ["a"], None]) == ["b", "a", None]


def test_a_category_with_no_training_story_gets_one_moved_to_train():
    from newsdesk.data.prepare import learnable

    lists = [["a"], ["a"], ["a", "z"], ["b"], ["y"], ["y"]]
    splits = {"train": [0, 3], "dev": [1, 2, 4], "test": [5]}
    moved_splits, moved = learnable(splits, lists)
    assert moved == {"z": "dev", "y": "dev"}  # z's only story, y's first held-out one
    assert moved_splits == {"train": [0, 2, 3, 4], "dev": [1], "test": [5]}
    assert learnable(moved_splits, lists)[1] == {}  # nothing left to move


def test_prepare_keeps_a_single_story_category_in_train(tmp_path):
    src = reuters_folder(tmp_path / "r")
    rows = [json.loads(x) for x in (src / "train.jsonl").read_text().splitlines()]
    rows[5]["topics"] = rows[5]["topics"] + ["once"]  # the only story of "once"
    (src / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (src / "categories-90.txt").write_text("business\nsport\ntech\nonce\n")
    for seed in (1, 11, 24):  # 11 and 24 put it in dev before the rule
        manifest = prepare("reuters", src, tmp_path / f"out{seed}", dev=0.25, seed=seed)
        assert manifest["splits"]["train"]["labels"].get("once") == 1
        assert "once" not in manifest["splits"]["dev"]["labels"]
        assert manifest["moved_to_train"] == ({} if seed == 1 else {"once": "dev"})  # recorded


@pytest.mark.parametrize("value, expected", [
    ("grain, wheat", ["grain", "wheat"]),
    (["grain", "wheat", "grain"], ["grain", "wheat"]),
    ("", None),
    (None, None),
])
def test_list_valued_columns_in_tables(tmp_path, value, expected):
    src = tmp_path / "t.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Wheat prices rose.", "tags": value}) + "\n")
    ds = builders.table(src, columns={"topics": "tags"})
    assert ds[0]["topics"] == expected


def test_a_list_column_of_the_wrong_type_names_the_row(tmp_path):
    src = tmp_path / "t.jsonl"
    src.write_text(json.dumps({"text": "x", "topics": [1, 2]}) + "\n")
    with pytest.raises(DataError, match=r"t.jsonl, line 1: column 'topics' should be a list"):
        builders.table(src)


def test_csv_topics_are_comma_separated(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text('text,topics\n"Wheat rose.","grain,wheat"\n')
    assert builders.table(src)[0]["topics"] == ["grain", "wheat"]


def test_thresholds_are_tuned_per_label_on_a_constructed_case():
    torch.manual_seed(0)
    n = 400
    gold = torch.zeros(n, 3)
    gold[:, 0] = torch.rand(n) < 0.5
    gold[:, 1] = torch.rand(n) < 0.5
    gold[:2, 2] = 1  # too few positives for its own threshold
    probs = torch.rand(n, 3) * 0.3
    probs[:, 0] += gold[:, 0] * 0.5 + 0.1   # positives 0.6-0.9, negatives 0.1-0.4: cut in 0.4-0.6
    probs[:, 1] += gold[:, 1] * 0.15 + 0.05  # positives 0.2-0.5, negatives 0.05-0.35: low cut
    own, fallback = tune_thresholds(probs, gold, ["a", "b", "c"], no_label="none")
    assert 0.4 <= own["a"] <= 0.6
    assert own["b"] < own["a"]
    assert "c" not in own and 0.05 <= fallback <= 0.95


def test_rare_labels_share_a_threshold_tuned_on_their_pooled_positives():
    torch.manual_seed(0)
    n = 400
    gold = torch.zeros(n, 3)
    gold[:, 0] = torch.rand(n) < 0.5
    gold[:2, 1] = gold[2:4, 2] = 1  # two positives each: too few to tune alone
    probs = torch.rand(n, 3) * 0.1
    probs[:, 0] += gold[:, 0] * 0.5 + 0.3  # frequent label: positives 0.8-0.9, negatives 0.3-0.4
    probs[:, 1:] += gold[:, 1:] * 0.2      # rare labels: positives 0.2-0.3, negatives under 0.1
    own, shared = tune_thresholds(probs, gold, ["a", "b", "c"], no_label="none")
    assert set(own) == {"a"} and 0.4 < own["a"] <= 0.8
    assert 0.1 <= shared <= 0.2  # where the rare positives are; micro-F1 alone would cut at 0.4+
    gold[:, 1:] = 0  # no rare positive to tune on: micro-F1 over all labels decides
    _, shared = tune_thresholds(probs, gold, ["a", "b", "c"], no_label="none")
    assert shared > 0.3


def test_thresholds_tuned_on_few_positives_are_pulled_toward_the_shared_one(monkeypatch):
    torch.manual_seed(0)
    n = 400
    gold = torch.zeros(n, 3)
    gold[:, 0] = torch.rand(n) < 0.5
    gold[:4, 1] = 1          # four positives: its own threshold, on little evidence
    gold[4:6, 2] = 1         # two: the shared threshold
    probs = torch.rand(n, 3) * 0.1
    probs[:, 0] += gold[:, 0] * 0.5 + 0.3
    probs[:, 1] += gold[:, 1] * 0.8        # positives 0.8-0.9, negatives under 0.1: a wide plateau
    probs[:, 2] += gold[:, 2] * 0.2
    labels = ["a", "b", "c"]
    monkeypatch.setattr(multilabel, "SHRINK", 0.0)
    alone, shared = tune_thresholds(probs, gold, labels, no_label="none")
    monkeypatch.setattr(multilabel, "SHRINK", 5.0)
    own, shared_again = tune_thresholds(probs, gold, labels, no_label="none")
    assert shared_again == shared and alone["b"] > shared + 0.2
    assert own["b"] == pytest.approx((4 * alone["b"] + 5 * shared) / 9, abs=1e-4)
    n_a = float(gold[:, 0].sum())
    assert own["a"] == pytest.approx((n_a * alone["a"] + 5 * shared) / (n_a + 5), abs=1e-4)
    assert abs(own["a"] - alone["a"]) < 0.02  # hundreds of positives: it barely moves


def test_no_label_rule_best_or_none():
    probs = torch.tensor([[0.2, 0.4], [0.9, 0.1]])
    t = torch.tensor([0.5, 0.5])
    assert decide(probs, t, "best").tolist() == [[0, 1], [1, 0]]
    assert decide(probs, t, "none").tolist() == [[0, 0], [1, 0]]
    assert multi_hot([["b"], ["a", "zzz"], None], ["a", "b"]).tolist() == [[0, 1], [1, 0], [0, 0]]


def test_multilabel_metrics_by_hand():
    gold = [["a", "b"], ["a"], ["c"]]
    pred = [["a"], ["a", "b"], ["c"]]
    m = multilabel_metrics(gold, pred, ["a", "b", "c", "d"])
    # tp a:2 b:0 c:1 -> 3; fp b:1; fn b:1 -> micro 2*3/(6+1+1)
    assert m["micro_f1"] == pytest.approx(6 / 8)
    assert m["macro_f1"] == pytest.approx((1 + 0 + 1) / 3)  # over a, b, c (d is absent)
    assert m["absent_labels"] == ["d"] and m["subset_accuracy"] == pytest.approx(1 / 3)
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_multilabel_metrics_count_a_label_the_model_never_saw_as_missed():
    gold = [["a"], ["a", "z"], ["b"]]  # "z": in the gold lists, not among the model's labels
    pred = [["a"], ["a"], ["b"]]
    m = multilabel_metrics(gold, pred, ["a", "b"])
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 0 + 1))  # z's story is a miss
    assert m["macro_f1"] == pytest.approx((1 + 1 + 0) / 3)
    assert m["unseen_labels"] == ["z"] and m["per_class"]["z"]["support"] == 1


def test_lexical_multilabel_probabilities_are_independent():
    texts = [" ".join([w] * 5 + FILLER[:5]) for w in ("profit", "goal", "chip") for _ in range(6)]
    lists = [["business"]] * 6 + [["sport"]] * 6 + [["tech", "business"]] * 6
    model = LexicalModel.fit_multilabel(texts, lists, ["business", "sport", "tech", "never"])
    probs = model.predict_proba(["chip chip chip"])[0]
    assert probs[2] > 0.5 and probs[3] < 0.01  # "never" had no article
    assert not abs(probs.sum() - 1) < 1e-3  # sigmoids, not a softmax


def test_lexical_multilabel_balanced_weights_lift_a_rare_label():
    # "wheat" is in both grain stories and in four others: unweighted, about 2 in 6
    texts = [" ".join(["profit"] * 3 + FILLER[:6]) for _ in range(26)]
    texts += [" ".join(["profit", "wheat"] + FILLER[:6]) for _ in range(6)]
    lists = [["business"]] * 30 + [["business", "grain"]] * 2
    labels = ["business", "grain"]
    plain = LexicalModel.fit_multilabel(texts, lists, labels, weighting="none")
    weighted = LexicalModel.fit_multilabel(texts, lists, labels)
    story = texts[-1:]
    assert plain.predict_proba(story)[0, 1] < 0.5 < weighted.predict_proba(story)[0, 1]
    assert weighted.predict_proba(texts[:1])[0, 1] < 0.5  # the frequent stories stay off


def test_lexical_character_ngrams_match_word_forms_never_seen_whole(tmp_path):
    # training says "soybeans" and "soyoil"; the story says "soybean" and "soy": no shared word
    texts = [" ".join(["soybeans", "soyoil"] + FILLER[:6]) for _ in range(6)]
    texts += [" ".join(["striker", "goals"] + FILLER[:6]) for _ in range(6)]
    lists = [["grain"]] * 6 + [["sport"]] * 6
    labels = ["grain", "sport"]
    story = ["prices of soybean and soy meal"]
    words = LexicalModel.fit_multilabel(texts, lists, labels)
    chars = LexicalModel.fit_multilabel(texts, lists, labels, chars=True)
    assert abs(words.predict_proba(story)[0, 0] - words.predict_proba(story)[0, 1]) < 0.01
    assert chars.predict_proba(story)[0, 0] > 0.5 > chars.predict_proba(story)[0, 1]
    chars.save(tmp_path)  # the character part is saved and read back
    again = LexicalModel.load(tmp_path, labels)
    assert len(again.features) == len(chars.features) > len(words.features)
    assert np.array_equal(again.predict_proba(story), chars.predict_proba(story))


def test_refit_on_training_split_learns_the_slice_and_returns_out_of_fold_probabilities(
        tmp_path):
    import datasets

    from newsdesk.training import fitting

    rng = random.Random(5)
    labels = ["business", "grain"]

    def story(grain: bool) -> str:
        return " ".join(["profit", "wheat" if grain else "shares"] + rng.sample(FILLER, 6))

    def part(grains: list[bool]) -> datasets.Dataset:
        return datasets.Dataset.from_dict({
            "title": [None] * len(grains), "text": [story(g) for g in grains],
            "y": [["business", "grain"] if g else ["business"] for g in grains]})

    train = part([False] * 50)  # no grain story in the training part: the slice has them all
    val = part([i % 2 == 0 for i in range(20)])
    model = LexicalModel.fit_multilabel(list(train["text"]), list(train["y"]), labels)
    model.save(tmp_path)
    assert model.predict_proba([story(True)])[0, 1] < 0.01  # nothing learnt about grain

    class Holder:  # what `refit_on_training_split` reads of a predictor
        lexical = model

    oof = fitting.refit_on_training_split(Holder(), tmp_path, [train, val])
    texts, lists = list(train["text"]) + list(val["text"]), list(train["y"]) + list(val["y"])
    assert np.array_equal(oof, LexicalModel.out_of_fold(texts, lists, labels))  # in their order
    assert oof.shape == (70, 2)
    refit = LexicalModel.load(tmp_path, labels)  # the folder's lexical model was rewritten
    assert refit.predict_proba([story(True)])[0, 1] > 0.5 > refit.predict_proba([story(False)])[0, 1]


def test_log_odds_blend_keeps_a_sure_part_sure_and_its_ends_exact():
    model = torch.tensor([[0.99, 0.5], [0.2, 0.7]])
    words = torch.tensor([[0.5, 0.01], [0.2, 0.7]])
    mixed = blend(model, words, 0.5, "log_odds")
    odds = 0.5 * model.logit() + 0.5 * words.logit()
    assert torch.allclose(mixed, odds.sigmoid())
    assert mixed[0, 0] > 0.9 and mixed[0, 1] < 0.1  # probabilities would give 0.745 and 0.255
    assert torch.allclose(mixed[1], model[1])  # parts that agree give their own probability
    assert torch.equal(blend(model, words, 0.0, "log_odds"), model)
    assert torch.equal(blend(model, words, 1.0, "log_odds"), words)
    as_arrays = blend(model.numpy(), words.numpy(), 0.3, "log_odds")
    assert np.allclose(as_arrays, blend(model, words, 0.3, "log_odds").numpy(), atol=1e-6)


def test_multilabel_blend_weight_is_chosen_where_the_answer_is_known():
    rng = np.random.default_rng(1)
    n, labels = 160, ["a", "b", "c", "d"]
    gold = torch.from_numpy(rng.random((n, 4)) < 0.3).float()
    gold[gold.sum(1) == 0, 0] = 1.0
    sure = (0.05 + 0.9 * gold).clamp(0.05, 0.95)
    noise = torch.from_numpy(rng.random((n, 4))).float()
    assert choose_multilabel_weight(sure, noise, gold, labels)[0] == 0.0  # words: noise
    assert choose_multilabel_weight(noise, sure, gold, labels)[0] == 1.0  # transformer: noise
    # the transformer knows labels a and b and shrugs (0.5) at c and d, the words part the
    # other way round: every label is decided right only by a blend of both
    model, words = sure.clone(), sure.clone()
    model[:, 2:], words[:, :2] = 0.5, 0.5
    weight, scores = choose_multilabel_weight(model, words, gold, labels)
    assert scores[weight] == 1.0 > max(scores[0.0], scores[1.0])
    assert 0.0 < weight < 1.0


def test_refit_embeds_only_the_articles_whose_embeddings_it_was_not_given(tmp_path):
    import datasets

    from newsdesk.training import fitting

    rng = random.Random(6)
    labels = ["business", "grain"]

    def part(grains: list[bool]) -> datasets.Dataset:
        texts = [" ".join(["profit", "wheat" if g else "shares"] + rng.sample(FILLER, 6))
                 for g in grains]
        return datasets.Dataset.from_dict({
            "title": [None] * len(grains), "text": texts,
            "y": [["business", "grain"] if g else ["business"] for g in grains]})

    def vectors(texts: list[str]) -> np.ndarray:  # a stand-in encoder: grain stories point one way
        return np.array([[1.0, 0.0] if "wheat" in t else [0.0, 1.0] for t in texts], np.float32)

    train, val = part([i % 3 == 0 for i in range(30)]), part([i % 2 == 0 for i in range(20)])
    model = LexicalModel.fit_multilabel(list(train["text"]), list(train["y"]), labels,
                                        embeddings=vectors(list(train["text"])))
    embedded = []

    class Holder:  # what `refit_on_training_split` reads of a predictor
        lexical = model

        def encode(self, items):
            return [a["text"] for a in items]

        def embeddings(self, texts):
            embedded.extend(texts)
            return vectors(texts)

    known = vectors(list(train["text"]))
    fitting.refit_on_training_split(Holder(), tmp_path, [train, val], known=known)
    assert embedded == list(val["text"])  # the training part's embeddings were reused
    refit = LexicalModel.load(tmp_path, labels)
    assert refit.reads_embeddings and refit.features.embedding_dims == 2
    embedded.clear()
    (tmp_path / "again").mkdir()
    fitting.refit_on_training_split(Holder(), tmp_path / "again", [train, val])
    assert embedded == list(train["text"]) + list(val["text"])  # none given: all computed
    again = LexicalModel.load(tmp_path / "again", labels)
    assert np.array_equal(again.coef, refit.coef)  # the same embeddings either way


def test_multilabel_training_writes_a_folder_pipeline_reads_as_multi_label(tmp_path, tiny_bert_dir,
                                                                          seed):
    from transformers import pipeline

    data = tmp_path / "prep"
    prepare("reuters", reuters_folder(tmp_path / "r"), data, dev=0.25)
    out = tmp_path / "tags"
    metrics = train_classifier(tiny_config(data, out, tiny_bert_dir, "topic", multi_label=True,
                                           lexical="tfidf", lexical_chars=True,
                                           lexical_embedding=True, class_weights="sqrt",
                                           epochs=2, validation=0.25))
    assert {"micro_f1", "macro_f1", "subset_accuracy", "crossfit", "thresholds"} <= set(metrics)
    settings = json.loads((out / "newsdesk.json").read_text())
    assert settings["multi_label"] and settings["threshold"] == metrics["thresholds"]["global"]
    assert settings["blend_space"] == "log_odds" and settings["fitted_on"] == "validation"
    assert metrics["validation"]["lexical_weight"] == settings["lexical_weight"]
    assert len(metrics["validation"]["micro_f1_by_weight"]) == len(WEIGHT_GRID)
    assert json.loads((out / "config.json").read_text())["problem_type"] == \
        "multi_label_classification"
    card = (out / "README.md").read_text()
    assert "micro_f1" in card and "top_k=None" in card and "character 3-5-grams" in card
    assert "saved in `embedder/`" in card
    assert "any number of labels" in card and "binary cross-entropy per label" in card
    assert "char_terms" in json.loads((out / "lexical.json").read_text())
    assert json.loads((out / "lexical.json").read_text())["embedding_dims"] == 32
    assert (out / "embedder" / "config.json").is_file()  # the frozen encoder it reads
    scores = pipeline("text-classification", model=str(out), top_k=None)(["profit goal"])[0]
    assert len(scores) == 3 and sum(s["score"] for s in scores) > 1.0 - 1e-6  # sigmoid per label

    predictor = ClassifierPredictor.from_pretrained(out, precision="fp32")
    text = make_sentence(random.Random(3), TOPIC_WORDS["sport"])
    one = predictor.predict(text)
    assert set(one) == {"labels", "scores"} and one["labels"]  # no_label "best": never empty
    assert all(one["scores"][lab] == max(one["scores"][x] for x in one["labels"])
               for lab in one["labels"][:1])
    result = NewsAnalyzer(topic=predictor).analyze({"id": "x", "text": text})
    assert result["topic"] == one and result["engine"]["topic"] == predictor.engine
