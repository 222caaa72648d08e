"""The frozen encoder's article embeddings read by the TF-IDF model (`lexical_embedding`)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from newsdesk.inference import ClassifierPredictor
from newsdesk.inference.embed import embed_articles
from newsdesk.models.embedding import MeanPooled
from newsdesk.models.folder import read_settings, write_settings
from newsdesk.models.lexical import LexicalModel

from conftest import FILLER, make_article, make_classifier_folder, tiny_tokenizer


def test_mean_pooling_ignores_padding_and_gives_unit_vectors(tiny_bert_dir):
    embedder = MeanPooled.from_pretrained(tiny_bert_dir)
    short, long = torch.tensor([[2, 7, 9, 3]]), torch.tensor([[2, 7, 9, 11, 12, 3]])
    alone = embedder(short)
    padded = embedder(torch.cat([torch.cat([short, torch.zeros(1, 2, dtype=torch.long)], 1),
                                 long]),
                      attention_mask=torch.tensor([[1, 1, 1, 1, 0, 0], [1] * 6]))
    assert embedder.dims == 32 and padded.shape == (2, 32)
    assert torch.allclose(padded[0], alone[0], atol=1e-5)
    assert torch.allclose(padded.norm(dim=-1), torch.ones(2), atol=1e-5)


def test_lexical_model_reads_embeddings_beside_its_words(tmp_path):
    rng = random.Random(0)
    texts = [" ".join(rng.sample(FILLER, 8)) for _ in range(60)]  # the words say nothing
    lists = [["grain"] if i % 2 else ["oil"] for i in range(60)]
    embeddings = np.zeros((60, 4), dtype=np.float32)
    embeddings[:, 0] = [1.0 if i % 2 else -1.0 for i in range(60)]  # the embedding says it all
    model = LexicalModel.fit_multilabel(texts, lists, ["grain", "oil"], embeddings=embeddings)
    assert model.reads_embeddings and len(model.features) > 4
    probe = np.array([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]], dtype=np.float32)
    p = model.predict_proba(texts[:2], probe)
    assert p[0, 0] > 0.5 > p[1, 0] and p[1, 1] > 0.5 > p[0, 1]

    model.save(tmp_path)
    again = LexicalModel.load(tmp_path, ["grain", "oil"])
    assert np.array_equal(again.predict_proba(texts[:2], probe), p)
    with pytest.raises(ValueError, match="reads article embeddings"):
        again.predict_proba(texts[:2])
    with pytest.raises(ValueError, match="reads 4 dimensions"):
        again.predict_proba(texts[:2], probe[:, :3])
    oof = LexicalModel.out_of_fold(texts, lists, ["grain", "oil"], embeddings=embeddings)
    assert (oof[1::2, 0] > 0.5).all() and (oof[::2, 0] < 0.5).all()


def embedding_folder(tmp_path, tiny_bert_dir, weight: float):
    """A topic folder whose TF-IDF model reads a tiny encoder's embeddings, blended at `weight`."""
    labels = ["business", "sport", "tech"]
    folder = make_classifier_folder(tmp_path / f"topic-{weight}", "topic", labels, max_length=32)
    embedder = MeanPooled.from_pretrained(tiny_bert_dir)
    embedder.save(folder)
    rng = random.Random(1)
    texts = [make_article(rng, labels[i % 3], 3) for i in range(30)]
    ys = [labels[i % 3] for i in range(30)]
    embeddings = embed_articles(embedder, tiny_tokenizer(), [None] * 30, texts, 32)
    LexicalModel.fit(texts, ys, labels, embeddings=embeddings).save(folder)
    settings = read_settings(folder)
    settings.lexical, settings.lexical_weight = "tfidf", weight
    write_settings(folder, settings)
    return folder, texts


def test_where_tfidf_decides_alone_the_embedder_is_the_model_that_runs(tmp_path, tiny_bert_dir):
    folder, texts = embedding_folder(tmp_path, tiny_bert_dir, 1.0)
    fp32 = ClassifierPredictor.from_pretrained(folder, precision="fp32")
    assert fp32.base_model is fp32.embedder and fp32.engine == "tfidf+torch:fp32"
    embeddings = embed_articles(MeanPooled.load(folder), tiny_tokenizer(), [None] * 5, texts[:5],
                                32)  # as training computes them
    expected = fp32.lexical.predict_proba(texts[:5], embeddings)
    got = fp32.predict(texts[:5])
    assert [g["label"] for g in got] == [fp32.labels[i] for i in expected.argmax(1)]
    assert np.allclose([[g["scores"][lab] for lab in fp32.labels] for g in got], expected,
                       atol=1e-5)
    bf16 = ClassifierPredictor.from_pretrained(folder, precision="bf16")
    assert bf16.engine == "tfidf+torch:bf16"
    assert [g["label"] for g in bf16.predict(texts[:5])] == [g["label"] for g in got]
    parts = fp32.topic_probs(fp32.encode([{"text": t} for t in texts[:5]]), texts[:5])
    assert set(parts) == {"words", "model", "blend"}  # evaluation still gets the transformer's
    auto = ClassifierPredictor.from_pretrained(folder)  # the embedder is calibrated like a model
    assert auto.pending
    assert [g["label"] for g in auto.predict(texts)] == \
        [g["label"] for g in fp32.predict(texts)]
    assert not auto.pending and auto.engine.startswith(("tfidf+torch:", "tfidf+openvino:"))


def test_a_blend_with_the_transformer_runs_the_embedder_in_fp32_beside_it(tmp_path, tiny_bert_dir):
    folder, texts = embedding_folder(tmp_path, tiny_bert_dir, 0.5)
    predictor = ClassifierPredictor.from_pretrained(folder, precision="bf16")
    assert predictor.base_model is predictor.transformer and predictor.engine == "torch:bf16"
    encoded = predictor.encode([{"text": t} for t in texts[:4]])
    embeddings = embed_articles(MeanPooled.load(folder), tiny_tokenizer(), [None] * 4, texts[:4],
                                32)
    assert np.allclose(predictor.embeddings(encoded), embeddings, atol=1e-6)  # fp32, not bf16
    assert len(predictor.predict(texts[:4])) == 4


def test_a_changed_embedder_changes_the_folder_fingerprint(tmp_path, tiny_bert_dir):
    from newsdesk.inference.calibrate import folder_fingerprint

    folder, _ = embedding_folder(tmp_path, tiny_bert_dir, 1.0)
    before = folder_fingerprint(folder)
    embedder = MeanPooled.load(folder)
    with torch.no_grad():
        embedder.encoder.pooler.dense.bias.add_(1.0)  # same size; a tiny file is hashed whole
    embedder.save(folder)
    assert folder_fingerprint(folder) != before


def test_a_folder_missing_its_embedder_says_so(tmp_path, tiny_bert_dir):
    import shutil

    from newsdesk.errors import DataError

    folder, _ = embedding_folder(tmp_path, tiny_bert_dir, 1.0)
    shutil.rmtree(folder / "embedder")
    with pytest.raises(DataError, match=r"embedder/ is missing, but lexical.json says"):
        ClassifierPredictor.from_pretrained(folder)
