"""`NewsAnalyzer`: topic, stance towards claims, and summary for many articles in one pass.

Each article is tokenised once per distinct tokenizer; models that share a tokenizer share the
encoding (the usual case: all three fine-tuned from the same encoder).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

from newsdesk.data.records import DataError
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.inference.encoding import Encoded, encode_articles, tokenizer_key
from newsdesk.inference.summarize import SummaryPredictor
from newsdesk.models.inputs import encode_texts


def as_article(item, where: str = "") -> dict:
    """Normalise a string, dict or article record to {"id", "title", "text"}."""
    if isinstance(item, str):
        item = {"text": item}
    elif is_dataclass(item):
        item = asdict(item)
    if not isinstance(item, dict):
        raise DataError(f"{where}article must be a string, a dict or an Article, found "
                        f"{type(item).__name__}")
    text, title = item.get("text"), item.get("title")
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}missing or empty 'text'" if not isinstance(text, str) or not text
                        else f"{where}'text' is only whitespace")
    if title is not None and not isinstance(title, str):
        raise DataError(f"{where}'title' should be text, found {type(title).__name__}")
    return {"id": item.get("id"), "title": title, "text": text}


class NewsAnalyzer:
    """Run any subset of the topic, stance and summary models over articles."""

    def __init__(self, topic: ClassifierPredictor | None = None,
                 stance: ClassifierPredictor | None = None,
                 summary: SummaryPredictor | None = None):
        if not (topic or stance or summary):
            raise ValueError("NewsAnalyzer needs at least one of topic, stance, summary")
        self.topic, self.stance, self.summary = topic, stance, summary
        self.keys = {name: tokenizer_key(p.tokenizer) for name, p in self.models.items()}

    @property
    def models(self) -> dict:
        return {n: p for n, p in (("topic", self.topic), ("stance", self.stance),
                                  ("summary", self.summary)) if p is not None}

    @classmethod
    def from_pretrained(cls, topic: str | Path | None = None, stance: str | Path | None = None,
                        summary: str | Path | None = None, device: str = "auto",
                        precision: str = "auto", max_tokens: int | None = None) -> NewsAnalyzer:
        """Load model folders written by `newsdesk train` (any subset).

        Args:
            topic, stance, summary: model folders.
            device: "auto" (cuda, then mps, then cpu) or a torch device.
            precision: "auto" (the measured fastest mode that agrees with fp32), "fp32", "bf16",
                "fp16" (GPU) or "int8" (CPU).
            max_tokens: padded tokens per batch (default by device, see `inference.predictor`).
        """
        kw = {"device": device, "precision": precision, "max_tokens": max_tokens}
        return cls(
            topic=ClassifierPredictor.from_pretrained(topic, **kw) if topic else None,
            stance=ClassifierPredictor.from_pretrained(stance, **kw) if stance else None,
            summary=SummaryPredictor.from_pretrained(summary, **kw) if summary else None,
        )

    def analyze(self, articles, targets: str | list[str] | None = None) -> dict | list[dict]:
        """Analyse one article or many.

        Args:
            articles: a string, dict ({"text", "title"?, "id"?}) or Article, or a list of them.
            targets: claims or headlines; every article gets its stance towards each.

        Returns:
            Per article: {"id", "topic": {"label", "scores"}, "stance": {target: {"label",
            "scores"}}, "summary": str}, with only the parts whose models are loaded.
        """
        single = isinstance(articles, (str, dict)) or is_dataclass(articles)
        items = [as_article(a, f"article {i}: ") for i, a in
                 enumerate([articles] if single else list(articles))]
        results = self.run(self.prepare(items), targets)
        return results[0] if single else results

    def prepare(self, items: list[dict]) -> Prepared:
        """Tokenise normalised articles once per distinct tokenizer (the CPU-side half of the
        work, which a batch job runs for the next window while the models run this one)."""
        texts = [a["text"] for a in items]
        titles = [a["title"] for a in items]
        encodings: dict[str, list] = {}
        for name, predictor in self.models.items():
            key = self.keys[name]
            if key not in encodings and not (name == "summary" and
                                             predictor.settings["kind"] != "extractive"):
                separable = getattr(predictor, "separable", True)
                encodings[key] = encode_articles(predictor.tokenizer, texts, titles, separable)
        return Prepared(items, encodings)

    def run(self, prepared: Prepared, targets: str | list[str] | None = None) -> list[dict]:
        """Run the loaded models over prepared articles; results in input order."""
        items = prepared.items
        if isinstance(targets, str):
            targets = [targets]
        if targets and self.stance is None:
            raise ValueError("targets given, but no stance model is loaded")
        results = [{"id": a["id"]} for a in items]
        if not items:
            return []
        n = len(items)
        if self.topic is not None:
            probs = self.topic.topic_probs(prepared.encodings[self.keys["topic"]],
                                           [a["text"] for a in items], [a["title"] for a in items])
            for r, p in zip(results, self.topic.decode(probs["blend"])):
                r["topic"] = p
        if self.stance is not None and targets:
            enc = prepared.encodings[self.keys["stance"]]
            target_ids = dict(zip(targets, encode_texts(self.stance.tokenizer, list(targets))))
            pairs = [(i, t) for t in targets for i in range(n)]
            feats, _ = self.stance.stance_features([enc[i] for i, _ in pairs],
                                                   [t for _, t in pairs], target_ids)
            probs = self.stance.run(feats, list(range(len(pairs))), len(pairs))
            for r in results:
                r["stance"] = {}
            for (i, t), p in zip(pairs, self.stance.decode(probs)):
                results[i]["stance"][t] = p
        if self.summary is not None:
            if self.summary.settings["kind"] == "extractive":
                enc = prepared.encodings[self.keys["summary"]]
                for r, (sents, chosen) in zip(results, self.summary.extract_encoded(enc)):
                    r["summary"] = " ".join(sents[i] for i in chosen)
            else:
                for r, s in zip(results, self.summary.generate([a["text"] for a in items])):
                    r["summary"] = s
        return results


@dataclass
class Prepared:
    """Normalised articles and their encodings, keyed by tokenizer."""

    items: list[dict]
    encodings: dict[str, list[Encoded]]
