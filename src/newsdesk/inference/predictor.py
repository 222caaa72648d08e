"""The predictor interface that `NewsAnalyzer`, the batch job and Ray call.

A predictor holds one model folder's model, tokenizer and settings (`models.folder`) and the
`InferenceOptions` it runs under. Work is split in two halves so a batch job can tokenise the next
window on the CPU while the models run this one:

- `encode(items)` splits and tokenises articles (shared by predictors whose `encoding_key` is
  equal, i.e. models fine-tuned from the same tokenizer);
- `predict_encoded(items, encoded, targets)` runs the model and returns one result per article,
  of the shape its task's `output` names (see `models.tasks`).

Under `precision="auto"` a predictor runs its first real inputs through a short calibration
(`inference.calibrate`) unless this machine already has a decision for its folder; `engine`
names the mode that produced the outputs.

A reduced precision chosen by the calibration runs *checked*: each decision (a label, a
summary's sentence choice) whose scores are closer to changing than the bf16/int8-vs-fp32 shift
measured in calibration (`tolerance`, see `calibrate.shift`) is made again in fp32, so the fast
mode gives fp32's outputs but for shifts beyond that, paying fp32 only for the close calls
(`checked`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import torch

from newsdesk.errors import NewsdeskError
from newsdesk.inference import calibrate as calibration
from newsdesk.inference import openvino_backend
from newsdesk.inference.backend import Backend, TorchBackend, make_backend
from newsdesk.inference.batching import shaped_batches
from newsdesk.inference.options import CALIBRATION_SAMPLE, InferenceOptions
from newsdesk.models.encoding import Encoded, encode_articles, is_separable, tokenizer_key
from newsdesk.models.folder import Settings, read_settings
from newsdesk.models.loading import check_model_folder


class Predictor:
    """Base of `ClassifierPredictor` and `SummaryPredictor`."""

    kinds: tuple[str, ...] = ()  # the folder kinds a subclass loads

    def __init__(self, model, tokenizer, settings: Settings,
                 options: InferenceOptions | None = None, folder: str | Path | None = None):
        """
        Args:
            model, tokenizer, settings: what the folder holds.
            options: how to run it.
            folder: where it was loaded from (keys the cached calibration; None: not cached).
        """
        self.options = InferenceOptions.of(options).resolved()
        self.folder = folder
        self.settings = settings
        self.task = settings.task_info
        self.device = torch.device(self.options.device)
        self.base_model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        # padding efficiency; with `predict_encoded`'s seconds and `checked`'s counts
        self.stats = {"real_tokens": 0, "computed_tokens": 0}
        self.samples: list[dict] = []  # the first distinct input rows, for a quantising backend
        self.seen_rows: set[bytes] = set()
        self.backend: Backend | None = None
        self.decision: calibration.Decision | None = None
        self.cache_key = None
        self.pending = self.options.precision == "auto"  # calibrate on the first real inputs
        if self.pending and folder is not None:
            self.cache_key = calibration.cache_key(self.fingerprint, self.task.name,
                                                   self.options.device, backends=self.backends())
            self.decision = calibration.load_decision(self.cache_key)
        if self.decision is not None:
            self.pending = False
            self.use(self.decision.precision, self.decision.max_tokens, self.decision.tolerance,
                     self.decision.backend)
        elif self.pending:
            self.use("fp32", self.options.token_budget())
        else:
            self.use(self.options.precision, self.options.token_budget(), 0.0,
                     self.options.fixed_backend())

    def use(self, precision: str, max_tokens: int, tolerance: float = 0.0,
            backend: str = "torch") -> None:
        """Run from now on on `backend` in `precision` with batches of `max_tokens` padded
        tokens; with a `tolerance` > 0, decisions closer than that to changing are made again
        in torch fp32 (the reference)."""
        if self.backend is None or (self.backend.name, self.backend.precision) != \
                (backend, precision):
            # kept while the mode stays: no new bf16 copy, quantisation or conversion per budget
            self.backend = make_backend(backend, self.base_model, self.device, precision,
                                        self.conversions, self.samples)
        self.precision, self.max_tokens = precision, max_tokens
        self.tolerance = tolerance if (backend, precision) != ("torch", "fp32") else 0.0

    def backends(self) -> tuple[str, ...]:
        """The backends this predictor's calibration may choose from (`InferenceOptions`)."""
        return self.options.backends()

    @cached_property
    def conversions(self) -> Path | None:
        """Where backends that convert the model cache the conversion (None: not cached)."""
        if self.fingerprint is None:
            return None
        return calibration.cache_file().parent / "converted" / self.fingerprint

    def keep_mode(self, precision: str, max_tokens: int, tolerance: float = 0.0,
                  backend: str = "torch") -> None:
        """Under "auto", run in this mode (the one an interrupted job started with) instead of
        calibrating anew."""
        if self.options.precision == "auto":
            self.use(precision, max_tokens, tolerance, backend)
            self.pending = False

    @property
    def runs_model(self) -> bool:
        """False where the outputs do not depend on the model (then nothing is calibrated)."""
        return True

    @property
    def engine(self) -> str:
        """The backend and precision producing the outputs, e.g. "torch:int8", with "+check"
        for a checked mode (close calls made again in fp32)."""
        return self.backend.engine + ("+check" if self.tolerance else "")

    def checked(self, compute: Callable[[list[int]], list], n: int,
                stable: Callable[[int, object], bool]) -> list:
        """One result per article, made in the current mode and, in a checked mode, made again
        in fp32 for the articles whose result is a close call.

        Args:
            compute: gives the results (e.g. probability rows, sentence scores) of the listed
                articles, in that order, in the predictor's current mode.
            n: how many articles there are.
            stable: stable(i, result) is False when article i's decision could change under a
                shift of its scores by `tolerance`.
        """
        results = compute(list(range(n)))
        if not self.tolerance:
            return results
        start = time.perf_counter()
        unsure = [i for i in range(n) if not stable(i, results[i])]
        if unsure:
            with self.in_fp32():
                for i, again in zip(unsure, compute(unsure)):
                    results[i] = again
        self.count("checked", n)
        self.count("rechecked", len(unsure))
        self.count("recheck_seconds", time.perf_counter() - start)  # close-call test + fp32
        return results

    def count(self, key: str, amount: float) -> None:
        """Add to one of `stats`: tokens, decisions checked and made again, seconds."""
        self.stats[key] = self.stats.get(key, 0) + amount

    @contextlib.contextmanager
    def in_fp32(self):
        """Run in fp32 inside the block (the model is the fp32 one the fast mode was made from)."""
        fast = self.backend
        self.backend = TorchBackend(self.base_model, self.device, "fp32")
        try:
            yield
        finally:
            self.backend = fast

    def settle(self, items: list[dict], encoded: list[Encoded] | None,
               targets: list[str] | None = None, sample: int = CALIBRATION_SAMPLE) -> None:
        """Under "auto" with no decision yet, calibrate on the first `sample` of these inputs."""
        if not self.pending or not self.runs_model:
            return
        k = min(len(items), sample)
        if k == 0 or (self.task.pair and not targets):
            return
        targets = (targets or [])[:2]

        def run(n: int | None) -> list:
            n = n or k
            return self._predict(items[:n], None if encoded is None else encoded[:n], targets)

        def values() -> list:
            return self.values(items[:k], None if encoded is None else encoded[:k], targets)

        self.decision = calibration.calibrate(self, run, k, values=values)
        self.pending = False
        if self.cache_key is not None:
            calibration.save_decision(self.cache_key, self.decision)

    @classmethod
    def read_folder(cls, folder: str | Path) -> Settings:
        """Check a model folder and read its settings; a clear error if this class cannot load it."""
        check_model_folder(Path(folder))
        settings = read_settings(folder)
        if settings.kind not in cls.kinds:
            raise NewsdeskError(f"{folder}: a {settings.task} ({settings.kind}) folder; "
                                f"{cls.__name__} loads {' or '.join(cls.kinds)} folders")
        return settings

    @cached_property
    def fingerprint(self) -> str | None:
        """Changes when the folder's weights or settings change (None without a folder)."""
        return None if self.folder is None else calibration.folder_fingerprint(self.folder)

    @cached_property
    def encoding_key(self) -> str:
        """Equal for predictors whose tokenizers encode identically (they share `encode`)."""
        return tokenizer_key(self.tokenizer)

    @cached_property
    def separable(self) -> bool:
        return is_separable(self.tokenizer)

    def encode(self, items: list[dict]) -> list[Encoded]:
        """Split and tokenise articles ({"text", "title"?}); the CPU-side half of the work."""
        return encode_articles(self.tokenizer, [a["text"] for a in items],
                               [a.get("title") for a in items], self.separable)

    def predict_encoded(self, items: list[dict], encoded: list[Encoded] | None,
                        targets: list[str] | None = None) -> list:
        """One result per article, in input order (see the task's `output`)."""
        self.settle(items, encoded, targets)
        start = time.perf_counter()
        try:
            fp32_batches = self.backend.fp32_batches
            results = self._predict(items, encoded, targets)
            if self.backend.fp32_batches != fp32_batches and not self.backend.waiting:
                # int8 was made part-way through these articles: all of them again in int8, so
                # that `engine` names what produced every result
                results = self._predict(items, encoded, targets)
            return results
        finally:
            self.count("seconds", time.perf_counter() - start)

    def _predict(self, items: list[dict], encoded: list[Encoded] | None,
                 targets: list[str] | None) -> list:
        raise NotImplementedError

    def values(self, items: list[dict], encoded: list[Encoded] | None,
               targets: list[str] | None) -> list[torch.Tensor]:
        """The scores the outputs are decided from, unchecked, in the current mode: one 1-D
        tensor per decision (calibration measures how far a fast mode shifts them). Empty where
        the outputs cannot be checked (generated text)."""
        return []

    def keep_sample(self, inputs: dict[str, torch.Tensor]) -> None:
        """Add the rows of a batch not kept before to `samples` (calibration runs the same
        articles many times: repeated rows would stand in for the ones not seen)."""
        new = []
        for i, row in enumerate(inputs["input_ids"]):
            key = row.numpy().tobytes()
            if key not in self.seen_rows:
                self.seen_rows.add(key)
                new.append(i)
        if new:
            self.samples.append({k: v[new] for k, v in inputs.items()})

    def batches(self, items: list, lengths: list[int], collate: Callable[[list, int], dict]
                ) -> Iterator[tuple[list[int], dict]]:
        """(indices, tensors on the device) per token-budget batch of `items` (whose token counts
        are `lengths`), longest first; `collate(items, length)` pads a batch to `length` (a
        multiple of `batching.PAD_MULTIPLE`, see there why)."""
        for batch, length in shaped_batches(lengths, self.max_tokens, self.settings.max_length):
            inputs = collate([items[i] for i in batch], length)
            if len(self.seen_rows) < openvino_backend.QUANTISE_ROWS:
                self.keep_sample(inputs)
            self.stats["real_tokens"] += int(inputs["attention_mask"].sum())
            self.stats["computed_tokens"] += inputs["attention_mask"].numel()
            yield batch, {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
