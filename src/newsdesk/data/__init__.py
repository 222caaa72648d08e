"""Corpus loading, cleaning, splitting and preparation."""

from newsdesk.data.builders import bbc_news_summary, fnc1, table
from newsdesk.data.clean import CleaningReport
from newsdesk.data.prepare import load_prepared, prepare
from newsdesk.data.records import STANCE_LABELS, Article, DataError, StancePair
from newsdesk.data.sentences import split_sentences

__all__ = [
    "STANCE_LABELS",
    "Article",
    "CleaningReport",
    "DataError",
    "StancePair",
    "bbc_news_summary",
    "fnc1",
    "load_prepared",
    "prepare",
    "split_sentences",
    "table",
]
