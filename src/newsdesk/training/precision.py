"""Mixed-precision choice for training."""

from __future__ import annotations

from newsdesk.errors import NewsdeskError
from newsdesk.inference.hardware import detect
from newsdesk.inference.options import PRECISIONS

TRAINING_PRECISIONS = tuple(p for p in PRECISIONS if p != "int8")


def precision_flags(precision: str) -> dict:
    """TrainingArguments flags for "auto", "fp32", "bf16" or "fp16".

    "auto" means bf16 on a GPU that supports it, fp16 on other GPUs; on CPU, bf16 where the CPU
    has bf16 matrix instructions (AMX or AVX512-BF16), else fp32 (emulated bf16 is slower than
    fp32). bf16 on a machine without CUDA trains on the CPU (`use_cpu`, which the Trainer asks
    for).
    """
    if precision not in TRAINING_PRECISIONS:
        raise NewsdeskError(f"training precision must be one of {list(TRAINING_PRECISIONS)}, "
                            f"got {precision!r}")
    import torch  # here, so that a config can be read without loading torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        if not cuda:
            return {"bf16": True, "fp16": False, "use_cpu": True} if detect().native_bf16 else {}
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    if precision == "fp16" and not cuda:
        raise NewsdeskError("fp16 training needs a CUDA device; use bf16 or fp32 on CPU")
    flags = {"bf16": precision == "bf16", "fp16": precision == "fp16"}
    if precision == "bf16" and not cuda:
        flags["use_cpu"] = True
    return flags


def accelerate_precision(precision: str) -> str:
    """The `Accelerator(mixed_precision=...)` value for a newsdesk precision setting."""
    flags = precision_flags(precision)
    return "bf16" if flags.get("bf16") else "fp16" if flags.get("fp16") else "no"
