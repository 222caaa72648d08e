"""Summariser: oracle labels, windows, budgets, training/reloading, edge cases, tiny BART."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsdesk.data import prepare
from newsdesk.data.sentences import split_sentences
from newsdesk.inference.summarize import SummaryPredictor
from newsdesk.models.extractive import pack_windows
from newsdesk.models.folder import AbstractiveSettings, ExtractiveSettings, read_settings
from newsdesk.models.inputs import Template, encode_texts
from newsdesk.models.selection import select_sentences
from newsdesk.training.config import SummaryConfig
from newsdesk.training.oracle import greedy_oracle, match_labels, oracle_labels
from newsdesk.training.rouge import lead_ratio, rouge
from newsdesk.training.summary import train_summariser

from conftest import tiny_tokenizer

ARTICLE = ["Shares rose sharply on Monday.", "The bank said profit grew.",
           "Analysts expected a fall.", "The firm will pay a dividend.", "Markets were calm."]


def test_match_labels_exact_and_fallback():
    assert match_labels(ARTICLE, ["The bank said profit grew.", "Markets were calm."]) == [
        0, 1, 0, 0, 1]
    # a reference sentence that is not an exact copy falls back to its best ROUGE-1 match
    assert match_labels(ARTICLE, ["the firm will pay a big dividend"]) == [0, 0, 0, 1, 0]
    assert match_labels(ARTICLE, ["Completely unrelated words here"]) == [0, 0, 0, 0, 0]


def test_greedy_oracle_covers_abstractive_reference():
    labels = greedy_oracle(ARTICLE, "Profit grew at the bank, and the firm pays a dividend.")
    assert labels[1] == 1 and labels[3] == 1 and labels[4] == 0
    assert oracle_labels(ARTICLE, ["Profit grew at the bank."], mode="match")[1] == 1


def test_windows_cover_every_sentence_of_long_article():
    tok = tiny_tokenizer()
    template = Template.of(tok)
    sentences = [f"The market story number {i} said profit rose." for i in range(60)]
    windows = pack_windows(encode_texts(tok, sentences), template, max_length=40)
    assert len(windows) > 5
    covered = [s for w in windows for s in w.sentences]
    assert covered == list(range(60))  # each sentence exactly once, in order
    assert all(len(w.input_ids) <= 40 for w in windows)
    huge = pack_windows([list(range(5, 200))], template, max_length=40)
    assert len(huge) == 1 and len(huge[0].input_ids) == 40


def test_selection_respects_budget_order_and_blocking():
    sentences = ["one two three four.", "five six seven eight.", "one two three nine.",
                 "ten eleven twelve thirteen."]
    scores = [0.9, 0.1, 0.8, 0.5]

    def rule(**values):
        return ExtractiveSettings(max_length=40, **values)

    by_count = rule(budget="sentences", sentences=2)
    assert select_sentences(sentences, scores, by_count) == [0, 3]  # 2 repeats "one two three"
    by_count.trigram_blocking = False
    assert select_sentences(sentences, scores, by_count) == [0, 2]
    assert select_sentences(sentences, scores, rule(budget="words", words=5)) == [0, 3]
    by_ratio = rule(budget="ratio", ratio=0.2)
    assert select_sentences(sentences, scores, by_ratio) == [0]
    assert select_sentences([], [], by_ratio) == []


def test_rouge_and_lead_baselines():
    ref = "The bank said profit grew. Markets were calm."
    assert rouge([ref], [ref])["rouge2"] == 100.0
    assert lead_ratio(ARTICLE, 0.3) == "Shares rose sharply on Monday. The bank said profit grew."


@pytest.fixture
def summary_data(tmp_path, bbc_dir):
    prepare("bbc", bbc_dir, tmp_path / "prep", dev=0.3)
    return tmp_path / "prep"


def test_extractive_trains_saves_reloads_and_handles_edge_cases(tmp_path, summary_data,
                                                                tiny_bert_dir, seed):
    out = tmp_path / "sum"
    config = SummaryConfig(data=str(summary_data), output_dir=str(out), model=str(tiny_bert_dir),
                           max_length=32, epochs=1, batch_size=4, learning_rate=1e-3)
    metrics = train_summariser(config)
    assert {"config.json", "model.safetensors", "tokenizer.json",
            "newsdesk.json", "metrics.json", "README.md"} <= {p.name for p in out.iterdir()}
    assert {"model", "lead3", "oracle"} <= set(metrics)
    assert json.loads((out / "newsdesk.json").read_text())["ratio"] > 0  # learned from data

    dev = [json.loads(line) for line in (summary_data / "dev.jsonl").read_text().splitlines()]
    texts = [r["text"] for r in dev]
    long_article = " ".join(texts)  # far longer than the 32-token windows
    edge = ["", "Just one sentence here.", "no punctuation at all in this text just words",
            long_article]
    first = SummaryPredictor.from_pretrained(out, device="cpu")
    second = SummaryPredictor.from_pretrained(out, device="cpu")
    assert first.summarize(texts + edge) == second.summarize(texts + edge)
    assert first.summarize(texts) == [first.summarize(t) for t in texts]
    summaries = first.summarize(edge)
    assert summaries[0] == ""
    assert summaries[1] == "Just one sentence here."
    assert summaries[2] == edge[2]
    chosen = split_sentences(summaries[3])
    article = split_sentences(long_article)
    assert chosen and all(s in article for s in chosen)
    positions = [article.index(s) for s in chosen]
    assert positions == sorted(positions)  # article order


def test_tiny_bart_trains_saves_reloads_and_generates(tmp_path, summary_data, seed):
    from transformers import BartConfig, BartForConditionalGeneration

    tok = tiny_tokenizer()
    cfg = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
                     encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                     decoder_ffn_dim=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id,
                     bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                     decoder_start_token_id=tok.sep_token_id, forced_eos_token_id=tok.sep_token_id)
    base = tmp_path / "tiny-bart"
    BartForConditionalGeneration(cfg).save_pretrained(base)
    tok.save_pretrained(base)
    out = tmp_path / "abs"
    config = SummaryConfig(kind="abstractive", data=str(summary_data), output_dir=str(out),
                           model=str(base), max_length=64, max_target_length=24, epochs=1,
                           batch_size=4, num_beams=2, min_new_tokens=2, max_new_tokens=8,
                           learning_rate=1e-3, logging_steps=1)
    metrics = train_summariser(config)
    assert "rouge2" in metrics["model"] and metrics["train_seconds"] > 0
    settings = read_settings(out)
    assert isinstance(settings, AbstractiveSettings) and settings.num_beams == 2
    # the same ending as the other recipes: log, metrics and card, no checkpoints left
    assert {"train_log.json", "metrics.json", "README.md", "newsdesk.json"} <= \
        {p.name for p in out.iterdir()}
    assert not (out / "checkpoints").exists() and not (out / "training_args.bin").exists()
    assert any("loss" in entry for entry in json.loads((out / "train_log.json").read_text()))
    assert json.loads((out / "metrics.json").read_text())["model"] == metrics["model"]
    texts = ["profit market bank said growth.", "goal match team win."]
    a = SummaryPredictor.from_pretrained(out, device="cpu").summarize(texts)
    b = SummaryPredictor.from_pretrained(out, device="cpu").summarize(texts)
    assert a == b and all(isinstance(s, str) and s for s in a)
    assert SummaryPredictor.from_pretrained(out, device="cpu").summarize("") == ""


def test_summary_needs_summaries(tmp_path):
    from newsdesk.data.records import DataError

    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps({"text": f"Text {i}.", "topic": "a"}) for i in range(10)))
    prepare("table", path, tmp_path / "p")
    with pytest.raises(DataError, match=r"record\(s\) have no summary"):
        train_summariser(SummaryConfig(data=str(tmp_path / "p"), output_dir=str(tmp_path / "o")))


def test_summary_config_errors():
    from newsdesk.data.records import DataError

    with pytest.raises(DataError, match="budget must be one of"):
        SummaryConfig(budget="pages")
    with pytest.raises(DataError, match=r"ratio must be in \[0, 1\)"):
        SummaryConfig(ratio=1.5)


def test_readme_mentions_every_cli_command():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for command in ("newsdesk data prepare", "newsdesk train topic", "newsdesk train stance",
                    "newsdesk train summary", "newsdesk evaluate"):
        assert command in readme, command


def test_summary_card_names_its_task_not_letters(tmp_path, summary_data, tiny_bert_dir, seed):
    from huggingface_hub import ModelCard

    out = tmp_path / "sum"
    train_summariser(SummaryConfig(data=str(summary_data), output_dir=str(out),
                                   model=str(tiny_bert_dir), max_length=32, epochs=1,
                                   batch_size=4, learning_rate=1e-3))
    card = ModelCard.load(out / "README.md")
    assert "# newsdesk summary model" in card.text
    assert "`m`, `a`" not in card.content and str(tmp_path) not in card.content
    assert {r.metric_type for r in card.data.eval_results} == {"rouge1", "rouge2", "rougeLsum"}
    assert card.data.base_model == tiny_bert_dir.name


def test_summariser_folder_is_a_standard_token_classifier(tmp_path, tiny_models):
    """AutoModelForTokenClassification loads the folder whole, and sentence scores read off its
    token logits (the mean over each sentence's tokens) pick the same summaries."""
    import torch
    from transformers import AutoModelForTokenClassification

    from newsdesk.models.extractive import collate_windows
    from newsdesk.models.selection import select_sentences, summary_text

    folder = tiny_models["summary"]
    assert not (folder / "scorer_head.safetensors").exists()
    tagger = AutoModelForTokenClassification.from_pretrained(folder).eval()
    assert tagger.config.num_labels == 1
    predictor = SummaryPredictor.from_pretrained(folder, device="cpu", precision="fp32")
    texts = [" ".join(f"Sentence {i} says profit rose at bank {j}." for i in range(12))
             for j in range(3)]
    expected = predictor.summarize(texts)
    got = []
    for encoded in predictor.encode([{"text": t} for t in texts]):
        scores = [0.0] * len(encoded.sentences)
        windows = pack_windows(encoded.sentence_ids, predictor.template,
                               predictor.settings.max_length)
        for w in windows:
            batch = collate_windows([w], 0)
            with torch.inference_mode():
                logits = tagger(input_ids=batch["input_ids"],
                                attention_mask=batch["attention_mask"]).logits[0, :, 0]
            owner = batch["sentence_of_token"][0]
            for col, s in enumerate(w.sentences):
                scores[s] = float(logits[owner == col].mean())
        chosen = select_sentences(encoded.sentences, scores, predictor.settings)
        got.append(summary_text(encoded.sentences, chosen, predictor.settings))
    assert got == expected


def test_summariser_folders_from_before_still_load(tmp_path, tiny_models):
    """A folder from newsdesk 0.1: the encoder, plus the head in scorer_head.safetensors."""
    import shutil

    from safetensors.torch import save_file

    from newsdesk.models.extractive import SentenceScorer

    scorer = SentenceScorer.from_pretrained(tiny_models["summary"])
    old = tmp_path / "old"
    shutil.copytree(tiny_models["summary"], old)
    scorer.encoder.save_pretrained(old)  # a plain encoder folder, as 0.1 wrote
    save_file({k: v.contiguous() for k, v in scorer.head.state_dict().items()},
              str(old / "scorer_head.safetensors"))
    texts = ["Profit rose at the bank. Shares fell. The firm said sales grew. Markets were calm."]
    new = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu", precision="fp32")
    legacy = SummaryPredictor.from_pretrained(old, device="cpu", precision="fp32")
    assert legacy.summarize(texts) == new.summarize(texts)


def test_sentence_slots_are_padded_at_inference_without_changing_scores(tiny_models):
    import torch

    from newsdesk.models.extractive import SLOT_MULTIPLE, SentenceScorer, collate_windows

    scorer = SentenceScorer.from_pretrained(tiny_models["summary"]).eval()
    predictor = SummaryPredictor.from_pretrained(tiny_models["summary"], device="cpu")
    encoded = predictor.encode([{"text": " ".join(f"Line {i} tells of bank {i}." for i in range(5))}])
    windows = pack_windows(encoded[0].sentence_ids, predictor.template, 64)
    labels = [[0] * len(w.sentences) for w in windows]
    batch = collate_windows(windows, 0, labels)
    with torch.inference_mode():
        _, trained = scorer(**batch)  # with labels: one slot per sentence, as in training
        inferred = scorer(**{k: v for k, v in batch.items() if k != "labels"})
    sentences = trained.shape[1]
    assert sentences % SLOT_MULTIPLE
    assert inferred.shape[1] == -(-sentences // SLOT_MULTIPLE) * SLOT_MULTIPLE
    assert torch.allclose(inferred[:, :sentences], trained, atol=1e-5)
