"""Tests of seqlib.dates: the round trip, seeds, disjoint splits, no ambiguous input."""

from __future__ import annotations

import datetime
import math

import pytest

from seqlib import dates


def every_tenth_day():
    return [dates.FIRST_DAY + datetime.timedelta(days=i) for i in range(0, 36_524, 10)]


def test_every_pattern_spells_the_month_as_a_word():
    for locale in dates.LOCALES:
        found = dates.patterns(locale)
        assert found and all("MMM" in p for p in found), (locale, found)
        assert not any("MM/" in p or "MM." in p.replace("MMM", "") for p in found)


def test_round_trip_every_input_parses_back_to_its_iso_target():
    examples = dates.make_examples(every_tenth_day(), seed=3)
    for e in examples:
        assert dates.parse_date(e.text, e.locale, e.pattern) == e.iso, e


def test_round_trip_for_every_locale_and_pattern():
    d = datetime.date(1979, 5, 3)
    for locale in dates.LOCALES:
        for p in dates.patterns(locale):
            from babel.dates import format_date

            assert dates.parse_date(format_date(d, p, locale=locale), locale, p) == "1979-05-03", (locale, p)


def test_the_examples_of_the_issue():
    from babel.dates import format_date

    d = datetime.date(1979, 5, 3)
    assert format_date(d, "EEEE, d MMMM y", locale="en_GB") == "Thursday, 3 May 1979"
    assert format_date(d, "d MMM yy", locale="fr_FR") == "3 mai 79"
    assert dates.parse_date("May 3, 79", "en_US", "MMM d, yy") == "1979-05-03"
    assert dates.parse_date("Jan 1, 49", "en_US", "MMM d, yy") == "2049-01-01"


def test_no_input_has_two_targets():
    seen = {}
    for seed in range(3):
        for e in dates.make_examples(every_tenth_day(), seed=seed):
            assert seen.setdefault(e.text, e.iso) == e.iso, e


def test_a_wrong_weekday_or_text_is_refused():
    with pytest.raises(ValueError, match="weekday"):
        dates.parse_date("Friday, 3 May 1979", "en_GB", "EEEE, d MMMM y")
    with pytest.raises(ValueError, match="pattern"):
        dates.parse_date("1979-05-03", "en_GB", "d MMMM y")


def test_splits_are_seeded_and_disjoint():
    a = dates.make_splits(300, 50, 100, seed=0)
    assert a == dates.make_splits(300, 50, 100, seed=0)
    assert a != dates.make_splits(300, 50, 100, seed=1)
    train, val, test = a
    assert (len(train), len(val), len(test)) == (300, 50, 100)
    iso = [{y for _, y in split} for split in a]
    assert not iso[0] & iso[2] and not iso[0] & iso[1] and not iso[1] & iso[2]  # no date in two splits
    assert not {x for x, _ in train} & {x for x, _ in test}                      # so no input either
    assert all(len(y) == 10 for split in a for _, y in split)


def test_splits_cover_several_locales():
    train, _, _ = dates.make_splits(400, 1, 1, seed=0)
    text = " ".join(x for x, _ in train)
    assert {"de", "mai"} <= set(text.split()) or "Mai" in text


def test_too_many_dates_is_explained():
    with pytest.raises(ValueError, match="distinct dates"):
        dates.make_splits(40_000, 1, 1)


def test_exact_match_and_char_accuracy():
    targets = ["1979-05-03", "2001-12-31"]
    assert dates.exact_match(["1979-05-03", "2001-12-30"], targets) == 0.5
    assert dates.char_accuracy(["1979-05-03", "2001-12-30"], targets) == 19 / 20
    assert dates.char_accuracy(["1979", ""], targets) == 4 / 20
    with pytest.raises(ValueError, match="one output per target"):
        dates.exact_match(["x"], targets)
    with pytest.raises(ValueError, match="one of"):
        dates.patterns("xx_XX")


def test_bad_inputs_at_the_dates_boundaries():
    """Issue 24: dates outside the century window, unknown weekdays, targets without characters."""
    with pytest.raises(ValueError, match="1950"):
        dates.make_examples([datetime.date(2050, 1, 1)])
    with pytest.raises(ValueError, match="weekday"):
        dates.parse_date("Funday, May 3, 1979", "en_US", "EEEE, MMMM d, y")
    assert math.isnan(dates.char_accuracy(["1979"], [""]))
