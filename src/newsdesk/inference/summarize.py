"""`SummaryPredictor`: summaries from a saved newsdesk summariser folder.

Extractive folders score every sentence (in windows, so long articles are covered) and pick by
score under the length budget, with trigram blocking (`models.selection`), returning sentences in
article order. Abstractive folders generate with the saved generation settings.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from newsdesk.errors import NewsdeskError
from newsdesk.inference.backend import autocast
from newsdesk.inference.options import InferenceOptions
from newsdesk.inference.predictor import Predictor
from newsdesk.models.encoding import Encoded
from newsdesk.models.extractive import SentenceScorer, Window, collate_windows, pack_windows
from newsdesk.models.folder import AbstractiveSettings, ExtractiveSettings
from newsdesk.models.inputs import Template
from newsdesk.models.loading import load_kwargs, local_folder
from newsdesk.models.selection import doubtful_sentences, select_sentences, summary_text


class SummaryPredictor(Predictor):
    """Summarise articles with an extractive (or abstractive) newsdesk model folder."""

    kinds = ("extractive", "abstractive")
    settings: ExtractiveSettings | AbstractiveSettings

    def __init__(self, model, tokenizer, settings: ExtractiveSettings | AbstractiveSettings,
                 options: InferenceOptions | None = None, folder: str | Path | None = None):
        if not isinstance(settings, ExtractiveSettings) and \
                InferenceOptions.of(options).backend == "openvino":
            raise NewsdeskError(f"{folder or 'this summariser'}: an abstractive summariser "
                                "generates with torch; the openvino backend runs classifiers "
                                "and extractive summarisers")
        super().__init__(model, tokenizer, settings, options, folder)
        self.extractive = isinstance(settings, ExtractiveSettings)
        self.template = Template.of(tokenizer) if self.extractive else None

    @classmethod
    def from_pretrained(cls, folder: str | Path, options: InferenceOptions | None = None,
                        **changes) -> SummaryPredictor:
        """Load a folder written by `newsdesk train summary` (see `ClassifierPredictor`)."""
        options = InferenceOptions.of(options, **changes).resolved()
        folder = local_folder(folder)
        settings = cls.read_folder(folder)
        if isinstance(settings, ExtractiveSettings):
            model = SentenceScorer.from_pretrained(folder)
        else:
            model = AutoModelForSeq2SeqLM.from_pretrained(folder, **load_kwargs())
        return cls(model, AutoTokenizer.from_pretrained(folder), settings, options, folder)

    def backends(self) -> tuple[str, ...]:
        """Torch alone for abstractive folders (generation runs in torch)."""
        if not isinstance(self.settings, ExtractiveSettings):
            return ("torch",)
        return super().backends()

    @property
    def encoding_key(self) -> str | None:
        """None for abstractive folders: they read the raw text, not shared encodings."""
        return super().encoding_key if self.extractive else None

    def summarize(self, texts: str | list[str]) -> str | list[str]:
        """One summary per article, in input order; an empty article gives an empty summary."""
        single = isinstance(texts, str)
        items = [{"text": t} for t in ([texts] if single else texts)]
        out = self.predict_encoded(items, self.encode(items) if self.extractive else None)
        return out[0] if single else out

    def _predict(self, items: list[dict], encoded: list[Encoded] | None,
                 targets: list[str] | None = None) -> list[str]:
        """One summary per article."""
        if not self.extractive:
            return self.generate([a["text"] for a in items])
        return [summary_text(s, chosen, self.settings) for s, chosen in self.extract_encoded(encoded)]

    def extract(self, texts: list[str]) -> list[tuple[list[str], list[int]]]:
        """(sentences, chosen indices) per article."""
        return self.extract_encoded(self.encode([{"text": t} for t in texts]))

    def extract_encoded(self, encoded: list[Encoded]) -> list[tuple[list[str], list[int]]]:
        """(sentences, chosen indices) per article; in a checked mode, the windows holding the
        sentences of a close call are scored again in fp32, then the rest of the article's
        windows if the call is still close."""
        windows, owners, scores = self.scored(encoded)
        if self.tolerance:
            self.recheck(encoded, windows, owners, scores)
        return [(e.sentences, select_sentences(e.sentences, sc, self.settings))
                for e, sc in zip(encoded, scores)]

    def recheck(self, encoded: list[Encoded], windows: list[Window], owners: list[int],
                scores: list[list[float]]) -> None:
        """Make the close calls again in fp32, window by window (a window's scores depend on
        its own tokens only): first the windows holding a sentence of a swap that would change
        the choice, then, where the choice is still close with those scores exact, the rest."""
        start = time.perf_counter()
        exact: dict[int, set[int]] = {}  # article -> sentences scored in fp32
        done: set[int] = set()  # windows scored in fp32

        def doubtful(a: int) -> set[int]:
            return doubtful_sentences(encoded[a].sentences, scores[a], self.settings,
                                      self.tolerance, exact.get(a, frozenset()))

        unsure = {a: d for a in range(len(encoded)) if (d := doubtful(a))}
        self.count("checked", len(encoded))
        self.count("rechecked", len(unsure))
        for rest in (False, True):
            again = [w for w in range(len(windows)) if owners[w] in unsure and w not in done
                     and (rest or unsure[owners[w]] & set(windows[w].sentences))]
            if not again:
                break
            with self.in_fp32():
                self.score_windows(windows, owners, again, scores)
            for w in again:
                exact.setdefault(owners[w], set()).update(windows[w].sentences)
            done.update(again)
            self.count("rechecked_windows", len(again))
            unsure = {a: d for a in unsure if (d := doubtful(a))}
        self.count("recheck_seconds", time.perf_counter() - start)  # close-call test + fp32

    def values(self, items: list[dict], encoded: list[Encoded] | None,
               targets: list[str] | None = None) -> list[torch.Tensor]:
        """Unchecked sentence scores, one tensor per article (none for abstractive folders)."""
        if not self.extractive:
            return []
        return [torch.tensor(sc) for sc in self.score(encoded)]

    def score(self, encoded: list[Encoded]) -> list[list[float]]:
        """A score per sentence of every article, in the current mode; windows cover every
        sentence."""
        return self.scored(encoded)[2]

    def scored(self, encoded: list[Encoded]) -> tuple[list[Window], list[int], list[list[float]]]:
        """Every article's windows, the article each belongs to, and every sentence's score in
        the current mode."""
        windows, owners = self.windows(encoded)
        scores = [[0.0] * len(e.sentences) for e in encoded]
        self.score_windows(windows, owners, range(len(windows)), scores)
        return windows, owners, scores

    def windows(self, encoded: list[Encoded]) -> tuple[list[Window], list[int]]:
        """Every article's windows, and the article each belongs to."""
        windows: list[Window] = []
        owners: list[int] = []
        for a, e in enumerate(encoded):
            for w in pack_windows(e.sentence_ids, self.template, self.settings.max_length):
                windows.append(w)
                owners.append(a)
        return windows, owners

    @torch.inference_mode()
    def score_windows(self, windows: list[Window], owners: list[int], which, scores) -> None:
        """Score the windows listed in `which` in the current mode, writing each sentence's
        score into `scores[article][sentence]`."""
        which = list(which)
        pad = self.tokenizer.pad_token_id or 0

        def collate(batch: list[Window], length: int) -> dict:
            return collate_windows(batch, pad, length=length)

        picked = [windows[w] for w in which]
        for batch, inputs in self.batches(picked, [len(w.input_ids) for w in picked], collate):
            out = self.backend(inputs)
            for row, i in enumerate(batch):
                w = which[i]
                for col, s in enumerate(windows[w].sentences):
                    scores[owners[w]][s] = float(out[row, col])

    @torch.inference_mode()
    def generate(self, texts: list[str], batch_size: int = 8) -> list[str]:
        out: list[str] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            enc = self.tokenizer(chunk, max_length=self.settings.max_length, truncation=True,
                                 padding=True, return_tensors="pt").to(self.device)
            with autocast(self.device.type, self.precision):
                ids = self.backend.model.generate(input_ids=enc["input_ids"],
                                                  attention_mask=enc["attention_mask"],
                                                  **self.settings.generation_kwargs())
            out.extend(t.strip() for t in self.tokenizer.batch_decode(ids, skip_special_tokens=True))
        return [o if t.strip() else "" for o, t in zip(out, texts)]
