"""`ClassifierPredictor`: topic or stance predictions from a saved newsdesk model folder.

Long articles are classified by overlapping chunks whose probabilities are averaged (and, for a
topic model trained with `lexical: tfidf`, averaged again with a TF-IDF model's, which may also
read a frozen encoder's article embeddings, `models.embedding`); stance pairs read the evidence
sentences the model was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from newsdesk.errors import NewsdeskError
from newsdesk.inference.backend import TorchBackend
from newsdesk.inference.batching import collate
from newsdesk.inference.embed import embed
from newsdesk.inference.options import InferenceOptions
from newsdesk.inference.predictor import Predictor
from newsdesk.models.chunking import evidence_indices, truncate
from newsdesk.models.confidence import abstention, scale
from newsdesk.models.embedding import MeanPooled, first_chunks
from newsdesk.models.encoding import Encoded
from newsdesk.models.folder import GLANCE, ClassifierSettings
from newsdesk.models.inputs import (
    Template,
    article_chunks,
    article_texts,
    chunked_inputs,
    encode_texts,
)
from newsdesk.models.lexical import LexicalModel, blend
from newsdesk.models.loading import load_kwargs, local_folder
from newsdesk.models.multilabel import decide, threshold_vector
from newsdesk.models.relatedness import PairModel


class ClassifierPredictor(Predictor):
    """Predict topics (one text) or stances (target, text) with a fine-tuned classifier."""

    kinds = ("classifier",)
    settings: ClassifierSettings

    def __init__(self, model, tokenizer, settings: ClassifierSettings,
                 options: InferenceOptions | None = None,
                 lexical: LexicalModel | PairModel | None = None,
                 folder: str | Path | None = None, embedder: MeanPooled | None = None):
        """`embedder`: the frozen encoder whose article embeddings `lexical` reads, if it reads
        any (`models.embedding`). Where the blend is the lexical model alone, the embedder is
        the model that runs (calibrated and checked like any); elsewhere it runs in fp32."""
        self.lexical, self.embedder, self.transformer = lexical, embedder, model
        self.settings = settings  # set again by the base; `uses_transformer` reads it first
        self.side: dict[int, TorchBackend] = {}  # fp32 backends of a model that is not the main one
        super().__init__(embedder if embedder is not None and not self.uses_transformer
                         else model, tokenizer, settings, options, folder)
        self.template = Template.of(tokenizer)
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        if not self.runs_model:  # nothing to calibrate, nothing to check in fp32
            self.pending, self.tolerance = False, 0.0

    @property
    def uses_transformer(self) -> bool:
        """False for a topic folder whose fitted blend is its lexical model alone
        (`ClassifierSettings.uses_transformer`)."""
        return self.lexical is None or self.settings.uses_transformer

    @property
    def runs_model(self) -> bool:
        """False where a prediction needs no network: the TF-IDF model alone decides."""
        return self.uses_transformer or self.embedder is not None

    @property
    def engine(self) -> str:
        if not self.runs_model:
            return "tfidf"
        return super().engine if self.uses_transformer else f"tfidf+{super().engine}"

    @classmethod
    def from_pretrained(cls, folder: str | Path, options: InferenceOptions | None = None,
                        **changes) -> ClassifierPredictor:
        """Load a folder written by `newsdesk train topic|stance`.

        Args:
            folder: the model folder, or a Hub repo id holding one.
            options: how to run it (default `InferenceOptions()`).
            **changes: `InferenceOptions` fields to change (device, precision, max_tokens).
        """
        options = InferenceOptions.of(options, **changes).resolved()  # before the weights load
        folder = local_folder(folder)
        settings = cls.read_folder(folder)
        model = AutoModelForSequenceClassification.from_pretrained(folder, **load_kwargs())
        lexical = embedder = None
        if settings.lexical != "none":
            load = PairModel.load if settings.task_info.pair else LexicalModel.load
            lexical = load(folder, settings.labels)
        if getattr(lexical, "reads_embeddings", False):
            embedder = MeanPooled.load(folder)
        return cls(model, AutoTokenizer.from_pretrained(folder), settings, options, lexical, folder,
                   embedder)

    def predict(self, texts: str | list[str], targets: str | list[str] | None = None,
                titles: list[str | None] | None = None) -> dict | list[dict]:
        """Labels and probabilities, one dict per input, in input order.

        Args:
            texts: one article body or many.
            targets: stance only: one claim/headline for all texts, or one per text.
            titles: optional article titles (topic), read before the body.

        Returns:
            {"label": str, "scores": {label: probability}} per text.
        """
        single = isinstance(texts, str)
        texts = [texts] if single else list(texts)
        items = [{"text": t, "title": h} for t, h in zip(texts, titles or [None] * len(texts))]
        encoded = self.encode(items)
        if not self.task.pair:
            out = self.predict_encoded(items, encoded)
            return out[0] if single else out
        if targets is None:
            raise NewsdeskError("a stance model needs targets (a claim or headline per text)")
        targets = [targets] * len(texts) if isinstance(targets, str) else list(targets)
        if len(targets) != len(texts):
            raise NewsdeskError(f"{len(targets)} targets for {len(texts)} texts")
        self.settle(items, encoded, targets[:1])
        out = self.decode(self.probs(items, encoded, targets, checked=True))
        return out[0] if single else out

    def _predict(self, items: list[dict], encoded: list[Encoded],
                 targets: list[str] | None = None) -> list:
        """Topic: a prediction per article. Stance: {target: prediction} per article."""
        if not self.task.pair:
            return self.decode(self.probs(items, encoded, checked=True))
        pairs = self.pairs(len(items), targets)
        probs = self.probs(*self.pair_inputs(pairs, items, encoded), checked=True)
        out: list[dict] = [{} for _ in items]
        for (i, t), p in zip(pairs, self.decode(probs)):
            out[i][t] = p
        return out

    @staticmethod
    def pairs(n: int, targets: list[str] | None) -> list[tuple[int, str]]:
        """(article, target) for every target and each of `n` articles, target by target."""
        return [(i, t) for t in targets or [] for i in range(n)]

    @staticmethod
    def pair_inputs(pairs: list[tuple[int, str]], items: list[dict], encoded: list[Encoded]
                    ) -> tuple[list[dict], list[Encoded], list[str]]:
        """The items, encodings and targets of `pairs`, one entry per pair."""
        return ([items[i] for i, _ in pairs], [encoded[i] for i, _ in pairs],
                [t for _, t in pairs])

    def values(self, items: list[dict], encoded: list[Encoded],
               targets: list[str] | None = None) -> list[torch.Tensor]:
        """Unchecked probabilities, one row per decision (per article, or per article and
        target); a multi-label row also holds the thresholds its probabilities are held to."""
        if self.task.pair:
            items, encoded, targets = self.pair_inputs(self.pairs(len(items), targets), items,
                                                       encoded)
        rows = list(self.probs(items, encoded, targets))
        if self.settings.multi_label:
            s = self.settings
            limits = threshold_vector(self.labels, s.thresholds, s.threshold)
            rows = [torch.cat([r, limits]) for r in rows]
        return rows

    def probs(self, items: list[dict], encoded: list[Encoded], targets: list[str] | None = None,
              checked: bool = False) -> torch.Tensor:
        """The probabilities predicted from ("blend"): per article, or per (article, target)
        pair for stance; `checked` makes close calls again in fp32 under a checked mode."""
        def compute(index: list[int]) -> list[torch.Tensor]:
            texts = [items[i]["text"] for i in index]
            chosen = [encoded[i] for i in index]
            if self.task.pair:
                return list(self.stance_probs(chosen, texts, [targets[i] for i in index],
                                              target_ids)["blend"])
            return list(self.topic_probs(chosen, texts, [items[i].get("title") for i in index],
                                         parts=False)["blend"])

        target_ids = None
        if self.task.pair:
            unique = sorted(set(targets))
            target_ids = dict(zip(unique, encode_texts(self.tokenizer, unique)))
        if not items:
            return torch.zeros(0, len(self.labels))
        rows = self.checked(compute, len(items), lambda i, p: self.stable(p)) if checked else \
            compute(list(range(len(items))))
        return torch.stack(rows)

    def stable(self, p: torch.Tensor) -> bool:
        """Whether the decision from probabilities `p` holds under a shift of `tolerance` in the
        difference of any two of them (or of one and its threshold)."""
        top = p.topk(min(2, len(p))).values
        clear = len(top) < 2 or float(top[0] - top[1]) >= self.tolerance
        if not self.settings.multi_label:
            return clear
        s = self.settings
        limits = threshold_vector(self.labels, s.thresholds, s.threshold)
        if float((p - limits).abs().min()) < self.tolerance:
            return False
        none_on = not bool((p >= limits).any())
        return clear or not (none_on and s.no_label == "best")

    @property
    def abstain_below(self) -> float:
        """`InferenceOptions.abstain_below`, else the folder's setting."""
        given = self.options.abstain_below
        return self.settings.abstain_below if given is None else given

    def decode(self, probs: torch.Tensor) -> list[dict]:
        """Predictions from probabilities: the folder's temperature applied, and no label (with
        the top candidates) where the top score is under `abstain_below`. A multi-label model
        gives {"labels": [...], "scores"}: the labels whose score reaches its threshold, best
        first (see `models.multilabel`)."""
        if self.settings.multi_label:
            return self.decode_labels(probs)
        probs = scale(probs, self.settings.temperature)
        out = []
        for p in probs:
            scores = self.scores(p)
            prediction = {"label": self.labels[int(p.argmax())], "scores": scores}
            out.append({**prediction, **(abstention(scores, self.abstain_below) or {})})
        return out

    def decode_labels(self, probs: torch.Tensor) -> list[dict]:
        s = self.settings
        on = decide(probs, threshold_vector(self.labels, s.thresholds, s.threshold), s.no_label)
        out = []
        for p, row in zip(probs, on):
            chosen = sorted((j for j in range(len(self.labels)) if row[j]), key=lambda j: -p[j])
            out.append({"labels": [self.labels[j] for j in chosen], "scores": self.scores(p)})
        return out

    def scores(self, p: torch.Tensor) -> dict[str, float]:
        """{label: probability}, rounded to 6 places, for one article's probabilities."""
        return {lab: round(float(p[i]), 6) for i, lab in enumerate(self.labels)}

    def topic_features(self, encoded: list[Encoded]) -> tuple[list[dict], list[int]]:
        """Chunks (or one truncated input) per article, and the article each belongs to."""
        s = self.settings
        if s.eval_chunks:
            return article_chunks(self.template, encoded, s.max_length, s.chunk_stride,
                                  s.max_chunks)
        budget = s.max_length - self.template.single_extra
        feats = [self.template.single(truncate(e.ids, budget, s.truncation)) for e in encoded]
        return feats, list(range(len(encoded)))

    @property
    def cascade(self) -> float:
        """Read further chunks of an article only while its averaged probability is below this
        (1.0 reads every chunk); `InferenceOptions.cascade`, else the folder's setting."""
        given = self.options.cascade
        return self.settings.cascade if given is None else given

    @property
    def glance(self) -> int:
        """Tokens of an article's opening the cascade reads before its first chunk (0: none);
        `InferenceOptions.glance`, else the folder's setting, else `GLANCE` where a TF-IDF
        partner reads the whole article beside the glance."""
        for given in (self.options.glance, self.settings.glance):
            if given is not None:
                return given
        return GLANCE if self.lexical is not None else 0

    def topic_probs(self, encoded: list[Encoded], texts: list[str],
                    titles: list[str | None] | None = None, parts: bool = True
                    ) -> dict[str, torch.Tensor]:
        """Topic probabilities per article: "model" (the transformer's, chunks averaged), "words"
        (the lexical model's, when the folder has one) and "blend" (what is predicted). With
        `parts` False, "model" is left out where the blend does not need it
        (`uses_transformer`)."""
        out = {}
        if self.lexical is not None:
            embeddings = self.embeddings(encoded) if self.embedder is not None else None
            out["words"] = torch.from_numpy(
                self.lexical.predict_proba(article_texts(titles, texts), embeddings)).float()
        if not parts and not self.uses_transformer:
            return {**out, "blend": out["words"]}
        feats, owners = self.topic_features(encoded)
        if not self.uses_transformer:  # "model" asked for by evaluation: in fp32
            out["model"] = self.run(feats, owners, len(encoded), self.side_backend(self.transformer))
        elif self.cascade >= 1.0 or not self.settings.eval_chunks or self.settings.multi_label:
            out["model"] = self.run(feats, owners, len(encoded))
        else:
            out["model"] = self.read_while_unsure(feats, owners, len(encoded), out.get("words"),
                                                  self.glances(encoded, feats, owners))
        out["blend"] = self.blend(out["model"], out.get("words"))
        return out

    def blend(self, model: torch.Tensor, words: torch.Tensor | None) -> torch.Tensor:
        if words is None:
            return model
        return blend(model, words, self.settings.lexical_weight, self.settings.blend_space)

    def glances(self, encoded: list[Encoded], features: list[dict], owners: list[int]
                ) -> dict[int, dict]:
        """The first `glance` tokens of each article whose first chunk is longer, by article,
        cut as its chunks are (the title first)."""
        if not self.glance:
            return {}
        first: dict[int, int] = {}
        for j, owner in enumerate(owners):
            first.setdefault(owner, j)
        return {a: chunked_inputs(self.template, encoded[a].body_ids, self.glance,
                                  self.settings.chunk_stride, 1, encoded[a].title_ids)[0]
                for a, j in first.items() if len(features[j]["input_ids"]) > self.glance}

    def read_while_unsure(self, features: list[dict], owners: list[int], n: int,
                          words: torch.Tensor | None, glances: dict[int, dict] | None = None
                          ) -> torch.Tensor:
        """Chunk-averaged probabilities that read each article's chunks in order, stopping once
        its (blended) top probability reaches `cascade`. An article in `glances` is first read
        that far: where it is sure there, that probability is its result; where not, the glance
        is set aside and its chunks are read as without one."""
        chunks: list[list[int]] = [[] for _ in range(n)]
        for j, owner in enumerate(owners):
            chunks[owner].append(j)
        sums = torch.zeros(n, len(self.labels))
        counts = torch.zeros(n, 1)
        active, step = [a for a in range(n) if chunks[a]], 0
        looked = [a for a in active if a in (glances or {})]
        if looked:
            probs = self.run([glances[a] for a in looked], list(range(len(looked))), len(looked))
            index = torch.tensor(looked)
            sure = self.blend(probs, None if words is None else words[index]).max(-1).values
            keep = sure >= self.cascade
            sums[index[keep]] = probs[keep]
            counts[index[keep]] = 1
            stopped = set(index[keep].tolist())
            active = [a for a in active if a not in stopped]
            self.count("stopped_at_glance", len(stopped))
        while active:
            probs = self.run([features[chunks[a][step]] for a in active], list(range(len(active))),
                             len(active))
            index = torch.tensor(active)
            sums[index] += probs
            counts[index] += 1
            step += 1
            sure = self.blend(sums[index] / counts[index],
                              None if words is None else words[index]).max(-1).values
            active = [a for a, p in zip(active, sure.tolist())
                      if p < self.cascade and step < len(chunks[a])]
        self.count("articles", n)
        self.count("more_than_one_chunk", int((counts > 1).sum()))
        return sums / counts.clamp(min=1)

    def stance_probs(self, encoded: list[Encoded], texts: list[str], targets: list[str],
                     target_ids: dict[str, list[int]] | None = None) -> dict[str, torch.Tensor]:
        """Stance probabilities per pair: "model" (the transformer's) and "blend" (what is
        predicted: combined with the word-overlap features when the folder has them)."""
        model = self.run(*self.stance_features(encoded, targets, target_ids), len(encoded))
        if self.lexical is None:
            return {"model": model, "blend": model}
        blend = self.lexical.predict_proba(targets, texts, model.numpy())
        return {"model": model, "blend": torch.from_numpy(blend).float()}

    def stance_features(self, encoded: list[Encoded], targets: list[str],
                        target_ids: dict[str, list[int]] | None = None
                        ) -> tuple[list[dict], list[int]]:
        """One (target, evidence) input per pair, as in training."""
        max_length = self.settings.max_length
        if target_ids is None:
            unique = sorted(set(targets))
            target_ids = dict(zip(unique, encode_texts(self.tokenizer, unique)))
        feats = []
        for e, target in zip(encoded, targets):
            tid = target_ids[target][: max_length // 2]
            budget = max_length - self.template.pair_extra - len(tid)
            if self.settings.evidence == "head":
                chosen = range(len(e.sentences))
            else:
                chosen = evidence_indices(target, e.sentences, [len(x) for x in e.sentence_ids],
                                          budget)
            body = [i for k in chosen for i in e.sentence_ids[k]]
            feats.append(self.template.pair(tid, body[:budget]))
        return feats, list(range(len(encoded)))

    def side_backend(self, model: torch.nn.Module) -> TorchBackend:
        """The backend running `model`: the predictor's own for its main model, else fp32."""
        if model is self.base_model:
            return self.backend
        if id(model) not in self.side:
            self.side[id(model)] = TorchBackend(model.to(self.device).eval(), self.device, "fp32")
        return self.side[id(model)]

    def embeddings(self, encoded: list[Encoded]) -> np.ndarray:
        """The embedder's vector of each article's first chunk (articles x dims)."""
        features = first_chunks(self.template, encoded, self.settings.max_length)
        return embed(self.side_backend(self.embedder), features, self.embedder.dims,
                     self.tokenizer.pad_token_id or 0, self.batches)

    @torch.inference_mode()
    def run(self, features: list[dict], owners: list[int], n: int,
            backend: TorchBackend | None = None) -> torch.Tensor:
        """Run the model (or `backend`) over features in token-budget batches; average
        probabilities per owner."""
        sums = torch.zeros(n, len(self.labels))
        counts = torch.zeros(n, 1)
        pad = self.tokenizer.pad_token_id or 0
        lengths = [len(f["input_ids"]) for f in features]
        for batch, inputs in self.batches(features, lengths, lambda fs, n: collate(fs, pad, n)):
            logits = (backend or self.backend)(inputs)
            probs = logits.sigmoid() if self.settings.multi_label else logits.softmax(-1)
            index = torch.tensor([owners[i] for i in batch])
            sums.index_add_(0, index, probs)
            counts.index_add_(0, index, torch.ones(len(batch), 1))
        return sums / counts.clamp(min=1)
