"""Task sources: deterministic synthetic generators and loaders for published datasets."""

from __future__ import annotations

from memenv.tasks.loaders import SOURCES, load, metric_for_source, save_memalpha
from memenv.tasks.records import COMPETENCIES, Episode, Question
from memenv.tasks.synthetic import generate, generate_suite

__all__ = [
    "COMPETENCIES",
    "SOURCES",
    "Episode",
    "Question",
    "generate",
    "generate_suite",
    "load",
    "metric_for_source",
    "save_memalpha",
]
