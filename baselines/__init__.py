"""Baseline memory systems for memenv and the leaderboard that compares them.

Every system is scored through the same reader and metric path (:func:`memenv.qa.answer_questions`),
so that only the memory differs between systems.
"""
