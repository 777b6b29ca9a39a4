"""Exceptions raised by memenv.

Inside ``env.step`` model output is data: malformed tool calls are recorded in ``info`` and never
raised. These exceptions are for programmer errors: a bad constructor argument, a malformed dataset
file, an unreachable endpoint.
"""

from __future__ import annotations


class MemEnvError(Exception):
    """Base class for every error memenv raises on purpose."""


class DatasetError(MemEnvError, ValueError):
    """A dataset file or record does not match its published schema.

    The message names the file, the record and the field that is wrong, and what was expected.
    """

    def __init__(self, path: str, record: int | str | None, field: str | None, problem: str) -> None:
        where = str(path)
        if record is not None:
            where += f", record {record}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.record = record
        self.field = field
        self.problem = problem


class TokenizerUnavailableError(MemEnvError, RuntimeError):
    """The offline o200k_base encoding could not be loaded."""
