"""What the machine can do, read where the code runs: CPU model and instruction sets, CUDA.

Speed choices (precision, token budget) are made from these capabilities and a short
calibration on the machine itself (`inference.calibrate`), never from a table measured elsewhere.
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass, field
from pathlib import Path

# CPU flags that decide which precisions can be fast (names as /proc/cpuinfo spells them)
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8",
         "avx_vnni")


@dataclass(frozen=True)
class Capabilities:
    """A machine's compute capabilities, as far as newsdesk's choices depend on them."""

    cpu_model: str
    flags: frozenset[str] = field(default_factory=frozenset)
    threads: int = 1
    cuda: str | None = None
    """The CUDA device's name and compute capability ("NVIDIA H100 (9.0)"), if any."""
    cuda_bf16: bool = False

    @property
    def native_bf16(self) -> bool:
        """bf16 matrix multiplies in hardware (AMX or AVX512-BF16), not emulated."""
        return bool({"amx_bf16", "avx512_bf16"} & self.flags)

    @property
    def int8_dot(self) -> bool:
        """int8 dot-product instructions (VNNI or AMX-INT8) that quantised matmuls use."""
        return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & self.flags)

    @property
    def kind(self) -> str:
        """A short name for the machine kind: "amx", "avx512-bf16", "avx512", "avx2" or "basic"."""
        if "amx_bf16" in self.flags:
            return "amx"
        if "avx512_bf16" in self.flags:
            return "avx512-bf16"
        if "avx512f" in self.flags:
            return "avx512"
        return "avx2" if "avx2" in self.flags else "basic"

    def key(self) -> str:
        """Equal for machines whose speed choices can be shared (same CPU, flags, threads,
        torch build and GPU)."""
        import torch

        text = "|".join([self.cpu_model, ",".join(sorted(self.flags)), str(self.threads),
                         torch.__version__, self.cuda or "-"])
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def describe(self) -> str:
        flags = ", ".join(f for f in FLAGS if f in self.flags) or "none of " + ", ".join(FLAGS)
        gpu = f"; GPU {self.cuda}" if self.cuda else ""
        return f"{self.cpu_model} ({self.threads} threads; {flags}){gpu}"


def detect(cpuinfo: str | None = None) -> Capabilities:
    """The capabilities of this machine.

    Args:
        cpuinfo: the text of /proc/cpuinfo (read from the machine when None; tests pass their own).
    """
    import torch  # here, so that importing the module loads no model library

    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    model, flags = platform.processor() or platform.machine(), set()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "model name" and value.strip():
            model = value.strip()
        elif name in ("flags", "Features") and not flags:
            flags = set(value.split())
    cuda = None
    cuda_bf16 = False
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        cuda = f"{torch.cuda.get_device_name()} ({major}.{minor})"
        cuda_bf16 = torch.cuda.is_bf16_supported()
    return Capabilities(model, frozenset(f for f in flags if f in FLAGS), torch.get_num_threads(),
                        cuda, cuda_bf16)


def candidate_precisions(caps: Capabilities, device: str) -> list[str]:
    """The precisions worth timing on this machine and device, fp32 (the reference) first.

    On CPU, bf16 is a candidate only where the hardware has it (emulated bf16 is several times
    slower than fp32); int8 dynamic quantisation always is (it runs on AVX2 too).
    """
    kind = device.split(":")[0]
    if kind == "cuda":
        return ["fp32", "bf16" if caps.cuda_bf16 else "fp16"]
    if kind == "mps":
        return ["fp32", "fp16"]
    return ["fp32"] + (["bf16"] if caps.native_bf16 else []) + ["int8"]


def candidate_modes(caps: Capabilities, device: str, backends: tuple[str, ...] = ("torch",),
                    openvino_int8: bool = False) -> list[tuple[str, str]]:
    """(backend, precision) pairs worth timing, torch fp32 (the reference) first, whatever
    `backends` allows: torch's `candidate_precisions`; OpenVINO's fp32, bf16 where the CPU has
    it natively, and int8 where its quantiser is installed (`openvino_int8`), on CPU only."""
    modes = [("torch", p) for p in candidate_precisions(caps, device)
             if "torch" in backends or p == "fp32"]
    if "openvino" in backends and device.split(":")[0] == "cpu":
        modes += [("openvino", "fp32")] + ([("openvino", "bf16")] if caps.native_bf16 else [])
        modes += [("openvino", "int8")] if openvino_int8 else []
    return modes
