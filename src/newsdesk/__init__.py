"""newsdesk: topic, stance and summary models for news, and fast batch inference.

    from newsdesk import NewsAnalyzer
    analyzer = NewsAnalyzer.from_pretrained(topic="runs/topic-bbc")
    analyzer.analyze("Shares rose at the bank on Monday ...")

The names below are imported on first use, so `import newsdesk` stays light.
"""

from __future__ import annotations

import importlib

from newsdesk.version import __version__

_EXPORTS = {
    "NewsAnalyzer": "newsdesk.inference.analyzer",
    "load_predictor": "newsdesk.inference.analyzer",
    "ClassifierPredictor": "newsdesk.inference.classify",
    "SummaryPredictor": "newsdesk.inference.summarize",
    "InferenceOptions": "newsdesk.inference.options",
    "NewsdeskError": "newsdesk.errors",
    "DataError": "newsdesk.errors",
    "evaluate": "newsdesk.api",
    "extract_article": "newsdesk.data.pages",
    "clean_page_text": "newsdesk.data.furniture",
    "prepare": "newsdesk.data.prepare",
    "train": "newsdesk.api",
    "train_classifier": "newsdesk.training.classifier",
    "train_summariser": "newsdesk.training.summary",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'newsdesk' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)
