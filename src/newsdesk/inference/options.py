"""`InferenceOptions`: how a model runs (device, precision, token budget), passed whole.

Every entry point (the predictors, `NewsAnalyzer`, the batch job, Ray, the CLI) takes one
`InferenceOptions` with the same defaults, so a folder scores the same whichever way it is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from newsdesk.errors import NewsdeskError
from newsdesk.models.folder import check_glance

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
"""Inference precision modes; training takes all but int8 (see `training.config`)."""
BACKENDS = ("auto", "torch", "openvino")
"""What runs the forward pass: "auto" times torch and, where installed (`newsdesk[openvino]`)
and on CPU, OpenVINO, and keeps the fastest that agrees with torch fp32."""

# Padded tokens per batch when `max_tokens` is not given. On CPU the matrix multiplies already
# run near the machine's peak with one 256-token input, so bigger batches only add padding.
DEFAULT_MAX_TOKENS = {"cpu": 4096, "cuda": 16384, "mps": 8192}
CALIBRATION_SAMPLE = 128
"""Articles a calibration runs on (the first of the first real batch): at 32, a bf16 stance model
that changed 1% of labels passed unseen (benchmarks/RESULTS.md)."""


@dataclass(frozen=True)
class InferenceOptions:
    """How models run at inference."""

    device: str = "auto"
    """"auto" (cuda, then mps, then cpu) or a torch device such as "cpu", "cuda", "cuda:1"."""
    precision: str = "auto"
    """"auto" (the fastest mode that agrees with fp32, calibrated on this machine: see
    `inference.calibrate`), "fp32", "bf16", "fp16" (GPU) or "int8" (CPU: dynamic quantisation
    on torch, static on openvino)."""
    backend: str = "auto"
    """"auto" (under precision "auto", every installed backend is calibrated; else torch),
    "torch" or "openvino" (CPU, fp32, bf16 or int8; `inference.openvino_backend`)."""
    max_tokens: int | None = None
    """Padded tokens per batch (None: calibrated under "auto", else by device)."""
    cascade: float | None = None
    """Topic: read an article's next chunk only while its averaged top probability is below
    this; 1.0 reads every chunk (None: the model folder's setting)."""
    glance: int | None = None
    """Topic: tokens of an article's opening read before its first chunk, where it may stop; 0
    reads from the first chunk on (None: the model folder's setting; `ClassifierSettings.glance`)."""
    abstain_below: float | None = None
    """Classifiers: no label (`null`, with the top candidates) when the calibrated top score is
    below this; 0 never abstains (None: the model folder's setting)."""

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise NewsdeskError(f"precision must be one of {list(PRECISIONS)}, got {self.precision!r}")
        if self.backend not in BACKENDS:
            raise NewsdeskError(f"backend must be one of {list(BACKENDS)}, got {self.backend!r}")
        if self.max_tokens is not None and (not isinstance(self.max_tokens, int)
                                            or self.max_tokens < 1):
            raise NewsdeskError(f"max_tokens must be a positive integer, got {self.max_tokens!r}")
        if self.cascade is not None and not 0 <= self.cascade <= 1:
            raise NewsdeskError(f"cascade must be in [0, 1], got {self.cascade!r}")
        check_glance(self.glance, NewsdeskError)
        if self.abstain_below is not None and not 0 <= self.abstain_below <= 1:
            raise NewsdeskError(f"abstain_below must be in [0, 1], got {self.abstain_below!r}")

    @classmethod
    def of(cls, options: InferenceOptions | None = None, **changes) -> InferenceOptions:
        """`options` (or the defaults) with `changes` applied; None values change nothing."""
        options = options or cls()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise NewsdeskError(f"unknown inference option(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(options, **{k: v for k, v in changes.items() if v is not None})

    def resolved(self) -> InferenceOptions:
        """The options with the device picked and checked, and the precision checked against
        it ("auto" stays: it is resolved per task by the predictor)."""
        device = pick_device(self.device)
        kind = device.split(":")[0]
        if self.precision == "int8" and kind != "cpu":
            raise NewsdeskError("precision int8 (dynamic quantisation) runs on CPU only; "
                                "use bf16 or fp16 on GPU")
        if self.precision == "fp16" and kind == "cpu":
            raise NewsdeskError("precision fp16 is for GPUs; on CPU use fp32, bf16 or int8")
        if self.backend == "openvino":
            from newsdesk.inference.openvino_backend import available, quantizer_available

            if kind != "cpu":  # every CPU precision (fp32, bf16, int8) runs on it
                raise NewsdeskError(f"backend openvino runs on CPU, not {device}")
            if not available():
                raise NewsdeskError("backend openvino needs the openvino package: "
                                    "pip install 'newsdesk[openvino]'")
            if self.precision == "int8" and not quantizer_available():
                raise NewsdeskError("int8 on backend openvino needs the nncf package: "
                                    "pip install 'newsdesk[openvino]'")
        return dataclasses.replace(self, device=device)

    def backends(self) -> tuple[str, ...]:
        """The backends a resolved `precision="auto"` calibrates (torch fp32, the reference, is
        timed whatever they are)."""
        if self.backend != "auto":
            return (self.backend,)
        from newsdesk.inference.openvino_backend import available

        return ("torch", "openvino") if self.device == "cpu" and available() else ("torch",)

    def fixed_backend(self) -> str:
        """The backend an explicit precision runs on."""
        return "torch" if self.backend == "auto" else self.backend

    def token_budget(self) -> int:
        """Padded tokens per batch on this device."""
        return self.max_tokens or DEFAULT_MAX_TOKENS.get(self.device.split(":")[0], 8192)


def pick_device(device: str = "auto") -> str:
    """"auto" picks cuda, then mps, then cpu; anything else is checked and returned."""
    import torch  # here, so that reading the options loads no model library

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        raise NewsdeskError(f"device must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise NewsdeskError(f"device {device!r} asked for, but no CUDA device is available "
                            "(use --device cpu or auto)")
    if kind == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise NewsdeskError(f"device {device!r} asked for, but MPS is not available")
    return device
