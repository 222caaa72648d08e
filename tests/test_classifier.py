"""Classifier training, saving, reloading, pipeline compatibility, metrics and error paths."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from newsdesk.api import evaluate
from newsdesk.cli import main
from newsdesk.data import DataError, prepare
from newsdesk.errors import NewsdeskError
from newsdesk.inference import ClassifierPredictor
from newsdesk.models.chunking import chunk, select_evidence, truncate
from newsdesk.models.confidence import scale
from newsdesk.models.encoding import encode_articles
from newsdesk.models.folder import read_settings
from newsdesk.models.inputs import Template
from newsdesk.models.lexical import LexicalModel
from newsdesk.models.loading import check_model_folder
from newsdesk.training.classifier import encode, train_classifier
from newsdesk.training.config import ClassifierConfig, SummaryConfig, load_config
from newsdesk.training.metrics import classification_metrics, fnc_score
from newsdesk.training.splits import load_classifier_splits

from conftest import make_article, make_classifier_folder, tiny_tokenizer

EXPECTED_FILES = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                  "newsdesk.json", "metrics.json", "confusion_matrix.png", "README.md",
                  "train_log.json", "loss_curve.png"}


def tiny_config(data: Path, out: Path, model: Path, task: str, **kw) -> ClassifierConfig:
    values = dict(task=task, data=str(data), output_dir=str(out), model=str(model), max_length=48,
                  chunk_stride=8, epochs=1, batch_size=8, learning_rate=1e-3,
                  early_stopping_patience=0, logging_steps=1)
    values.update(kw)
    return ClassifierConfig(**values)


@pytest.fixture
def topic_data(tmp_path, bbc_dir):
    prepare("bbc", bbc_dir, tmp_path / "bbc-prep", dev=0.3)
    return tmp_path / "bbc-prep"


@pytest.fixture
def stance_data(tmp_path, fnc_dir):
    prepare("fnc1", fnc_dir, tmp_path / "fnc-prep", dev=0.25)
    return tmp_path / "fnc-prep"


def test_topic_training_writes_folder_and_reloads(tmp_path, topic_data, tiny_bert_dir, seed):
    out = tmp_path / "topic"
    metrics = train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic"))
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    assert set(metrics["per_class"]) == {"business", "sport", "tech"}
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["macro_f1"] == metrics["macro_f1"]

    long_text = make_article(__import__("random").Random(5), "tech", 30)  # many chunks
    texts = [long_text, "profit shares market.", "goal match team."]
    one = ClassifierPredictor.from_pretrained(out, device="cpu", precision="fp32")
    batched = one.predict(texts)
    singles = [one.predict(t) for t in texts]
    again = ClassifierPredictor.from_pretrained(out, device="cpu", precision="fp32").predict(texts)
    for a, b, c in zip(batched, singles, again):
        assert a["label"] == b["label"] == c["label"]
        for lab in a["scores"]:
            assert a["scores"][lab] == pytest.approx(b["scores"][lab], abs=1e-5)
            assert a["scores"][lab] == pytest.approx(c["scores"][lab], abs=1e-6)


def test_chunk_training_reads_what_inference_reads(tmp_path, topic_data, tiny_bert_dir, seed):
    out = tmp_path / "topic-chunks"
    config = tiny_config(topic_data, out, tiny_bert_dir, "topic", truncation="chunks")
    train_classifier(config)
    train, _, labels = load_classifier_splits(config.data, config.task)
    predictor = ClassifierPredictor.from_pretrained(out, device="cpu", precision="fp32")
    examples = encode(train, predictor.tokenizer, predictor.template, config,
                      {lab: i for i, lab in enumerate(labels)})
    articles = encode_articles(predictor.tokenizer, train["text"], train["title"])
    features, owners = predictor.topic_features(articles)
    assert len(features) > len(train)  # long articles give several examples
    assert examples["input_ids"] == [f["input_ids"] for f in features]
    assert examples["labels"] == [labels.index(train["y"][i]) for i in owners]


def test_pipeline_loads_model_folder(tmp_path, topic_data, tiny_bert_dir, seed):
    from transformers import pipeline

    out = tmp_path / "topic"
    train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic"))
    pipe = pipeline("text-classification", model=str(out), device="cpu")
    result = pipe(["profit shares market bank", "goal match team"])
    assert all(r["label"] in {"business", "sport", "tech"} for r in result)


def test_training_batches_are_padded_to_a_multiple(tmp_path, topic_data, tiny_bert_dir, seed,
                                                  monkeypatch):
    from transformers import DataCollatorWithPadding

    import newsdesk.training.classifier as training

    widths = []

    class Spy(DataCollatorWithPadding):
        def __call__(self, features):
            batch = super().__call__(features)
            widths.append(batch["input_ids"].shape[1])
            return batch

    monkeypatch.setattr(training, "DataCollatorWithPadding", Spy)
    train_classifier(tiny_config(topic_data, tmp_path / "topic", tiny_bert_dir, "topic",
                                 max_length=45, eval_chunks=False))
    assert widths and all(w % training.PAD_MULTIPLE == 0 for w in widths)
    assert max(widths) == 48  # 45 tokens at most, padded up to the next multiple


def test_lexical_blend_is_saved_reloaded_and_averaged(tmp_path, topic_data, tiny_bert_dir, seed):
    from transformers import pipeline

    from newsdesk.inference import NewsAnalyzer

    out = tmp_path / "topic"
    metrics = train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic",
                                           lexical="tfidf", lexical_weight=0.3))
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES | {"lexical.json",
                                                                "lexical.safetensors"}
    assert set(metrics["model_only"]) == set(metrics["words_only"]) == {"accuracy", "macro_f1"}
    assert "transformer alone" in (out / "README.md").read_text()

    texts = ["profit shares market bank", "goal match team win", "software phone chip"]
    titles = ["Markets", None, "Gadgets"]
    predictor = ClassifierPredictor.from_pretrained(out, device="cpu", precision="fp32")
    parts = predictor.topic_probs(encode_articles(predictor.tokenizer, texts, titles), texts,
                                  titles)
    assert torch.allclose(parts["blend"], 0.7 * parts["model"] + 0.3 * parts["words"])
    assert not torch.allclose(parts["model"], parts["words"], atol=1e-3)
    predicted = predictor.predict(texts, titles=titles)
    again = ClassifierPredictor.from_pretrained(out, device="cpu", precision="fp32").predict(
        texts, titles=titles)
    analyzed = NewsAnalyzer(topic=predictor).analyze(
        [{"text": x, "title": t} for x, t in zip(texts, titles)])
    scaled = scale(parts["blend"], predictor.settings.temperature)  # fitted on dev in training
    for p, q, r, blend in zip(predicted, again, analyzed, scaled):
        assert p == q == r["topic"]
        assert p["scores"] == pytest.approx(dict(zip(predictor.labels, blend.tolist())), abs=1e-6)

    # transformers.pipeline reads the transformer alone (no title, one short chunk)
    pipe = pipeline("text-classification", model=str(out), device="cpu", top_k=None)
    for scores, model_probs in zip(pipe(texts[1:2]), parts["model"][1:2]):
        by_label = {s["label"]: s["score"] for s in scores}
        assert [by_label[lab] for lab in predictor.labels] == pytest.approx(model_probs.tolist(),
                                                                             abs=1e-5)


@pytest.mark.parametrize("weight", [1.0, 0.95])
def test_a_blend_of_the_lexical_model_alone_does_not_run_the_transformer(tmp_path, monkeypatch,
                                                                        weight):
    from newsdesk.inference import NewsAnalyzer
    from newsdesk.inference.backend import TorchBackend
    from newsdesk.models.folder import write_settings

    rng = __import__("random").Random(3)
    labels = ["business", "sport", "tech"]
    folder = make_classifier_folder(tmp_path / "topic", "topic", labels)
    texts = [make_article(rng, lab, 3) for lab in labels for _ in range(8)]
    words = LexicalModel.fit(texts, [lab for lab in labels for _ in range(8)], labels)
    words.save(folder)
    settings = read_settings(folder)
    settings.lexical, settings.lexical_weight = "tfidf", weight
    write_settings(folder, settings)
    calls = []
    forward = TorchBackend.__call__
    monkeypatch.setattr(TorchBackend, "__call__",
                        lambda self, inputs: calls.append(1) or forward(self, inputs))

    predictor = ClassifierPredictor.from_pretrained(folder)  # precision "auto"
    new = [make_article(rng, lab, 2) for lab in labels]
    result = NewsAnalyzer(topic=predictor).analyze([{"text": x} for x in new])
    if weight == 1.0:
        assert not calls and predictor.decision is None
        assert [r["engine"]["topic"] for r in result] == ["tfidf"] * 3
        expected = words.predict_proba(new).argmax(1)
        assert [r["topic"]["label"] for r in result] == [labels[i] for i in expected]
    else:
        assert calls and result[0]["engine"]["topic"] == predictor.engine  # torch or openvino


def test_lexical_model_fits_saves_and_checks_its_files(tmp_path):
    rng = __import__("random").Random(3)
    labels = ["tech", "business"]  # not sorted: probabilities follow this order
    texts = [make_article(rng, lab, 3) for lab in labels for _ in range(12)]
    ys = [lab for lab in labels for _ in range(12)]
    model = LexicalModel.fit(texts, ys, labels)
    probs = model.predict_proba(["software chip phone network.", "profit bank shares market."])
    assert probs.shape == (2, 2) and np.allclose(probs.sum(1), 1)
    assert probs[0, 0] > 0.5 and probs[1, 1] > 0.5
    model.save(tmp_path)
    again = LexicalModel.load(tmp_path, labels).predict_proba(["software chip phone network."])
    assert np.array_equal(again[0], probs[0])
    with pytest.raises(DataError, match=r"labels \['tech', 'business'\] differ"):
        LexicalModel.load(tmp_path, ["business", "tech"])
    with pytest.raises(DataError, match=r"label\(s\) \['sport'\] have no training articles"):
        LexicalModel.fit(texts, ys, labels + ["sport"])
    settings = json.loads((tmp_path / "lexical.json").read_text())
    (tmp_path / "lexical.json").write_text(json.dumps({**settings, "terms": ["one"]}))
    with pytest.raises(DataError, match=r"unreadable lexical model \(1 terms but \d+ idf"):
        LexicalModel.load(tmp_path, labels)
    (tmp_path / "lexical.safetensors").unlink()
    with pytest.raises(DataError, match="lexical.safetensors is missing"):
        LexicalModel.load(tmp_path, labels)


def test_stance_training_and_evaluate_cli(tmp_path, stance_data, tiny_bert_dir, seed, capsys):
    out = tmp_path / "stance"
    metrics = train_classifier(tiny_config(stance_data, out, tiny_bert_dir, "stance",
                                           class_weights="balanced",
                                           downsample={"unrelated": 0.5}))
    assert {p.name for p in out.iterdir()} == EXPECTED_FILES
    assert "fnc_score" in metrics and 0 <= metrics["fnc_score"] <= 100
    settings = read_settings(out)
    assert settings.task == "stance" and settings.labels == ["agree", "disagree", "discuss",
                                                             "unrelated"]
    assert settings.training["class_weights"] == "balanced"
    assert settings.training["downsample"] == {"unrelated": 0.5}
    assert main(["evaluate", str(out), str(stance_data), "--out", str(tmp_path / "ev")]) == 0
    again = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert again["fnc_score"] == pytest.approx(metrics["fnc_score"])
    assert (tmp_path / "ev" / "confusion_matrix.png").is_file()


def test_resume_continues_from_checkpoint(tmp_path, topic_data, tiny_bert_dir, seed, monkeypatch,
                                         caplog):
    out = tmp_path / "topic"
    with caplog.at_level("WARNING"):  # nothing to resume yet: a fresh run, and a warning
        train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic"), resume=True)
    assert "no checkpoint" in caplog.text
    assert not (out / "checkpoints").exists()  # removed after a finished run

    import newsdesk.training.classifier as recipe

    first_log = []

    def crash(out, settings, save, evaluate, log_history, *args, **kwargs):
        first_log.extend(log_history)
        raise KeyboardInterrupt  # killed after the epoch's checkpoint, before the folder

    with monkeypatch.context() as m:
        m.setattr(recipe, "finish_run", crash)
        with pytest.raises(KeyboardInterrupt):
            train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic", logging_steps=1))
    assert list((out / "checkpoints").glob("checkpoint-*"))
    metrics = train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic", epochs=2,
                                           seed=99, logging_steps=1), resume=True)
    resumed_log = json.loads((out / "train_log.json").read_text())
    # the first epoch's losses come from the checkpoint, not from a new run with another seed
    first_losses = [e["loss"] for e in first_log if "loss" in e]
    assert first_losses and [e["loss"] for e in resumed_log if "loss" in e][: len(first_losses)] \
        == first_losses
    assert metrics["epochs_run"] == 2


def test_evaluate_errors(tmp_path, topic_data, stance_data, tiny_bert_dir, seed):
    with pytest.raises(NewsdeskError, match="not a newsdesk model folder"):
        evaluate(tiny_bert_dir, topic_data)
    with pytest.raises(DataError, match="model folder not found"):
        evaluate(tmp_path / "nope", topic_data)
    unsafe = tmp_path / "unsafe"
    unsafe.mkdir()
    (unsafe / "config.json").write_text("{}")
    (unsafe / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(DataError, match=r"no model.safetensors weights \(found only \['pytorch_model.bin'\]"):
        check_model_folder(unsafe)
    out = tmp_path / "topic"
    train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic"))
    with pytest.raises(DataError, match="not a prepared data folder"):
        evaluate(out, tmp_path)
    cut = tmp_path / "cut"  # weights not copied whole: named, not a safetensors traceback
    shutil.copytree(out, cut)
    weights = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(DataError, match=r"cut/model.safetensors: unreadable weights .*incomplete"):
        evaluate(cut, topic_data)
    with pytest.raises(DataError, match="unreadable weights"):
        ClassifierPredictor.from_pretrained(cut)
    table = tmp_path / "t.jsonl"
    table.write_text(json.dumps({"text": "profit market", "topic": "weather"}) + "\n")
    with pytest.raises(DataError, match=r"label\(s\) \['weather'\] the model was not trained on"):
        evaluate(out, table)


def test_training_errors(tmp_path, topic_data, stance_data, tiny_bert_dir):
    with pytest.raises(DataError, match="prepared for 'article' records, but a stance model"):
        train_classifier(tiny_config(topic_data, tmp_path / "x", tiny_bert_dir, "stance"))
    dev = topic_data / "dev.jsonl"
    rows = [json.loads(line) for line in dev.read_text().splitlines()]
    rows[0]["topic"] = "weather"
    dev.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(DataError, match=r"label\(s\) \['weather'\] never appear in training"):
        train_classifier(tiny_config(topic_data, tmp_path / "x", tiny_bert_dir, "topic"))


def test_fnc_score_hand_computed():
    gold = ["agree", "unrelated", "discuss", "disagree"]
    # max = 1 + 0.25 + 1 + 1 = 3.25
    assert fnc_score(gold, gold) == pytest.approx(100.0)
    # agree->discuss: 0.25; unrelated->unrelated: 0.25; discuss->unrelated: 0; disagree ok: 1
    assert fnc_score(gold, ["discuss", "unrelated", "unrelated", "disagree"]) == pytest.approx(
        100 * 1.5 / 3.25)
    assert fnc_score(["unrelated"], ["agree"]) == 0.0
    m = classification_metrics(gold, gold, ["agree", "disagree", "discuss", "unrelated"], fnc=True)
    assert m["macro_f1"] == 1.0 and m["confusion_matrix"][0] == [1, 0, 0, 0]


def test_evidence_selection_picks_relevant_sentences():
    body = ("The weather was mild on Tuesday. Officials opened a new bridge downtown. "
            "Local shops reported normal trade. The mayor denied that the bridge had cracks. "
            "Traffic was light in the evening.")
    chosen = select_evidence("Mayor denies new bridge has cracks", body,
                             lambda s: len(s.split()), budget=20)
    assert chosen == ("The weather was mild on Tuesday. Officials opened a new bridge downtown. "
                      "The mayor denied that the bridge had cracks.")


def test_truncation_and_chunks_cover_everything():
    ids = list(range(100))
    assert truncate(ids, 10, "head") == list(range(10))
    assert truncate(ids, 8, "head+tail") == [0, 1, 2, 3, 4, 5, 98, 99]
    windows = chunk(ids, 30, 10)
    assert windows[0] == ids[:30] and windows[-1][-1] == 99
    assert set(sum(windows, [])) == set(ids)
    assert all(a[-10:] == b[:10] for a, b in zip(windows, windows[1:]))
    with pytest.raises(ValueError, match="unknown truncation"):
        truncate(ids, 5, "middle")


def test_template_reads_special_tokens():
    t = Template.of(tiny_tokenizer())
    tok = tiny_tokenizer()
    assert t.single([7, 8])["input_ids"] == [tok.cls_token_id, 7, 8, tok.sep_token_id]
    pair = t.pair([7], [8])
    assert pair["input_ids"] == [tok.cls_token_id, 7, tok.sep_token_id, 8, tok.sep_token_id]
    assert pair["token_type_ids"] == [0, 0, 0, 1, 1]


def test_shipped_configs_parse_and_overrides_apply():
    root = Path(__file__).resolve().parents[1] / "configs"
    for path in root.glob("*.yaml"):
        cls = SummaryConfig if path.name.startswith("summary") else ClassifierConfig
        load_config(cls, path)
    c = load_config(ClassifierConfig, root / "topic-bbc.yaml",
                    {"epochs": "1.5", "eval_chunks": "false", "truncation": "head+tail",
                     "downsample": "{sport: 0.5}"})
    assert c.epochs == 1.5 and c.eval_chunks is False and c.downsample == {"sport": 0.5}
    assert c.truncation == "head+tail"


@pytest.mark.parametrize("override, message", [
    ({"truncation": "middle"}, "truncation must be one of"),
    ({"epochs": "0"}, "epochs must be positive"),
    ({"truncation": "chunks", "eval_chunks": "false"}, "truncation 'chunks' is for topic models"),
    ({"truncation": "chunks", "task": "stance"}, "truncation 'chunks' is for topic models"),
    ({"eval_chunks": "maybe"}, "--eval-chunks: cannot parse 'maybe' as bool"),
    ({"downsample": "{x: 2}"}, r"downsample\['x'\] must be in \(0, 1\]"),
    ({"lexical": "tfidf", "task": "stance"}, "fitted on a validation slice"),
    ({"validation": 0.6}, "validation must be in"),
    ({"lexical": "bm25"}, "lexical must be one of"),
    ({"lexical": "none", "lexical_chars": "true"}, "lexical_chars is for topic models with"),
    ({"task": "stance", "lexical": "tfidf", "validation": 0.15, "lexical_embedding": "true"},
     "lexical_embedding is for topic models with"),
    ({"lexical_weight": "1"}, r"lexical_weight must be in \(0, 1\)"),
    ({"head_learning_rate": "-1e-3"}, "head_learning_rate must be 0"),
])
def test_config_errors(override, message):
    with pytest.raises(DataError, match=message):
        load_config(ClassifierConfig, None, override)


def test_config_unknown_field(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: topic\nbogus: 1\n")
    with pytest.raises(DataError, match=r"unknown config field\(s\) \['bogus'\]"):
        load_config(ClassifierConfig, path)


def test_bf16_training_runs_on_cpu(tmp_path, topic_data, tiny_bert_dir, seed):
    if torch.cuda.is_available():
        pytest.skip("checks the CPU path")
    out = tmp_path / "bf16"
    metrics = train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic",
                                           precision="bf16", logging_steps=1))
    log = json.loads((out / "train_log.json").read_text())
    assert all(np.isfinite(e["loss"]) for e in log if "loss" in e)
    assert read_settings(out).training["precision"] == "bf16"
    assert 0 <= metrics["macro_f1"] <= 1


def test_model_card_is_hub_readable_and_names_no_local_path(tmp_path, topic_data, tiny_bert_dir,
                                                            seed):
    from huggingface_hub import ModelCard

    out = tmp_path / "topic"
    metrics = train_classifier(tiny_config(topic_data, out, tiny_bert_dir, "topic"),
                               command=f"newsdesk train topic --data {topic_data} --model "
                                       f"{tiny_bert_dir}")
    card = ModelCard.load(out / "README.md")
    assert card.data.library_name == "transformers"
    assert card.data.pipeline_tag == "text-classification"
    assert card.data.base_model == tiny_bert_dir.name  # named, not located
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results["macro_f1"] == pytest.approx(metrics["macro_f1"])
    assert str(tmp_path) not in card.content
    assert "`business`, `sport`, `tech`" in card.text


def test_report_to_reaches_the_trainer_and_the_loss_curve_reads_both_logs(tmp_path):
    from newsdesk.training.finish import training_arguments
    from newsdesk.training.metrics import loss_points, plot_loss

    args = training_arguments(ClassifierConfig(output_dir=str(tmp_path), report_to="tensorboard"))
    assert args.report_to == ["tensorboard"]
    assert training_arguments(ClassifierConfig(output_dir=str(tmp_path))).report_to == []
    trainer_log = [{"loss": 1.2, "step": 1}, {"eval_macro_f1": 0.5, "step": 2},
                   {"loss": 0.7, "step": 3}, {"train_loss": 0.9, "step": 3}]
    assert loss_points(trainer_log) == [(1.0, 1.2), (3.0, 0.7)]
    assert loss_points({"loss": [0.9, 0.5]}) == [(1.0, 0.9), (11.0, 0.5)]
    assert plot_loss(trainer_log, tmp_path / "a.png") and (tmp_path / "a.png").stat().st_size > 0
    assert not plot_loss([{"train_loss": 1.0, "step": 3}], tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()
    # a second training's log (retrain) is drawn too, even where the first logged no loss
    assert plot_loss([{"train_loss": 1.0, "step": 3}], tmp_path / "c.png", again=trainer_log)
    assert (tmp_path / "c.png").stat().st_size > 0


def test_head_learns_at_its_own_rate_on_the_shared_schedule(tmp_path, tiny_bert_dir):
    from transformers import AutoModelForSequenceClassification

    from newsdesk.training.classifier import WeightedTrainer, head_parameters
    from newsdesk.training.finish import training_arguments

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=3)
    assert sorted(head_parameters(model)) == ["bert.pooler.dense.bias", "bert.pooler.dense.weight",
                                              "classifier.bias", "classifier.weight"]
    config = ClassifierConfig(output_dir=str(tmp_path), learning_rate=1e-4,
                              head_learning_rate=2e-3, warmup_ratio=0.0)
    trainer = WeightedTrainer(model=model, args=training_arguments(config),
                              head_learning_rate=config.head_learning_rate)
    trainer.create_optimizer_and_scheduler(num_training_steps=10)
    names = {id(p): n for n, p in model.named_parameters()}
    rate_of = {names[id(p)]: g["lr"] for g in trainer.optimizer.param_groups for p in g["params"]}
    grouped = [id(p) for g in trainer.optimizer.param_groups for p in g["params"]]
    assert sorted(grouped) == sorted(names)  # every parameter in exactly one group
    assert {n for n, lr in rate_of.items() if lr == 2e-3} == set(head_parameters(model))
    assert {lr for n, lr in rate_of.items() if n not in head_parameters(model)} == {1e-4}
    decays = {g["weight_decay"] for g in trainer.optimizer.param_groups if g["lr"] == 2e-3}
    assert decays == {0.0, config.weight_decay}  # biases still without decay
    for _ in range(5):
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    rates = sorted({round(g["lr"], 12) for g in trainer.optimizer.param_groups})
    assert rates == [5e-5, 1e-3]  # both halfway down the same linear decay

    plain = WeightedTrainer(model=model, args=training_arguments(config))
    plain.create_optimizer()
    assert {g["lr"] for g in plain.optimizer.param_groups} == {1e-4}
