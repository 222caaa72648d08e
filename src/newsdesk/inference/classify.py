"""`ClassifierPredictor`: topic or stance predictions from a saved newsdesk model folder.

Long articles are classified by overlapping chunks whose probabilities are averaged (and, for a
topic model trained with `lexical: tfidf`, averaged again with a TF-IDF model's); stance pairs
read the evidence sentences the model was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from newsdesk.inference.batching import collate
from newsdesk.inference.device import pick_device
from newsdesk.inference.encoding import Encoded, encode_articles, is_separable
from newsdesk.inference.precision import autocast
from newsdesk.inference.predictor import Predictor
from newsdesk.models.chunking import evidence_indices, truncate
from newsdesk.models.inputs import Template, article_chunks, article_texts, encode_texts
from newsdesk.models.lexical import LexicalModel
from newsdesk.models.loading import check_model_folder, load_kwargs


class ClassifierPredictor(Predictor):
    """Predict topics (one text) or stances (target, text) with a fine-tuned classifier."""

    def __init__(self, model, tokenizer, settings: dict, device: str = "cpu",
                 precision: str = "fp32", max_tokens: int | None = None):
        super().__init__(model, tokenizer, settings, device, precision, max_tokens)
        self.template = Template.of(tokenizer)
        self.separable = is_separable(tokenizer)
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.lexical: LexicalModel | None = None

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "auto", precision: str = "fp32",
                        **kwargs) -> ClassifierPredictor:
        """Load a folder written by `newsdesk train topic|stance`.

        Args:
            folder: the model folder.
            device: "auto" (cuda, then mps, then cpu) or a torch device string.
            precision: "fp32", "bf16", "fp16", "int8" or "auto" (see `inference.precision`).
            max_tokens: padded tokens per batch (default by device, see `inference.predictor`).
        """
        check_model_folder(Path(folder), need_newsdesk=True)
        settings = json.loads((Path(folder) / "newsdesk.json").read_text())
        model = AutoModelForSequenceClassification.from_pretrained(folder, **load_kwargs())
        tokenizer = AutoTokenizer.from_pretrained(folder)
        device = pick_device(device)
        predictor = cls(model.to(device), tokenizer, settings, device, precision, **kwargs)
        if settings.get("lexical", "none") != "none":
            predictor.lexical = LexicalModel.load(folder, predictor.labels)
        return predictor

    @property
    def task(self) -> str:
        return self.settings["task"]

    def predict(self, texts: str | list[str], targets: str | list[str] | None = None,
                titles: list[str | None] | None = None) -> list[dict]:
        """Labels and probabilities, one dict per input, in input order.

        Args:
            texts: one article body or many.
            targets: stance only: one claim/headline for all texts, or one per text.
            titles: optional article titles (topic), read before the body.

        Returns:
            [{"label": str, "scores": {label: probability}}, ...]
        """
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        encoded = encode_articles(self.tokenizer, texts, titles, self.separable)
        if self.task == "stance":
            if targets is None:
                raise ValueError("a stance model needs targets (a claim or headline per text)")
            targets = [targets] * len(texts) if isinstance(targets, str) else list(targets)
            if len(targets) != len(texts):
                raise ValueError(f"{len(targets)} targets for {len(texts)} texts")
            probs = self.run(*self.stance_features(encoded, targets), len(texts))
        else:
            probs = self.topic_probs(encoded, texts, titles)["blend"]
        out = self.decode(probs)
        return out[0] if single else out

    def decode(self, probs: torch.Tensor) -> list[dict]:
        return [{"label": self.labels[int(p.argmax())],
                 "scores": {lab: round(float(p[i]), 6) for i, lab in enumerate(self.labels)}}
                for p in probs]

    def topic_features(self, encoded: list[Encoded]) -> tuple[list[dict], list[int]]:
        """Chunks (or one truncated input) per article, and the article each belongs to."""
        s = self.settings
        if s.get("eval_chunks", True):
            return article_chunks(self.template, encoded, s["max_length"], s["chunk_stride"],
                                  s.get("max_chunks", 0))
        budget = s["max_length"] - self.template.single_extra
        feats = [self.template.single(truncate(e.ids, budget, s["truncation"])) for e in encoded]
        return feats, list(range(len(encoded)))

    def topic_probs(self, encoded: list[Encoded], texts: list[str],
                    titles: list[str | None] | None = None) -> dict[str, torch.Tensor]:
        """Topic probabilities per article: "model" (the transformer's, chunks averaged), "words"
        (the lexical model's, when the folder has one) and "blend" (what is predicted)."""
        out = {"model": self.run(*self.topic_features(encoded), len(encoded))}
        out["blend"] = out["model"]
        if self.lexical is not None:
            out["words"] = torch.from_numpy(
                self.lexical.predict_proba(article_texts(titles, texts))).float()
            weight = self.settings["lexical_weight"]
            out["blend"] = (1 - weight) * out["model"] + weight * out["words"]
        return out

    def stance_features(self, encoded: list[Encoded], targets: list[str],
                        target_ids: dict[str, list[int]] | None = None
                        ) -> tuple[list[dict], list[int]]:
        """One (target, evidence) input per pair, as in training."""
        max_length = self.settings["max_length"]
        if target_ids is None:
            unique = sorted(set(targets))
            target_ids = dict(zip(unique, encode_texts(self.tokenizer, unique)))
        feats = []
        for e, target in zip(encoded, targets):
            tid = target_ids[target][: max_length // 2]
            budget = max_length - self.template.pair_extra - len(tid)
            if self.settings["evidence"] == "head":
                chosen = range(len(e.sentences))
            else:
                chosen = evidence_indices(target, e.sentences, [len(x) for x in e.sentence_ids],
                                          budget)
            body = [i for k in chosen for i in e.sentence_ids[k]]
            feats.append(self.template.pair(tid, body[:budget]))
        return feats, list(range(len(encoded)))

    @torch.inference_mode()
    def run(self, features: list[dict], owners: list[int], n: int) -> torch.Tensor:
        """Run the model over features in token-budget batches; average probabilities per owner."""
        sums = torch.zeros(n, len(self.labels))
        counts = torch.zeros(n, 1)
        pad = self.tokenizer.pad_token_id or 0
        lengths = [len(f["input_ids"]) for f in features]
        for batch, inputs in self.batches(features, lengths, lambda fs: collate(fs, pad)):
            with autocast(self.device.type, self.precision):
                probs = self.model(**inputs).logits.float().softmax(-1).cpu()
            index = torch.tensor([owners[i] for i in batch])
            sums.index_add_(0, index, probs)
            counts.index_add_(0, index, torch.ones(len(batch), 1))
        return sums / counts.clamp(min=1)
