"""Choose the backend, precision and token budget on the machine itself, and remember the choice.

Like cuDNN's benchmark mode: the first time a model folder runs under `precision="auto"` on a
machine, its first real inputs are run in every candidate mode, a backend and a precision the
hardware can make fast (`hardware.candidate_modes`: torch, and OpenVINO where installed), each
output is checked against torch fp32 on those same inputs (labels for classifiers, the exact
summary for summarisers), and the fastest mode that agrees is kept; then the token budget is
timed the same way. Every mode but torch fp32 (OpenVINO's fp32 too: it sums in another order) is
timed *checked*: its tolerance is how far it moves, against fp32 on the same inputs, the
difference between two neighbouring scores (the `QUANTILE` of those moves; the largest move
where that tolerance still lets outputs change), and close calls within it are made again in
fp32 (`Predictor.checked`), so the time includes those fp32 runs. OpenVINO's int8 is timed only
where the calibration inputs hold the rows its quantiser reads (`openvino_backend.QUANTISE_ROWS`):
with fewer it would run fp32 while timed and int8 after. The decision is cached in a
small JSON file (`$NEWSDESK_CACHE/calibration.json`, default `~/.cache/newsdesk`) keyed by the
machine's capabilities, the folder's fingerprint, the task, the device and the modes timed,
so a changed machine or model folder, or a backend installed since, calibrates again. `newsdesk
calibrate MODEL_DIR --data ...` shows the table and redoes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from newsdesk.inference import openvino_backend
from newsdesk.inference.hardware import Capabilities, candidate_modes, detect
from newsdesk.models.embedding import FOLDER

AGREEMENT = {"prediction": 0.995, "per_target": 0.995, "text": 0.99}
"""Least share of outputs equal to fp32's for a mode to be kept, by the task's output kind."""
BUDGETS = {"cpu": (2048, 4096, 8192), "cuda": (8192, 16384, 32768), "mps": (4096, 8192)}
WARM_UP = 8
"""Articles each mode runs on once before it is timed."""
QUANTILE = {"prediction": 0.99, "per_target": 0.99, "text": 0.95}
"""The tolerance is this quantile (by the task's output kind) of the moves seen in calibration,
not their maximum: on BBC dev the preset summariser's bf16 scores moved neighbouring differences
by 0.061 at the 0.99 quantile and 0.094 at most; checking at 0.061 rechecked 19% of articles
instead of 29%, and every summary still equalled fp32's. Summaries use 0.95: on 882 BBC articles
(dev and 600 of train) checking at 0.041 rechecked 13.7% of them instead of 17.9% at 0.99, every
summary equal to fp32's; the first one to differ comes at the 0.85 quantile (benchmarks/
RESULTS.md). Labels keep 0.99: they are rarely close (0-1% of articles), so rechecks cost little."""


@dataclass
class Decision:
    """The calibrated choice for one (machine, folder, task, device), and the table behind it."""

    precision: str
    max_tokens: int
    rows: list[dict] = field(default_factory=list)
    """One row per timed run: backend, precision, max_tokens, tolerance, seconds, rechecked
    (share of decisions made again in fp32), agreement, agrees."""
    machine: str = ""
    articles: int = 0
    tolerance: float = 0.0
    """Close calls within this are made again in fp32 (0: unchecked)."""
    backend: str = "torch"

    def table(self) -> str:
        lines = [f"machine: {self.machine}", f"calibrated on {self.articles} articles",
                 f"{'backend':<10}{'precision':<10}{'max_tokens':>11}{'tolerance':>10}"
                 f"{'seconds':>10}{'rechecked':>10}{'agreement':>11}  kept"]
        chosen = (self.backend, self.precision, self.max_tokens, round(self.tolerance, 6))
        for r in self.rows:
            backend = r.get("backend", "torch")
            if r.get("failed"):
                lines.append(f"{backend:<10}{r['precision']:<10}{r['max_tokens']:>11}"
                             f"{'-':>10}{'-':>10}{'-':>10}{'-':>11}  failed: {r['failed']}")
                continue
            row = (backend, r["precision"], r["max_tokens"], r.get("tolerance", 0))
            kept = "<-" if row == chosen and r["agrees"] else ("" if r["agrees"] else "differs")
            lines.append(f"{backend:<10}{r['precision']:<10}{r['max_tokens']:>11}"
                         f"{r.get('tolerance', 0):>10.4f}"
                         f"{r['seconds']:>10.3f}{r.get('rechecked', 0):>10.3f}"
                         f"{r['agreement']:>11.3f}  {kept}")
        return "\n".join(lines)


def cache_file() -> Path:
    root = os.environ.get("NEWSDESK_CACHE") or Path.home() / ".cache" / "newsdesk"
    return Path(root) / "calibration.json"


def folder_fingerprint(folder: str | Path) -> str:
    """Changes when the folder's weights or settings change: the settings files in full, and
    each weight file's size with a hash of its first and last MiB (the embedder's too,
    `models.embedding`)."""
    folder = Path(folder)
    digest = hashlib.sha1()
    inside = folder / FOLDER
    for path in sorted(folder.iterdir()) + (sorted(inside.iterdir()) if inside.is_dir() else []):
        if path.suffix == ".json" and path.name in ("config.json", "newsdesk.json", "lexical.json"):
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
        elif path.suffix == ".safetensors":
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(1 << 20)
                f.seek(max(0, size - (1 << 20)))
                tail = f.read()
            digest.update(f"{path.relative_to(folder).as_posix()}:{size}".encode() + head + tail)
    return digest.hexdigest()[:16]


def cache_key(fingerprint: str, task: str, device: str, caps: Capabilities | None = None,
              backends: tuple[str, ...] = ("torch",)) -> str:
    """Where a decision is cached: this machine (or `caps`), the folder, the task, the device,
    the modes timed (`backends`' candidate modes: a quantiser installed since adds one)."""
    caps = caps or detect()
    modes = "+".join(f"{b}:{p}" for b, p in candidate_modes(
        caps, device, backends, openvino_backend.quantizer_available()))
    return f"{caps.key()}/{fingerprint}/{task}/{device}/{modes}"


def load_decision(key: str) -> Decision | None:
    path = cache_file()
    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text()).get(key)
        return Decision(**entry) if entry else None
    except (json.JSONDecodeError, TypeError):
        return None  # a damaged cache is recalibrated, not trusted


def save_decision(key: str, decision: Decision) -> None:
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        cached = json.loads(path.read_text()) if path.is_file() else {}
    except json.JSONDecodeError:
        cached = {}
    cached[key] = asdict(decision)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cached, indent=1) + "\n")
    os.replace(tmp, path)


def labels_of(outputs: list) -> list:
    """What must agree with fp32: the label of each prediction (each target's, for stance; the
    top candidate where the prediction abstained), or the summary text."""
    def label(p: dict):
        if "labels" in p:  # multi-label: the set of labels must agree
            return tuple(p["labels"])
        return p["label"] if p["label"] is not None else p["candidates"][0][0]

    flat = []
    for out in outputs:
        if isinstance(out, dict) and ("label" in out or "labels" in out):
            flat.append(label(out))
        elif isinstance(out, dict):
            flat.extend(label(p) for _, p in sorted(out.items()))
        else:
            flat.append(out)
    return flat


def agreement(reference: list, outputs: list) -> float:
    ref, got = labels_of(reference), labels_of(outputs)
    return sum(a == b for a, b in zip(ref, got)) / max(1, len(ref))


def shift(reference: list, values: list, quantile: float = QUANTILE["prediction"]) -> float:
    """How far `values` move, from `reference` (matching lists of 1-D score tensors), the
    difference between two scores that are neighbours in the reference's order: the `quantile`
    of those moves over every tensor."""
    moves = []
    for ref, got in zip(reference, values):
        if len(ref) > 1:
            order = ref.float().argsort(descending=True)
            delta = (got.float() - ref.float())[order]
            moves.append((delta[1:] - delta[:-1]).abs())
    if not moves:
        return 0.0
    return float(torch.quantile(torch.cat(moves), quantile))


def calibrate(predictor, run: Callable[[int | None], list], articles: int,
              caps: Capabilities | None = None,
              timer: Callable[[], float] = time.perf_counter,
              values: Callable[[], list] | None = None) -> Decision:
    """Time `run` (a prediction over real inputs) in each candidate mode (backend and
    precision), then each token budget of the fastest agreeing one; leave the predictor in the
    chosen mode.

    Args:
        predictor: a `Predictor`; its `use(precision, max_tokens, tolerance, backend)` switches
            the mode, its `backends()` names the backends it may run on.
        run: runs the predictor over the first N calibration inputs (all for None) and returns
            its outputs.
        articles: how many articles `run` covers (recorded).
        caps: the machine's capabilities (detected when None; tests pass their own).
        timer: the clock (tests inject one).
        values: gives the scores behind `run`'s outputs, unchecked, in the current mode
            (`Predictor.values`); None (or no scores) runs reduced precisions unchecked.
    """
    caps = caps or detect()
    device = predictor.device.type
    needed = AGREEMENT[predictor.task.output]
    budgets = BUDGETS.get(device, (8192,))
    default_budget = predictor.options.token_budget()
    rows, reference, reference_values = [], None, None

    def measure(backend: str, precision: str, max_tokens: int, tolerance: float = 0.0
                ) -> dict | None:
        predictor.use(precision, max_tokens, tolerance, backend)
        run(WARM_UP)  # warm-up: kernels, allocations
        if predictor.backend.waiting:
            return None  # int8 not made: these articles are too few rows to quantise from
        predictor.stats = {"real_tokens": 0, "computed_tokens": 0}
        start = timer()
        outputs = run(None)
        seconds = timer() - start
        nonlocal reference
        if reference is None:
            reference = outputs
        share = agreement(reference, outputs)
        rechecked = predictor.stats.get("rechecked", 0) / max(1, predictor.stats.get("checked", 0))
        row = {"backend": backend, "precision": precision, "max_tokens": max_tokens,
               "tolerance": round(tolerance, 6),
               "seconds": round(seconds, 4), "rechecked": round(rechecked, 4),
               "agreement": round(share, 4), "agrees": share >= needed}
        rows.append(row)
        return row

    backends = predictor.backends()
    def try_mode(backend: str, precision: str) -> None:
        nonlocal reference_values
        tolerances = [0.0]
        if values is not None:
            predictor.use(precision, default_budget, 0.0, backend)
            if (backend, precision) == ("torch", "fp32"):  # the reference
                reference_values = values()
            elif reference_values:
                moved = values()
                # the quantile first; where that still changes outputs, the largest move
                quantile = QUANTILE[predictor.task.output]
                tolerances = [shift(reference_values, moved, quantile),
                              shift(reference_values, moved, 1.0)]
        for tolerance in tolerances:
            row = measure(backend, precision, default_budget, tolerance)
            if row is None or row["agreement"] == 1.0 or tolerance == tolerances[-1]:
                break
            # it changed an output here, where the agreement share may still pass: the first
            # tolerance is not kept, the largest move is timed instead
            row["agrees"] = False

    for backend, precision in candidate_modes(caps, device, backends,  # torch fp32 first
                                              openvino_backend.quantizer_available()):
        if (backend, precision) == ("torch", "fp32"):
            try_mode(backend, precision)  # the reference: its errors are the job's
            continue
        try:
            try_mode(backend, precision)
        except Exception as error:  # a candidate this machine cannot run
            # e.g. a runtime without kernels for a precision the CPU flags promise: the mode is
            # passed over (and shown so in the table), not the job stopped
            reason = (str(error).strip().splitlines() or [type(error).__name__])[-1][:160]
            warnings.warn(f"calibration: {backend} {precision} failed on this machine and is "
                          f"passed over ({type(error).__name__}: {reason})", stacklevel=2)
            rows.append({"backend": backend, "precision": precision,
                         "max_tokens": default_budget, "tolerance": 0.0, "seconds": None,
                         "rechecked": 0.0, "agreement": 0.0, "agrees": False,
                         "failed": f"{type(error).__name__}: {reason}"})
    # torch fp32, the reference, where no mode of the allowed backends agrees
    best = min([r for r in rows if r["agrees"] and r["backend"] in backends] or rows[:1],
               key=lambda r: r["seconds"])
    mode = (best["backend"], best["precision"])
    if predictor.options.max_tokens is None:  # a budget the user set is kept
        for budget in budgets:
            if budget != default_budget:
                measure(*mode, budget, best["tolerance"])
        best = min((r for r in rows if r["agrees"] and (r["backend"], r["precision"]) == mode),
                   key=lambda r: r["seconds"])
    predictor.use(best["precision"], best["max_tokens"], best["tolerance"], best["backend"])
    predictor.stats = {"real_tokens": 0, "computed_tokens": 0}
    return Decision(best["precision"], best["max_tokens"], rows, caps.describe(), articles,
                    best["tolerance"], best["backend"])
