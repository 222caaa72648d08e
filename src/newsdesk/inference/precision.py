"""Inference precision modes: fp32, bf16/fp16 autocast and int8 dynamic quantisation.

The default on CPU ("auto") is the mode the inference benchmark found fastest among those whose
labels agree with fp32 on at least 99.5% of the BBC dev articles (see benchmarks/RESULTS.md). On
the 2-core AMD EPYC (AVX2, no native bf16) it was measured on, that is fp32: int8 changed stance
labels and summaries, and bf16 is emulated there, many times slower than fp32.
"""

from __future__ import annotations

import contextlib
import warnings

import torch

MODES = ("auto", "fp32", "bf16", "fp16", "int8")
CPU_DEFAULT = "fp32"  # measured: benchmarks/bench_inference.py, recorded in benchmarks/RESULTS.md


def resolve_precision(precision: str, device: str) -> str:
    """The concrete mode for "auto" on a device: bf16 (or fp16) on CUDA, the measured CPU default."""
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
    return CPU_DEFAULT


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
