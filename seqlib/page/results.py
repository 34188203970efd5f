"""Numbers from a run: :func:`say` (prose quoting them), :func:`record` (headline numbers, shown under
:data:`RESULTS_MIME` for ``tools/build.py``'s :func:`collect`), :func:`mean_std` over seeds (population
std, ``ddof=0``) and :func:`mean_pm_std` (``95.1% ± 0.10%``); :func:`recorded`, a long run recorded
with its provenance (``tools/long_runs.py``), the only way a lab quotes a run it does not make.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import re

from seqlib.page.show import _display
from seqlib.validation import ArgumentTypeError, finite_number

RESULTS_MIME = "application/vnd.seqlib.results+json"


def mean_std(values) -> tuple[float, float]:
    """``(mean, standard deviation)`` of one result over seeds (population std: 0 for one seed)."""
    if not (values := [float(v) for v in values]):
        raise ValueError("values is empty: pass one result per seed")
    mean = math.fsum(values) / len(values)
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))


def mean_pm_std(values, fmt: str = ".1%", std_fmt: str | None = None) -> str:
    """``"mean ± std"`` over seeds, each formatted with ``fmt`` (the std with ``std_fmt`` if given);
    a single seed gives the value alone."""
    mean, std = mean_std(values)
    return format(mean, fmt) if len(values) == 1 else f"{mean:{fmt}} ± {std:{std_fmt or fmt}}"


def _clean(name: str, value):
    """``value`` as a plain ``int``, finite ``float`` or ``str``, or an error naming the result."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"result name {name!r} must be lower_snake_case (letters, digits, underscores), "
                         "e.g. val_ppl_lstm")
    if isinstance(value, str) or isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return value if isinstance(value, str) else int(value)
    return finite_number(value.item() if hasattr(value, "item") else value, f"result {name!r}",
                         hint="record a number (an accuracy, not a bool) or a short string")


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def record(**metrics) -> dict:
    """Record (show, for the build to collect) headline numbers: ``record(val_ppl_lstm=4.2, test_acc_pct=91.0)``.

    Names are lower_snake_case with the unit or kind in the name; values finite numbers or short strings.
    Returns the cleaned dict.
    """
    if not metrics:
        raise ValueError("record() needs at least one name=value pair, e.g. record(val_ppl=4.2)")
    clean = {name: _clean(name, value) for name, value in metrics.items()}
    rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(_fmt(v))}</td></tr>"
                   for k, v in clean.items())
    width = max(len(k) for k in clean)
    _display({"text/plain": "Recorded results:\n" + "\n".join(f"  {k:<{width}}  {_fmt(v)}" for k, v in clean.items()),
              "text/html": '<table class="seqlib-results"><thead><tr><th>recorded result</th><th>value</th>'
                           f"</tr></thead><tbody>{rows}</tbody></table>",
              RESULTS_MIME: clean})
    return clean


def say(markdown: str) -> None:
    """Show Markdown text that quotes this run's numbers (an f-string in a ``remove-input`` cell), e.g.
    ``say(f"... **{ratio:.1f}x** as fast: {'faster' if ratio > 1.1 else 'about as fast'}")``."""
    if not isinstance(markdown, str) or not markdown.strip():
        raise ArgumentTypeError(f"say() needs the text to show, as a non-empty string (Markdown), "
                                f"got {markdown!r:.60}")
    _display({"text/markdown": markdown, "text/plain": markdown})


def collect(nb) -> dict:
    """All values recorded in an executed notebook (a dict or ``nbformat`` node), later ones winning."""
    if not hasattr(nb, "get") or not isinstance(nb.get("cells"), list):
        raise TypeError(f"nb must be a notebook (a dict or nbformat node with a 'cells' list), "
                        f"got {type(nb).__name__}")
    found: dict = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            if RESULTS_MIME in data:
                found.update(data[RESULTS_MIME])
    return found


def recorded(name: str) -> dict:
    """The record of a long run (``seqlib/records/<name>.json``, written by ``tools/long_runs.py``): shows
    its provenance in one line (command, commit, machine, date, time) and returns it; the numbers are
    under ``["results"]``."""
    from importlib import resources

    path = resources.files("seqlib") / "records" / f"{name}.json"
    if not path.is_file():
        made = sorted(p.name[:-5] for p in (resources.files("seqlib") / "records").iterdir() if p.name.endswith(".json"))
        raise FileNotFoundError(f"no recorded run named {name!r} (recorded: {', '.join(made) or 'none'}); "
                                f"make it with `python tools/long_runs.py {name}` in the course repository")
    rec = json.loads(path.read_text())
    m = rec["machine"]
    threads = f" ({rec['threads']} thread{'s' * (rec['threads'] != 1)})" if rec.get("threads") else ""
    where = f"{m['cpu']}, {m['cores']} cores{threads}, {m['isa']}" + (f", {m['gpu']}" if m.get("gpu") else "")
    dirty = " (with uncommitted changes)" if rec["commit"].endswith("-dirty") else ""
    line = (f"*Recorded run* `{name}`: `{rec['command']}` at commit `{rec['commit'][:7]}`{dirty}, on {where}, "
            f"{rec['date'][:10]}, {rec['seconds']:.0f} s ({rec['units']:g} reference units).")
    _display({"text/markdown": line, "text/plain": line})
    return rec
