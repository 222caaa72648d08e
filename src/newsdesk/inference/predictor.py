"""The predictor interface that `NewsAnalyzer`, the batch job and Ray call.

A predictor holds one model folder's model, tokenizer and settings (`models.folder`) and the
`InferenceOptions` it runs under. Work is split in two halves so a batch job can tokenise the next
window on the CPU while the models run this one:

- `encode(items)` splits and tokenises articles (shared by predictors whose `encoding_key` is
  equal, i.e. models fine-tuned from the same tokenizer);
- `predict_encoded(items, encoded, targets)` runs the model and returns one result per article,
  of the shape its task's `output` names (see `models.tasks`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import torch

from newsdesk.errors import NewsdeskError
from newsdesk.inference.batching import token_budget_batches
from newsdesk.inference.options import InferenceOptions
from newsdesk.inference.precision import prepare_model, resolve_precision
from newsdesk.models.encoding import Encoded, encode_articles, is_separable, tokenizer_key
from newsdesk.models.folder import Settings, read_settings
from newsdesk.models.loading import check_model_folder


class Predictor:
    """Base of `ClassifierPredictor` and `SummaryPredictor`."""

    kinds: tuple[str, ...] = ()  # the folder kinds a subclass loads

    def __init__(self, model, tokenizer, settings: Settings,
                 options: InferenceOptions | None = None):
        options = InferenceOptions.of(options).resolved()
        self.settings = settings
        self.task = settings.task_info
        self.precision = resolve_precision(options.precision, options.device, self.task.name)
        self.options = dataclasses.replace(options, precision=self.precision)
        self.device = torch.device(options.device)
        self.max_tokens = options.token_budget()
        self.model = prepare_model(model.to(self.device).eval(), self.precision)
        self.tokenizer = tokenizer
        self.stats = {"real_tokens": 0, "computed_tokens": 0}  # padding efficiency

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

    def predict_encoded(self, items: list[dict], encoded: list[Encoded],
                        targets: list[str] | None = None) -> list:
        """One result per article, in input order (see the task's `output`)."""
        raise NotImplementedError

    def batches(self, items: list, lengths: list[int], collate: Callable[[list], dict]
                ) -> Iterator[tuple[list[int], dict]]:
        """(indices, tensors on the device) per token-budget batch of `items` (whose token counts
        are `lengths`), longest first."""
        for batch in token_budget_batches(lengths, self.max_tokens):
            inputs = collate([items[i] for i in batch])
            self.stats["real_tokens"] += int(inputs["attention_mask"].sum())
            self.stats["computed_tokens"] += inputs["attention_mask"].numel()
            yield batch, {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
