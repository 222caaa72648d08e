"""Inference precision modes: fp32, bf16/fp16 autocast and int8 dynamic quantisation.

The default on CPU ("auto") is the mode the inference benchmark found fastest among those whose
labels agree with fp32 on at least 99.5% of the BBC dev articles (see benchmarks/RESULTS.md),
chosen per task. On the 2-core AMD EPYC (AVX2, no native bf16) it was measured on: int8 for
topic (1.3-1.5x fp32, 99.6-100% of labels equal), fp32 for stance (int8 kept only 83% of labels)
and summary (int8 kept 25% of summaries identical); bf16 is emulated there, 4-6x slower than fp32.
int8 quantises each batch's activations with one scale, so its scores also shift slightly with
the other articles in the batch; pass precision="fp32" where that matters.
"""

from __future__ import annotations

import contextlib
import warnings

import torch

MODES = ("auto", "fp32", "bf16", "fp16", "int8")
# measured by benchmarks/bench_inference.py, recorded in benchmarks/RESULTS.md
CPU_DEFAULT = {"topic": "int8", "stance": "fp32", "summary": "fp32"}


def resolve_precision(precision: str, device: str, task: str = "summary") -> str:
    """The concrete mode for "auto" on a device: bf16 (or fp16) on CUDA, the measured CPU default
    for the task (topic, stance or summary)."""
    if precision not in MODES:
        raise ValueError(f"precision must be one of {list(MODES)}, got {precision!r}")
    if precision != "auto":
        if precision == "int8" and not device.startswith("cpu"):
            raise ValueError("int8 dynamic quantisation runs on CPU only; use bf16/fp16 on GPU")
        if precision == "fp16" and device.startswith("cpu"):
            raise ValueError("fp16 is for GPUs; on CPU use fp32, bf16 or int8")
        return precision
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.startswith("mps"):
        return "fp16"
    return CPU_DEFAULT.get(task, "fp32")


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
