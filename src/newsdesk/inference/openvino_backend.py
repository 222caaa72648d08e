"""OpenVINO as a backend (`pip install 'newsdesk[openvino]'`), for CPUs.

The model folder's torch model is converted once (`openvino.convert_model`, dynamic batch and
length) and the converted network is cached beside the calibration decisions, keyed by the
folder's fingerprint (`calibrate.folder_fingerprint`), so a changed folder converts again. It
runs in fp32 or bf16 (`INFERENCE_PRECISION_HINT`; bf16 only where the CPU has it natively).
For a sentence scorer (`models.extractive.SentenceScorer`) only the encoder is converted: its
sentence pooling depends on how many sentences a window holds, which a converted graph would
freeze, so that step stays in torch.

Why it is a backend (benchmarks/RESULTS.md, `bench_backends.py`): on a 2-core AMX Xeon its fp32
ran 15-18% faster than torch fp32 and its bf16 level with newsdesk's torch bf16 (+1-6%); fp32 is
what AVX2-only CPUs keep. Calibration times it beside torch and keeps it where it wins.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
import weakref
from pathlib import Path

import torch

from newsdesk.errors import NewsdeskError

HINTS = {"fp32": "f32", "bf16": "bf16"}
"""The precisions it runs, as OpenVINO names them."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""The tensors a converted network reads; others (a scorer's `sentence_of_token`) stay in torch."""
CONVERTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Networks converted in this process, by the torch module they came from and the inputs fed:
calibration's second precision compiles the first one's conversion instead of converting again."""


def available() -> bool:
    """Whether the openvino package is installed."""
    return importlib.util.find_spec("openvino") is not None


class OpenVINOBackend:
    """A model converted to OpenVINO and compiled for the CPU in one precision."""

    name = "openvino"

    def __init__(self, model: torch.nn.Module, device: torch.device, precision: str,
                 cache: Path | None = None):
        """
        Args:
            model: the torch model in fp32 (a classifier, or a sentence scorer).
            precision: "fp32" or "bf16".
            cache: a folder for the converted network (None: converted in memory only).
        """
        if not available():
            raise NewsdeskError("the openvino backend needs the openvino package: "
                                "pip install 'newsdesk[openvino]'")
        if device.type != "cpu":
            raise NewsdeskError(f"the openvino backend runs on CPU, not {device.type}")
        if precision not in HINTS:
            raise NewsdeskError(f"the openvino backend runs {list(HINTS)}, not {precision!r}")
        self.device, self.precision, self.cache = device, precision, cache
        self.model = model
        self.pools = hasattr(model, "pool_sentences")  # a scorer: the encoder is converted
        self.network = model.encoder if self.pools else model
        self.compiled, self.reads = None, set()

    @property
    def engine(self) -> str:
        return f"{self.name}:{self.precision}"

    def __call__(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's scores for one batch, as a float tensor (see `TorchBackend`)."""
        feeds = {k: v for k, v in inputs.items() if k in INPUTS and v is not None}
        if self.compiled is None:
            self.compiled = self.compile(feeds)
            # a model that ignores an input (a mean-pooling embedder, token_type_ids) loses it
            self.reads = {name for port in self.compiled.inputs for name in port.get_names()}
        out = self.compiled({k: v.cpu().numpy() for k, v in feeds.items() if k in self.reads})[0]
        out = torch.from_numpy(out)
        if self.pools:
            return self.model.pool_sentences(out, inputs["sentence_of_token"]).float()
        return out.float()

    def compile(self, feeds: dict[str, torch.Tensor]):
        """The network compiled for this CPU: this process's conversion of it, else the one in
        the cache, else converted with `feeds` as the example input (and cached)."""
        import openvino as ov

        core = ov.Core()
        inputs = "-".join(sorted(feeds))
        done = CONVERTED.setdefault(self.network, {})
        path = None if self.cache is None else self.cache / f"{inputs}.xml"
        if inputs in done:
            network = done[inputs]
        elif path is not None and path.is_file():
            network = core.read_model(path)
        else:
            with torch.no_grad(), warnings.catch_warnings():
                # the trace notes that Python-level checks (is the attention causal?) become
                # constants: true of an encoder at every shape
                warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
                network = ov.convert_model(self.network, example_input=dict(feeds))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.stem}.{os.getpid()}.xml")  # whole files or none
                ov.save_model(network, tmp, compress_to_fp16=False)
                os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
                os.replace(tmp, path)
        done[inputs] = network
        config = {"INFERENCE_PRECISION_HINT": HINTS[self.precision],
                  "INFERENCE_NUM_THREADS": torch.get_num_threads()}
        return core.compile_model(network, "CPU", config)
