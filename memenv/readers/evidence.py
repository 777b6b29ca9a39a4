"""The default offline reader: answers with the memory's own evidence, no model involved."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from memenv import tokenizer
from memenv.metrics import STOP_WORDS
from memenv.readers.answers import short_answer, stem
from memenv.readers.base import Reader, ReaderContext
from memenv.readers.dates import header_date, parse_date, time_spans
from memenv.retrieval import BM25Index, tokenize
from memenv.tasks.chunking import split_sentences
from memenv.tasks.records import Question

# A label marker: "Label: 12", "label 12", "label is 12", "-> 12", "→ 12", "=> label: 12".
_LABEL = re.compile(r"(?:\blabel\b\s*(?:is\s*)?[:=]?\s*|(?:->|→|=>)\s*(?:label\b\s*[:=]?\s*)?)(\d+)\b", re.IGNORECASE)
# Prefixes that introduce the sample text of an example (the sample is what follows the last one).
_SAMPLE_PREFIX = re.compile(r"\b(?:input|text|sample|example|sentence|query)\s*:", re.IGNORECASE)
_QUESTION_INPUT = re.compile(r"\binput\s*:\s*(.+)", re.IGNORECASE)
_EDGE_PUNCTUATION = " \t\n,;|:-"
_CAPITALISED_RUN = re.compile(r"[A-Z][\w’'-]*(?: [A-Z][\w’'-]*)+")  # capitalised words, one space apart
ABSTENTION = "not mentioned"
"""What the reader answers when the question names something the memory never mentions (LoCoMo's
adversarial answer, which its evaluation scores as right for an unanswerable question)."""
ALTERNATIVES = 3
"""More evidence units tried, best first, when the chosen one gives no short answer (see step 3)."""


class EvidenceReader(Reader):
    """A retrieval-evidence reader: an offline, deterministic, upper-bound proxy for an LLM reader.

    It never reasons or paraphrases: it answers with text that is already in the memory it is shown
    (or a date resolved from it), so a score measures "the memory holds the answer where retrieval
    finds it". An LLM reader can do worse (it may misread good evidence) and sometimes better (it may
    combine evidence this reader cannot chain). It is memenv's default because it needs no model,
    runs on a CPU in microseconds and makes rewards exact and testable.

    What it does depends on ``question.metric``:

    * ``boxed_label_em`` (classification): extracts labelled examples from the core and the passages
      (``Input: <sample> Label: 12``, ``Input: ...`` then ``Label: 12`` on the next line,
      ``<sample> -> 12``, ``<sample> → 12``, ``... label: 12``: the sample is the text before each
      label marker, back to the previous marker, minus a prefix such as ``Input:``), ranks the samples
      against the question's sample (the text after ``Input:`` on its line, else the whole question)
      with a BM25 index built over the samples, and lets the ``k_neighbors`` best vote, each weighted
      by its score. Ties go to the smallest label string. Answer: ``\\boxed{<label>}``; ``""`` when
      no example shares a word with the sample.
    * ``keyword_hit`` (summaries): the core, then the passages in order, joined by newlines and cut
      to ``summary_tokens`` tokens.
    * any other metric (``subem``, ``normalized_subem``, ``exact_match``, ``token_f1``, ``bleu1``,
      ``llm_judge``, ``recall_at_5``: QA): finds the evidence sentence, then answers with a short span
      of it typed to the question.

      1. *Sentences.* The core and the passages are split into lines, then sentences (each distinct
         sentence once, in order). A line that is one bracketed expression holding a date
         (``[Dialogue at 1:56 pm on 8 May, 2023]``) is not a sentence: it dates the sentences below
         it in the same text (:func:`memenv.readers.dates.header_date`); a text without such a line is
         dated by the first full date written in it, if any. A line that opens with a bracketed date
         (``[8 May 2023] I went there yesterday.``, a time-stamped memory entry) is dated by it, and the
         stamp is not part of its text. A leading bracketed id (``[D1:3]``) is
         dropped, and a ``Speaker:`` prefix is kept with every sentence of its line for matching.
      2. *Retrieval.* Every sentence is scored against the question with a BM25 index built over
         those sentences (so term rarity comes from the memory shown), on lightly stemmed words
         (:func:`memenv.readers.answers.stem`). The best sentence wins; ties go to the one that comes
         first (core first, then passages in retrieval order). For ``question.hops == 2`` it chains:
         hop 1 is the best sentence for the question, hop 2 the best other sentence for the question
         plus hop 1's text (hop 1 when nothing else matches); more hops continue the same way. No
         sentence sharing a word with the question -> ``""`` (no evidence, which every metric scores 0).
      3. *Short answer* (``answer="short"``, the default): :func:`memenv.readers.answers.short_answer`
         cuts from the last hop's sentence what the question asks for — a date for *when* (relative
         dates resolved against the sentence's date: "yesterday" said on 8 May 2023 is
         ``7 May 2023``), a duration for *how long*, a number for *how many*, a person for *who*, a
         place for *where*, ``yes``/``no`` for yes/no questions, and for *what/which* the nearest
         phrase that is not in the question (nor in another hop). A sentence whose only candidates are
         the question's own words answers nothing: then the earlier hops are tried (last first), then
         up to :data:`ALTERNATIVES` next-best units, and the first that gives a short answer wins —
         unless the last hop's sentence holds a time expression it could not date ("last week" in an
         undated memory), which is its answer. When none does, the last hop's whole sentence is the
         answer. With ``answer="span"`` the
         answer is always the whole sentence (memenv's reader before short answers), cut to
         ``span_tokens`` tokens.
      0. *Abstention* (``abstain=True``, the default): when the question names something — a run of
         two or more capitalised words after its first word, such as "Jade Lighthouse" — that
         appears nowhere in the core or the passages, the memory cannot know about it and the answer
         is :data:`ABSTENTION` (``"not mentioned"``).

    The reader has no notion of time order. It never prefers a later passage over an earlier one, so
    when a memory holds both an outdated and a current fact it may answer with either (whichever
    matches better or comes first). A memory resolves a conflict only by updating or deleting the
    outdated entry: that is the skill the conflict-resolution tasks reward.

    Args:
        answer: ``"short"`` (default) or ``"span"`` (see above).
        span_tokens: the most tokens of a QA answer (default 48).
        k_neighbors: examples that vote on a label (default 5).
        summary_tokens: the most tokens of a summary answer (default 512).
        abstain: answer ``"not mentioned"`` for a question about a name the memory never mentions
            (default True; see step 0).

    >>> from memenv.readers import Passage, ReaderContext
    >>> q = Question("What is the access code of the Copper Gate?", ("4821",), "subem")
    >>> ctx = ReaderContext("", (Passage("The weather was mild. The access code of the Copper Gate is 4821."),))
    >>> EvidenceReader().answer(q, ctx), EvidenceReader(answer="span").answer(q, ctx)
    ('4821', 'The access code of the Copper Gate is 4821.')
    """

    name = "evidence"

    def __init__(
        self,
        span_tokens: int = 48,
        k_neighbors: int = 5,
        summary_tokens: int = 512,
        answer: str = "short",
        abstain: bool = True,
    ) -> None:
        for argument, value in (
            ("span_tokens", span_tokens),
            ("k_neighbors", k_neighbors),
            ("summary_tokens", summary_tokens),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{argument} must be an int >= 1, got {value!r}")
        if answer not in ("short", "span"):
            raise ValueError(f"answer must be 'short' or 'span', got {answer!r}")
        if not isinstance(abstain, bool):
            raise ValueError(f"abstain must be a bool, got {abstain!r}")
        self.abstain = abstain
        self.span_tokens = span_tokens
        self.k_neighbors = k_neighbors
        self.summary_tokens = summary_tokens
        self.answer_form = answer
        # The context last indexed, its units and the BM25 index of their stemmed text.
        self._cache: tuple[ReaderContext, list[Evidence], BM25Index] | None = None

    def __repr__(self) -> str:
        return (
            f"EvidenceReader(span_tokens={self.span_tokens}, k_neighbors={self.k_neighbors}, "
            f"summary_tokens={self.summary_tokens}, answer={self.answer_form!r}, abstain={self.abstain})"
        )

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_cache": None}  # the cache is a speed-up, not state

    def answer(self, question: Question, context: ReaderContext) -> str:
        if question.metric == "boxed_label_em":
            return self.classify(question.question, context)
        if question.metric == "keyword_hit":
            return self.summarize(context)
        if self.abstain and unmentioned_names(question.question, context):
            return ABSTENTION
        units, index = self._indexed(context)
        chain = self.evidence_chain(question.question, context, hops=question.hops)
        if not chain:
            return ""
        if self.answer_form == "short":
            fallback = ""  # the last hop's sentence: the answer when no unit gives a short one
            for key in self._candidates(question.question, units, index, chain):
                short, sentence = self._short(question.question, units, index, key, [k for k in chain if k != key])
                if short:
                    return tokenizer.truncate(short, self.span_tokens)[0]
                if key == chain[-1]:
                    fallback = sentence
                    if time_spans(sentence):
                        break  # it answers with a time it cannot date ("last week", undated): keep the sentence
            return tokenizer.truncate(fallback, self.span_tokens)[0]
        return tokenizer.truncate(units[chain[-1]].best_sentence(question.question), self.span_tokens)[0]

    @staticmethod
    def _candidates(question: str, units: list[Evidence], index: BM25Index, chain: list[int]) -> Iterator[int]:
        """The units tried for a short answer: the last hop first, then the earlier hops (last first), then
        the :data:`ALTERNATIVES` next-best units for the whole chain's query (searched only if reached)."""
        yield from reversed(chain)
        query = " ".join([question, *(units[key].match for key in chain[:-1])])
        for key, _ in index.search(_stemmed(query), ALTERNATIVES, exclude=chain):
            yield int(key)

    @staticmethod
    def _short(question: str, units: list[Evidence], index: BM25Index, key: int, others: list[int]) -> tuple[str, str]:
        """The short answer that unit ``key`` gives (with the words of the ``others`` hops excluded, rare
        words of the units' ``index`` preferred), and the sentence it was cut from."""
        unit = units[key]
        earlier = [word for i in others for word in tokenize(units[i].match)]
        sentence = unit.best_sentence(question)
        if sentence.rstrip().endswith("?") and unit.reply is not None:
            # A question in a dialogue is answered by the turn that follows it.
            unit = units[unit.reply]
            sentence = unit.best_sentence(question)
        rarity = functools.partial(_rarity, index)
        return short_answer(question, sentence, unit.said, exclude=earlier, rarity=rarity), sentence

    # -- QA ---------------------------------------------------------------------------------------

    def evidence_chain(self, query: str, context: ReaderContext, hops: int = 1) -> list[int]:
        """Indexes into :func:`evidence_units` of the best unit for ``query``, chained over ``hops``."""
        units, index = self._indexed(context)
        chain: list[int] = []
        for _ in range(max(1, hops)):
            hop_query = _stemmed(query)
            if chain:
                # The question's words and the chain's, each once: BM25 counts repeated query words,
                # and the words of the units found so far must not outweigh the question's.
                words = _stemmed(" ".join([query, *(units[key].match for key in chain)])).split()
                hop_query = " ".join(dict.fromkeys(words))
            hits = index.search(hop_query, 1, exclude=chain)
            if not hits:
                break
            chain.append(int(hits[0][0]))
        return chain

    def _indexed(self, context: ReaderContext) -> tuple[list[Evidence], BM25Index]:
        # Many questions share one context (a long-context window, a MEM1 paragraph): index it once.
        if self._cache is not None and self._cache[0] == context:
            return self._cache[1], self._cache[2]
        units = evidence_units(context)
        stemmed = [_stemmed(u.match) for u in units]
        index = BM25Index.from_texts(stemmed)
        self._cache = (context, units, index)
        return units, index

    # -- classification ---------------------------------------------------------------------------

    def classify(self, question: str, context: ReaderContext) -> str:
        """``\\boxed{label}`` voted by the nearest labelled examples, or ``""`` without evidence."""
        examples = labelled_examples(context)
        if not examples:
            return ""
        match = _QUESTION_INPUT.search(question)
        sample = match.group(1) if match else question
        index = BM25Index.from_texts([text for text, _ in examples])
        votes: dict[str, float] = {}
        for i, score in index.search(sample, self.k_neighbors):
            label = examples[int(i)][1]
            votes[label] = votes.get(label, 0.0) + score
        if not votes:
            return ""
        label = min(votes, key=lambda lab: (-votes[lab], lab))
        return f"\\boxed{{{label}}}"

    # -- summaries --------------------------------------------------------------------------------

    def summarize(self, context: ReaderContext) -> str:
        """The core and then every passage, in order, cut to ``summary_tokens`` tokens."""
        parts = [text for text in (context.core, *(p.text for p in context.passages)) if text.strip()]
        return tokenizer.truncate("\n".join(parts), self.summary_tokens)[0]


@dataclass(frozen=True)
class Evidence:
    """One unit of evidence: a short line (a dialogue turn, a memory entry) or one sentence of a long line.

    Attributes:
        text: the unit without its line id and speaker prefix.
        match: what retrieval matches: ``"Speaker: text"`` when the line had a speaker, else ``text``.
        said: the date of the header above it (or of its text), if any.
        sentences: ``text`` split into sentences.
        reply: the index of the unit that follows it in the same text (a dialogue's next turn), if any.
    """

    text: str
    match: str
    said: dt.date | None = None
    sentences: tuple[str, ...] = ()
    reply: int | None = None

    def best_sentence(self, question: str) -> str:
        """The sentence sharing the most distinct (stemmed) content words with ``question`` (the first on
        ties); the whole text when no sentence shares one (a reply that does not repeat the question)."""
        wanted = {stem(w) for w in tokenize(question) if w not in STOP_WORDS and len(w) > 1}  # not the "s" of "'s"
        shared = [len(wanted & {stem(w) for w in tokenize(s)}) for s in self.sentences]
        if not shared or max(shared) == 0:
            return self.text
        return self.sentences[shared.index(max(shared))]


_LINE_ID = re.compile(r"^\s*\[[^\[\]\s]{1,24}\]\s*")  # "[D1:3] " before a dialogue turn
_LINE_STAMP = re.compile(r"^\s*\[([^\[\]]{1,60})\]\s+(?=\S)")  # "[8 May 2023] " before a stored statement
_SPEAKER = re.compile(r"^([A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,2}):\s+")
UNIT_WORDS = 80
"""A line of at most this many words is one unit; a longer line (prose) is split into sentences."""


def evidence_units(context: ReaderContext) -> list[Evidence]:
    """The core and passages as dated units of evidence (see the class docstring, step 1); each once, in order."""
    units: dict[str, Evidence] = {}
    for text in (context.core, *(p.text for p in context.passages)):
        previous: str | None = None  # the unit before, in this text: the next one is its reply
        for unit in _text_units(text):
            if unit.match not in units:
                units[unit.match] = unit
                if previous is not None and units[previous].reply is None:
                    before = units[previous]  # built field by field: dataclasses.replace is ~2x slower
                    units[previous] = Evidence(before.text, before.match, before.said, before.sentences, len(units) - 1)
            previous = unit.match
    return list(units.values())


@functools.lru_cache(maxsize=4096)
def _text_units(text: str) -> tuple[Evidence, ...]:
    """The units of one text, in order (repeats kept; ``reply`` unset): they depend on the text alone.

    Memoised: the passages of a memory recur in the contexts of many questions (and Evidence is frozen,
    so the cached units are shared safely).
    """
    said = _first_header(text)
    if said is None:
        said = parse_date(text)
    units: list[Evidence] = []
    for line in text.splitlines():
        date = header_date(line) if line.lstrip().startswith("[") else None
        if date is not None:
            said = date
            continue
        line = _LINE_ID.sub("", line).strip()
        stamped = _LINE_STAMP.match(line)
        line_said = parse_date(stamped.group(1)) if stamped else None
        if line_said is not None:  # a dated entry: the date is when it was said, not part of it
            line = line[stamped.end() :]
        speaker = _SPEAKER.match(line)
        if speaker:
            line = line[speaker.end() :]
        sentences = tuple(split_sentences(line))
        short = len(tokenize(line)) <= UNIT_WORDS
        for piece in [line] if short else sentences:
            if piece:
                match = f"{speaker.group(1)}: {piece}" if speaker else piece
                units.append(Evidence(piece, match, line_said or said, sentences if short else (piece,)))
    return tuple(units)


def _first_header(text: str) -> dt.date | None:
    """The date of the first header line of ``text`` (see :func:`memenv.readers.dates.header_date`)."""
    if "[" not in text:
        return None
    for line in text.splitlines():
        if line.lstrip().startswith("["):
            date = header_date(line)
            if date is not None:
                return date
    return None


def unmentioned_names(question: str, context: ReaderContext) -> list[str]:
    """The names in ``question`` (runs of two or more capitalised words after its first word, a trailing
    ``'s`` dropped) that appear nowhere in ``context``, compared case-insensitively as whole words.

    >>> unmentioned_names("What is the code of the Jade Lighthouse?", ReaderContext("The Jade Gate is old."))
    ['Jade Lighthouse']
    """
    names: list[str] = []
    for match in _CAPITALISED_RUN.finditer(question):
        words = match.group().split(" ")[
            1 if match.start() == 0 else 0 :
        ]  # the first word is capitalised for being first
        if len(words) >= 2:
            names.append(" ".join(words).removesuffix("'s").removesuffix("’s"))
    if not names:
        return []
    text = " ".join(" ".join((context.core, *(p.text for p in context.passages))).split()).lower()
    return [name for name in names if not _holds_words(text, name.lower())]


def _holds_words(text: str, phrase: str) -> bool:
    r"""Whether ``phrase`` occurs in ``text`` with no word character right before or after it: what
    ``re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text)`` finds, with ``str.find`` (each question
    names its own phrases, so the regex would be compiled for one search; its scan is slower too).
    ``re``'s ``\w`` is ``str.isalnum()`` or ``"_"``.
    """
    start = text.find(phrase)
    while start != -1:
        before = text[start - 1] if start else ""
        after = text[start + len(phrase) : start + len(phrase) + 1]
        if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
            return True
        start = text.find(phrase, start + 1)
    return False


def evidence_spans(context: ReaderContext) -> list[str]:
    """The text of :func:`evidence_units`, in order."""
    return [u.text for u in evidence_units(context)]


@functools.lru_cache(maxsize=8192)
def _stemmed(text: str) -> str:
    # Memoised: every question re-indexes the units of its passages, and the passages recur.
    return " ".join(stem(word) for word in tokenize(text))


def _rarity(index: BM25Index, word: str) -> float:
    """The inverse document frequency of ``word`` among the units of ``index`` (rare words are specific).

    ``index`` is a context's index (:meth:`EvidenceReader._indexed`): its documents are the units' stemmed
    words, whose tokens are the words themselves (stems of tokens are tokens), one document per unit.
    """
    n = index.document_frequency(stem(word))
    return 0.0 if n == 0 else math.log((len(index) + 1) / (n + 0.5))


def labelled_examples(context: ReaderContext) -> list[tuple[str, str]]:
    """``(sample, label)`` pairs found in the core and the passages, in order.

    Within one text, each label marker closes the sample that started after the previous marker; of
    that stretch the text after the last ``Input:``-style prefix is kept, else its last non-empty line
    (so a header line before the first example is dropped).
    """
    pairs: list[tuple[str, str]] = []
    for text in (context.core, *(p.text for p in context.passages)):
        pairs.extend(_text_examples(text))
    return pairs


@functools.lru_cache(maxsize=4096)
def _text_examples(text: str) -> tuple[tuple[str, str], ...]:
    """The ``(sample, label)`` pairs of one text, which depend on the text alone.

    Memoised: every classification question is given many of the same passages (its own top-k of the
    memory) and reads each of them again.
    """
    if not _may_hold_a_label(text):
        return ()
    pairs = []
    start = 0
    for match in _label_matches(text):
        stretch = text[start : match.start()]
        start = match.end()
        prefixes = list(_SAMPLE_PREFIX.finditer(stretch))
        if prefixes:
            stretch = stretch[prefixes[-1].end() :]
        else:
            lines = [line for line in stretch.splitlines() if line.strip()]
            stretch = lines[-1] if lines else ""
        sample = stretch.strip(_EDGE_PUNCTUATION)
        if sample:
            pairs.append((sample, match.group(1)))
    return tuple(pairs)


# Where a match of _LABEL can start: "label" in any ASCII case (its only cases under IGNORECASE, see
# _may_hold_a_label) or an arrow. No flags and literal first characters: the engine skips to them.
_LABEL_START = re.compile(r"[lL][aA][bB][eE][lL]|->|→|=>")


def _label_matches(text: str) -> Iterator[re.Match[str]]:
    """``_LABEL.finditer(text)``, ~2x faster on a chunk of labelled examples: ``_LABEL`` begins with a
    group of alternatives (and ``\b``), for which the engine tries every position in turn, so the scan
    jumps from one possible start to the next with :data:`_LABEL_START` and matches only there. A
    match at ``start`` reads the text before it (``\b``) as ``finditer`` does; matches cannot be empty.
    """
    pos = 0
    while (candidate := _LABEL_START.search(text, pos)) is not None:
        match = _LABEL.match(text, candidate.start())
        if match is None:
            pos = candidate.start() + 1
        else:
            yield match
            pos = match.end()


def _may_hold_a_label(text: str) -> bool:
    """False when :data:`_LABEL` cannot match ``text``: it holds no arrow and no "label" in any case.

    The scan of ``_LABEL`` (which may start anywhere) costs ~100 us on a 512-token chunk, and the
    writers ask about every chunk; these substring tests cost a few. Under ``re.IGNORECASE`` the letters
    of "label" match only their ASCII upper and lower case, so ``text.lower()`` holds "label" wherever
    the pattern's word does.
    """
    return "->" in text or "=>" in text or "→" in text or "label" in text.lower()
