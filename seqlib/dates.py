r"""Dates written by people, and their ISO form: a task where attention can be seen (Day 9).

``"Thursday, 3 May 1979"``, ``"jeudi 3 mai 1979"``, ``"May 3, 79"`` -> ``"1979-05-03"``: the locales' own
CLDR date patterns (Babel). **No input is ambiguous**: the month is spelled as a word, and every date lies
in 1950-2049, so a two-digit year has one reading. :func:`parse_date` reads an input back with its pattern.

=================  ==========================================  =================================
``make_splits``    ``(train, val, test)``, lists of pairs       disjoint *dates*: no test date was
                   ``(text, iso)``                              seen in training, in any format
``Example``        ``text, iso, locale, pattern``                one generated date
``exact_match``    share of outputs equal to their target      the headline measure
``char_accuracy``  share of the 10 ISO characters right         partial credit (position by position)
=================  ==========================================  =================================
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple

import numpy as np
from babel.dates import format_date, get_date_format, get_day_names, get_month_names, parse_pattern

from seqlib import validation

__all__ = ["LOCALES", "FIRST_DAY", "LAST_DAY", "Example", "patterns", "make_examples", "make_splits",
           "parse_date", "exact_match", "char_accuracy"]

#: The locales the dates are written in (CLDR names).
LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_PT", "nl_NL")
#: Extra patterns with a two-digit year (unambiguous because every date lies in one century window).
SHORT_YEAR = {"en_US": ("MMM d, yy",), "en_GB": ("d MMM yy",), "fr_FR": ("d MMM yy",), "de_DE": ("d. MMM yy",)}
FIRST_DAY, LAST_DAY = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


class Example(NamedTuple):
    """One generated date: the human ``text``, its ``iso`` form, and the ``locale`` and ``pattern`` that wrote it."""

    text: str
    iso: str
    locale: str
    pattern: str


def patterns(locale: str) -> list[str]:
    """The CLDR date patterns of ``locale`` that spell the month as a word (``MMM`` or ``MMMM``), then
    the two-digit-year extras: e.g. ``en_US`` -> ``['EEEE, MMMM d, y', 'MMMM d, y', 'MMM d, y', 'MMM d, yy']``."""
    validation.one_of(locale, "locale", LOCALES)
    found = []
    for width in ("full", "long", "medium"):
        p = get_date_format(width, locale=locale).pattern
        if "MMM" in p and p not in found:
            found.append(p)
    return found + [p for p in SHORT_YEAR.get(locale, ()) if p not in found]


def make_examples(dates, seed: int = 0, locales=LOCALES) -> list[Example]:
    """One :class:`Example` per date (in 1950-2049): a locale and one of its patterns drawn at random (seeded)."""
    rng = np.random.default_rng(validation.non_negative_int(seed, "seed"))
    in_span = all(FIRST_DAY <= d <= LAST_DAY for d in validation.sequence(dates, "dates", of=datetime.date))
    validation.require(in_span, f"dates must lie in {FIRST_DAY} .. {LAST_DAY}, where a two-digit year has one reading")
    choices = [(loc, p) for loc in locales for p in patterns(loc)]
    out = []
    for d in dates:
        loc, p = choices[int(rng.integers(len(choices)))]
        out.append(Example(format_date(d, p, locale=loc), d.isoformat(), loc, p))
    return out


def make_splits(num_train: int, num_val: int, num_test: int, seed: int = 0):
    """Train, validation and test lists of ``(text, iso)`` pairs on **disjoint dates** (seeded): drawn
    without replacement from 1950-2049, each written once, so no test date was seen in training."""
    sizes = list(map(validation.positive_int, (num_train, num_val, num_test), ("num_train", "num_val", "num_test")))
    span = (LAST_DAY - FIRST_DAY).days + 1
    validation.require(sum(sizes) <= span, f"only {span:,} distinct dates exist in 1950-2049; asked for {sum(sizes):,}")
    rng = np.random.default_rng(validation.non_negative_int(seed, "seed"))
    dates = [FIRST_DAY + datetime.timedelta(days=int(d)) for d in rng.choice(span, size=sum(sizes), replace=False)]
    examples = make_examples(dates, seed=seed + 1)
    cuts = np.cumsum([0] + sizes)
    return tuple([(e.text, e.iso) for e in examples[a:b]] for a, b in zip(cuts[:-1], cuts[1:]))


def _names(getter, width, locale):
    names = getter(width, context="format", locale=locale)
    return {str(v): k for k, v in names.items()}


def parse_date(text: str, locale: str, pattern: str) -> str:
    """Read ``text`` back with the ``pattern`` of ``locale`` that wrote it; return the ISO date. Months and
    weekdays are the locale's CLDR names; an unknown or wrong weekday, or a text the pattern cannot read,
    raises ``ValueError``."""
    validation.one_of(locale, "locale", LOCALES)
    for value, name in ((text, "text"), (pattern, "pattern")):
        validation.require(isinstance(value, str), f"{name} must be a string, got {value!r:.40}", TypeError)
    fmt = parse_pattern(pattern).format
    pieces = re.split(r"%\((\w+)\)s", fmt)
    regex, fields = "", []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            regex += re.escape(piece.replace("%%", "%"))
            continue
        fields.append(piece)
        if piece[0] in "dy":
            regex += r"(\d{2})" if piece == "yy" else r"(\d{1,4})"
        else:
            regex += "(.+?)"
    m = re.fullmatch(regex, text)
    validation.require(m, f"{text!r} does not follow the pattern {pattern!r} of {locale}")
    year = month = day = weekday = None
    for field, value in zip(fields, m.groups()):
        if field == "yy":
            year = int(value) + (1900 if int(value) >= 50 else 2000)
        elif field[0] == "y":
            year = int(value)
        elif field[0] == "d":
            day = int(value)
        elif field[0] == "M":
            month = _names(get_month_names, "wide" if len(field) == 4 else "abbreviated", locale).get(value)
        elif field[0] == "E":
            weekday = _names(get_day_names, "wide" if len(field) == 4 else "abbreviated", locale).get(value, -1)
    validation.require(None not in (year, month, day), f"{text!r}: no year, month or day found with {pattern!r}")
    date = datetime.date(year, month, day)
    validation.require(weekday in (None, date.weekday()), f"{text!r}: the weekday is unknown or does not fit the date")
    return date.isoformat()


def exact_match(outputs, targets) -> float:
    """Share of ``outputs`` (strings) equal to their ``targets``."""
    outputs, targets = validation.pairs(outputs, targets, hint="give one output per target")
    return sum(o == t for o, t in zip(outputs, targets)) / len(targets)


def char_accuracy(outputs, targets) -> float:
    """Share of target characters that the output has at the same position (a short output misses the rest;
    extra characters are not counted); NaN when the targets have no characters."""
    outputs, targets = validation.pairs(outputs, targets, hint="give one output per target")
    right = sum(sum(a == b for a, b in zip(o, t)) for o, t in zip(outputs, targets))
    total = sum(len(t) for t in targets)
    return right / total if total else float("nan")
