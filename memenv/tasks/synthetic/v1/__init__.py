"""Suite ``v1``: the four competencies with the phenomena that make real data hard (see each module).

:data:`BUILDERS` maps a competency to its builder; :func:`memenv.tasks.synthetic.generate` with
``suite="v1"`` runs them. Every v1 episode carries the oracle writer's ground truth in
``metadata["oracle_notes"]`` (:func:`memenv.tasks.synthetic.v1.common.oracle_notes`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from memenv.tasks.synthetic.v1.common import PlanV1
from memenv.tasks.synthetic.v1.conflict import conflict_resolution
from memenv.tasks.synthetic.v1.learning import test_time_learning
from memenv.tasks.synthetic.v1.retrieval import accurate_retrieval
from memenv.tasks.synthetic.v1.story import long_range_understanding

BUILDERS: dict[str, Callable[[random.Random, random.Random, int, int], PlanV1]] = {
    "accurate_retrieval": accurate_retrieval,
    "conflict_resolution": conflict_resolution,
    "test_time_learning": test_time_learning,
    "long_range_understanding": long_range_understanding,
}

CATEGORIES: dict[str, tuple[str, ...]] = {
    "accurate_retrieval": ("coreference", "split", "three_hop", "relative_date", "set", "unanswerable"),
    "conflict_resolution": ("out_of_order", "indirect_update", "look_alike", "retraction", "history"),
    "test_time_learning": ("overlapping_classes", "relabelled"),
    "long_range_understanding": ("order", "causality", "summary"),
}
"""The ``Question.category`` values of each v1 competency (its phenomena)."""

__all__ = ["BUILDERS", "CATEGORIES"]
