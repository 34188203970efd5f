"""Author-year labels in the bibliography, matching the author-year citations in the text.

The labs cite with ``{cite}`` and ``bibtex_reference_style: author_year``, which renders
"[Zhang et al., 2023]"; pybtex's default ``alpha`` style would label the same entry
"[ZLLS23]" in the bibliography. This extension registers the pybtex formatting style
``course_author_year`` (``alpha`` with author-year labels), selected by
``bibtex_default_style`` in ``_config.yml``. Labels follow the citation's rules: one
author "Elman, 1990", two "Hochreiter and Schmidhuber, 1997", three or more
"Zhang et al., 2023" (editors, then the title, when there is no author); two entries that
would share a label get "a", "b", ... after the year.
"""

from __future__ import annotations

from collections import Counter

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels import BaseLabelStyle

STYLE = "course_author_year"


def _plain(latex: str) -> str:
    return Text.from_latex(latex).render_as("text")


def author_year(entry) -> str:
    """The label of one pybtex entry, e.g. ``Hochreiter and Schmidhuber, 1997``."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_plain(" ".join(p.prelast_names + p.last_names)) for p in persons]
    if not names:
        who = _plain(entry.fields.get("title", entry.key))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {_plain(entry.fields.get('year', 'n.d.'))}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        sorted_entries = list(sorted_entries)
        labels = [author_year(e) for e in sorted_entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(AlphaStyle):
    """pybtex's ``alpha`` (sorted by author, year, title) with author-year labels."""

    default_label_style = STYLE


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.labels", STYLE, AuthorYearLabels, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
