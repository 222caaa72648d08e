"""Inference precision modes: fp32, bf16/fp16 autocast and int8 dynamic quantisation.

The CPU choice for "auto" is the mode the inference benchmark found fastest among those whose
labels agreed with fp32 on at least 99.5% of the BBC dev articles (benchmarks/RESULTS.md), per
task: int8 for topic; fp32 for stance (int8 kept only 83% of its labels) and summary. int8
quantises each batch's activations with one scale, so its scores also shift slightly with the
other articles in the batch; pass precision="fp32" where that matters.
"""

from __future__ import annotations

import contextlib
import warnings

import torch

CPU_DEFAULT = {"topic": "int8", "stance": "fp32", "summary": "fp32"}


def resolve_precision(precision: str, device: str, task: str) -> str:
    """The concrete mode for a checked precision (see `InferenceOptions.resolved`) on a device:
    "auto" is bf16 (or fp16) on CUDA, fp16 on MPS, the CPU default for the task on CPU."""
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.startswith("mps"):
        return "fp16"
    return CPU_DEFAULT[task]


def prepare_model(model: torch.nn.Module, precision: str) -> torch.nn.Module:
    """Quantise the linear layers for int8; other modes leave the weights as they are."""
    if precision != "int8":
        return model
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
