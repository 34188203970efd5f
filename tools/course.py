"""Facts about the course's files that the build, the normaliser and the tests share."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHECK_TAG = "nbval-check-output"   # nbval compares the output of a cell with this tag


def toc_files(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every file named in ``_toc.yml`` (root first), without extension, in book order."""
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def toc_labs(toc_path: Path = ROOT / "_toc.yml") -> list[Path]:
    """The lab notebooks listed in ``_toc.yml``, in book order."""
    root = toc_path.parent
    return [root / f"{f}.ipynb" for f in toc_files(toc_path) if f.startswith("labs/")]


def lab_notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook in ``labs/``, sorted by name (dayNN first)."""
    return sorted((root / "labs").glob("*.ipynb"))


# Each lab's budget in reference units (tools/reference.py: one unit is about a minute on a
# CI-class 2-core machine), full mode. A lab may declare its own in its notebook metadata
# ("seqlib": {"budget": N}); this is the default.
DEFAULT_BUDGET = 4


def _lab_metadata(name: str, root: Path = ROOT) -> dict:
    """The ``metadata.seqlib`` of ``labs/<name>.ipynb`` (empty when the lab or the entry is missing)."""
    import json

    try:
        meta = json.loads((root / "labs" / f"{name}.ipynb").read_text()).get("metadata", {})
    except (OSError, ValueError):
        return {}
    return meta.get("seqlib", {})


def lab_budget(name: str, root: Path = ROOT) -> float:
    """The budget (reference units) of the lab ``name`` (``labs/<name>.ipynb``'s ``metadata.seqlib.budget``,
    else :data:`DEFAULT_BUDGET`)."""
    return _lab_metadata(name, root).get("budget", DEFAULT_BUDGET)


def lab_study_hours(name: str, root: Path = ROOT) -> float | None:
    """A student's study time for the lab ``name``, in hours (``metadata.seqlib.study_hours``, the one
    source that the lab's introduction, the course map of ``book/index.md`` and the results page
    state; a test compares them), or None."""
    return _lab_metadata(name, root).get("study_hours")


def lab_title(path: Path) -> str:
    """The title of a lab: the first ``# `` heading of its first markdown cell (else the file's stem)."""
    import json

    try:
        cells = json.loads(Path(path).read_text()).get("cells", [])
    except (OSError, ValueError):
        return Path(path).stem
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            for line in source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            break
    return Path(path).stem


def is_checked(cell) -> bool:
    """True for a code cell whose reference output is kept and compared by nbval (tagged ``nbval-check-output``)."""
    return cell.get("cell_type") == "code" and CHECK_TAG in cell.get("metadata", {}).get("tags", [])


def repository_url(config_path: Path = ROOT / "_config.yml") -> str:
    """The one repository URL of the course (``repository.url`` in ``_config.yml``)."""
    return yaml.safe_load(config_path.read_text())["repository"]["url"].rstrip("/")


def lab_threads(name: str, root: Path = ROOT) -> str:
    """``"one"`` if the lab ``labs/<name>.ipynb`` runs PyTorch on one thread (a code cell calls
    ``torch.set_num_threads(1)``), else ``"all"``: it keeps PyTorch's default, a thread per core. A
    student's minutes per unit depend on it (``make calibrate`` prints both)."""
    import json

    cells = json.loads((root / "labs" / f"{name}.ipynb").read_text()).get("cells", [])
    sources = ("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    return "one" if any("torch.set_num_threads(1)" in s for s in sources) else "all"
