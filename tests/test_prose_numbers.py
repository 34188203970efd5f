"""Every number in a lab's prose comes from its own run, a recorded run, or a cited source (issue 25).

Numbers a run produces reach the page through ``say(f"...{value}...")`` placeholders or
``recorded(...)``; what this test reads is what is *written* instead: decimals and percentages in
markdown cells (outside math, code and model answers) and in the literal text of ``say(...)``.
Each must stand in a paragraph that cites its source (``{cite}``), or be listed below with what it
is: a setting of the lab, a definition or arithmetic, a course target, a published figure. A new
number written into the prose fails here until it is one of these.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from tools.course import lab_notebooks

NUMBER = re.compile(r"(?<![\w.$`{])(\d+\.\d+|\d+(?:\.\d+)?\s?%)(?! hours?\b)")

SETTING, DEFINITION, TARGET, PUBLISHED = "a setting of the lab", "a definition or arithmetic", \
    "a course target", "a published figure, its source named in the cell"
ALLOWED = {  # (lab, number): what it is
    ("day01", "0.5"): SETTING, ("day01", "1.5"): SETTING,            # the slider's range in a question
    ("day02", "0.01"): SETTING, ("day02", "0.98"): DEFINITION, ("day02", "0.73"): DEFINITION,  # sigma(4), sigma(1)
    ("day03", "1.0"): "D2L's version number", ("day03", "10%"): SETTING, ("day03", "0.01"): SETTING,
    ("day03", "0.5"): SETTING, ("day03", "0.005"): SETTING, ("day03", "0.3"): SETTING,
    ("day03", "8.5"): "a section number of D2L",
    ("day04", "0.5"): SETTING, ("day04", "1.5"): SETTING,
    ("day05", "10 %"): SETTING, ("day05", "50 %"): "MR's class balance (its README)",
    ("day05", "0.09"): DEFINITION, ("day05", "78 %"): TARGET, ("day05", "76.1"): PUBLISHED,
    ("day05", "79.4"): PUBLISHED,
    ("day06", "90%"): SETTING, ("day06", "10%"): SETTING, ("day06", "1.75"): TARGET, ("day06", "1.88"): PUBLISHED,
    ("day06", "1.50"): "the stretch target of a long run", ("day06", "1.47"): PUBLISHED,
    ("day07", "69%"): DEFINITION, ("day07", "90%"): "the criterion 'learned' of the analysis",
    ("day07", "0.1"): SETTING, ("day07", "0.001"): SETTING,
    ("day08", "95.0"): TARGET, ("day08", "0.2"): SETTING,
    ("day09", "99%"): TARGET, ("day09", "20.6"): PUBLISHED, ("day09", "28.3"): PUBLISHED,
    ("day09", "0.5"): DEFINITION, ("day09", "0.45"): DEFINITION, ("day09", "0.4"): DEFINITION,  # the toy model
}


def _markdown_numbers(source: str) -> list[str]:
    source = re.sub(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->", "", source, flags=re.S)
    source = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$|`[^`]*`", "", source, flags=re.S)
    return [n for para in source.split("\n\n") if not para.lstrip().startswith("#") and "{cite}" not in para
            for n in NUMBER.findall(para)]


def _said_numbers(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: no say() there
        return []
    return [n for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "say"
            for part in ast.walk(node) if isinstance(part, ast.Constant) and isinstance(part.value, str)
            for n in NUMBER.findall(re.sub(r"`[^`]*`|\$[^$]*\$", "", part.value))]


def written_numbers(nb) -> list[tuple[int, str]]:
    return [(i, n) for i, c in enumerate(nb.cells)
            for n in (_markdown_numbers(c.source) if c.cell_type == "markdown" else _said_numbers(c.source))]


@pytest.mark.parametrize("lab", lab_notebooks(), ids=lambda p: p.stem)
def test_every_number_written_in_the_prose_has_a_source(lab):
    day = lab.stem[:5]
    unexplained = [(i, n) for i, n in written_numbers(nbformat.read(lab, as_version=4)) if (day, n) not in ALLOWED]
    assert not unexplained, (f"{lab.name}: numbers written into the prose that neither the run, a recorded run "
                             f"nor a citation gives (cell, number): {unexplained}. Glue the run's value with "
                             "say(f'...'), quote a record with recorded(...), cite the source in the paragraph, "
                             "or list it in ALLOWED with what it is")


def test_the_test_catches_a_number_written_by_hand():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("The LSTM reaches 1.49 nats, far below the n-gram."),
        nbformat.v4.new_markdown_cell("Published: 28.3 BLEU {cite}`trevett2021seq2seq`; $p = 0.5$; `lr=0.003`."),
        nbformat.v4.new_code_cell('say(f"The model reaches {loss:.2f} nats, against 1.558 for the 6-gram.")')])
    assert written_numbers(nb) == [(0, "1.49"), (2, "1.558")]
