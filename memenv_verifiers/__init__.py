"""The verifiers taskset package ``memenv-verifiers`` (``vf-eval memenv-verifiers ...``).

verifiers imports a taskset by its id as a top-level module and takes the ``Taskset``, ``Env`` and
``Harness`` subclasses it exports in ``__all__``; this module only re-exports them from
:mod:`memenv.integrations.verifiers`, which holds the code and the manual.
"""

from __future__ import annotations

from memenv.integrations.verifiers import MemenvChatHarness, MemenvEnv, MemenvTaskset

__all__ = ["MemenvChatHarness", "MemenvEnv", "MemenvTaskset"]
