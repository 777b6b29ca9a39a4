"""Readers: turn a question and a view of memory into an answer string.

:class:`EvidenceReader` is memenv's default offline, deterministic reader (a retrieval-evidence
reader, an upper-bound proxy for an LLM reader); LLM-backed readers implement the same
:class:`Reader` interface.
"""

from __future__ import annotations

from memenv.readers.base import Passage, Reader, ReaderContext
from memenv.readers.evidence import EvidenceReader

__all__ = ["EvidenceReader", "Passage", "Reader", "ReaderContext"]
