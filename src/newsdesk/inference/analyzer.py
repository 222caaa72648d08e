"""`NewsAnalyzer`: topic, stance towards claims, and summary for many articles in one pass.

Each article is tokenised once per distinct tokenizer; models that share a tokenizer share the
encoding (the usual case: all three fine-tuned from the same encoder). The analyzer only calls
the predictor interface (`encode`, `predict_encoded`), whatever the task or folder kind.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

from newsdesk.data.furniture import RULE_NAMES, clean_page_text
from newsdesk.data.pages import extract_article
from newsdesk.errors import DataError, NewsdeskError
from newsdesk.inference import calibrate as calibration
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.inference.options import InferenceOptions
from newsdesk.inference.predictor import Predictor
from newsdesk.inference.summarize import SummaryPredictor
from newsdesk.models.encoding import Encoded
from newsdesk.models.folder import read_settings
from newsdesk.models.loading import local_folder
from newsdesk.models.tasks import TASKS

PREDICTORS: dict[str, type[Predictor]] = {
    kind: cls for cls in (ClassifierPredictor, SummaryPredictor) for kind in cls.kinds}


def load_predictor(folder: str | Path, options: InferenceOptions | None = None,
                   task: str | None = None) -> Predictor:
    """The predictor for any newsdesk model folder.

    Args:
        folder: a folder written by `newsdesk train`, or a Hub repo id holding one.
        options: how to run it.
        task: if given, the task the folder must hold (a clear error otherwise).
    """
    options = InferenceOptions.of(options).resolved()
    folder = local_folder(folder)
    settings = read_settings(folder)
    if task is not None and settings.task != task:
        raise NewsdeskError(f"{folder}: a {settings.task} model folder was given as the {task} "
                            "model")
    return PREDICTORS[settings.kind].from_pretrained(folder, options)


def recalibrate(folder: str | Path, items: list[dict], targets: list[str] | None = None,
                options: InferenceOptions | None = None,
                sample: int = 32) -> calibration.Decision | None:
    """Calibrate a folder on this machine anew (ignoring a cached decision) on the first `sample`
    articles ({"text", "title"?}) and cache the result; None if nothing could be run."""
    predictor = load_predictor(folder, InferenceOptions.of(options, precision="auto"))
    predictor.pending = True
    encoded = predictor.encode(items[:sample]) if predictor.encoding_key else None
    predictor.settle(items[:sample], encoded, targets, sample)
    return predictor.decision


INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff\s]+")
"""Control, zero-width and space characters: text made only of these has nothing to analyse."""


def rows_of(articles) -> list:
    """The records of a collection of articles: a table (pandas DataFrame, pyarrow Table,
    `datasets.Dataset`) gives its rows as dicts, never its column names; a list or other
    iterable gives its items."""
    kind = type(articles).__name__
    if hasattr(articles, "to_dict") and hasattr(articles, "columns"):  # pandas DataFrame
        return articles.to_dict("records")
    if hasattr(articles, "to_pylist") and hasattr(articles, "schema"):  # pyarrow Table
        return articles.to_pylist()
    if isinstance(articles, (bytes, bytearray)) or not hasattr(articles, "__iter__"):
        raise DataError(f"articles must be a string, a dict, an Article, or a list, iterable, "
                        f"DataFrame, Dataset or Table of them; found {kind}")
    return list(articles)  # a datasets.Dataset iterates over its rows as dicts


def as_article(item, where: str = "", clean: bool = True) -> dict:
    """Normalise a string, dict or article record to {"id", "title", "text", "cleaning"} (and
    "page" for HTML); ids become strings (a missing one stays None).

    A record with `html` and no `text` is a web page: `extract_article` takes its text, title,
    date and author (a given `title` wins). With `clean`, the page-furniture rules run on the text
    (as they do on extracted pages) and "cleaning" counts what each removed.
    """
    if isinstance(item, str):
        item = {"text": item}
    elif is_dataclass(item):
        item = asdict(item)
    if not isinstance(item, dict):
        raise DataError(f"{where}article must be a string, a dict or an Article, found "
                        f"{type(item).__name__}")
    text, title, page = item.get("text"), item.get("title"), None
    if title is not None and not isinstance(title, str):
        raise DataError(f"{where}'title' should be text, found {type(title).__name__}")
    if text is None and item.get("html") is not None:
        page = extract_article(item["html"], item.get("url"), where)
        text, title = page.pop("text"), title or page["title"]
    if not isinstance(text, str) or not text:
        raise DataError(f"{where}missing or empty 'text'" + ("" if "html" in item else
                                                             " (or 'html' for a web page)"))
    if not INVISIBLE.sub("", text):
        raise DataError(f"{where}'text' has no visible characters (only whitespace, control or "
                        "zero-width characters)")
    ident = item.get("id")
    if ident is not None and (isinstance(ident, bool) or not isinstance(ident, (str, int))):
        raise DataError(f"{where}'id' should be text or a whole number, found "
                        f"{type(ident).__name__}")
    cleaning = page.pop("cleaning") if page else {}
    if clean and page is None:
        cleaned, cleaning = clean_page_text(text, title)
        if not INVISIBLE.sub("", cleaned):
            raise DataError(f"{where}'text' holds only page furniture ({sorted(cleaning)}); "
                            "nothing to analyse")
        text = cleaned
    article = {"id": None if ident is None else str(ident), "title": title, "text": text,
               "cleaning": {name: cleaning.get(name, 0) for name in RULE_NAMES}}
    if page is not None:
        article["page"] = page
    return article


class NewsAnalyzer:
    """Run any subset of the topic, stance and summary models over articles."""

    def __init__(self, topic: Predictor | None = None, stance: Predictor | None = None,
                 summary: Predictor | None = None, clean: bool = True):
        """Args:
            topic, stance, summary: loaded predictors (any subset).
            clean: remove page furniture from article text before the models read it (see
                `newsdesk.data.furniture`); every result counts what was removed.
        """
        self.clean = clean
        given = {"topic": topic, "stance": stance, "summary": summary}
        self.models: dict[str, Predictor] = {n: p for n, p in given.items() if p is not None}
        if not self.models:
            raise NewsdeskError("NewsAnalyzer needs at least one of topic, stance, summary")
        for name, predictor in self.models.items():
            if predictor.task.name != name:
                raise NewsdeskError(f"a {predictor.task.name} model was given as the {name} model")
        self.topic, self.stance, self.summary = topic, stance, summary

    @property
    def keys(self) -> dict[str, str | None]:
        """The encoding key of each model (equal keys share one tokenisation)."""
        return {name: p.encoding_key for name, p in self.models.items()}

    @classmethod
    def from_pretrained(cls, topic: str | Path | None = None, stance: str | Path | None = None,
                        summary: str | Path | None = None, options: InferenceOptions | None = None,
                        clean: bool = True, **changes) -> NewsAnalyzer:
        """Load model folders written by `newsdesk train` (any subset).

        Args:
            topic, stance, summary: model folders.
            options: how to run them (default `InferenceOptions()`).
            clean: remove page furniture before analysis (the default).
            **changes: `InferenceOptions` fields to change (device, precision, max_tokens).
        """
        options = InferenceOptions.of(options, **changes).resolved()
        folders = {"topic": topic, "stance": stance, "summary": summary}
        return cls(**{name: load_predictor(folder, options, task=name) if folder else None
                      for name, folder in folders.items()}, clean=clean)

    def article(self, item, where: str = "") -> dict:
        """One record as the models read it (`as_article` with this analyzer's cleaning)."""
        return as_article(item, where, self.clean)

    def analyze(self, articles, targets: str | list[str] | None = None) -> dict | list[dict]:
        """Analyse one article or many.

        Args:
            articles: a string, dict ({"text", "title"?, "id"?}, or {"html", "url"?} for a web
                page) or Article, or many: a list or any iterable of them, a pandas DataFrame,
                a `datasets.Dataset` or a pyarrow Table with a `text` or `html` column
                (`title`, `id`, `url` optional).
            targets: claims or headlines; every article gets its stance towards each.

        Returns:
            Per article: {"id", "topic": {"label", "scores"}, "stance": {target: {"label",
            "scores"}}, "summary": str, "engine": {task: "torch:<precision>"}, "cleaning":
            {rule: lines removed}}, with only the parts whose models are loaded, and "page":
            {"title", "date", "author", "extractor"} for web pages. A multi-label topic model
            gives "topic": {"labels": [...], "scores"}; a classifier with `abstain_below` may
            give {"label": None, "abstained": True, "candidates", "scores"}.
        """
        single = isinstance(articles, (str, dict)) or is_dataclass(articles)
        items = [self.article(a, f"article {i}: ") for i, a in
                 enumerate([articles] if single else rows_of(articles))]
        results = self.run(self.prepare(items), targets)
        return results[0] if single else results

    def prepare(self, items: list[dict]) -> Prepared:
        """Tokenise normalised articles once per distinct tokenizer (the CPU-side half of the
        work, which a batch job runs for the next window while the models run this one)."""
        encodings: dict[str, list[Encoded]] = {}
        for predictor in self.models.values():
            key = predictor.encoding_key
            if key is not None and key not in encodings:
                encodings[key] = predictor.encode(items)
        return Prepared(items, encodings)

    def run(self, prepared: Prepared, targets: str | list[str] | None = None) -> list[dict]:
        """Run the loaded models over prepared articles; results in input order."""
        targets = [targets] if isinstance(targets, str) else list(targets or [])
        if targets and self.stance is None:
            raise NewsdeskError("targets given, but no stance model is loaded")
        items = prepared.items
        if not items:
            return []
        results = [{"id": a["id"], **{k: a[k] for k in ("cleaning", "page") if k in a}}
                   for a in items]
        engines = {}
        for name, predictor in self.models.items():
            if TASKS[name].pair and not targets:
                continue  # a stance model with nothing to take a stance towards
            encoded = prepared.encodings.get(predictor.encoding_key)
            for r, out in zip(results, predictor.predict_encoded(items, encoded, targets)):
                r[name] = out
            engines[name] = predictor.engine
        for r in results:
            r["engine"] = dict(engines)
        return results


@dataclass
class Prepared:
    """Normalised articles and their encodings, keyed by tokenizer."""

    items: list[dict]
    encodings: dict[str | None, list[Encoded]]
