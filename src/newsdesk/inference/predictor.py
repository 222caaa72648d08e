"""What the task predictors share: precision, device, the token budget and padding statistics."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from newsdesk.inference.batching import token_budget_batches
from newsdesk.inference.precision import prepare_model, resolve_precision

# Padded tokens per batch. On CPU the matrix multiplies already run near the machine's peak with
# one 256-token input, so bigger batches only add padding and memory (benchmarks/RESULTS.md).
DEFAULT_MAX_TOKENS = {"cpu": 4096, "cuda": 16384, "mps": 8192}


class Predictor:
    """Base of `ClassifierPredictor` and `SummaryPredictor`."""

    def __init__(self, model, tokenizer, settings: dict, device: str = "cpu",
                 precision: str = "fp32", max_tokens: int | None = None):
        self.precision = resolve_precision(precision, device, settings.get("task", "summary"))
        self.model = prepare_model(model.eval(), self.precision)
        self.tokenizer = tokenizer
        self.settings = settings
        self.device = torch.device(device)
        self.max_tokens = max_tokens or DEFAULT_MAX_TOKENS.get(self.device.type, 8192)
        self.stats = {"real_tokens": 0, "computed_tokens": 0}  # padding efficiency

    def batches(self, items: list, lengths: list[int], collate: Callable[[list], dict]
                ) -> Iterator[tuple[list[int], dict]]:
        """(indices, tensors on the device) per token-budget batch of `items` (whose token counts
        are `lengths`), longest first."""
        for batch in token_budget_batches(lengths, self.max_tokens):
            inputs = collate([items[i] for i in batch])
            self.stats["real_tokens"] += int(inputs["attention_mask"].sum())
            self.stats["computed_tokens"] += inputs["attention_mask"].numel()
            yield batch, {k: v.to(self.device, non_blocking=True) for k, v in inputs.items()}
