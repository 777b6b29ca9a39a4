"""``mem-alpha``: a deterministic heuristic writer for the three-tier memory of ``MemAlpha-v0``.

It plays the same role as a trained Mem-α writer — one reply of tool calls per chunk — with plain
text heuristics instead of a model, so the leaderboard has an offline, repeatable learned-memory
baseline. Nothing in it knows the synthetic generators' templates; it reads any English stream
(prose, transcripts such as LoCoMo, labelled example lists) the same way.

Per chunk it:

1. **Tracks time.** A line that carries a date (``[Dialogue at 4:05 pm on 3 March, 2023]``,
   ``2023/05/01``, ``Session 3``) sets the current time; facts read after it are stamped with it.
2. **Learns from labelled examples.** Lines such as ``Input: <text> Label: 12`` or ``<text> -> 12``
   (read with :func:`memenv.readers.evidence.labelled_examples`) become semantic entries
   ``<text> -> label 12`` — but only while an example still adds a content word its label has not
   been seen with, and at most ``max_examples_per_label`` per label: diverse prototypes, not the
   whole list.
3. **Extracts facts.** Every other sentence gets a salience test (:func:`is_fact`): a short sentence
   in which names and numbers make up at least half of the content words, or that ties a named
   entity or a number to a state/definition verb ("is", "was born", "lives", ...), or a first-person
   statement in a dialogue that names something specific. Facts become semantic entries.
4. **De-duplicates and updates.** A fact already stored verbatim is skipped. A fact that repeats a
   stored one except for one short span (a generic word diff: long shared prefix + suffix, one
   differing run of at most ``max_diff_words`` words) *replaces* it with ``memory_update`` — the
   later statement wins, which is how changed facts stay current. Ids of inserted entries are read
   back from ``info["tool_results"]``, so any old entry can be updated, not only the visible ones.
5. **Logs an episode.** One episodic entry per chunk: its time (or position) and its most salient
   sentence that was not stored as a fact, cut to a short clause.
6. **Keeps a core summary** (rewritten with ``memory_update`` when it changes, kept under
   ``core_tokens``): label prototypes (the most distinctive words of each label), the most
   frequently mentioned entities, and, for the entities that recur across chunks, the latest clause
   that mentions each, in stream order — a compact running picture of who and what the stream is
   about, for questions about the whole stream.

Known limits (honest ones): the update rule cannot tell "Mira moved from A to B" from "Tobias also
lives in B" when the subject is the differing span; salience keeps some narrative sentences that
merely name people and places; a fact split over two sentences is kept only if each half passes.

The sentence analysis it relies on lives in :mod:`baselines.facts`, shared with ``mem1`` and
``memory-r1``.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from baselines.facts import (
    BARE_LABEL_LINE,
    LEADING_TAG,
    SPEAKER,
    STOPWORDS,
    UpdateIndex,
    clause_with,
    diff_words,
    find_time,
    labelled_pairs,
    read_statement,
    update_overlap,
    words,
)
from memenv import tokenizer
from memenv.parsing import render_tool_calls
from memenv.tasks.chunking import split_sentences

# --------------------------------------------------------------------------------------------------
# The policy


@dataclass(eq=False)  # hashed by identity: the update index files facts themselves
class _Fact:
    text: str  # the entry as stored (with its time stamp)
    key: tuple[str, ...]  # the statement's diff words (without the time stamp)
    memory_id: str | None = None  # None while its insert is pending


@dataclass
class _Mention:
    first: int  # order of first mention among all names
    latest_chunk: int
    count: int = 0
    recurring: bool = False  # mentioned in two or more chunks
    latest_sentence: str = ""  # its clause about the name is cut only when the core shows it
    rank: tuple[int, int, str] = (0, 0, "")  # (-count, first, name): smaller ranks first; set on each mention
    # Its core line ("[chunk N] <clause>") and that line's token count, made when the core first shows it
    # after the name's latest mention ("": not made yet); each new mention clears them.
    line: str = ""
    line_tokens: int = 0


def _call(name: str, **arguments: str) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


class MemAlphaHeuristic:
    """The ``mem-alpha`` heuristic writer: ``policy(obs, info) -> reply`` for ``MemAlpha-v0``.

    See the module docstring for the algorithm. Deterministic: the same stream gives the same
    replies. The instance keeps per-episode state and starts over whenever ``info["step"] == 0``,
    so one instance can play many episodes in turn (not interleaved).

    Args:
        core_tokens: token budget of the core summary (below the env's 512 cap, so never truncated).
        max_examples_per_label: labelled examples kept per label at most.
        max_diff_words: longest differing span for a fact to count as an update of a stored one.
        episodic_words: longest episodic gist, in words.
        core_entities: entities listed by mention count in the core.
        style: tool-call text style for :func:`memenv.parsing.render_tool_calls`.
    """

    def __init__(
        self,
        core_tokens: int = 480,
        max_examples_per_label: int = 24,
        max_diff_words: int = 4,
        episodic_words: int = 20,
        core_entities: int = 12,
        style: str = "hermes",
    ) -> None:
        if core_entities < 0:
            raise ValueError(f"core_entities must be >= 0, got {core_entities}")
        self.core_tokens = core_tokens
        self.max_examples_per_label = max_examples_per_label
        self.max_diff_words = max_diff_words
        self.episodic_words = episodic_words
        self.core_entities = core_entities
        self.style = style
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new episode)."""
        self._chunk = 0
        self._time: str | None = None
        self._facts: dict[str, _Fact] = {}  # memory id -> fact
        self._pending: dict[str, _Fact] = {}  # inserted by the last reply, id not known yet: text -> fact
        self._pending_calls: dict[str, dict[str, Any]] = {}  # text -> its insert call (this reply only)
        self._stored: set[str] = set()  # statement keys already in memory (or sent to it)
        self._updatable = UpdateIndex(self.max_diff_words)  # the facts of _facts and _pending, by their keys
        self._label_vocab: dict[str, set[str]] = {}
        self._label_kept: Counter[str] = Counter()
        self._label_words: dict[str, Counter[str]] = {}
        # Kept with _label_words, for the core: in how many labels' examples each word occurs, and the
        # sum of each label's counts.
        self._spread: Counter[str] = Counter()
        self._label_sizes: dict[str, int] = {}
        self._mentions: dict[str, _Mention] = {}
        # The core_entities names ranked first, (-count, first mention, name), kept sorted as counts grow
        # (see _count_mentions), and the ranks of all names mentioned in two or more chunks, kept sorted.
        self._top: list[tuple[int, int, str]] = []
        self._recurring: list[tuple[int, int, str]] = []
        self._core = ""

    # -- the policy ------------------------------------------------------------------------------

    def __call__(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        if info.get("step", 0) == 0:
            self.reset()
        self._learn_ids(info.get("tool_results") or [])
        chunk = obs.get("chunk", "")
        if not chunk:
            return ""
        calls = self._write(chunk)
        self._chunk += 1
        return render_tool_calls(calls, style=self.style)

    def _learn_ids(self, results: Iterable[dict[str, Any]]) -> None:
        """Read the ids of the facts inserted by the previous reply, so later facts can update them."""
        learned: set[str] = set()
        for result in results:
            if result.get("name") != "new_memory_insert" or not result.get("ok") or not result.get("memory_id"):
                continue
            text = (result.get("arguments") or {}).get("content", "")
            fact = self._pending.get(text)
            if fact is not None and text not in learned:
                fact.memory_id = result["memory_id"]
                self._facts[fact.memory_id] = fact
                learned.add(text)
        # An insert that failed is forgotten: a later restatement may insert it again.
        for text, fact in self._pending.items():
            if text not in learned:
                self._stored.discard(" ".join(fact.key))
                self._updatable.discard(fact, fact.key)
        self._pending = {}
        self._pending_calls = {}

    # -- one chunk -------------------------------------------------------------------------------

    def _write(self, chunk: str) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = []
        pairs = labelled_pairs(chunk)
        samples = [sample for sample, _ in pairs]
        for sample, label in pairs:
            calls.extend(self._example(sample, label))

        gist_candidates: list[tuple[float, str, str | None]] = []
        names: list[str] = []  # every name mention of the chunk, in order
        latest: dict[str, str] = {}  # name -> the chunk's last sentence that mentions it
        for line in chunk.splitlines():
            if not line.strip() or BARE_LABEL_LINE.match(line) or (samples and any(map(line.__contains__, samples))):
                continue
            time = find_time(line)
            if time is not None:
                self._time = time
                if len(words(line)) <= 12:  # a header line, not a statement
                    continue
            # A turn id such as "[D1:3]" is not content. Both patterns need a character most lines lack:
            # testing for it first skips the regex.
            if "[" in line:
                line = LEADING_TAG.sub("", line)
            speaker = SPEAKER.match(line) if ":" in line else None
            for sentence in split_sentences(line):
                if speaker and not SPEAKER.match(sentence):
                    sentence = f"{speaker.group(1)}: {sentence}"  # keep who said it
                entities, key, score = _reading(sentence)
                if entities:
                    names += entities
                    latest.update(zip(entities, itertools.repeat(sentence)))
                if key is not None:
                    calls.extend(self._fact(sentence, key))
                elif score is not None:
                    gist_candidates.append((score, sentence, self._time))

        self._count_mentions(names, latest)
        gist = self._gist(gist_candidates)
        if gist:
            calls.append(_call("new_memory_insert", memory_type="episodic_memory", content=gist))
        core = self._render_core()
        if core and core != self._core:
            self._core = core
            calls.append(_call("memory_update", memory_type="core_memory", new_content=core))
        return calls

    def _example(self, sample: str, label: str) -> list[dict[str, Any]]:
        content = set(diff_words(sample)).difference(STOPWORDS)
        counts = self._label_words.get(label)
        if counts is None:  # the label's first example (a Counter is not built for nothing on every other)
            counts = self._label_words[label] = Counter()
            self._label_vocab[label] = set()
        # Words new to this label: few once its examples repeat. (Not content.difference(counts): a set
        # less a dict subclass is computed by walking the whole dict.)
        new_words = [word for word in content if word not in counts]
        if new_words:
            self._spread.update(new_words)
        counts.update(content)
        self._label_sizes[label] = self._label_sizes.get(label, 0) + len(content)
        vocab = self._label_vocab[label]
        if self._label_kept[label] >= self.max_examples_per_label or content <= vocab:
            return []
        text = f"{sample} -> label {label}"
        if text in self._stored:
            return []
        vocab |= content
        self._label_kept[label] += 1
        self._stored.add(text)
        return [_call("new_memory_insert", memory_type="semantic_memory", content=text)]

    def _fact(self, sentence: str, key: tuple[str, ...]) -> list[dict[str, Any]]:
        joined = " ".join(key)
        if joined in self._stored:
            return []  # said before: nothing new
        text = f"[{self._time}] {sentence}" if self._time else sentence
        fact = _Fact(text, key)
        self._stored.add(joined)
        target = self._update_target(key)
        if target is None:
            call = _call("new_memory_insert", memory_type="semantic_memory", content=text)
            self._pending[text] = fact
            self._pending_calls[text] = call
            self._updatable.add(fact, key)
            return [call]
        self._stored.discard(" ".join(target.key))
        self._updatable.discard(target, target.key)
        self._updatable.add(fact, key)
        if target.memory_id is None:
            # The fact it changes was inserted by this same reply: rewrite that insert instead.
            del self._pending[target.text]
            call = self._pending_calls.pop(target.text)
            call["arguments"]["content"] = text
            self._pending[text] = fact
            self._pending_calls[text] = call
            return []
        fact.memory_id = target.memory_id
        self._facts[fact.memory_id] = fact
        return [_call("memory_update", memory_type="semantic_memory", new_content=text, memory_id=fact.memory_id)]

    def _update_target(self, key: tuple[str, ...]) -> _Fact | None:
        """The stored fact or pending insert that this statement changes, if any: of those it updates
        (:func:`is_update_of`), the one sharing the most words (ties: the first by memory id, then the
        first pending). They are found through :class:`~baselines.facts.UpdateIndex` (which misses none)."""
        found: set[_Fact] = self._updatable.candidates(key)  # type: ignore[assignment]
        hits = [
            (shared, old) for old in found if (shared := update_overlap(old.key, key, self.max_diff_words)) is not None
        ]
        if len(hits) <= 1:
            return hits[0][1] if hits else None
        most = max(shared for shared, _ in hits)
        tied = [old for shared, old in hits if shared == most]
        stored = [old for old in tied if old.memory_id is not None]
        if stored:
            return min(stored, key=_memory_id)
        return next(old for old in self._pending.values() if old in tied)

    # -- episodic and core -----------------------------------------------------------------------

    def _gist(self, candidates: list[tuple[float, str, str | None]]) -> str:
        """``[chunk N, time] <the chunk's most salient non-fact sentence, as a short clause>``."""
        if not candidates:
            return ""
        score, sentence, time = max(candidates, key=lambda item: item[0])  # ties: the earliest
        if score <= 0:
            return ""
        where = f"chunk {self._chunk + 1}" + (f", {time}" if time else "")
        names = _reading(sentence)[0]
        return f"[{where}] {clause_with(sentence, names[0] if names else '', self.episodic_words)}"

    def _count_mentions(self, names: list[str], latest: dict[str, str]) -> None:
        """Count a chunk's name mentions (``names``, in order) at once; ``latest`` holds each name's last
        sentence in the chunk. The same as counting them one by one: names are first mentioned in the same
        order, each count ends the same, and _rerank keeps the best ranks after any single improvement."""
        for name, count in Counter(names).items():  # in order of first mention
            mention = self._mentions.get(name)
            if mention is None:
                mention = self._mentions[name] = _Mention(first=len(self._mentions), latest_chunk=self._chunk)
            old = (-mention.count, mention.first, name)
            mention.count += count
            mention.rank = (-mention.count, mention.first, name)
            self._rerank(old, mention.rank)
            if mention.recurring:
                del self._recurring[bisect.bisect_left(self._recurring, old)]
                bisect.insort(self._recurring, mention.rank)
            elif mention.latest_chunk != self._chunk:
                mention.recurring = True  # chunks only move forward: this is a second one
                bisect.insort(self._recurring, mention.rank)
            mention.latest_chunk = self._chunk
            mention.latest_sentence = latest[name]
            mention.line = ""

    def _rerank(self, old: tuple[int, int, str], new: tuple[int, int, str]) -> None:
        """Keep ``_top`` the ``core_entities`` best (smallest) rank keys of all names, after one name's key
        went from ``old`` to ``new`` (a better one). Only that key changed, so the best are among the
        previous best and ``new``: every other name stays behind them, as before."""
        top = self._top
        i = bisect.bisect_left(top, old)
        if i < len(top) and top[i] == old:
            del top[i]  # it was among the best, and still is
        elif len(top) >= self.core_entities:
            if not top or new > top[-1]:
                return
            top.pop()
        bisect.insort(top, new)

    def _render_core(self) -> str:
        """Label prototypes, the most mentioned entities, and the latest clause about each recurring
        entity (in stream order), filled greedily under ``core_tokens``."""
        lines: list[str] = []
        budget = self.core_tokens

        def fits(line: str) -> bool:
            nonlocal budget
            cost = _line_tokens(line)
            if cost > budget:
                return False
            budget -= cost
            return True

        if self._label_words:
            lines.append("Label prototypes (most distinctive words -> label):")
            fits(lines[-1])
            for label in sorted(self._label_words, key=lambda lab: -self._label_sizes[lab]):
                top = self._distinctive(label, 8, self._spread)
                line = f"{' '.join(top)} -> label {label}"
                if fits(line):
                    lines.append(line)
        # Names ranked by mention count, then first mention (unique, so the order is total).
        ranked = [(name, self._mentions[name]) for _, _, name in self._top]
        top_entities = [(name, m) for name, m in ranked if m.count >= 2]
        if top_entities:
            line = "Most mentioned: " + ", ".join(f"{name} ({m.count})" for name, m in top_entities)
            if fits(line):
                lines.append(line)
        chosen: dict[str, int] = {}
        for _, _, name in self._recurring:  # in rank order
            m = self._mentions[name]
            if not m.line:
                m.line = f"[chunk {m.latest_chunk + 1}] {_clause(m.latest_sentence, name)}"
                m.line_tokens = _line_tokens(m.line)
            if m.line in chosen:
                continue
            if m.line_tokens > budget:  # (fits(m.line), its count kept with it)
                break
            budget -= m.line_tokens
            chosen[m.line] = m.latest_chunk
        if chosen:
            lines.append("Latest about recurring names, in order:")
            lines.extend(sorted(chosen, key=lambda line: chosen[line]))
        return "\n".join(lines)

    def _distinctive(self, label: str, k: int, spread: Counter[str]) -> list[str]:
        """The ``k`` words most characteristic of ``label``: frequent with it, rare with other labels
        (``spread``: in how many labels' examples each word occurs)."""
        counts = self._label_words[label]
        labels = len(self._label_words)
        # A word's weight is counts[w] * (1 + labels - spread[w]) / labels. Ranked by the integer numerator
        # instead: dividing small integers by the same positive ``labels`` keeps their order and their ties
        # exactly (floats tell apart integers below 2**52 divided alike), and plain tuples compare in C.
        # The keys are unique (one per word), so the k smallest are the first k of the sorted keys: one C
        # sort of a label's few dozen words is ~2.5x faster than heapq.nsmallest's Python loop over them.
        ranked = sorted([(-c * (1 + labels - spread[w]), w) for w, c in counts.items()])
        return [w for _, w in ranked[:k]]


@functools.lru_cache(maxsize=8192)
def _reading(sentence: str) -> tuple[tuple[str, ...], tuple[str, ...] | None, float | None]:
    """What the writer reads from one sentence: its names (:func:`~baselines.facts.entities`); if it is a
    fact (:func:`~baselines.facts.is_fact`), its diff words (:func:`~baselines.facts.diff_key`, None
    otherwise); and, for a sentence of four words or more that is not one, its gist score
    (``Salience.score``; None otherwise). Streams repeat sentences, and a chunk's chosen gist is read
    again: memoised, keyed by the text alone."""
    signals, fact, key = read_statement(sentence)
    if fact:
        return signals.entities, key, None
    return signals.entities, None, signals.score if len(key) >= 4 else None


def _memory_id(fact: _Fact) -> str:
    return fact.memory_id  # type: ignore[return-value]


@functools.lru_cache(maxsize=8192)
def _clause(sentence: str, name: str) -> str:
    # The core shows the same latest clause for many steps in a row: cut it once.
    return clause_with(sentence, name)


@functools.lru_cache(maxsize=8192)
def _line_tokens(line: str) -> int:
    # Core lines repeat from step to step: count each once (with the newline that joins it).
    # count_tokens keeps a short text's count in the cache of count_tokens_cached's segments, through which
    # the env counts the core line by line (its "line + newline" segments): a line counted here is not
    # encoded there again. (count_tokens_cached itself would first look for places to cut the text.)
    return tokenizer.count_tokens(line + "\n")


policy = MemAlphaHeuristic()
"""A ready writer for code that takes a ``"module:function"`` policy (e.g. the trainer's demonstrations).

It keeps per-episode state, so it must play one episode at a time; give each of several interleaved
environments its own :class:`MemAlphaHeuristic`."""
