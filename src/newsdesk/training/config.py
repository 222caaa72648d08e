"""Dataclass configs, one per task family, with YAML presets and CLI overrides.

YAML presets in `configs/` are saved copies of these dataclasses; every field can be overridden
on the command line as `--field value`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newsdesk.errors import DataError
from newsdesk.models.folder import (
    AbstractiveSettings,
    ClassifierSettings,
    ExtractiveSettings,
    check_glance,
)
from newsdesk.models.tasks import CLASSIFIER_TASKS, TASKS, Task, get_task
from newsdesk.training.precision import TRAINING_PRECISIONS

# Fields that inference reads back from the model folder take their defaults from the folder
# contract (`models.folder`), so the two never disagree.
_C, _E, _A = ClassifierSettings, ExtractiveSettings, AbstractiveSettings


@dataclass
class ClassifierConfig:
    """Fine-tuning a sequence classifier: topic (text) or stance (target + text)."""

    task: str = "topic"
    """"topic" (labels from the article's topic) or "stance" (pair of target and text)."""
    data: str = ""
    """A prepared data folder (`newsdesk data prepare ...`)."""
    output_dir: str = "runs/model"
    """Where the model folder is written."""
    model: str = "minilm"
    """Base model: a Hugging Face id, a local folder, or "minilm" for the packaged MiniLM."""
    max_length: int = 256
    """Tokens per input, special tokens included."""
    truncation: str = _C.truncation
    """Training inputs for topic: "head" or "head+tail" truncation to `max_length`, or "chunks":
    every title-prefixed chunk that chunked inference reads (`chunk_stride`, `max_chunks`) is an
    example labelled with its article's topic (about 2.5 examples per BBC article at 256 tokens)."""
    eval_chunks: bool = _C.eval_chunks
    """Evaluate (and predict) long articles by overlapping chunks whose probabilities are averaged."""
    chunk_stride: int = _C.chunk_stride
    """Tokens shared by consecutive chunks."""
    max_chunks: int = _C.max_chunks
    """Most chunks per article at evaluation and inference (0 = no limit)."""
    cascade: float = _C.cascade
    """Inference reads an article's next chunk only while its averaged top probability is below
    this (1.0 reads every chunk, as evaluation does)."""
    glance: int | None = _C.glance
    """Topic: tokens of an article's opening inference reads before its first chunk, stopping
    there when sure (0: none; None: 64 where `lexical` is "tfidf", else 0; see
    `models.folder.ClassifierSettings.glance`)."""
    lexical: str = _C.lexical
    """Topic: "tfidf" also fits a TF-IDF logistic regression on the training articles and
    averages its probabilities with the transformer's (see `models.lexical`). Stance: "tfidf"
    combines the transformer's probabilities with claim-body word-overlap features
    (`models.relatedness`), fitted on the validation slice (needs `validation`). "none": neither."""
    lexical_chars: bool = False
    """Topic with lexical "tfidf": the TF-IDF model also reads character 3-5-grams within words
    (`models.lexical.Features`): inflected and joined names share evidence, which helps labels
    with a handful of training stories; about 4x the TF-IDF fit time and 2x its saved size."""
    lexical_embedding: bool = False
    """Topic with lexical "tfidf": the TF-IDF model also reads the pretrained `model`'s
    mean-pooled embedding of each article's first chunk, the encoder kept frozen and saved in
    the folder (`models.embedding`); inference runs that encoder instead of the fine-tuned one
    where the blend is the TF-IDF model alone."""
    lexical_weight: float = _C.lexical_weight
    """Topic: share of the lexical model in that average when there is no validation slice;
    with one, the share is chosen there (0 to 1 in steps of 0.05) and recorded in the folder."""
    validation: float = 0.0
    """Share of the training split held out from training (by story for stance pairs, as
    `data prepare` splits dev) to fit what is decided after training: the blend weight, the
    stance word-overlap combination, the confidence temperature and multi-label thresholds. 0
    fits them on dev, which then flatters the dev figures."""
    evidence: str = _C.evidence
    """Stance: "overlap" fills the budget with the body sentences sharing most words with the
    target; "head" keeps the start of the body."""
    abstain_below: float = _C.abstain_below
    """Inference returns no label (null, with the top candidates) when the calibrated top score
    (temperature fitted on dev after training) is below this; 0 never abstains."""
    multi_label: bool = _C.multi_label
    """Topic: learn a list of labels per article (the prepared `topics` column) with sigmoid
    outputs and binary cross-entropy; a decision threshold per label is tuned on dev."""
    no_label: str = _C.no_label
    """Multi-label: when no label reaches its threshold, "best" returns the top label alone,
    "none" returns no label."""
    epochs: float = 3.0
    """Training epochs."""
    batch_size: int = 16
    """Examples per device batch."""
    eval_batch_size: int = 32
    """Examples per evaluation batch."""
    grad_accum: int = 1
    """Gradient accumulation steps."""
    learning_rate: float = 5e-5
    """Peak learning rate (linear decay after warm-up)."""
    head_learning_rate: float = 0.0
    """Peak learning rate of the layers that start untrained (the classification head and the
    pooler before it), on the same schedule; 0 uses `learning_rate`. Many labels learn faster
    with a head rate ~10x the encoder's (Reuters, 90 labels); FNC-1's four stance classes did
    not (benchmarks/RESULTS.md)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_ratio: float = 0.06
    """Share of steps spent warming up."""
    class_weights: str = "none"
    """Loss weights: "none", "balanced" (inverse frequency) or "sqrt" (its square root). For a
    multi-label model they weigh each label's positives (negatives / positives, or its square
    root) in the transformer's loss, which lifts the rare labels (the multi-label TF-IDF
    regressions are always class-balanced, `LexicalModel.fit_multilabel`)."""
    downsample: dict[str, float] = field(default_factory=dict)
    """Resampling: label -> fraction of its training examples to keep, e.g. {"unrelated": 0.2}."""
    max_train_examples: int = 0
    """Cap on training examples after resampling, stratified (0 = all). For quick runs."""
    max_eval_examples: int = 0
    """Cap on dev examples for the per-epoch checks, stratified (0 = all)."""
    final_eval_examples: int = 0
    """Cap on dev examples for the final evaluation, stratified (0 = the whole dev split, as every
    reported figure uses; the quick preset caps it to save time)."""
    early_stopping_patience: int = 2
    """Epochs without improvement of the primary metric before stopping (0 = off)."""
    soup: int = 1
    """Runs to train and average (`training.soup`): run k (from 0) resamples the training split,
    orders it and drops out with seed `seed + k`, from the same start (pretrained weights and
    head initialised under `seed`); the runs join one averaged network
    best first while the average scores no lower on the validation slice (or dev without one).
    1 trains one run; each run costs a full training."""
    retrain: bool = False
    """With a validation slice: once the slice has fitted what is decided after training (with
    the first transformer's scores on it, which it never trained on), train the transformer again
    from the start on the training part and the slice together, for the epochs the slice kept,
    and keep that one. The fitted choices stay; dev judges the pair. Costs a second training;
    more stories to learn from matter most where dev's stories are new (stance)."""
    precision: str = "auto"
    """"auto" (bf16 on a GPU that has it, else fp16 on GPU; on CPU bf16 where it has AMX or
    AVX512-BF16, else fp32), "fp32", "bf16" (GPU or CPU), "fp16" (GPU)."""
    seed: int = 13
    """Seed for sampling, initialisation and data order."""
    logging_steps: int = 20
    """Steps between log lines."""
    report_to: str = "none"
    """Where training also logs, as the Trainer's `report_to`: "none", "tensorboard", "wandb",
    ... (the tracker must be installed); a loss-curve PNG is written to the folder either way."""

    def __post_init__(self):
        _check_choice("task", self.task, CLASSIFIER_TASKS)
        _check_choice("truncation", self.truncation, ("head", "head+tail", "chunks"))
        _check_choice("evidence", self.evidence, ("overlap", "head"))
        _check_choice("lexical", self.lexical, ("none", "tfidf"))
        _check_choice("class_weights", self.class_weights, ("none", "balanced", "sqrt"))
        _check_choice("precision", self.precision, TRAINING_PRECISIONS)
        whole = get_task(self.task).whole_article
        if self.truncation == "chunks" and (not whole or not self.eval_chunks):
            raise DataError("truncation 'chunks' is for topic models evaluated by chunks "
                            "(task: topic, eval_chunks: true)")
        if self.lexical != "none" and not whole and not self.validation:
            raise DataError("a stance model's word-overlap combination (lexical: tfidf) is "
                            "fitted on a validation slice: set validation (e.g. 0.15)")
        if self.lexical_chars and (self.lexical != "tfidf" or not whole):
            raise DataError("lexical_chars is for topic models with lexical: tfidf")
        if self.lexical_embedding and (self.lexical != "tfidf" or not whole):
            raise DataError("lexical_embedding is for topic models with lexical: tfidf")
        if not 0 <= self.validation < 0.5:
            raise DataError(f"validation must be in [0, 0.5), got {self.validation}")
        if not 0 <= self.cascade <= 1:
            raise DataError(f"cascade must be in [0, 1], got {self.cascade}")
        check_glance(self.glance, DataError)
        if self.multi_label and self.task != "topic":
            raise DataError("multi_label is for topic models")
        _check_choice("no_label", self.no_label, ("best", "none"))
        if not 0 <= self.abstain_below <= 1:
            raise DataError(f"abstain_below must be in [0, 1], got {self.abstain_below}")
        if not 0 < self.lexical_weight < 1:
            raise DataError(f"lexical_weight must be in (0, 1), got {self.lexical_weight}")
        if self.max_length < 16:
            raise DataError(f"max_length must be at least 16, got {self.max_length}")
        if not 0 <= self.chunk_stride <= self.max_length // 2:
            raise DataError(f"chunk_stride must be in [0, max_length/2], got {self.chunk_stride}")
        for name in ("epochs", "batch_size", "eval_batch_size", "grad_accum", "learning_rate"):
            if getattr(self, name) <= 0:
                raise DataError(f"{name} must be positive, got {getattr(self, name)}")
        if self.retrain and not self.validation:
            raise DataError("retrain trains again on the training part and the validation "
                            "slice: it needs validation (e.g. 0.15)")
        if self.retrain and self.soup > 1:
            raise DataError("retrain and soup cannot be combined: retrain trains one run again "
                            "on the part and the slice")
        if self.soup < 1:
            raise DataError(f"soup must be at least 1 (one run), got {self.soup}")
        if self.head_learning_rate < 0:
            raise DataError(f"head_learning_rate must be 0 (as learning_rate) or positive, got "
                            f"{self.head_learning_rate}")
        for label, keep in self.downsample.items():
            if not 0 < float(keep) <= 1:
                raise DataError(f"downsample[{label!r}] must be in (0, 1], got {keep}")

    @property
    def task_info(self) -> Task:
        return get_task(self.task)


def _check_choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise DataError(f"{name} must be one of {list(choices)}, got {value!r}")


PRESETS = Path(__file__).resolve().parents[1] / "presets"
"""The shipped presets (package data; `configs/` in a checkout points here)."""


def list_presets() -> dict[str, str]:
    """Preset name -> its first comment line."""
    out = {}
    for path in sorted(PRESETS.glob("*.yaml")):
        first = path.read_text().splitlines()[0] if path.read_text() else ""
        out[path.stem] = first.lstrip("# ").strip()
    return out


def preset_path(name: str, task: str | None = None) -> Path:
    """The file of preset `name` ("topic-bbc", or "bbc" given the task "topic")."""
    for candidate in (name, f"{task}-{name}" if task else None):
        if candidate and (PRESETS / f"{candidate}.yaml").is_file():
            return PRESETS / f"{candidate}.yaml"
    raise DataError(f"no preset {name!r}; the presets are {sorted(list_presets())} "
                    "(`newsdesk presets` describes them)")


def load_config(cls, path: str | Path | None = None, overrides: dict | None = None):
    """Build a config from an optional YAML preset and overrides (CLI strings are parsed).

    Unknown keys are an error naming the file and the known fields.
    """
    values: dict = {}
    if path:
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: config file not found")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise DataError(f"{path}: expected a mapping of config fields")
        values.update(loaded)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        values[key] = _parse_value(known[key], value) if isinstance(value, str) else value
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise DataError(f"{path or 'overrides'}: unknown config field(s) {unknown}; known: "
                        f"{sorted(known)}")
    return cls(**values)


def _parse_value(f: dataclasses.Field, text: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind.startswith("dict"):
            return yaml.safe_load(text) or {}
    except (ValueError, yaml.YAMLError) as e:
        raise DataError(f"--{f.name.replace('_', '-')}: cannot parse {text!r} as {kind}") from e
    return text


def field_docs(cls) -> dict[str, str]:
    """Each dataclass field's docstring (the string literal under it in the class body)."""
    import ast
    import inspect
    import textwrap

    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for field_node, doc in zip(body, body[1:]):
        if (isinstance(field_node, ast.AnnAssign) and isinstance(field_node.target, ast.Name)
                and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)):
            docs[field_node.target.id] = " ".join(doc.value.value.split())
    return docs


ALIASES = {"output_dir": ["--out"]}
"""Flags that also take the name other commands use for the same thing (`--out`)."""


def add_config_arguments(parser, cls, skip: tuple[str, ...] = ()) -> None:
    """Add `--field value` for every field of a config dataclass, with the field's docstring
    as its help (a flag not given keeps the preset's value)."""
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        text = docs.get(f.name, "").replace("%", "%%")
        names = [f"--{f.name.replace('_', '-')}"] + ALIASES.get(f.name, [])
        parser.add_argument(*names, dest=f.name, default=None, metavar=f.name.upper(),
                            help=f"{text} (default {default!r})")


def to_dict(config) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))


@dataclass
class SummaryConfig:
    """Fine-tuning a summariser: extractive (sentence scorer) or abstractive (seq2seq)."""

    kind: str = "extractive"
    """"extractive" (pick the article's own sentences) or "abstractive" (generate text)."""
    data: str = ""
    """A prepared article folder whose records have summaries."""
    output_dir: str = "runs/summary"
    """Where the model folder is written."""
    model: str = "minilm"
    """Extractive: an encoder (Hugging Face id, folder, or "minilm"). Abstractive: a seq2seq
    checkpoint (BART, T5, Pegasus ...), or "minilm" to warm-start an encoder-decoder from MiniLM."""
    max_length: int = 512
    """Extractive: tokens per window. Abstractive: source tokens (longer sources are truncated and
    the count is logged)."""
    labels: str = "match"
    """Extractive labels: "match" (sentences the reference copies) or "greedy" (ROUGE oracle)."""
    budget: str = _E.budget
    """Summary length: "ratio" (of the article's words), "sentences" or "words"."""
    ratio: float = _E.ratio
    """Budget ratio of the article's words; 0 learns the median reference ratio from training data."""
    sentences: int = _E.sentences
    """Budget in sentences (budget "sentences")."""
    words: int = _E.words
    """Budget in words (budget "words")."""
    trigram_blocking: bool = _E.trigram_blocking
    """Skip a sentence sharing a word trigram with one already chosen."""
    sentences_only: bool = _E.sentences_only
    """Choose only lines that end like a sentence (., !, ?), not headings, captions or link
    text, while the article has enough sentences to fill the budget."""
    epochs: float = 2.0
    """Training epochs."""
    batch_size: int = 8
    """Windows (extractive) or articles (abstractive) per batch."""
    grad_accum: int = 1
    """Gradient accumulation steps."""
    learning_rate: float = 5e-5
    """Peak learning rate (linear decay after warm-up)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_ratio: float = 0.06
    """Share of steps spent warming up."""
    max_train_examples: int = 0
    """Cap on training articles (0 = all). For quick runs."""
    max_eval_examples: int = 0
    """Cap on dev articles (0 = all). For quick runs."""
    precision: str = "auto"
    """"auto", "fp32", "bf16" or "fp16" (see ClassifierConfig.precision)."""
    seed: int = 13
    """Seed for initialisation and data order."""
    logging_steps: int = 20
    """Steps between log lines (and `train_log.json` entries)."""
    report_to: str = "none"
    """Where training also logs, as the Trainer's `report_to`: "none", "tensorboard", "wandb",
    ... (the tracker must be installed); a loss-curve PNG is written to the folder either way."""
    max_target_length: int = 128
    """Abstractive: reference tokens kept for training."""
    num_beams: int = _A.num_beams
    """Abstractive generation: beam width."""
    min_new_tokens: int = _A.min_new_tokens
    """Abstractive generation: shortest summary in tokens."""
    max_new_tokens: int = _A.max_new_tokens
    """Abstractive generation: longest summary in tokens."""
    no_repeat_ngram_size: int = _A.no_repeat_ngram_size
    """Abstractive generation: n-grams that may not repeat (0 = off)."""
    length_penalty: float = _A.length_penalty
    """Abstractive generation: beam length penalty (>1 favours longer summaries)."""

    def __post_init__(self):
        _check_choice("kind", self.kind, ("extractive", "abstractive"))
        _check_choice("labels", self.labels, ("match", "greedy"))
        _check_choice("budget", self.budget, ("ratio", "sentences", "words"))
        _check_choice("precision", self.precision, TRAINING_PRECISIONS)
        if not 0 <= self.ratio < 1:
            raise DataError(f"ratio must be in [0, 1), got {self.ratio}")
        if self.max_length < 16:
            raise DataError(f"max_length must be at least 16, got {self.max_length}")
        for name in ("epochs", "batch_size", "grad_accum", "learning_rate", "sentences", "words",
                     "num_beams", "max_new_tokens"):
            if getattr(self, name) <= 0:
                raise DataError(f"{name} must be positive, got {getattr(self, name)}")


CONFIGS = {name: SummaryConfig if task.output == "text" else ClassifierConfig
           for name, task in TASKS.items()}
"""Task name -> its config class."""
