"""Suite ``v1``: the four competencies with the phenomena that make real data hard (see each module).

:data:`BUILDERS` maps a competency to its builder; :func:`memenv.tasks.synthetic.generate` with
``suite="v1"`` runs them. Every v1 episode carries the oracle writer's ground truth in
``metadata["oracle_notes"]`` (:func:`memenv.tasks.synthetic.v1.common.oracle_notes`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from memenv.tasks.synthetic.v1 import conflict, learning, retrieval, story
from memenv.tasks.synthetic.v1.common import PlanV1

BUILDERS: dict[str, Callable[[random.Random, random.Random, int, int], PlanV1]] = {
    "accurate_retrieval": retrieval.build,
    "conflict_resolution": conflict.build,
    "test_time_learning": learning.build,
    "long_range_understanding": story.build,
}
"""Competency -> its builder: ``build(world_rng, stream_rng, context_tokens, num_questions) -> PlanV1``."""

CATEGORIES: dict[str, tuple[str, ...]] = {
    "accurate_retrieval": ("coreference", "split", "three_hop", "relative_date", "set", "unanswerable"),
    "conflict_resolution": ("out_of_order", "indirect_update", "look_alike", "retraction", "history"),
    "test_time_learning": ("overlapping_classes", "relabelled"),
    "long_range_understanding": ("order", "causality", "summary"),
}
"""The ``Question.category`` values of each v1 competency (its phenomena)."""

__all__ = ["BUILDERS", "CATEGORIES"]
