"""Mem-α's three-tier memory: a capped core string and two ordered lists of ``{id, text}`` entries.

* **core** — one string, at most ``core_token_limit`` tokens (Mem-α: 512, tiktoken ``o200k_base``).
  An over-long update is cut at the cap and ends with a visible truncation marker.
* **semantic** / **episodic** — ordered entries with short ids. Mem-α drew random 4-hex ids; we draw
  them from a generator seeded per episode, so the same seed gives the same ids. Ids are unique across
  tiers and never reused after a delete.

Token counts are kept incrementally (each entry is counted once, when written), so reading the size of
the memory or rendering the writer's view never re-tokenises the whole memory. Rewrites are counted
with :func:`memenv.tokenizer.count_tokens_cached` (a rewritten core or entry mostly repeats lines whose
counts are cached; the counts are exact), and a rewrite to the same text reuses the count it has.

Operations raise :class:`MemoryOpError` with a stable ``kind`` (see the constants below) and leave
the memory unchanged when they fail.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from memenv import tokenizer
from memenv.limits import MAX_ENTRY_CHARS, well_formed
from memenv.retrieval import BM25Index

TIERS = ("core", "semantic", "episodic")
LIST_TIERS = ("semantic", "episodic")
TRUNCATION_MARKER = " [...truncated]"

# Why an operation failed (stable strings; memenv.tools adds the call-level kinds).
MISSING_ARGUMENT = "missing_argument"
INVALID_ARGUMENT = "invalid_argument"
UNKNOWN_ID = "unknown_id"
DUPLICATE = "duplicate"
CORE_INSERT = "core_insert"
OVER_BUDGET = "over_budget"
TOO_LONG = "too_long"


@dataclass(frozen=True)
class MemoryEntry:
    id: str
    text: str
    tokens: int


class MemoryOpError(Exception):
    """A memory operation that could not be applied; ``kind`` is one of the error kinds above."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Memory:
    """The memory an agent writes during one episode.

    Args:
        core_token_limit: token cap of the core string (Mem-α: 512).
        seed: seeds the id generator; the same seed and the same operations give the same ids.
        indexed: keep a BM25 index of each list tier up to date, for :meth:`related` (costs one
            index update per write; off by default).
        token_budget: a cap on the whole memory (all tiers). A write that would leave the memory above
            it *and* larger than before is refused with ``over_budget``; shrinking writes always pass.
            ``None`` (default): no cap beyond the core's.
        max_entry_chars: the longest text one write may carry (an entry, or the core before it is cut
            to its token cap); a longer one is refused with ``too_long`` before it is tokenised.

    Text is stored as well-formed Unicode: lone surrogates become U+FFFD
    (:func:`memenv.limits.well_formed`), so the memory always encodes as UTF-8.
    """

    def __init__(
        self,
        *,
        core_token_limit: int = 512,
        seed: int = 0,
        indexed: bool = False,
        token_budget: int | None = None,
        max_entry_chars: int = MAX_ENTRY_CHARS,
    ) -> None:
        if core_token_limit < tokenizer.count_tokens(TRUNCATION_MARKER) + 1:
            raise ValueError(f"core_token_limit must leave room for the truncation marker, got {core_token_limit}")
        if token_budget is not None and token_budget < 1:
            raise ValueError(f"token_budget must be >= 1 or None, got {token_budget}")
        if max_entry_chars < 1:
            raise ValueError(f"max_entry_chars must be >= 1, got {max_entry_chars}")
        self.core_token_limit = core_token_limit
        self.token_budget = token_budget
        self.max_entry_chars = max_entry_chars
        self._core = ""
        self._core_tokens = 0
        # id -> entry; dicts keep insertion order and delete in O(1).
        self._lists: dict[str, dict[str, MemoryEntry]] = {tier: {} for tier in LIST_TIERS}
        # text -> id, per tier, for O(1) duplicate checks.
        self._texts: dict[str, dict[str, str]] = {tier: {} for tier in LIST_TIERS}
        self._list_tokens = dict.fromkeys(LIST_TIERS, 0)
        self._rng = random.Random(seed)
        self._used_ids: set[str] = set()
        self._indexes = {tier: BM25Index() for tier in LIST_TIERS} if indexed else None

    # -- reading -----------------------------------------------------------------------------------

    @property
    def core(self) -> str:
        return self._core

    def entries(self, tier: str) -> list[MemoryEntry]:
        """All entries of a list tier, oldest first."""
        return list(self._list(tier).values())

    def recent(self, tier: str, k: int) -> list[MemoryEntry]:
        """The ``k`` most recently inserted entries of a list tier, oldest of them first (O(k))."""
        newest_first = list(itertools.islice(reversed(self._list(tier).values()), max(k, 0)))
        return newest_first[::-1]

    def get(self, tier: str, memory_id: str) -> MemoryEntry | None:
        return self._list(tier).get(memory_id)

    def size(self, tier: str) -> int:
        return (1 if self._core else 0) if tier == "core" else len(self._list(tier))

    def tokens(self, tier: str | None = None) -> int:
        """Tokens held by one tier, or by the whole memory (``tier=None``)."""
        if tier is None:
            return self._core_tokens + sum(self._list_tokens.values())
        return self._core_tokens if tier == "core" else self._list_tokens[self._check_list_tier(tier)]

    def related(self, tier: str, query: str, k: int, exclude: Sequence[str] = ()) -> list[MemoryEntry]:
        """The ``k`` entries of ``tier`` most related to ``query`` by BM25 (needs ``indexed=True``)."""
        if self._indexes is None:
            raise ValueError("Memory(indexed=False) keeps no index; construct it with indexed=True")
        entries = self._list(tier)
        return [entries[key] for key, _ in self._indexes[tier].search(query, k, exclude=exclude)]

    def find_text(self, tier: str, text: str) -> str | None:
        """Id of the entry of ``tier`` whose text is exactly ``text``, if any."""
        return self._texts[self._check_list_tier(tier)].get(text)

    # -- writing -----------------------------------------------------------------------------------

    def insert(self, tier: str, text: str) -> MemoryEntry:
        """Append a new entry to a list tier; a duplicate text in the same tier is refused."""
        if tier == "core":
            raise MemoryOpError(CORE_INSERT, "the core memory takes memory_update, not new_memory_insert")
        entries = self._list(tier)
        text = self._clean(text, "content")
        if text in self._texts[tier]:
            raise MemoryOpError(DUPLICATE, f"{tier} memory already holds this text as [{self._texts[tier][text]}]")
        tokens = tokenizer.count_tokens(text)
        self._check_budget(tokens)
        entry = MemoryEntry(self._new_id(), text, tokens)
        entries[entry.id] = entry
        self._texts[tier][text] = entry.id
        self._list_tokens[tier] += entry.tokens
        if self._indexes is not None:
            self._indexes[tier].add(entry.id, text)
        return entry

    def update(self, tier: str, text: str, memory_id: str | None = None) -> MemoryEntry | None:
        """Rewrite the core (cut at the cap), or replace the text of entry ``memory_id`` in place."""
        if tier == "core":
            self.set_core(text)
            return None
        entries = self._list(tier)
        if memory_id is None:
            raise MemoryOpError(MISSING_ARGUMENT, f"memory_update on {tier} memory needs a memory_id")
        old = entries.get(memory_id)
        if old is None:
            raise MemoryOpError(UNKNOWN_ID, f"{tier} memory has no entry [{memory_id}]")
        text = self._clean(text, "new_content")
        holder = self._texts[tier].get(text)
        if holder is not None and holder != memory_id:
            raise MemoryOpError(DUPLICATE, f"{tier} memory already holds this text as [{holder}]")
        tokens = old.tokens if text == old.text else tokenizer.count_tokens_cached(text)
        new = MemoryEntry(memory_id, text, tokens)
        self._check_budget(new.tokens - old.tokens)
        entries[memory_id] = new  # same key: keeps its position
        del self._texts[tier][old.text]
        self._texts[tier][text] = memory_id
        self._list_tokens[tier] += new.tokens - old.tokens
        if self._indexes is not None:
            self._indexes[tier].replace(memory_id, text)
        return new

    def delete(self, tier: str, memory_id: str | None = None, *, missing_ok: bool = False) -> MemoryEntry | None:
        """Clear the core, or remove entry ``memory_id`` (an unknown id raises unless ``missing_ok``)."""
        if tier == "core":
            self._core, self._core_tokens = "", 0
            return None
        entries = self._list(tier)
        if memory_id is None:
            raise MemoryOpError(MISSING_ARGUMENT, f"memory_delete on {tier} memory needs a memory_id")
        old = entries.pop(memory_id, None)
        if old is None:
            if missing_ok:
                return None
            raise MemoryOpError(UNKNOWN_ID, f"{tier} memory has no entry [{memory_id}]")
        del self._texts[tier][old.text]
        self._list_tokens[tier] -= old.tokens
        if self._indexes is not None:
            self._indexes[tier].remove(memory_id)
        return old

    def set_core(self, text: str) -> bool:
        """Replace the core; returns whether it had to be truncated to the cap."""
        if not isinstance(text, str):
            raise MemoryOpError(INVALID_ARGUMENT, f"new_content must be a string, got {type(text).__name__}")
        self._check_length(text, "new_content")
        text = well_formed(text)
        if text == self._core:  # unchanged: it was stored at its cap or under it, so nothing is cut
            return False
        tokens = tokenizer.count_tokens_cached(text)
        cut = tokens > self.core_token_limit
        if cut:
            text, _ = tokenizer.truncate(text, self.core_token_limit, TRUNCATION_MARKER)
            tokens = tokenizer.count_tokens(text)
        self._check_budget(tokens - self._core_tokens)
        self._core, self._core_tokens = text, tokens
        return cut

    # -- views -------------------------------------------------------------------------------------

    def render(self, visible_k: int = 5, related: dict[str, Sequence[MemoryEntry]] | None = None) -> str:
        """The writer's view: the full core and the ``visible_k`` most recent entries of each list.

        ``related`` adds older entries (e.g. those most related to the current chunk) below the recent
        ones, so that the writer can also update entries that scrolled out of view.
        """
        parts = ["<core_memory>", self._core or "(empty)", "</core_memory>"]
        for tier in LIST_TIERS:
            shown = self.recent(tier, visible_k)
            total = len(self._list(tier))
            parts.append(f"<{tier}_memory> (showing {len(shown)} most recent of {total})")
            parts.extend(f"[{e.id}] {e.text}" for e in shown)
            extra = related.get(tier, ()) if related else ()
            if extra:
                parts.append(f"(older entries related to this chunk: {len(extra)})")
                parts.extend(f"[{e.id}] {e.text}" for e in extra)
            parts.append(f"</{tier}_memory>")
        return "\n".join(parts)

    def snapshot(self) -> dict[str, object]:
        """A plain, JSON-ready copy of the whole memory."""
        return {
            "core": self._core,
            **{tier: [{"id": e.id, "text": e.text} for e in self._lists[tier].values()] for tier in LIST_TIERS},
        }

    # -- internals ---------------------------------------------------------------------------------

    def _clean(self, text: object, argument: str) -> str:
        if not isinstance(text, str):
            raise MemoryOpError(INVALID_ARGUMENT, f"{argument} must be a string, got {type(text).__name__}")
        self._check_length(text, argument)
        text = well_formed(text).strip()
        if not text:
            raise MemoryOpError(INVALID_ARGUMENT, f"{argument} is empty")
        return text

    def _check_length(self, text: str, argument: str) -> None:
        if len(text) > self.max_entry_chars:
            raise MemoryOpError(
                TOO_LONG, f"{argument} has {len(text):,} characters, over the cap of {self.max_entry_chars:,} per entry"
            )

    def _check_budget(self, growth: int) -> None:
        """Refuse a write that would grow the memory past :attr:`token_budget` (before anything changes)."""
        if self.token_budget is None or growth <= 0:
            return
        after = self.tokens() + growth
        if after > self.token_budget:
            raise MemoryOpError(
                OVER_BUDGET, f"memory would hold {after} tokens, over its budget of {self.token_budget}"
            )

    def _list(self, tier: str) -> dict[str, MemoryEntry]:
        return self._lists[self._check_list_tier(tier)]

    @staticmethod
    def _check_list_tier(tier: str) -> str:
        if tier not in LIST_TIERS:
            raise MemoryOpError(INVALID_ARGUMENT, f"unknown memory tier {tier!r}; expected one of {TIERS}")
        return tier

    def _new_id(self) -> str:
        # 4 hex digits as in Mem-α while there is room, then wider, so drawing stays O(1) expected.
        bits, spec = (16, "04x") if len(self._used_ids) < 0x8000 else (32, "08x")
        while True:
            candidate = format(self._rng.getrandbits(bits), spec)  # ~1.6x faster than a nested f-string
            if candidate not in self._used_ids:
                self._used_ids.add(candidate)
                return candidate


def normalize_id(memory_id: object) -> str | None:
    """An id as models write it (``"a3f1"``, ``" [a3f1] "``) -> ``"a3f1"``; None for a missing or non-str id."""
    if not isinstance(memory_id, str):
        return None
    return memory_id.strip().strip("[]").strip() or None


def tier_of(memory_type: object) -> str | None:
    """Map Mem-α's ``core_memory`` spelling, or the bare ``core``, to a tier name; None if unknown."""
    if not isinstance(memory_type, str):
        return None
    tier = _TIER_SPELLINGS.get(memory_type)  # the usual spellings, looked up (every call asks, often twice)
    if tier is not None:
        return tier
    name = memory_type.strip().lower()
    name = name.removesuffix("_memory")
    return name if name in TIERS else None


_TIER_SPELLINGS = {spelling: tier for tier in TIERS for spelling in (tier, f"{tier}_memory")}
