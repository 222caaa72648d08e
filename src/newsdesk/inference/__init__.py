"""Batch inference: predictors per task and the `NewsAnalyzer` that runs them together."""

from newsdesk.inference.analyzer import NewsAnalyzer
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.inference.summarize import SummaryPredictor

__all__ = ["ClassifierPredictor", "NewsAnalyzer", "SummaryPredictor"]
