"""The model-folder contract: `newsdesk.json`, written by training and read by inference.

One dataclass per kind of folder (classifier, extractive summariser, abstractive summariser)
holds what inference needs, with its defaults here and nowhere else, plus the provenance of the
run (base model, data, the resolved training config). The file records the schema version and
the newsdesk version that wrote it; a folder written by a newer schema is refused with a clear
message, and folders written before the schema existed (flat settings, no version) still load.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from newsdesk.errors import NewsdeskError
from newsdesk.models.tasks import CLASSIFIER_TASKS, Task, get_task
from newsdesk.version import __version__

FILE = "newsdesk.json"
SCHEMA_VERSION = 1


@dataclass(kw_only=True)
class FolderSettings:
    """What every newsdesk model folder records."""

    kind: ClassVar[str] = ""
    task: str
    """"topic", "stance" or "summary" (see `models.tasks`)."""
    max_length: int
    """Tokens per model input, special tokens included."""
    base_model: str = ""
    """The pretrained model it was fine-tuned from, as the user named it."""
    train_examples: int = 0
    """Training examples after resampling."""
    data_manifest: dict = field(default_factory=dict)
    """Counts per split and label of the prepared data it was trained on."""
    data_source: str = ""
    """The builder that prepared that data: "bbc", "fnc1" or "table"."""
    training: dict = field(default_factory=dict)
    """The resolved training config, for the record (inference reads the fields above)."""
    newsdesk_version: str = __version__
    """The newsdesk that wrote the folder."""

    def __post_init__(self):
        get_task(self.task)
        if not isinstance(self.max_length, int) or self.max_length < 1:
            raise NewsdeskError(f"max_length must be a positive integer, got {self.max_length!r}")

    @classmethod
    def from_config(cls, config, **values):
        """Settings taking every same-named field from a training config dataclass, the whole
        config as `training`, and `values` for the rest."""
        record = json.loads(json.dumps(dataclasses.asdict(config)))
        own = {f.name for f in dataclasses.fields(cls)} - {"training", "newsdesk_version"}
        shared = {name: record[name] for name in own if name in record and name not in values}
        return cls(**shared, training=record, **values)

    @property
    def task_info(self) -> Task:
        return get_task(self.task)

    def to_json(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "kind": self.kind, **dataclasses.asdict(self)}


GLANCE = 64
"""Tokens a topic folder with a TF-IDF partner glances at first (`ClassifierSettings.glance`).
On the BBC dev splits of both seeds (the presets and the quickstart model), glances of 48-192
tokens at cascade 0.9 kept every label of whole-article reading, and at 64 tokens 68-89% of
articles stopped there; the transformer alone on the same glances changed up to 4 of 282 labels,
so folders without a partner do not glance by default (benchmarks/bench_cascade.py, RESULTS.md)."""


def check_glance(glance, error: type[Exception]) -> None:
    """A glance is None (the default), 0 (none) or at least 16 tokens."""
    if glance is not None and (not isinstance(glance, int) or isinstance(glance, bool)
                               or not (glance == 0 or glance >= 16)):
        raise error(f"glance must be 0 (none) or at least 16 tokens, got {glance!r}")


@dataclass(kw_only=True)
class ClassifierSettings(FolderSettings):
    """A topic or stance classifier (a Hugging Face sequence-classification folder)."""

    kind: ClassVar[str] = "classifier"
    labels: list[str]
    """Label names in the model's id order."""
    truncation: str = "head+tail"
    """How training inputs were cut: "head", "head+tail" or "chunks"."""
    eval_chunks: bool = True
    """Read long articles as overlapping chunks whose probabilities are averaged."""
    chunk_stride: int = 64
    """Tokens shared by consecutive chunks."""
    max_chunks: int = 8
    """Most chunks read per article (0 = no limit)."""
    cascade: float = 0.9
    """Topic inference reads an article's next chunk only while its averaged top probability is
    below this (1.0: every chunk). 0.9 kept every label of whole-article reading on the BBC dev
    split for the preset and quickstart models (benchmarks/bench_cascade.py, RESULTS.md)."""
    glance: int | None = None
    """Topic, under a cascade below 1.0: tokens of an article's opening (title first, as in its
    chunks) read before its first chunk; an article whose blended top probability reaches
    `cascade` there is read no further (0: start with the first chunk). None: `GLANCE` where a
    TF-IDF partner reads the whole article beside the glance, else 0."""
    lexical: str = "none"
    """"tfidf" when a word model is saved beside the weights: topic, a TF-IDF model blended in
    (`lexical.json`); stance, word-overlap features combined with the transformer (`pairs.json`)."""
    lexical_weight: float = 0.5
    """Topic: share of the TF-IDF model in the blend."""
    blend_space: str = "probabilities"
    """Topic: what the blend averages, "probabilities" or "log_odds" (multi-label folders
    trained by newsdesk 0.2 on; `models.lexical.blend`)."""
    fitted_on: str = "dev"
    """Where the blend weight, temperature and thresholds were fitted after training:
    "validation" (a slice of the training split held out from training) or "dev"."""
    evidence: str = "overlap"
    """Stance: "overlap" (body sentences sharing most words with the claim) or "head"."""
    temperature: float = 1.0
    """Confidence temperature fitted after training (see `fitted_on`) (`models.confidence`):
    scores are `p ** (1 / temperature)`, renormalised. Labels never change."""
    abstain_below: float = 0.0
    """Return no label (`null`, with the top candidates) when the calibrated top score is below
    this; 0 never abstains."""
    multi_label: bool = False
    """Topic: each article gets a list of labels (sigmoid scores, a threshold per label)."""
    thresholds: dict[str, float] = field(default_factory=dict)
    """Multi-label: decision threshold per label, tuned after training (see `fitted_on`)."""
    threshold: float = 0.5
    """Multi-label: the threshold shared by labels without their own (too few positives to tune
    alone), tuned for their pooled F1."""
    no_label: str = "best"
    """Multi-label: when no label reaches its threshold, "best" returns the top label alone,
    "none" returns no label."""

    def __post_init__(self):
        super().__post_init__()
        if self.task not in CLASSIFIER_TASKS:
            raise NewsdeskError(f"a classifier folder is for {list(CLASSIFIER_TASKS)}, "
                                f"not {self.task!r}")
        if not self.labels or not all(isinstance(lab, str) for lab in self.labels):
            raise NewsdeskError(f"labels must be a non-empty list of names, got {self.labels!r}")
        if self.multi_label and self.task != "topic":
            raise NewsdeskError("multi_label is for topic models")
        if self.blend_space not in ("probabilities", "log_odds"):
            raise NewsdeskError("blend_space must be 'probabilities' or 'log_odds', "
                                f"got {self.blend_space!r}")
        if self.no_label not in ("best", "none"):
            raise NewsdeskError(f"no_label must be 'best' or 'none', got {self.no_label!r}")
        check_glance(self.glance, NewsdeskError)

    @property
    def uses_transformer(self) -> bool:
        """False for a topic folder whose fitted blend is its lexical model alone (weight 1, as
        the Reuters preset's validation slice chose): the transformer cannot change a
        prediction, so inference does not run it and `retrain` does not train it again."""
        return self.lexical == "none" or self.task_info.pair or self.lexical_weight < 1.0


@dataclass(kw_only=True)
class ExtractiveSettings(FolderSettings):
    """An extractive summariser: an encoder and a sentence-scoring head."""

    kind: ClassVar[str] = "extractive"
    task: str = "summary"
    budget: str = "ratio"
    """Summary length: "ratio" (of the article's words), "sentences" or "words"."""
    ratio: float = 0.0
    """Budget ratio of the article's words (budget "ratio")."""
    sentences: int = 3
    """Budget in sentences (budget "sentences")."""
    words: int = 100
    """Budget in words (budget "words")."""
    trigram_blocking: bool = True
    """Skip a sentence sharing a word trigram with one already chosen."""
    sentences_only: bool = True
    """Choose only lines that end like a sentence (., !, ?), not headings, captions or link
    text, while the article has enough sentences to fill the budget."""
    oracle_labels: str = "match"
    """How training sentences were labelled: "match" or "greedy" (ROUGE oracle)."""


@dataclass(kw_only=True)
class AbstractiveSettings(FolderSettings):
    """An abstractive summariser: a seq2seq model and its generation settings."""

    kind: ClassVar[str] = "abstractive"
    task: str = "summary"
    num_beams: int = 4
    min_new_tokens: int = 10
    max_new_tokens: int = 128
    no_repeat_ngram_size: int = 3
    length_penalty: float = 1.0
    source_truncated: int = 0
    """Training articles longer than `max_length` (cut at training and at inference)."""

    def generation_kwargs(self) -> dict:
        """Keyword arguments for `model.generate`."""
        return {"num_beams": self.num_beams, "min_new_tokens": self.min_new_tokens,
                "max_new_tokens": self.max_new_tokens,
                "no_repeat_ngram_size": self.no_repeat_ngram_size,
                "length_penalty": self.length_penalty}


Settings = ClassifierSettings | ExtractiveSettings | AbstractiveSettings
KINDS: dict[str, type[FolderSettings]] = {
    cls.kind: cls for cls in (ClassifierSettings, ExtractiveSettings, AbstractiveSettings)}


def write_settings(folder: str | Path, settings: FolderSettings) -> Path:
    """Write `folder/newsdesk.json`; returns its path."""
    path = Path(folder) / FILE
    path.write_text(json.dumps(settings.to_json(), indent=2) + "\n")
    return path


def read_settings(folder: str | Path) -> Settings:
    """Read `folder/newsdesk.json` into the dataclass of its kind.

    Raises:
        NewsdeskError: no file, a file that is not a settings object, an unknown kind, missing or
            unknown fields, or a schema newer than this newsdesk reads.
    """
    path = Path(folder) / FILE
    if not path.is_file():
        raise NewsdeskError(f"{folder}: not a newsdesk model folder (no {FILE}); train one with "
                            "`newsdesk train`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise NewsdeskError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise NewsdeskError(f"{path}: expected a JSON object of settings")
    return settings_from_json(data, str(path))


def settings_from_json(data: dict, where: str = FILE) -> Settings:
    """The dataclass for a parsed `newsdesk.json` (see `read_settings`)."""
    version = data.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise NewsdeskError(
            f"{where}: written by newsdesk {data.get('newsdesk_version', '?')} with folder schema "
            f"{version}; this newsdesk ({__version__}) reads schema {SCHEMA_VERSION} and older. "
            "Upgrade newsdesk to load it")
    if version == 0:
        data = _from_flat(data)
    kind = data.get("kind")
    if kind not in KINDS:
        raise NewsdeskError(f"{where}: unknown folder kind {kind!r}; expected one of {list(KINDS)}")
    cls = KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in data.items() if k not in ("schema_version", "kind")}
    unknown = sorted(set(values) - names)
    if unknown:
        raise NewsdeskError(f"{where}: unknown field(s) {unknown} for a {kind} folder")
    missing = sorted(f.name for f in dataclasses.fields(cls) if f.name not in values
                     and f.default is dataclasses.MISSING
                     and f.default_factory is dataclasses.MISSING)
    if missing:
        raise NewsdeskError(f"{where}: missing field(s) {missing} for a {kind} folder")
    try:
        return cls(**values)
    except NewsdeskError as e:
        raise NewsdeskError(f"{where}: {e}") from e


def _from_flat(data: dict) -> dict:
    """Map the flat settings that folders held before schema 1 (the training config, with
    `kind` "classifier", "extractive" or "abstractive", and a few extras) onto this schema."""
    kind = data.get("kind")
    cls = KINDS.get(kind)
    if cls is None:
        return data
    out: dict = {"kind": kind, "newsdesk_version": "0.1.0", "training": dict(data)}
    if kind != "classifier":
        out["task"] = "summary"
        if isinstance(data.get("labels"), str):
            out["oracle_labels"] = data["labels"]
    names = {f.name for f in dataclasses.fields(cls)} - {"training", "newsdesk_version"}
    for name in names:
        if name in data and name not in out:
            out[name] = data[name]
    return out
