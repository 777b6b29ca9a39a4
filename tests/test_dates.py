"""Tests for memenv.readers.dates: reading dates and resolving relative ones, each rule by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from memenv.readers.dates import format_date, header_date, parse_date, resolve_time

MONDAY = dt.date(2023, 5, 8)  # 8 May 2023 was a Monday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[Dialogue at 1:56 pm on 8 May, 2023]", dt.date(2023, 5, 8)),
        ("[Dialogue between User and Assistant on 2024-01-01 00:00]", dt.date(2024, 1, 1)),
        ("2023/05/20 (Sat) 02:21", dt.date(2023, 5, 20)),
        ("on the 3rd of March, 2021", dt.date(2021, 3, 3)),
        ("May 8, 2023", dt.date(2023, 5, 8)),
        ("Sept 9 2022 and then 1 May 2023", dt.date(2022, 9, 9)),  # the first one written
        ("8 May", None),  # no year: not a full date
        ("31 February 2023", None),  # no such day
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_header_is_a_whole_bracketed_line_with_a_date() -> None:
    assert header_date("[Dialogue at 1:56 pm on 8 May, 2023]") == MONDAY
    assert header_date("  [8 May 2023]  ") == MONDAY
    assert header_date("[D1:3] Caroline: we met on 8 May 2023") is None  # a turn, not a header
    assert header_date("[Dialogue at some point]") is None


def test_format_date() -> None:
    assert format_date(dt.date(2023, 5, 7)) == "7 May 2023"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I went to a support group yesterday.", "7 May 2023"),
        ("We had a bonfire last night", "7 May 2023"),
        ("the day before yesterday we moved", "6 May 2023"),
        ("Today was great", "8 May 2023"),
        ("this morning I ran", "8 May 2023"),
        ("see you tomorrow", "9 May 2023"),
        ("two days ago", "6 May 2023"),
        ("3 days ago", "5 May 2023"),
        ("a week ago", "1 May 2023"),
        ("2 weeks ago", "24 April 2023"),
        ("last week I gave a talk", "the week before 8 May 2023"),
        ("this week", "the week of 8 May 2023"),
        ("next week", "the week after 8 May 2023"),
        ("last weekend", "the weekend before 8 May 2023"),
        ("over the weekend", "the weekend before 8 May 2023"),
        ("next weekend", "the weekend after 8 May 2023"),
        ("last month", "April 2023"),
        ("this month", "May 2023"),
        ("I'm going camping next month", "June 2023"),
        ("two months ago", "March 2023"),
        ("last year", "2022"),
        ("next year", "2024"),
        ("3 years ago", "2020"),
        ("last summer", "summer 2022"),  # the latest summer that is over
        ("this summer", "summer 2023"),
        ("last winter", "winter 2022"),  # December 2022 to February 2023
        ("last Saturday", "Saturday, 6 May 2023"),
        ("on Monday", "Monday, 1 May 2023"),  # said on a Monday: the Monday before
        ("next Friday", "Friday, 12 May 2023"),
        ("on 2 July", "2 July 2023"),  # day and month: the header's year
        ("in June 2022", "June 2022"),
        ("since 2016", "since 2016"),
        ("back in 2016", "2016"),
        ("on 2023-04-01", "1 April 2023"),
        ("nothing about time here", None),
    ],
)
def test_resolve_time_rules(text: str, expected: str | None) -> None:
    assert resolve_time(text, MONDAY) == expected


def test_year_boundaries_and_relative_words_need_a_date() -> None:
    new_year = dt.date(2024, 1, 2)
    assert resolve_time("last month", new_year) == "December 2023"
    assert resolve_time("yesterday", dt.date(2024, 1, 1)) == "31 December 2023"
    assert resolve_time("yesterday", None) is None  # nothing to resolve against
    assert resolve_time("on 2 July 2021", None) == "2 July 2021"  # explicit dates need none
    assert resolve_time("on 2 July", None) == "2 July"


def test_the_first_time_expression_wins() -> None:
    assert resolve_time("Yesterday we booked the trip for next month", MONDAY) == "7 May 2023"
    assert resolve_time("In 2019, and again last week", MONDAY) == "2019"


def test_parse_date_skips_yearless_text_without_changing_any_answer():
    # parse_date returns None at once for text without the digits of a year; the forms' full scan must
    # agree on every text, with and without such digits.
    import random

    from memenv.readers import dates

    def reference(text: str):  # parse_date without the pre-check
        found = []
        for form in dates._DATE_FORMS:
            for match in form.finditer(text):
                date = dates._date(match["year"], match["month"], match["day"])
                if date is not None:
                    found.append((match.start(), date))
                    break
        return min(found)[1] if found else None

    pieces = ["8", "08", "31st", "May", "may,", "Sept.", "of", "2023", "1499", "1500", "2099", "2100", "1894"]
    pieces += ["-", "/", "2023-05-08", "2023/5/8", "12345-", "٢٠٢٣", "[", "]", "on", "at", " ", ", ", "code 2212"]
    rng = random.Random(0)
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(5000)]
    texts += [" ".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(5000)]
    dated = skipped = 0
    for text in texts:
        expected = reference(text)
        assert dates.parse_date(text) == expected, text
        dated += expected is not None
        skipped += dates._YEAR_DIGITS.search(text) is None
    assert dated > 1000 and skipped > 1000
