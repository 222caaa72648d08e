"""`ClassifierPredictor`: topic or stance predictions from a saved newsdesk model folder.

Long articles are classified by overlapping chunks whose probabilities are averaged; stance pairs
read the evidence sentences the model was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from newsdesk.inference.batching import collate, token_budget_batches
from newsdesk.inference.device import pick_device
from newsdesk.models.inputs import (
    Template,
    article_text,
    chunked_inputs,
    encode_texts,
    training_inputs,
)
from newsdesk.models.loading import check_model_folder, load_kwargs


class ClassifierPredictor:
    """Predict topics (one text) or stances (target, text) with a fine-tuned classifier."""

    def __init__(self, model, tokenizer, settings: dict, device: str = "cpu",
                 max_tokens: int = 8192):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.settings = settings
        self.device = torch.device(device)
        self.max_tokens = max_tokens
        self.template = Template.of(tokenizer)
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "auto", **kwargs
                        ) -> ClassifierPredictor:
        """Load a folder written by `newsdesk train topic|stance`."""
        check_model_folder(Path(folder), need_newsdesk=True)
        settings = json.loads((Path(folder) / "newsdesk.json").read_text())
        model = AutoModelForSequenceClassification.from_pretrained(folder, **load_kwargs())
        tokenizer = AutoTokenizer.from_pretrained(folder)
        device = pick_device(device)
        return cls(model.to(device), tokenizer, settings, device, **kwargs)

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
        probs = self.probabilities(texts, targets, titles)
        out = [{"label": self.labels[int(p.argmax())],
                "scores": {lab: float(p[i]) for i, lab in enumerate(self.labels)}} for p in probs]
        return out[0] if single else out

    def probabilities(self, texts: list[str], targets=None, titles=None) -> torch.Tensor:
        """(N, num_labels) probabilities, averaged over each text's chunks."""
        features, owners = self.features(texts, targets, titles)
        return self.run(features, owners, len(texts))

    def features(self, texts, targets=None, titles=None) -> tuple[list[dict], list[int]]:
        """Model inputs and, for each, the index of the text it belongs to."""
        s = self.settings
        if self.task == "stance":
            if targets is None:
                raise ValueError("a stance model needs targets (a claim or headline per text)")
            targets = [targets] * len(texts) if isinstance(targets, str) else list(targets)
            if len(targets) != len(texts):
                raise ValueError(f"{len(targets)} targets for {len(texts)} texts")
            feats = training_inputs(self.tokenizer, self.template, texts, s["max_length"], "head",
                                    targets=targets, evidence=s["evidence"])
            return feats, list(range(len(texts)))
        titles = titles or [None] * len(texts)
        full = [article_text(t, x) for t, x in zip(titles, texts)]
        if not s.get("eval_chunks", True):
            feats = training_inputs(self.tokenizer, self.template, full, s["max_length"],
                                    s["truncation"])
            return feats, list(range(len(texts)))
        feats, owners = [], []
        for i, ids in enumerate(encode_texts(self.tokenizer, full)):
            for f in chunked_inputs(self.template, ids, s["max_length"], s["chunk_stride"],
                                    s.get("max_chunks", 0)):
                feats.append(f)
                owners.append(i)
        return feats, owners

    @torch.inference_mode()
    def run(self, features: list[dict], owners: list[int], n: int) -> torch.Tensor:
        """Run the model over features in token-budget batches; average probabilities per owner."""
        sums = torch.zeros(n, len(self.labels))
        counts = torch.zeros(n, 1)
        pad = self.tokenizer.pad_token_id or 0
        lengths = [len(f["input_ids"]) for f in features]
        for batch in token_budget_batches(lengths, self.max_tokens):
            inputs = collate([features[i] for i in batch], pad)
            inputs = {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
            logits = self.model(**inputs).logits.float().softmax(-1).cpu()
            index = torch.tensor([owners[i] for i in batch])
            sums.index_add_(0, index, logits)
            counts.index_add_(0, index, torch.ones(len(batch), 1))
        return sums / counts.clamp(min=1)
