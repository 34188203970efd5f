#!/usr/bin/env python
"""Which recorded results moved? Compare a machine's ``results.json`` with the book's, number by number.

    python tools/compare_results.py _build/results.json REFERENCE   # REFERENCE: a file or the book's URL
    make compare-results REFERENCE=https://<the book>/results.json  # yours: _build/results.json

Both files are what ``make book`` writes (``_build/results.json``; the book serves its own as
``results.json`` beside ``index.html``). For every number a lab recorded in both, the allowed
difference is twice its spread over seeds (``<name>_std``, or ``<prefix>_std_<rest>`` for
``<prefix>_<rest>``, when the lab records one, the larger of
the two runs'), and at least ``--tolerance`` (default 5 %) of the reference value when no spread is
recorded or it is tiny. Prints one table row per number (reference, yours, difference, allowed,
``moved`` or ``same``) and names what only one side recorded; exits 1 if any number moved.
Timings are not compared (they depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import urllib.request
from pathlib import Path


TIMING = re.compile(r"seconds|per_s(_|$)|speedup|smoke")   # machine-dependent or a mode flag: not compared


def load(source: str) -> dict:
    """A ``results.json`` from a path or an http(s) URL: ``{lab: {name: value}}``."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            data = json.load(response)
    else:
        path = Path(source)
        if not path.is_file():
            raise SystemExit(f"{source}: no such file (make book writes _build/results.json)")
        data = json.loads(path.read_text())
    labs = data.get("labs") if isinstance(data, dict) else None
    if not isinstance(labs, dict):
        raise SystemExit(f"{source} is not a results.json of make book (no 'labs' table)")
    return {lab: entry.get("results") or {} for lab, entry in labs.items()}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_spread(name: str) -> bool:
    """A spread over seeds: ``<name>_std`` or ``<prefix>_std_<rest>`` (Day 7's ``copy_acc_std_rnn_len6``)."""
    return name.endswith("_std") or "_std_" in name


def _spread_of(name: str) -> str:
    """The number a spread belongs to: ``acc_std`` -> ``acc``, ``copy_acc_std_rnn_len6`` -> ``copy_acc_rnn_len6``."""
    return name[:-len("_std")] if name.endswith("_std") else name.replace("_std_", "_", 1)


def compare(mine: dict, reference: dict, tolerance: float = 0.05) -> list[dict]:
    """One row per number both recorded: ``lab, name, reference, yours, difference, allowed, moved``
    (and ``spread``: where ``allowed`` came from); then the names one side lacks (``moved`` None)."""
    rows = []
    for lab in sorted(set(mine) | set(reference)):
        a, b = mine.get(lab, {}), reference.get(lab, {})
        for name in sorted(set(a) | set(b)):
            if _is_spread(name) or TIMING.search(name):
                continue
            if name not in a or name not in b:
                rows.append({"lab": lab, "name": name, "reference": b.get(name), "yours": a.get(name),
                             "difference": None, "allowed": None, "spread": "only one side", "moved": None})
                continue
            ref, yours = b[name], a[name]
            if not (_number(ref) and _number(yours)):
                rows.append({"lab": lab, "name": name, "reference": ref, "yours": yours, "difference": None,
                             "allowed": None, "spread": "text", "moved": ref != yours})
                continue
            stds = [s[k] for s in (a, b) for k in s if _is_spread(k) and _spread_of(k) == name and _number(s[k])]
            floor, spread = tolerance * abs(ref), 2 * max(stds, default=0.0)
            rows.append({"lab": lab, "name": name, "reference": ref, "yours": yours, "difference": yours - ref,
                         "allowed": max(spread, floor), "moved": abs(yours - ref) > max(spread, floor),
                         "spread": "2 x std over seeds" if stds and spread >= floor
                         else f"{tolerance:.0%} of the reference"})
    return rows


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mine", help="your results.json (make book writes _build/results.json)")
    ap.add_argument("reference", help="the book's results.json: a file or its URL")
    ap.add_argument("--tolerance", type=float, default=0.05,
                    help="smallest allowed difference, as a share of the reference value (default 0.05)")
    args = ap.parse_args(argv)
    if not 0 <= args.tolerance < 1:
        ap.error(f"--tolerance must be a share in [0, 1), got {args.tolerance}")
    rows = compare(load(args.mine), load(args.reference), args.tolerance)
    print(f"{'lab':26} {'result':34} {'reference':>10} {'yours':>10} {'diff':>10} {'allowed':>9}  verdict")
    for r in rows:
        verdict = "only in " + ("yours" if r["reference"] is None else "the reference") if r["moved"] is None \
            else ("MOVED" if r["moved"] else "same") + (f" ({r['spread']})" if r["moved"] is not None else "")
        print(f"{r['lab']:26} {r['name']:34} {_fmt(r['reference']):>10} {_fmt(r['yours']):>10} "
              f"{_fmt(r['difference']):>10} {_fmt(r['allowed']):>9}  {verdict}")
    moved = [f"{r['lab']}: {r['name']}" for r in rows if r["moved"]]
    print(f"\n{sum(r['moved'] is not None for r in rows)} results compared; "
          + (f"{len(moved)} moved beyond their spread: {', '.join(moved)}" if moved else "none moved beyond its spread"))
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
