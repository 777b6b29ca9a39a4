"""Dates for the evidence reader: reading them from text, and resolving relative ones against a header.

Dialogue loaders open every chunk with a dated header (``[Dialogue at 1:56 pm on 8 May, 2023]``,
``[Dialogue between User and Assistant on 2024-01-01 00:00]``), and people in dialogues say
"yesterday" or "last week". :func:`resolve_time` turns such words into what a reader should answer,
given the date the words were said on:

==========================================  ==================================================
said on 8 May 2023 (a Monday)               answer
==========================================  ==================================================
"yesterday", "last night"                   ``7 May 2023``
"today", "tonight", "this morning"          ``8 May 2023``
"tomorrow"                                  ``9 May 2023``
"two days ago", "3 days ago"                ``6 May 2023``, ``5 May 2023``
"a week ago", "2 weeks ago"                 ``1 May 2023``, ``24 April 2023``
"last week" / "this week" / "next week"     ``the week before 8 May 2023`` / ``the week of ...``
                                            / ``the week after ...``
"last weekend" / "next weekend"             ``the weekend before 8 May 2023`` / ``... after ...``
"last month" / "this month" / "next month"  ``April 2023`` / ``May 2023`` / ``June 2023``
"two months ago"                            ``March 2023``
"last year" / "this year" / "next year"     ``2022`` / ``2023`` / ``2024``; "3 years ago" ``2020``
"last summer" / "this summer" / "next ..."  ``summer 2022`` / ``summer 2023`` / ``summer 2023``
"last Saturday", "on Saturday", "Saturday"  ``Saturday, 6 May 2023`` (the latest one before)
"next Friday"                               ``Friday, 12 May 2023`` (the first one after)
"on 2 July", "in June 2022", "in 2016"      the date as written, with the header's year added
                                            when the text gives day and month only
==========================================  ==================================================

Nothing here knows a dataset: the header is any line that is one bracketed expression holding a
date, and the dates read are the common written forms (``2023-05-08``, ``2023/05/08``, ``8 May
2023``, ``8th of May, 2023``, ``May 8, 2023``).
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["format_date", "header_date", "parse_date", "resolve_time", "time_spans"]

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NUMBER = {name.lower(): i + 1 for i, name in enumerate(MONTHS)}
_MONTH_NUMBER |= {name[:3].lower(): i + 1 for i, name in enumerate(MONTHS)} | {"sept": 9}
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple of": 2,
    "few": 3,
}

_MONTH = rf"(?P<month>{'|'.join(MONTHS)}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:1[5-9]|20)\d\d)"
_DATE_FORMS = (
    re.compile(r"\b(?P<year>\d{4})[-/](?P<month>[01]?\d)[-/](?P<day>[0-3]?\d)\b"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.IGNORECASE),
)


# Every form holds its year as four digits: followed by "-" or "/" in the first, starting 15-20 (_YEAR) in
# the others. Text without them holds no date, and this test costs far less than the forms' scans (the
# month names are tried at every position of the text).
_YEAR_DIGITS = re.compile(r"\d{4}[-/]|(?:1[5-9]|20)\d\d")


def _date(year: str, month: str, day: str) -> dt.date | None:
    number = int(month) if month.isdigit() else _MONTH_NUMBER.get(month.lower().rstrip("."))
    if number is None:
        return None
    try:
        return dt.date(int(year), number, int(day))
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    """The first full date (day, month and year) written in ``text``, or None.

    >>> parse_date("[Dialogue at 1:56 pm on 8 May, 2023]")
    datetime.date(2023, 5, 8)
    >>> parse_date("2023/05/20 (Sat) 02:21"), parse_date("on March 3rd, 2021")
    (datetime.date(2023, 5, 20), datetime.date(2021, 3, 3))
    """
    if _YEAR_DIGITS.search(text) is None:
        return None
    found: list[tuple[int, dt.date]] = []
    for form in _DATE_FORMS:
        for match in form.finditer(text):
            date = _date(match["year"], match["month"], match["day"])
            if date is not None:
                found.append((match.start(), date))
                break
    return min(found)[1] if found else None


_HEADER = re.compile(r"^\s*\[[^\[\]]*\]\s*$")


def header_date(line: str) -> dt.date | None:
    """The date of a header line — a line that is one bracketed expression holding a date — or None."""
    return parse_date(line) if _HEADER.match(line) else None


def format_date(date: dt.date) -> str:
    """``8 May 2023``: day, month name, year."""
    return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


def _month(date: dt.date, shift: int) -> str:
    index = date.year * 12 + date.month - 1 + shift
    return f"{MONTHS[index % 12]} {index // 12}"


_COUNT = r"(?P<count>\d+|a couple of|a few|couple of|few|an?|" + "|".join(w for w in NUMBER_WORDS if " " not in w) + ")"
_WEEKDAY = r"(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?"
_RELATIVE = re.compile(
    "|".join(
        (
            r"\b(?P<dby>the day before yesterday)\b",
            r"\b(?P<yesterday>yesterday|last night)\b",
            r"\b(?P<today>today|tonight|this (?:morning|afternoon|evening))\b",
            r"\b(?P<tomorrow>tomorrow)\b",
            rf"\b{_COUNT}\s+(?P<unit>day|week|month|year)s?\s+ago\b",
            r"\b(?P<which>last|this|next|this past|past)\s+(?P<span>week|weekend|month|year)\b",
            r"\b(?P<weekend>over the weekend|on the weekend|this weekend)\b",
            r"\b(?P<swhich>last|this|next|this past|past)\s+(?P<season>spring|summer|autumn|fall|winter)\b",
            rf"\b(?:(?P<wprefix>last|this past|next|this|on)\s+)?{_WEEKDAY}\b",
        )
    ),
    re.IGNORECASE,
)
_EXPLICIT = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b(?:in|of|since|during|early|late|mid)\s+(?:-\s*)?{_MONTH}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b(?P<since>since|in|back in|around|from)\s+{_YEAR}\b", re.IGNORECASE),
)
_ISO = _DATE_FORMS[0]


def _count(text: str) -> int:
    text = text.lower().removeprefix("a ").strip()
    return int(text) if text.isdigit() else NUMBER_WORDS.get(text, 1)


def _relative(match: re.Match[str], said: dt.date) -> str:
    """The answer for one relative time expression said on ``said``."""
    day = dt.timedelta(days=1)
    if match["dby"]:
        return format_date(said - 2 * day)
    if match["yesterday"]:
        return format_date(said - day)
    if match["today"]:
        return format_date(said)
    if match["tomorrow"]:
        return format_date(said + day)
    if match["unit"]:
        n, unit = _count(match["count"]), match["unit"].lower()
        if unit in ("day", "week"):
            return format_date(said - n * (7 if unit == "week" else 1) * day)
        if unit == "month":
            return _month(said, -n)
        return str(said.year - n)
    if match["span"]:
        which, span = match["which"].lower(), match["span"].lower()
        shift = {"last": -1, "past": -1, "this past": -1, "this": 0, "next": 1}[which]
        if span == "month":
            return _month(said, shift)
        if span == "year":
            return str(said.year + shift)
        relation = {-1: "before", 0: "of", 1: "after"}[shift]
        if span == "weekend" and shift == 0:
            relation = "of"
        return f"the {span} {relation} {format_date(said)}"
    if match["season"]:
        return _season(match["season"].lower(), match["swhich"].lower(), said)
    if match["weekend"]:
        return f"the weekend {'of' if match['weekend'].lower() == 'this weekend' else 'before'} {format_date(said)}"
    weekday = WEEKDAYS.index(match["weekday"].capitalize().rstrip("s"))
    if (match["wprefix"] or "").lower() == "next":
        days = (weekday - said.weekday()) % 7 or 7
    else:
        days = -((said.weekday() - weekday) % 7 or 7)
    return f"{WEEKDAYS[weekday]}, {format_date(said + days * day)}"


_SEASON_START = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}


def _season(season: str, which: str, said: dt.date) -> str:
    """``summer 2022``: the season meant by "last/this/next <season>" said on ``said``. A season runs three
    months from its start month (winter from December, named by that year's number); "last" is the latest
    one over before ``said``, "next" the first one to start after it, "this" the one of ``said``'s year."""
    start = _SEASON_START[season]
    now = said.year * 12 + said.month - 1
    starts = [year * 12 + start - 1 for year in range(said.year - 2, said.year + 2)]
    if which in ("last", "past", "this past"):
        begun = max(m for m in starts if m + 3 <= now)
    elif which == "next":
        begun = min(m for m in starts if m > now)
    else:
        begun = (
            said.year * 12 + start - 1 if not (season == "winter" and said.month <= 2) else (said.year - 1) * 12 + 11
        )
    return f"{season} {begun // 12}"


def _explicit(match: re.Match[str], said: dt.date | None) -> str:
    groups = match.groupdict()
    year = groups.get("year") or (str(said.year) if said else None)
    if groups.get("day") and groups.get("month"):
        date = _date(year, groups["month"], groups["day"]) if year else None
        if date is not None:
            return format_date(date)
        month = MONTHS[_MONTH_NUMBER[groups["month"].lower().rstrip(".")] - 1]
        return f"{int(groups['day'])} {month}"
    if groups.get("month"):
        month = MONTHS[_MONTH_NUMBER[groups["month"].lower().rstrip(".")] - 1]
        return f"{month} {year}" if year else month
    if (groups.get("since") or "").lower() == "since":
        return f"since {groups['year']}"
    return groups["year"]


def resolve_time(text: str, said: dt.date | None) -> str | None:
    """The first time expression of ``text``, resolved against the date it was said on (see the table).

    Explicit dates are read even when ``said`` is None; relative ones need it. None when ``text``
    holds no time expression this module reads.

    >>> said = dt.date(2023, 5, 8)
    >>> resolve_time("I went to a support group yesterday.", said)
    '7 May 2023'
    >>> resolve_time("We ran a charity race last Saturday", dt.date(2023, 5, 25))
    'Saturday, 20 May 2023'
    >>> resolve_time("I'm going camping next month", said), resolve_time("back in 2016", None)
    ('June 2023', '2016')
    """
    candidates: list[tuple[int, str]] = []
    if said is not None:
        match = _RELATIVE.search(text)
        if match is not None:
            candidates.append((match.start(), _relative(match, said)))
    iso = _ISO.search(text)
    if iso is not None:
        date = _date(iso["year"], iso["month"], iso["day"])
        if date is not None:
            candidates.append((iso.start(), format_date(date)))
    for form in _EXPLICIT:
        match = form.search(text)
        if match is not None:
            candidates.append((match.start(), _explicit(match, said)))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def time_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every time expression in ``text`` that :func:`resolve_time` reads."""
    spans = [m.span() for m in _RELATIVE.finditer(text)] + [m.span() for m in _ISO.finditer(text)]
    for form in _EXPLICIT:
        spans += [m.span() for m in form.finditer(text)]
    return sorted(spans)
