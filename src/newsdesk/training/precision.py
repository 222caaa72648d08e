"""Mixed-precision choice for training."""

from __future__ import annotations

import torch


def precision_flags(precision: str) -> dict:
    """TrainingArguments flags for "auto", "fp32", "bf16" or "fp16".

    "auto" means bf16 on a GPU that supports it, fp16 on other GPUs, fp32 on CPU (this CPU has no
    native bf16 matrix units, so emulated bf16 is slower than fp32 here).
    """
    if precision == "auto":
        if not torch.cuda.is_available():
            return {}
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    if precision == "fp16" and not torch.cuda.is_available():
        raise ValueError("fp16 training needs a CUDA device; use bf16 or fp32 on CPU")
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def accelerate_precision(precision: str) -> str:
    """The `Accelerator(mixed_precision=...)` value for a newsdesk precision setting."""
    flags = precision_flags(precision)
    return "bf16" if flags.get("bf16") else "fp16" if flags.get("fp16") else "no"
