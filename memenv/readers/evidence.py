"""The default offline reader: answers with the memory's own evidence, no model involved."""

from __future__ import annotations

import re

from memenv import tokenizer
from memenv.readers.base import Reader, ReaderContext
from memenv.retrieval import BM25Index
from memenv.tasks.chunking import split_sentences
from memenv.tasks.records import Question

# A label marker: "Label: 12", "label 12", "label is 12", "-> 12", "→ 12", "=> label: 12".
_LABEL = re.compile(r"(?:\blabel\b\s*(?:is\s*)?[:=]?\s*|(?:->|→|=>)\s*(?:label\b\s*[:=]?\s*)?)(\d+)\b", re.IGNORECASE)
# Prefixes that introduce the sample text of an example (the sample is what follows the last one).
_SAMPLE_PREFIX = re.compile(r"\b(?:input|text|sample|example|sentence|query)\s*:", re.IGNORECASE)
_QUESTION_INPUT = re.compile(r"\binput\s*:\s*(.+)", re.IGNORECASE)
_EDGE_PUNCTUATION = " \t\n,;|:-"


class EvidenceReader(Reader):
    """A retrieval-evidence reader: an offline, deterministic, upper-bound proxy for an LLM reader.

    It never reasons or paraphrases: it answers with text that is already in the memory it is shown,
    so a score measures "the memory holds the answer where retrieval finds it". An LLM reader can do
    worse (it may misread good evidence) and sometimes better (it may combine evidence this reader
    cannot chain). It is memenv's default because it needs no model, runs on a CPU in microseconds
    and makes rewards exact and testable.

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
    * any other metric (``subem``, ``normalized_subem``, ``token_f1``, ``bleu1``, ``llm_judge``: QA):
      splits the core and the passages into spans (lines, then sentences; repeated spans are kept
      once), scores every span against the question with a BM25 index built over those spans (so
      term rarity comes from the memory shown), and answers with at most ONE span, the best, cut to
      ``span_tokens`` tokens. Ties go to the span that comes first (core first, then passages in
      retrieval order). For ``question.hops == 2`` it chains: hop 1 is the best span for the
      question, hop 2 the best other span for the question plus hop 1's text, and the answer is hop 2
      (hop 1 when nothing else matches); more hops continue the chain the same way. No span sharing
      a word with the question -> ``""`` (no evidence, which every metric scores 0).

    The reader has no notion of time. It never prefers a later passage over an earlier one, so when
    a memory holds both an outdated and a current fact it may answer with either (whichever matches
    better or comes first). A memory resolves a conflict only by updating or deleting the outdated
    entry: that is the skill the conflict-resolution tasks reward.

    Args:
        span_tokens: the most tokens of a QA answer (default 48).
        k_neighbors: examples that vote on a label (default 5).
        summary_tokens: the most tokens of a summary answer (default 512).

    >>> from memenv.readers import Passage, ReaderContext
    >>> q = Question("What is the access code of the Copper Gate?", ("4821",), "subem")
    >>> ctx = ReaderContext("", (Passage("The weather was mild. The access code of the Copper Gate is 4821."),))
    >>> EvidenceReader().answer(q, ctx)
    'The access code of the Copper Gate is 4821.'
    """

    name = "evidence"

    def __init__(self, span_tokens: int = 48, k_neighbors: int = 5, summary_tokens: int = 512) -> None:
        for argument, value in (
            ("span_tokens", span_tokens),
            ("k_neighbors", k_neighbors),
            ("summary_tokens", summary_tokens),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{argument} must be an int >= 1, got {value!r}")
        self.span_tokens = span_tokens
        self.k_neighbors = k_neighbors
        self.summary_tokens = summary_tokens

    def __repr__(self) -> str:
        return (
            f"EvidenceReader(span_tokens={self.span_tokens}, k_neighbors={self.k_neighbors}, "
            f"summary_tokens={self.summary_tokens})"
        )

    def answer(self, question: Question, context: ReaderContext) -> str:
        if question.metric == "boxed_label_em":
            return self.classify(question.question, context)
        if question.metric == "keyword_hit":
            return self.summarize(context)
        return self.best_span(question.question, context, hops=question.hops)

    # -- QA ---------------------------------------------------------------------------------------

    def best_span(self, query: str, context: ReaderContext, hops: int = 1) -> str:
        """The best-matching span for ``query`` (chained over ``hops``), cut to ``span_tokens``."""
        spans = evidence_spans(context)
        if not spans:
            return ""
        index = BM25Index.from_texts(spans)
        chain: list[int] = []
        for _ in range(max(1, hops)):
            hop_query = " ".join([query, *(spans[key] for key in chain)])
            hits = index.search(hop_query, 1, exclude=chain)
            if not hits:
                break
            chain.append(int(hits[0][0]))
        if not chain:
            return ""
        return tokenizer.truncate(spans[chain[-1]], self.span_tokens)[0]

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


def evidence_spans(context: ReaderContext) -> list[str]:
    """The core and passages split into lines, then sentences; each distinct span once, in order."""
    spans: dict[str, None] = {}
    for text in (context.core, *(p.text for p in context.passages)):
        for line in text.splitlines():
            for sentence in split_sentences(line):
                spans.setdefault(sentence, None)
    return list(spans)


def labelled_examples(context: ReaderContext) -> list[tuple[str, str]]:
    """``(sample, label)`` pairs found in the core and the passages, in order.

    Within one text, each label marker closes the sample that started after the previous marker; of
    that stretch the text after the last ``Input:``-style prefix is kept, else its last non-empty line
    (so a header line before the first example is dropped).
    """
    pairs: list[tuple[str, str]] = []
    for text in (context.core, *(p.text for p in context.passages)):
        start = 0
        for match in _LABEL.finditer(text):
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
    return pairs
