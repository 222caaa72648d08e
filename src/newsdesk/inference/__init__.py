"""Batch inference: predictors per task and the `NewsAnalyzer` that runs them together."""

from newsdesk.inference.analyzer import NewsAnalyzer, load_predictor
from newsdesk.inference.classify import ClassifierPredictor
from newsdesk.inference.options import InferenceOptions
from newsdesk.inference.predictor import Predictor
from newsdesk.inference.summarize import SummaryPredictor

__all__ = ["ClassifierPredictor", "InferenceOptions", "NewsAnalyzer", "Predictor",
           "SummaryPredictor", "load_predictor"]
