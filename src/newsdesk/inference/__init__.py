"""Batch inference: predictors per task and the `NewsAnalyzer` that runs them together."""

from newsdesk.inference.classify import ClassifierPredictor

__all__ = ["ClassifierPredictor"]
