"""Tests for memenv.readers: the EvidenceReader on hand-made contexts, with hand-checked answers."""

from __future__ import annotations

import pytest

from memenv import tokenizer
from memenv.readers import EvidenceReader, Passage, Reader, ReaderContext
from memenv.readers.evidence import evidence_spans, labelled_examples, unmentioned_names
from memenv.tasks.records import Question

READER = EvidenceReader()
SPAN = EvidenceReader(answer="span")  # the whole evidence sentence: what retrieval chose


def qa(text: str, hops: int = 1, metric: str = "subem") -> Question:
    return Question(text, ("unused",), metric, hops=hops)


def ctx(*passages: str, core: str = "") -> ReaderContext:
    return ReaderContext(core, tuple(Passage(p, "semantic") for p in passages))


# --------------------------------------------------------------------------------------------------
# Records and the abstract reader
# --------------------------------------------------------------------------------------------------


def test_records_are_frozen_and_default_empty() -> None:
    passage = Passage("text")
    assert passage.source == ""
    assert ReaderContext("core").passages == ()
    with pytest.raises(AttributeError):
        passage.text = "other"  # type: ignore[misc]


def test_reader_is_abstract_and_answer_batch_loops() -> None:
    with pytest.raises(TypeError):
        Reader()  # type: ignore[abstract]

    class Echo(Reader):
        name = "echo"

        def answer(self, question: Question, context: ReaderContext) -> str:
            return f"{question.question}|{context.core}"

    echo = Echo()
    assert echo.answer_batch([qa("a"), qa("b")], [ctx(core="1"), ctx(core="2")]) == ["a|1", "b|2"]
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        echo.answer_batch([qa("a"), qa("b")], [ctx()])


@pytest.mark.parametrize("argument", ["span_tokens", "k_neighbors", "summary_tokens"])
@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_constructor_rejects_bad_values(argument: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{argument} must be an int >= 1"):
        EvidenceReader(**{argument: value})


def test_defaults_and_name() -> None:
    assert (READER.span_tokens, READER.k_neighbors, READER.summary_tokens) == (48, 5, 512)
    assert READER.name == "evidence"
    assert repr(READER) == (
        "EvidenceReader(span_tokens=48, k_neighbors=5, summary_tokens=512, answer='short', abstain=True)"
    )


# --------------------------------------------------------------------------------------------------
# QA: one span
# --------------------------------------------------------------------------------------------------


def test_answers_with_the_single_best_span() -> None:
    context = ctx(
        "The weather was mild today. The access code of the Copper Gate is 4821.",
        "The access code of the Iron Vault is 1111.",
        core="Mira likes tea.",
    )
    answer = SPAN.answer(qa("What is the access code of the Copper Gate?"), context)
    assert answer == "The access code of the Copper Gate is 4821."


def test_lines_are_spans_too() -> None:
    context = ctx("Shopping list\nThe Copper Gate code 4821\nmilk and eggs")
    assert SPAN.answer(qa("Copper Gate code?"), context) == "The Copper Gate code 4821"


def test_tie_goes_to_the_span_that_comes_first() -> None:
    # "Where does Mira live?" matches only "mira"; both spans have one "mira" in 4 tokens: equal scores.
    old, new = "Mira lives in Calder.", "Mira lives in Senna."
    question = qa("Where does Mira live?")
    assert SPAN.answer(question, ctx(old, new)) == old
    assert SPAN.answer(question, ctx(new, old)) == new
    # The core comes before every passage; the reader has no notion of which fact is newer.
    assert SPAN.answer(question, ctx(old, core=new)) == new


def test_units_are_short_lines_or_sentences_of_long_lines_each_once_in_order() -> None:
    context = ctx("A b. C d.", "C d.\nE f.", core="A b.")
    assert evidence_spans(context) == ["A b.", "A b. C d.", "C d.", "E f."]
    long_line = " ".join(f"Sentence number {i} is here." for i in range(20))  # 100 words > UNIT_WORDS
    assert evidence_spans(ctx(long_line)) == [f"Sentence number {i} is here." for i in range(20)]


def test_answer_is_cut_to_span_tokens() -> None:
    span = "The code word is one two three four five six seven eight nine ten."
    answer = EvidenceReader(span_tokens=6, answer="span").answer(qa("What is the code word?"), ctx(span))
    assert answer == "The code word is one two"  # 6 tokens: The| code| word| is| one| two
    assert tokenizer.count_tokens(answer) == 6
    assert SPAN.answer(qa("What is the code word?"), ctx(span)) == span  # 15 tokens fit in 48


def test_no_matching_span_means_no_evidence() -> None:
    assert SPAN.answer(qa("Who guards the vault?"), ctx("Apples are red.", core="Pears are green.")) == ""
    assert SPAN.answer(qa("Who guards the vault?"), ctx()) == ""
    assert SPAN.answer(qa("Who guards the vault?"), ReaderContext("   ", (Passage(""),))) == ""


@pytest.mark.parametrize("metric", ["normalized_subem", "token_f1", "bleu1", "llm_judge"])
def test_every_qa_metric_answers_with_a_span(metric: str) -> None:
    context = ctx("Pears are green.", "The Copper Gate code is 4821.")
    assert SPAN.answer(qa("Copper Gate code?", metric=metric), context) == "The Copper Gate code is 4821."


# --------------------------------------------------------------------------------------------------
# QA: two hops
# --------------------------------------------------------------------------------------------------

LINK = "Alice Moreau guards the Copper Gate."
FACT = "The access code of the Copper Gate is 4821."
OTHER = "The access code of the Iron Gate is 1234."
TWO_HOP = "What is the access code of the gate that Alice Moreau guards?"


def test_two_hops_chain_through_the_bridge_entity() -> None:
    # Hop 1: LINK has the rare alice/moreau/guards (idf ln(1 + 2.5/1.5) = 0.98 each) and beats the two
    # code sentences (access/code/of/is, idf ln(1 + 1.5/2.5) = 0.47 each). Hop 2 adds "copper", which
    # FACT has and OTHER has not.
    for order in [(OTHER, LINK, FACT), (FACT, OTHER, LINK), (LINK, OTHER, FACT)]:
        assert SPAN.answer(qa(TWO_HOP, hops=2), ctx(*order)) == FACT
    # One hop stops at the link.
    assert SPAN.answer(qa(TWO_HOP, hops=1), ctx(OTHER, LINK, FACT)) == LINK


def test_second_hop_counts_each_word_once_so_the_link_does_not_outweigh_the_question() -> None:
    # BM25 counts repeated query words; a hop query of question + link would repeat "Castellan guards"
    # and pick the other Castellan's post over the tower's town.
    spans = (
        "Valentin Castellan guards the Iron Tower.",
        "Wilhelmina Castellan guards the Pewter Bridge.",
        "The Iron Tower is located in Senna Reach.",
        "The Pewter Bridge is located in Calder Heights.",
        "The Glass Tower is located in Port Senna.",
        "The Iron Mill is located in Calder Heights.",
    )
    question = qa("In which town is the tower that Valentin Castellan guards located?", hops=2)
    assert SPAN.answer(question, ctx(*spans)) == "The Iron Tower is located in Senna Reach."


def test_second_hop_without_a_match_answers_the_first() -> None:
    assert SPAN.answer(qa(TWO_HOP, hops=2), ctx(LINK)) == LINK
    # A second span that shares no word with the question or the link does not count as a hop.
    assert SPAN.answer(qa(TWO_HOP, hops=2), ctx(LINK, "Pears ripen slowly.")) == LINK


def test_second_hop_never_returns_the_first_span() -> None:
    context = ctx(LINK, "Alice Moreau guards the Copper Gate.\nBread rises.")
    assert SPAN.answer(qa(TWO_HOP, hops=2), context) == LINK  # the duplicate line is one span


# --------------------------------------------------------------------------------------------------
# Classification: k nearest labelled examples
# --------------------------------------------------------------------------------------------------


def cls(sample: str) -> Question:
    return Question(
        f"Input: {sample}\nWhich label does this input get? Answer as \\boxed{{label}}.", ("3",), "boxed_label_em"
    )


def test_abstains_when_the_question_names_something_the_memory_never_mentions() -> None:
    memory = ctx("The Jade Gate is located in Port Senna.", "The Copper Lighthouse is 40 metres tall.")
    assert READER.answer(qa("In which town is the Jade Lighthouse located?"), memory) == "not mentioned"
    assert READER.answer(qa("In which town is the Jade Lighthouse located?"), ctx()) == "not mentioned"
    # Named (case-insensitively, as whole words): the reader answers as before.
    assert READER.answer(qa("In which town is the jade gate located?"), memory) == "Port Senna"
    assert READER.answer(qa("In which town is the Jade Gate located?"), memory) == "Port Senna"
    # A lone capitalised word is not checked (a first name, a sentence start); nor with abstain=False.
    assert READER.answer(qa("Where is Jade located?"), memory) == "Port Senna"
    with pytest.raises(ValueError, match="abstain must be a bool"):
        EvidenceReader(abstain="yes")  # type: ignore[arg-type]
    keep = EvidenceReader(abstain=False)
    assert keep.answer(qa("In which town is the Jade Lighthouse located?"), memory) == "Port Senna"


def test_a_unit_that_only_repeats_the_question_gives_way_to_the_next() -> None:
    memory = ctx("Mira Okafor lives in Port Senna now.", "Before Port Senna, Mira Okafor used to live in Wyck Hollow.")
    # The first unit matches better but its only place is the question's own: the second one answers.
    assert READER.answer(qa("Where did Mira Okafor live before Port Senna?"), memory) == "Wyck Hollow"
    assert READER.answer(qa("Where does Mira Okafor live now?"), memory) == "Port Senna"


def test_a_later_hop_that_answers_nothing_gives_way_to_the_hop_that_does() -> None:
    memory = ctx(
        "The employer of Mira Okafor is the Lantern Guild.",
        "The Jade Vault is located in Port Senna.",
        "The Lantern Guild owns the Jade Vault.",
    )
    question = qa("In which town is the vault owned by the employer of Mira Okafor located?", hops=3)
    assert READER.answer(question, memory) == "Port Senna"


def test_a_bracketed_date_before_an_entry_dates_it_and_is_not_part_of_it() -> None:
    memory = ctx("[8 May, 2023] Mira Okafor repaired the roof of the Jade Gate yesterday.")
    assert READER.answer(qa("When did Mira Okafor repair the roof of the Jade Gate?"), memory) == "7 May 2023"
    assert evidence_spans(memory) == ["Mira Okafor repaired the roof of the Jade Gate yesterday."]


def test_labelled_examples_in_every_format() -> None:
    context = ctx(
        "Each line below pairs an input with its label.\nInput: violin melody Label: 3\nInput: striker goal Label: 7",
        "Input: oven dough\nLabel: 12",
        "comet orbit -> 41\nrudder keel → 9",
        "tulip soil, label: 55",
        core="piano chord => label 3",
    )
    assert labelled_examples(context) == [
        ("piano chord", "3"),
        ("violin melody", "3"),
        ("striker goal", "7"),
        ("oven dough", "12"),
        ("comet orbit", "41"),
        ("rudder keel", "9"),
        ("tulip soil", "55"),
    ]


def test_knn_vote_answers_boxed_label() -> None:
    context = ctx(
        "Input: the violin melody was lovely Label: 3",
        "Input: the orchestra played a slow melody Label: 3",
        "Input: the striker scored a goal Label: 7",
        "Input: the referee stopped the match Label: 7",
    )
    assert READER.answer(cls("a melody on the violin"), context) == "\\boxed{3}"
    assert READER.answer(cls("the goal of the striker"), context) == "\\boxed{7}"


def test_votes_are_weighted_and_limited_to_k() -> None:
    # Two examples labelled 7 share one word each with the sample; the one labelled 3 shares three.
    context = ctx(
        "Input: violin melody chord Label: 3",
        "Input: violin drum Label: 7",
        "Input: melody guitar Label: 7",
        "Input: striker goal Label: 8",
    )
    sample = cls("violin melody chord")
    assert EvidenceReader(k_neighbors=1).answer(sample, context) == "\\boxed{3}"
    # idf over 4 samples: violin, melody (df 2) = ln(1 + 2.5/2.5) = 0.69; chord (df 1) = ln(1 + 3.5/1.5) =
    # 1.20. Label 3 holds all three words, each 7 example holds one 0.69 word: 3 wins with k = 5 as well,
    # where a plain majority vote would give 7 (two votes against one).
    assert READER.answer(sample, context) == "\\boxed{3}"


def test_vote_tie_goes_to_the_smallest_label_string() -> None:
    context = ctx("Input: violin melody Label: 7", "Input: violin melody Label: 12")
    assert READER.answer(cls("violin melody"), context) == "\\boxed{12}"  # "12" < "7" as strings


def test_no_labelled_examples_or_no_match_means_no_answer() -> None:
    assert READER.answer(cls("violin melody"), ctx("The violin melody was lovely.")) == ""
    assert READER.answer(cls("violin melody"), ctx("Input: striker goal Label: 7")) == ""


def test_question_without_input_prefix_uses_the_whole_question() -> None:
    question = Question("violin melody", ("3",), "boxed_label_em")
    assert READER.answer(question, ctx("violin melody -> 3", "striker goal -> 7")) == "\\boxed{3}"


# --------------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------------


def test_summary_joins_core_and_passages_in_order() -> None:
    summary = Question("Summarize the story.", ("Mira",), "keyword_hit")
    assert READER.answer(summary, ctx("first passage", "second passage", core="the core")) == (
        "the core\nfirst passage\nsecond passage"
    )
    assert READER.answer(summary, ctx("only passage")) == "only passage"  # an empty core is skipped


def test_summary_is_cut_to_summary_tokens() -> None:
    summary = Question("Summarize the story.", ("Mira",), "keyword_hit")
    context = ctx("one two three four five six", core="The code word is")
    # "The| code| word| is|\n|one| two" is 7 tokens.
    assert EvidenceReader(summary_tokens=7).answer(summary, context) == "The code word is\none two"
    assert READER.answer(summary, ctx()) == ""


# --------------------------------------------------------------------------------------------------
# Short answers (the default)
# --------------------------------------------------------------------------------------------------

DIALOGUE = (
    "[Dialogue at 1:56 pm on 8 May, 2023]\n"
    "[D1:1] Melanie: Hey Caroline! How have you been?\n"
    "[D1:2] Caroline: I went to a LGBTQ support group yesterday and it was so powerful.\n"
    "[D1:3] Melanie: What are your plans for the summer?\n"
    "[D1:4] Caroline: Researching adoption agencies. It's been a dream to have a family.\n"
)


def test_a_relative_date_is_resolved_against_the_chunk_header() -> None:
    question = Question("When did Caroline go to the LGBTQ support group?", ("7 May 2023",), "token_f1")
    assert READER.answer(question, ctx(DIALOGUE)) == "7 May 2023"


def test_a_question_in_the_dialogue_is_answered_by_the_turn_after_it() -> None:
    question = Question("What are Caroline's plans for the summer?", ("researching adoption agencies",), "token_f1")
    assert READER.answer(question, ctx(DIALOGUE)) == "Researching adoption agencies"


def test_without_a_time_expression_when_answers_the_day_it_was_said() -> None:
    text = "[Dialogue at 9:00 am on 2 June, 2023]\n[D2:1] Caroline: I adopted a cat named Miso."
    question = Question("When did Caroline adopt a cat?", ("2 June 2023",), "token_f1")
    assert READER.answer(question, ctx(text)) == "2 June 2023"


def test_a_later_header_dates_the_turns_below_it_only() -> None:
    text = DIALOGUE + "[Dialogue at 10:00 am on 20 May, 2023]\n[D2:1] Caroline: We baked bread yesterday.\n"
    assert READER.answer(Question("When did Caroline bake bread?", ("19 May 2023",), "token_f1"), ctx(text)) == (
        "19 May 2023"
    )
    assert READER.answer(Question("When did Caroline go to the support group?", ("x",), "token_f1"), ctx(text)) == (
        "7 May 2023"
    )


# Issue 19: evidence_units memoises the units of each text (passages recur across questions) and then
# joins them; the result must be the old one-pass function's, kept here as the reference.
def _evidence_units_reference(context: ReaderContext) -> list:
    import dataclasses

    from memenv.readers import evidence as ev
    from memenv.readers.dates import header_date, parse_date
    from memenv.retrieval import tokenize
    from memenv.tasks.chunking import split_sentences

    units: dict = {}
    for text in (context.core, *(p.text for p in context.passages)):
        said = ev._first_header(text)
        if said is None:
            said = parse_date(text)
        previous = None
        for line in text.splitlines():
            date = header_date(line) if line.lstrip().startswith("[") else None
            if date is not None:
                said = date
                continue
            line = ev._LINE_ID.sub("", line).strip()
            stamped = ev._LINE_STAMP.match(line)
            line_said = parse_date(stamped.group(1)) if stamped else None
            if line_said is not None:
                line = line[stamped.end() :]
            speaker = ev._SPEAKER.match(line)
            if speaker:
                line = line[speaker.end() :]
            sentences = tuple(split_sentences(line))
            short = len(tokenize(line)) <= ev.UNIT_WORDS
            for piece in [line] if short else sentences:
                if not piece:
                    continue
                match = f"{speaker.group(1)}: {piece}" if speaker else piece
                if match not in units:
                    units[match] = ev.Evidence(piece, match, line_said or said, sentences if short else (piece,))
                    if previous is not None and units[previous].reply is None:
                        units[previous] = dataclasses.replace(units[previous], reply=len(units) - 1)
                previous = match
    return list(units.values())


def test_evidence_units_equal_the_one_pass_reference_on_random_contexts():
    import random

    from memenv.readers.evidence import evidence_units

    lines = [
        "[Dialogue at 1:56 pm on 8 May, 2023]",
        "[D1:3] Caroline: I went to the support group yesterday.",
        "Melanie: That's great! What did you learn?",
        "Caroline: How to listen. Also how to ask.",
        "[8 May 2023] Mira moved to Calder Heights.",
        "[chunk 4] The road was muddy again after the rain.",
        "The access code of the Copper Gate is 4821.",
        "",
        "   ",
        " ".join(["A long line of prose that goes on and on."] * 12),
        "Input: the sky is green -> 12",
        "On 3 June 2021 the bells rang.",
    ]
    rng = random.Random(0)
    texts = ["\n".join(rng.choices(lines, k=rng.randint(0, 6))) for _ in range(40)]
    replies = dated = 0
    for _ in range(300):
        context = ReaderContext(
            rng.choice(["", *texts]), tuple(Passage(rng.choice(texts)) for _ in range(rng.randint(0, 8)))
        )
        units = evidence_units(context)
        assert units == _evidence_units_reference(context)
        replies += sum(unit.reply is not None for unit in units)
        dated += sum(unit.said is not None for unit in units)
    assert replies and dated  # the contexts exercise reply links and dates


def test_stem_memoised_equals_stem():
    from memenv.readers.answers import stem

    for word in ("researching", "agencies", "painted", "running", "classes", "guards", "Caroline's", "it’s", "a"):
        assert stem(word) == stem.__wrapped__(word)


def test_the_label_pre_check_never_skips_a_text_with_a_label():
    import random

    from memenv.readers import evidence

    # The letters of "label" match only their ASCII cases under IGNORECASE (what the pre-check relies on).
    every_character = "".join(map(chr, range(0x110000)))
    for letter in "label":
        assert evidence.re.findall(f"(?i){letter}", every_character) == [letter.upper(), letter]
    rng = random.Random(0)
    pieces = ["Label: 12", "LABEL is 3", "labels", "-> 7", "→ 4", "=> label: 9", "x", " ", "\n", "Input: a b", "-", ">"]
    found = 0
    for _ in range(3000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 6)))
        if evidence._LABEL.search(text):
            found += 1
            assert evidence._may_hold_a_label(text), text
    assert found > 1000
    assert not evidence._may_hold_a_label("The road was muddy again after the rain. 12 > 3")


def test_label_matches_equal_finditer_on_random_text():
    import random

    from memenv.readers import evidence

    rng = random.Random(3)
    pieces = ["Label", "label", "LaBeL", "labels", "xlabel", "_label", "is", ":", "=", " ", "\n", "-", ">", "→", "=>"]
    pieces += ["->", "-->", "=->", "7", "12", "3x", "ſ", "K", "İ", "Input: a b", "é", "l", "abel", "\t"]
    found = 0
    for _ in range(5000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 14)))
        expected = [(m.span(), m.groups()) for m in evidence._LABEL.finditer(text)]
        assert [(m.span(), m.groups()) for m in evidence._label_matches(text)] == expected, text
        found += bool(expected)
    assert found > 150  # texts with a label; in the others, neither finds one


def test_rarity_from_document_frequencies_equals_the_idf_table():
    # _rarity takes the idf of one word when asked, from the document frequencies of the context's BM25
    # index; it must equal the table of every word's idf that it replaced (0.0 for a word the context
    # does not hold), on random contexts.
    import math
    import random
    from collections import Counter

    from memenv.readers.answers import stem
    from memenv.readers.evidence import _rarity, _stemmed, evidence_units

    words = ["Mira", "moved", "to", "Calder", "Heights", "bells", "rang", "running", "classes", "4821", "it’s", "a"]
    # Not ASCII: the index's tokens of the stemmed text must still be its whitespace-split words.
    words += ["İstanbul", "Straße", "ΟΔΟΣ", "naïve", "x_y", "Ünïcodes"]
    rng = random.Random(1)
    reader = EvidenceReader()
    for _ in range(200):
        texts = [" ".join(rng.choices(words, k=rng.randint(1, 9))) + "." for _ in range(rng.randint(1, 6))]
        context = ReaderContext(rng.choice(["", *texts]), tuple(Passage(text) for text in texts))
        _, index = reader._indexed(context)
        units = evidence_units(context)
        stemmed = [_stemmed(unit.match) for unit in units]
        df = Counter(word for text in stemmed for word in set(text.split()))
        table = {word: math.log((len(units) + 1) / (n + 0.5)) for word, n in df.items()}
        for word in [*words, "absent", "Heights's", ""]:
            assert _rarity(index, word) == table.get(stem(word), 0.0), (context, word)


def test_labelled_examples_memoised_per_text_equal_the_one_pass_reference():
    import random

    from memenv.readers import evidence as ev

    def reference(context: ReaderContext) -> list[tuple[str, str]]:  # the loop before memoisation
        pairs = []
        for text in (context.core, *(p.text for p in context.passages)):
            start = 0
            for match in ev._LABEL.finditer(text):
                stretch = text[start : match.start()]
                start = match.end()
                prefixes = list(ev._SAMPLE_PREFIX.finditer(stretch))
                if prefixes:
                    stretch = stretch[prefixes[-1].end() :]
                else:
                    lines = [line for line in stretch.splitlines() if line.strip()]
                    stretch = lines[-1] if lines else ""
                sample = stretch.strip(ev._EDGE_PUNCTUATION)
                if sample:
                    pairs.append((sample, match.group(1)))
        return pairs

    pieces = ["Input: violin melody", "Label: 3", "-> 7", "tulip soil, label: 55", "Text:", "\n", "header", "x"]
    rng = random.Random(2)
    texts = [" ".join(rng.choices(pieces, k=rng.randint(0, 8))) for _ in range(60)]
    found = 0
    for _ in range(400):  # texts recur across contexts, as passages recur across questions
        context = ReaderContext(rng.choice(texts), tuple(Passage(rng.choice(texts)) for _ in range(rng.randint(0, 6))))
        pairs = labelled_examples(context)
        assert pairs == reference(context), context
        found += len(pairs)
        pairs.append(("mutated", "0"))  # the caller's list: changing it changes no later answer
    assert found > 500


def test_holds_words_finds_what_the_whole_word_regex_finds():
    # unmentioned_names looks each name up with str.find and checks the characters around each hit; it
    # must agree with the lookaround regex it replaced, on random text with repeats, overlaps, "_",
    # digits, punctuation and non-ASCII word and non-word characters around the phrase.
    import random
    import re

    from memenv.readers.evidence import _holds_words

    rng = random.Random(5)
    pieces = ["jade gate", "jade", "gate", "jade gatea", "ajade gate", " ", "_", "9", "-", ".", "é", "’", "ǆ", "\u00a0"]
    phrases = ["jade gate", "jade", "gate g", "é jade", "jade gate jade"]
    found = 0
    for _ in range(4000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 8)))
        phrase = rng.choice(phrases)
        expected = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None
        assert _holds_words(text, phrase) == expected, (text, phrase)
        found += expected
    assert 200 < found < 3800  # both outcomes occur often
    assert unmentioned_names("Who guards the Jade Gate?", ctx("the jade gate_2 and jade gates")) == ["Jade Gate"]
    assert unmentioned_names("Who guards the Jade Gate?", ctx("jade gates, x_jade gate, jade  gate.")) == []
