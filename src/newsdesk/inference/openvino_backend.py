"""OpenVINO as a backend (`pip install 'newsdesk[openvino]'`), for CPUs.

The model folder's torch model is converted once (`openvino.convert_model`, dynamic batch and
length) and the converted network is cached beside the calibration decisions, keyed by the
folder's fingerprint (`calibrate.folder_fingerprint`), so a changed folder converts again. It
runs in fp32 or bf16 (`INFERENCE_PRECISION_HINT`; bf16 only where the CPU has it natively), or
in int8: the converted network quantised by NNCF's post-training quantisation (per-channel
int8 weights, per-tensor int8 activations whose ranges are read from `QUANTISE_ROWS` rows of
the predictor's own first inputs; softmax and layer norm stay in float), which OpenVINO
runs on VNNI or AMX-INT8 where the CPU has them. The quantised network is cached like the
conversion, so the first real inputs a folder ran on set its ranges for later runs too.
For a sentence scorer (`models.extractive.SentenceScorer`) only the encoder is converted: its
sentence pooling depends on how many sentences a window holds, which a converted graph would
freeze, so that step stays in torch.

Why it is a backend (benchmarks/RESULTS.md, `bench_backends.py`): on a 2-core AMX Xeon its fp32
ran 15-18% faster than torch fp32 and its bf16 level with newsdesk's torch bf16 (+1-6%); fp32 is
what AVX2-only CPUs keep. Its int8 forward pass ran 3.6x its fp32 and 1.05x its bf16 there.
Calibration times it beside torch and keeps it where it wins.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import warnings
import weakref
from pathlib import Path

import torch

from newsdesk.errors import NewsdeskError

HINTS = {"fp32": "f32", "bf16": "bf16"}
"""The float precisions it runs, as OpenVINO names them."""
PRECISIONS = (*HINTS, "int8")
QUANTISE_ROWS = 64
"""Rows of real inputs the int8 quantiser reads its activation ranges from. On the BBC topic
preset, ranges from 8 rows changed 4.3% of dev labels against fp32, from 16 rows 1.1%, from 64
and from 300 rows 0.35% (benchmarks/RESULTS.md); until a predictor has seen this many distinct rows, an
int8 backend runs its batches in fp32."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""The tensors a converted network reads; others (a scorer's `sentence_of_token`) stay in torch."""
CONVERTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Networks converted in this process, by the torch module they came from and the inputs fed:
calibration's second precision compiles the first one's conversion instead of converting again."""


def available() -> bool:
    """Whether the openvino package is installed."""
    return importlib.util.find_spec("openvino") is not None


def quantizer_available() -> bool:
    """Whether int8 can be made too (the nncf package, part of `newsdesk[openvino]`)."""
    return available() and importlib.util.find_spec("nncf") is not None


class OpenVINOBackend:
    """A model converted to OpenVINO and compiled for the CPU in one precision."""

    name = "openvino"

    def __init__(self, model: torch.nn.Module, device: torch.device, precision: str,
                 cache: Path | None = None, samples: list[dict] | None = None):
        """
        Args:
            model: the torch model in fp32 (a classifier, or a sentence scorer).
            precision: "fp32", "bf16" or "int8".
            cache: a folder for the converted network (None: converted in memory only).
            samples: int8 only: input batches the predictor has run, which it keeps adding to
                until they hold `QUANTISE_ROWS` rows; the quantiser reads its ranges from them.
        """
        if not available():
            raise NewsdeskError("the openvino backend needs the openvino package: "
                                "pip install 'newsdesk[openvino]'")
        if device.type != "cpu":
            raise NewsdeskError(f"the openvino backend runs on CPU, not {device.type}")
        if precision not in PRECISIONS:
            raise NewsdeskError(f"the openvino backend runs {list(PRECISIONS)}, not {precision!r}")
        if precision == "int8" and not quantizer_available():
            raise NewsdeskError("int8 on the openvino backend needs the nncf package: "
                                "pip install 'newsdesk[openvino]'")
        self.device, self.precision, self.cache = device, precision, cache
        self.samples = [] if samples is None else samples
        self.model = model
        self.pools = hasattr(model, "pool_sentences")  # a scorer: the encoder is converted
        self.network = model.encoder if self.pools else model
        self.compiled, self.reads, self.unquantised = None, set(), None
        self.fp32_batches = 0  # int8 only: batches run in fp32 before it was made

    @property
    def engine(self) -> str:
        return f"{self.name}:{'fp32' if self.waiting else self.precision}"

    @property
    def waiting(self) -> bool:
        """True for int8 whose last batch ran in fp32: too few rows seen yet to quantise."""
        return self.precision == "int8" and self.compiled is None and self.unquantised is not None

    def __call__(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's scores for one batch, as a float tensor (see `TorchBackend`)."""
        feeds = {k: v for k, v in inputs.items() if k in INPUTS and v is not None}
        if self.compiled is None:
            self.compiled = self.compile(feeds)
        compiled = self.compiled
        if compiled is None:  # int8 before enough rows were seen to quantise: fp32
            compiled = self.unquantised = self.unquantised or self.compile(feeds, quantise=False)
            self.fp32_batches += 1
        if not self.reads:  # the same for the int8 network and its fp32 stand-in
            # a model that ignores an input (a mean-pooling embedder, token_type_ids) loses it
            self.reads = {name for port in compiled.inputs for name in port.get_names()}
        out = compiled({k: v.cpu().numpy() for k, v in feeds.items() if k in self.reads})[0]
        out = torch.from_numpy(out)
        if self.pools:
            return self.model.pool_sentences(out, inputs["sentence_of_token"]).float()
        return out.float()

    def compile(self, feeds: dict[str, torch.Tensor], quantise: bool = True):
        """The network compiled for this CPU in the backend's precision (fp32 where
        `quantise` is False); None for int8 while too few rows were seen to quantise."""
        import openvino as ov

        network = self.converted(feeds)
        hint = HINTS.get(self.precision, "f32")
        if self.precision == "int8" and quantise:
            network = self.quantised(network, "-".join(sorted(feeds)))
            if network is None:
                return None
            from newsdesk.inference.hardware import detect

            # what stays in float (attention's softmax, GELU, layer norm) runs in bf16 where
            # the CPU has it natively
            hint = "bf16" if detect().native_bf16 else "f32"
        config = {"INFERENCE_PRECISION_HINT": hint,
                  "INFERENCE_NUM_THREADS": torch.get_num_threads()}
        return ov.Core().compile_model(network, "CPU", config)

    def converted(self, feeds: dict[str, torch.Tensor]):
        """The network in fp32: this process's conversion of it, else the one in the cache,
        else converted with `feeds` as the example input (and cached)."""
        import openvino as ov

        inputs = "-".join(sorted(feeds))
        done = CONVERTED.setdefault(self.network, {})
        path = None if self.cache is None else self.cache / f"{inputs}.xml"
        if inputs in done:
            network = done[inputs]
        elif path is not None and path.is_file():
            network = ov.Core().read_model(path)
        else:
            with torch.no_grad(), warnings.catch_warnings(), \
                    quiet(logging.getLogger("transformers")):
                # the trace notes that Python-level checks (is the attention causal?) become
                # constants: true of an encoder at every shape; and it reads every property of
                # the model, deprecated ones too
                warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
                warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
                network = ov.convert_model(self.network, example_input=dict(feeds))
            save(network, path)
        done[inputs] = network
        return network

    def quantised(self, network, inputs: str):
        """`network` quantised to int8: this process's, else the cache's, else made from the
        rows in `samples` (and cached); None while they hold fewer than `QUANTISE_ROWS`."""
        import openvino as ov

        done = CONVERTED.setdefault(self.network, {})
        key = f"{inputs}.int8"
        path = None if self.cache is None else self.cache / f"{key}.xml"
        if key in done:
            return done[key]
        if path is not None and path.is_file():
            done[key] = ov.Core().read_model(path)
            return done[key]
        if sum(len(s["input_ids"]) for s in self.samples) < QUANTISE_ROWS:
            return None
        import nncf
        from nncf.common.logging import nncf_logger

        names = {name for port in network.inputs for name in port.get_names()}
        rows = [{k: v.cpu().numpy() for k, v in s.items() if k in names} for s in self.samples]
        # its progress bars go to stdout, where a user's results may go; with its bias
        # correction and SmoothQuant, though without them it takes half the time (5 s
        # instead of 11 on the topic preset): without, calibration measured int8 moving
        # scores about twice as far, so more close calls were made again (RESULTS.md)
        with quiet(nncf_logger), contextlib.redirect_stdout(io.StringIO()):
            done[key] = nncf.quantize(network.clone(), nncf.Dataset(rows),
                                      subset_size=len(rows),
                                      model_type=nncf.ModelType.TRANSFORMER)
        save(done[key], path)
        return done[key]


@contextlib.contextmanager
def quiet(logger: logging.Logger):
    """`logger` says only errors while the block runs."""
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def save(network, path: Path | None) -> None:
    """Write a network to `path` (.xml and .bin), whole files or none; nothing for None."""
    if path is None:
        return
    import openvino as ov

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.xml")
    ov.save_model(network, tmp, compress_to_fp16=False)
    os.replace(tmp.with_suffix(".bin"), path.with_suffix(".bin"))
    os.replace(tmp, path)
