"""`SummaryPredictor`: summaries from a saved newsdesk summariser folder.

Extractive folders score every sentence (in windows, so long articles are covered) and pick by
score under the length budget, with trigram blocking, returning sentences in article order.
Abstractive folders generate with the saved generation settings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from transformers import AutoTokenizer

from newsdesk.inference.device import pick_device
from newsdesk.inference.encoding import Encoded, encode_articles
from newsdesk.inference.precision import autocast
from newsdesk.inference.predictor import Predictor
from newsdesk.models.extractive import SentenceScorer, Window, collate_windows, pack_windows
from newsdesk.models.inputs import Template
from newsdesk.models.loading import check_model_folder
from newsdesk.training.rouge import within_budget, word_count

_WORD = re.compile(r"\w+")


def trigrams(sentence: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(sentence.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def select_sentences(sentences: list[str], scores: list[float], settings: dict) -> list[int]:
    """Indices of the chosen sentences, in article order, under the configured budget."""
    if not sentences:
        return []
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    blocked: set[int] = set()
    if settings.get("trigram_blocking", True):
        seen: set[tuple[str, ...]] = set()
        for i in order:  # a sentence repeating a trigram of a better-scored one is skipped
            grams = trigrams(sentences[i])
            if grams & seen:
                blocked.add(i)
            else:
                seen |= grams
    budget = settings.get("budget", "ratio")
    if budget == "sentences":
        return sorted([i for i in order if i not in blocked][: settings["sentences"]])
    if budget == "words":
        words = settings["words"]
    else:
        words = max(1, round(settings["ratio"] * sum(map(word_count, sentences))))
    return within_budget(sentences, order, words, skip=blocked)


class SummaryPredictor(Predictor):
    """Summarise articles with an extractive (or abstractive) newsdesk model folder."""

    def __init__(self, model, tokenizer, settings: dict, device: str = "cpu",
                 precision: str = "fp32", max_tokens: int | None = None):
        super().__init__(model, tokenizer, settings, device, precision, max_tokens)
        self.template = Template.of(tokenizer) if settings["kind"] == "extractive" else None

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str = "auto", precision: str = "fp32",
                        **kwargs) -> SummaryPredictor:
        """Load a folder written by `newsdesk train summary` (see ClassifierPredictor for args)."""
        folder = Path(folder)
        check_model_folder(folder, need_newsdesk=True)
        settings = json.loads((folder / "newsdesk.json").read_text())
        device = pick_device(device)
        if settings["kind"] == "extractive":
            model = SentenceScorer.from_pretrained(folder)
        else:
            from transformers import AutoModelForSeq2SeqLM

            from newsdesk.models.loading import load_kwargs

            model = AutoModelForSeq2SeqLM.from_pretrained(folder, **load_kwargs())
        return cls(model.to(device), AutoTokenizer.from_pretrained(folder), settings, device,
                   precision, **kwargs)

    def summarize(self, texts: str | list[str]) -> str | list[str]:
        """One summary per article, in input order; an empty article gives an empty summary."""
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        if self.settings["kind"] == "extractive":
            out = [" ".join(s[i] for i in chosen) for s, chosen in self.extract(texts)]
        else:
            out = self.generate(texts)
        return out[0] if single else out

    def extract(self, texts: list[str]) -> list[tuple[list[str], list[int]]]:
        """(sentences, chosen indices) per article."""
        return self.extract_encoded(encode_articles(self.tokenizer, texts))

    def extract_encoded(self, encoded: list[Encoded]) -> list[tuple[list[str], list[int]]]:
        scores = self.score(encoded)
        return [(e.sentences, select_sentences(e.sentences, sc, self.settings))
                for e, sc in zip(encoded, scores)]

    @torch.inference_mode()
    def score(self, encoded: list[Encoded]) -> list[list[float]]:
        """A score per sentence of every article; windows cover every sentence."""
        windows: list[Window] = []
        owners: list[int] = []
        for a, e in enumerate(encoded):
            for w in pack_windows(e.sentence_ids, self.template, self.settings["max_length"]):
                windows.append(w)
                owners.append(a)
        scores = [[0.0] * len(e.sentences) for e in encoded]
        pad = self.tokenizer.pad_token_id or 0
        lengths = [len(w.input_ids) for w in windows]
        for batch, inputs in self.batches(windows, lengths, lambda ws: collate_windows(ws, pad)):
            with autocast(self.device.type, self.precision):
                out = self.model(**inputs).float().cpu()
            for row, i in enumerate(batch):
                for col, s in enumerate(windows[i].sentences):
                    scores[owners[i]][s] = float(out[row, col])
        return scores

    @torch.inference_mode()
    def generate(self, texts: list[str], batch_size: int = 8) -> list[str]:
        from newsdesk.training.abstractive import generation_kwargs

        out: list[str] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            enc = self.tokenizer(chunk, max_length=self.settings["max_length"], truncation=True,
                                 padding=True, return_tensors="pt").to(self.device)
            ids = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                      **generation_kwargs(self.settings))
            out.extend(t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True))
        return [o if t.strip() else "" for o, t in zip(out, texts)]
