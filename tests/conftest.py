"""Shared fixtures: small corpora written for the tests, a tiny tokenizer and tiny random models.

Nothing here downloads anything.
"""

from __future__ import annotations

import csv
import random
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from newsdesk.models.folder import ClassifierSettings, ExtractiveSettings, write_settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

TOPIC_WORDS = {
    "business": "profit shares market bank economy growth sales firm investors prices".split(),
    "sport": "match goal team coach season win players league cup champion".split(),
    "tech": "software computer phone internet users digital chip network online device".split(),
}
FILLER = "the a of and to in said on for with was is by at it".split()


def make_sentence(rng: random.Random, words: list[str], n: int = 8) -> str:
    body = [rng.choice(words + FILLER) for _ in range(n)]
    return body[0].capitalize() + " " + " ".join(body[1:]) + "."


def make_article(rng: random.Random, topic: str, sentences: int = 5) -> str:
    return " ".join(make_sentence(rng, TOPIC_WORDS[topic]) for _ in range(sentences))


@pytest.fixture(autouse=True)
def calibration_cache(tmp_path, monkeypatch) -> Path:
    """Each test calibrates into its own cache, never the user's ~/.cache/newsdesk."""
    monkeypatch.setenv("NEWSDESK_CACHE", str(tmp_path / "newsdesk-cache"))
    return tmp_path / "newsdesk-cache"


@pytest.fixture
def seed() -> int:
    random.seed(0)
    import torch

    torch.manual_seed(0)
    return 0


@pytest.fixture
def bbc_dir(tmp_path: Path) -> Path:
    """A BBC News Summary folder with the real quirks: a Latin-1 file, a duplicate article, and
    summaries whose sentences are glued together ("bn.For")."""
    rng = random.Random(1)
    root = tmp_path / "bbc"
    for topic in TOPIC_WORDS:
        (root / "News Articles" / topic).mkdir(parents=True)
        (root / "Summaries" / topic).mkdir(parents=True)
        for n in range(1, 9):
            sentences = [make_sentence(rng, TOPIC_WORDS[topic]) for _ in range(5)]
            title = f"{topic.title()} story {n}"
            body = "\n\n".join([" ".join(sentences[:2]), " ".join(sentences[2:])])
            (root / "News Articles" / topic / f"{n:03d}.txt").write_text(f"{title}\n\n{body}\n")
            (root / "Summaries" / topic / f"{n:03d}.txt").write_text(sentences[0] + sentences[3])
    # Latin-1 file (a pound sign is 0xA3 in Latin-1, invalid as UTF-8)
    latin = "Pound story\n\nThe deal was worth \u00a3600m for the firm. Shares rose in the market.\n"
    (root / "News Articles" / "business" / "009.txt").write_bytes(latin.encode("latin-1"))
    (root / "Summaries" / "business" / "009.txt").write_bytes(
        "The deal was worth \u00a3600m for the firm.".encode("latin-1"))
    # exact duplicate of sport/001
    dup = (root / "News Articles" / "sport" / "001.txt").read_text()
    (root / "News Articles" / "sport" / "010.txt").write_text(dup)
    (root / "Summaries" / "sport" / "010.txt").write_text(
        (root / "Summaries" / "sport" / "001.txt").read_text())
    return root


@pytest.fixture
def fnc_dir(tmp_path: Path) -> Path:
    """An FNC-1 folder: bodies shared by many headlines, and one duplicate (headline, body) pair."""
    rng = random.Random(2)
    root = tmp_path / "fnc"
    root.mkdir()
    bodies = {}
    for body_id in range(20):
        topic = list(TOPIC_WORDS)[body_id % 3]
        bodies[body_id] = make_article(rng, topic, 6)
    with open(root / "train_bodies.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Body ID", "articleBody"])
        for body_id, body in bodies.items():
            w.writerow([body_id, body])
    labels = ["unrelated", "discuss", "agree", "disagree"]
    with open(root / "train_stances.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Headline", "Body ID", "Stance"])
        for body_id in bodies:
            for k in range(6):  # every body has six headlines
                w.writerow([f"Headline {body_id}-{k} about things", body_id, labels[k % 4]])
        w.writerow(["Headline 3-1 about things", 3, "discuss"])  # duplicate pair
    return root


def words_of(texts: list[str]) -> list[str]:
    vocab: set[str] = set()
    for t in texts:
        vocab.update(re.findall(r"\w+|[^\w\s]", t.lower()))
    return sorted(vocab)


def tiny_tokenizer(texts: list[str] | None = None):
    """A small BERT-style word-level fast tokenizer built in memory."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = set(words_of(texts or []))
    for topic_words in TOPIC_WORDS.values():
        words.update(topic_words)
    words.update(FILLER)
    words.update(["headline", "about", "things", "story", "."])
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {w: i for i, w in enumerate(specials + sorted(words - set(specials)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=512,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


@pytest.fixture
def tiny_bert_dir(tmp_path: Path) -> Path:
    """A folder holding a tiny random BERT encoder (2 layers, hidden 32) and its tokenizer."""
    from transformers import BertConfig, BertModel

    tokenizer = tiny_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    folder = tmp_path / "tiny-bert"
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_classifier_folder(folder: Path, task: str, labels: list[str], max_length: int = 40,
                           seed: int = 0) -> Path:
    """A newsdesk classifier folder holding a tiny random BERT (no training needed)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        num_labels=len(labels), id2label=dict(enumerate(labels)),
                        label2id={lab: i for i, lab in enumerate(labels)})
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_settings(folder, ClassifierSettings(task=task, labels=labels, max_length=max_length,
                                              chunk_stride=8, max_chunks=0))
    return folder


def make_summary_folder(folder: Path, max_length: int = 40, seed: int = 0) -> Path:
    """A newsdesk extractive summariser folder with a tiny random encoder."""
    import torch
    from transformers import BertConfig, BertModel

    from newsdesk.models.extractive import SentenceScorer

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer()
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    SentenceScorer(BertModel(config)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_settings(folder, ExtractiveSettings(max_length=max_length, ratio=0.4))
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Topic, stance and summary folders with tiny random models, shared by the session."""
    root = tmp_path_factory.mktemp("models")
    return {
        "topic": make_classifier_folder(root / "topic", "topic", ["business", "sport", "tech"]),
        "stance": make_classifier_folder(root / "stance", "stance",
                                         ["agree", "disagree", "discuss", "unrelated"], seed=1),
        "summary": make_summary_folder(root / "summary", seed=2),
    }


@contextmanager
def run_fails(analyzer, on_call: int, error: BaseException, torn: tuple[Path, bytes] | None = None):
    """`analyzer.run` raises `error` on its `on_call`-th call (first appending `torn` = (file,
    bytes) to that file, as a job killed half-way through writing would), and is restored after."""
    real, calls = analyzer.run, [0]

    def run(prepared, targets=None):
        calls[0] += 1
        if calls[0] == on_call:
            if torn:
                with open(torn[0], "ab") as f:
                    f.write(torn[1])
            raise error
        return real(prepared, targets)

    analyzer.run = run
    try:
        yield
    finally:
        analyzer.run = real
