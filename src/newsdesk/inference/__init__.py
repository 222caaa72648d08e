"""Batch inference: predictors per task and the `NewsAnalyzer` that runs them together.

The names below are imported on first use, so that reading the options or the machine's
capabilities (`newsdesk.inference.options`, `.hardware`; the command line's parser) loads no
model library.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "NewsAnalyzer": "newsdesk.inference.analyzer",
    "load_predictor": "newsdesk.inference.analyzer",
    "ClassifierPredictor": "newsdesk.inference.classify",
    "InferenceOptions": "newsdesk.inference.options",
    "Predictor": "newsdesk.inference.predictor",
    "SummaryPredictor": "newsdesk.inference.summarize",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'newsdesk.inference' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
