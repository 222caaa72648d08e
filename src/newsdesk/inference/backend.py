"""The backend seam: the one place that knows how a model's forward pass runs.

Predictors hand a backend a batch of tensors and get float scores back; they never see torch
autocast, quantisation or a converted network. Backends: torch eager (here) and OpenVINO
(`inference.openvino_backend`, an extra, with its own static int8). Torch precision modes: fp32,
bf16/fp16 (bf16 weights on CPU, autocast on GPU) and int8 (dynamic quantisation of the linear
layers). Which one "auto" runs is decided on the machine (`inference.calibrate`). Torch's int8
quantises each batch's activations with one scale, so its scores also shift slightly with the
other articles in the batch; pass precision="fp32" where that matters.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from pathlib import Path
from typing import Protocol

import torch


class Backend(Protocol):
    """What predictors call: `backend(inputs)` gives a batch's float scores on the CPU."""

    name: str
    precision: str
    fp32_batches: int
    """Batches run in fp32 instead of `precision` (a quantising backend before its quantiser
    has read enough rows; 0 for the others)."""

    @property
    def engine(self) -> str: ...

    @property
    def waiting(self) -> bool:
        """True while batches run in fp32 instead of `precision` (see `fp32_batches`)."""
        ...

    def __call__(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor: ...


def make_backend(name: str, model: torch.nn.Module, device: torch.device, precision: str,
                 cache: Path | None = None, samples: list[dict] | None = None) -> Backend:
    """The backend `name` ("torch" or "openvino") running `model` in `precision`; `cache` is
    where a converting backend keeps the converted model, `samples` the real input batches a
    quantising one reads its ranges from."""
    if name == "openvino":
        from newsdesk.inference.openvino_backend import OpenVINOBackend

        return OpenVINOBackend(model, device, precision, cache, samples)
    return TorchBackend(model, device, precision)


class TorchBackend:
    """Eager PyTorch in one precision mode."""

    name = "torch"
    fp32_batches = 0
    waiting = False  # runs its precision from the first batch

    def __init__(self, model: torch.nn.Module, device: torch.device, precision: str):
        self.device, self.precision = device, precision
        self.model, self.autocast = model, precision in ("bf16", "fp16")
        if precision == "int8":
            self.model = quantize(model)
        elif precision == "bf16" and device.type == "cpu":
            # bf16 weights, not autocast: no fp32->bf16 cast of every weight in every forward
            # (17% more tokens/s on an AMX CPU, benchmarks/RESULTS.md)
            self.model, self.autocast = copy.deepcopy(model).to(torch.bfloat16), False

    @property
    def engine(self) -> str:
        return f"{self.name}:{self.precision}"

    def __call__(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's scores for one batch (logits, or the sentence scorer's scores), as a
        float tensor on the CPU."""
        mask = inputs.get("attention_mask")
        if mask is not None and bool(mask.all()):
            # no padding in this batch (length-sorted batches often have none): without a mask,
            # attention runs its fast unmasked kernel, with the same result
            inputs = {**inputs, "attention_mask": None}
        with autocast(self.device.type, self.precision if self.autocast else "fp32"):
            out = self.model(**inputs)
        scores = out.logits if hasattr(out, "logits") else out
        return scores.float().cpu()


def quantize(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` whose linear layers run in int8 (weights per tensor, activations per
    batch)."""
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks the eager quantisation API as deprecated
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def autocast(device: str, precision: str):
    """A context manager running the forward pass in the mode's dtype."""
    if precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast(device_type=device.split(":")[0], dtype=dtype)
    return contextlib.nullcontext()
