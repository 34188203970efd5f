"""The "Results at a glance" page of the book, for people: tools/build.py writes it after the labs ran.

Each lab's recorded numbers (``seqlib.page.record``; raw names in ``_build/results.json``) are
shown as ``book/results_catalogue.yml`` describes them: grouped into comparisons, each number with
a plain-language label, its unit, and what kind of figure it is (measured in this run, a baseline,
the best possible, the course's target, a published result). Keys the catalogue does not name
appear only in a collapsed block of raw values, and in ``results.json``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from tools.course import lab_study_hours

ROOT = Path(__file__).resolve().parents[1]

CATALOGUE = ROOT / "book" / "results_catalogue.yml"
KINDS = {  # a row's kind -> what the page's last column says about the figure: (recorded, fixed text)
    "measured": ("this run", None), "baseline": ("baseline, this run", "baseline"),
    "bound": ("best possible, this run", "best possible"), "target": (None, "course target"),
    "published": (None, "published"),
}
FIXED_KINDS = {"target", "published", "baseline", "bound"}  # kinds a fixed ``text`` figure may have


def load_catalogue(path: Path = CATALOGUE) -> dict:
    """The results catalogue (``book/results_catalogue.yml``): per lab, the comparisons of the results page."""
    import yaml

    return yaml.safe_load(path.read_text()) or {}


def check_catalogue(catalogue: dict) -> list[str]:
    """Problems of the catalogue's structure (empty when it is well formed), one line each."""
    problems = []
    if not isinstance(catalogue, dict):
        return ["the catalogue must map lab names to lists of comparisons"]
    for lab, groups in catalogue.items():
        if not isinstance(groups, list) or not groups:
            problems.append(f"{lab}: needs a list of comparisons")
            continue
        for i, group in enumerate(groups):
            where = f"{lab}, comparison {i + 1}"
            if not isinstance(group, dict) or not isinstance(group.get("title"), str):
                problems.append(f"{where}: needs a title")
                continue
            unknown = set(group) - {"title", "about", "unit", "format", "scale", "rows"}
            if unknown:
                problems.append(f"{where}: unknown fields {sorted(unknown)}")
            rows = group.get("rows")
            if not isinstance(rows, list) or not rows:
                problems.append(f"{where}: needs rows")
                continue
            for row in rows:
                if not isinstance(row, dict) or not isinstance(row.get("label"), str) or not row["label"].strip():
                    problems.append(f"{where}: every row needs a label ({row!r:.60})")
                    continue
                unknown = set(row) - {"key", "text", "label", "kind", "unit", "format", "scale", "values"}
                if unknown:
                    problems.append(f"{where}, {row['label']!r}: unknown fields {sorted(unknown)}")
                if ("key" in row) == ("text" in row):
                    problems.append(f"{where}, {row['label']!r}: give either a recorded key or a fixed text")
                kind = row.get("kind", "measured")
                allowed = FIXED_KINDS if "text" in row else {"measured", "baseline", "bound"}
                if kind not in allowed:
                    problems.append(f"{where}, {row['label']!r}: kind {kind!r} is not one of {sorted(allowed)}")
                fmt = row.get("format", group.get("format", ".4g"))
                try:
                    format(1.5 if fmt != "d" else 1, fmt)
                except (ValueError, TypeError):
                    problems.append(f"{where}, {row['label']!r}: bad format {fmt!r}")
    return problems


def catalogue_gaps(labs: dict, catalogue: dict) -> dict[str, list[str]]:
    """Per lab that ran successfully, the catalogue's keys it did not record (left out of the page)."""
    gaps = {}
    for name, e in labs.items():
        if e.get("status") != "ok":
            continue
        wanted = [row["key"] for group in catalogue.get(name, []) for row in group["rows"] if "key" in row]
        missing = [k for k in wanted if k not in e.get("results", {})]
        if missing:
            gaps[name] = missing
    return gaps


def _escape(text: str) -> str:
    """Text for a Markdown table cell, shown literally."""
    return "".join("\\" + c if c in "\\`*_[]<>|$#{}~" else c for c in str(text)).replace("\n", " ")


def _code(text: str) -> str:
    text = str(text).replace("\n", " ").replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def format_value(value, row: dict, group: dict) -> str:
    """A recorded value as the page shows it: scaled and formatted numbers, named or quoted strings."""
    unit = row.get("unit", group.get("unit", ""))
    if isinstance(value, str):
        value = row.get("values", {}).get(value, value)
        return _code(value) if unit == "text" else _escape(value)
    own = "unit" in row and row["unit"] != group.get("unit")  # a row in its own unit inherits no scale, format
    fmt = row.get("format", ".4g" if own else group.get("format", ".4g"))
    scaled = value * row.get("scale", 1 if own else group.get("scale", 1))
    if fmt == "d" or fmt.endswith("d"):
        scaled = int(round(scaled))
    return format(scaled, fmt)


def comparison_table(group: dict, results: dict) -> list[str]:
    """One comparison of the catalogue as Markdown lines (rows whose key was not recorded are left out)."""
    unit = group.get("unit", "")
    lines = [f"### {group['title']}", ""]
    if group.get("about"):
        lines += [" ".join(group["about"].split()), ""]
    lines += [f"| result | {_escape(unit) if unit else 'value'} | kind of figure |", "|---|--:|---|"]
    shown = 0
    for row in group["rows"]:
        if "key" in row and row["key"] not in results:
            continue
        own_unit = row.get("unit", unit)
        if "key" in row:
            value = format_value(results[row["key"]], row, group)
        else:
            value = _code(row["text"]) if own_unit == "text" else _escape(row["text"])
        if own_unit and own_unit != unit and own_unit not in ("text", "name"):
            value += f" {_escape(own_unit)}"
        kind = KINDS[row.get("kind", "measured")][0 if "key" in row else 1]
        lines.append(f"| {_escape(row['label'])} | {value} | {kind} |")
        shown += "key" in row
    return lines + [""] if shown else []


def _run_time(e: dict) -> str:
    units = e.get("units")
    cost = (f", **{units:.1f} reference units** (budget {e.get('budget', '–')})" if units is not None else "")
    state = "" if e["status"] == "ok" else " **It failed**: no numbers were recorded."
    return f"Run time: **{e['seconds']:.0f} s** on the machine that built this book{cost}.{state}"


def results_page(labs: dict, mode: str, machine: dict | None = None, wall: dict | None = None,
                 catalogue: dict | None = None, titles: dict | None = None) -> str:
    """Markdown of the "Results at a glance" page.

    ``catalogue`` (:func:`load_catalogue`) says how each lab's recorded numbers are shown: grouped
    into comparisons, each number with a plain-language label, its unit and what it is compared with.
    Every recorded value is also listed under its raw key in a collapsed block."""
    machine = machine or {}
    catalogue = catalogue or {}
    titles = titles or {}
    where = (f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, {machine.get('isa', '?')}, "
             f"torch {machine.get('torch', '?')}") if machine else f"{os.cpu_count()} CPU cores"
    lines = [
        "# Results at a glance", "",
        f"Every lab of this book was executed in **{mode} mode** when the book was built "
        f"({dt.date.today().isoformat()}, on {where}). Below, lab by lab, are the numbers each lab "
        "recorded while it ran, next to what they are compared with: a **baseline** measured in the "
        "same run, the **best possible** figure where one is known, the **course's target**, or a "
        "**published** figure. `make book` writes the same numbers, under their raw names, to "
        "`_build/results.json`, so you can compare your own run with this one: perplexities and "
        "accuracies should agree to within a few percent; throughputs and times depend on the machine.",
        "",
        "## Run time per lab", "",
        "The lab's run time is measured here, once, by the build (a lab's own page does not repeat "
        "it). Seconds depend on the machine. **Reference units** do not: the build times a small fixed "
        "workload on the machine first, and one unit is about one minute on a 2-core machine of the "
        "class the course's CI runs on. A lab's budget is in units too. To predict a lab's time on your "
        "machine, run `make calibrate` in the course repository: it prints how many minutes one "
        "unit takes there, for the labs on one thread and for those on every core (the "
        "{doc}`setup` page has the labs of each kind and how good the prediction was); multiply by "
        "the lab's units. The study time is what a student needs to "
        "work through the lab (the lab's introduction and the course map state the same).", "",
        "| lab | status | run time (s) | reference units | budget (units) | study time (h) |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for name, e in labs.items():
        u = e.get("units")
        shown = "–" if u is None else f"{u:.1f}" + (" (over)" if e.get("budget") and u > e["budget"] else "")
        hours = lab_study_hours(name)
        lines.append(f"| {{doc}}`../labs/{name}` | {e['status']} | {e['seconds']:.1f} | {shown} "  # its title
                     f"| {e.get('budget', '–')} | {'–' if hours is None else f'{hours:g}'} |")
    if wall:
        lines += ["", f"The labs ran {wall['jobs']} at a time: the build's execution took "
                      f"{wall['seconds']:.0f} s of wall time for {wall['sum_seconds']:.0f} s of lab time "
                      f"({wall['seconds'] / max(wall['sum_seconds'], 1e-9):.0%})."]
    for name, e in labs.items():
        results = e.get("results") or {}
        lines += ["", f"## {titles.get(name, name)}", "",
                  f"{{doc}}`Open the lab <../labs/{name}>`. {_run_time(e)}", ""]
        for group in catalogue.get(name, []):
            lines += comparison_table(group, results)
        if results:
            lines += [":::{dropdown} All values recorded by this lab (raw names, as in results.json)", "",
                      "| name | value |", "|---|---|"]
            for k, v in results.items():
                shown = f"{v:.4g}" if isinstance(v, float) else str(v)
                lines.append(f"| `{k}` | {_escape(shown)} |")
            lines += [":::"]
    return "\n".join(lines) + "\n"
