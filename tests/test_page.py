"""seqlib.page: seeding, the device, progress bars, showing source and tables (figures, results and
widgets have their own test files)."""

import numpy as np
import pytest
import torch

from seqlib.page.runtime import seed_everything, try_gpu


def test_seed_everything_makes_numpy_and_torch_repeatable():
    rng = seed_everything(3)
    a = (rng.normal(size=3), np.random.rand(2), torch.rand(2))
    rng = seed_everything(3)
    b = (rng.normal(size=3), np.random.rand(2), torch.rand(2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert torch.equal(a[2], b[2])


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        seed_everything(seed)


def test_try_gpu_falls_back_to_cpu_for_missing_devices():
    assert try_gpu(torch.cuda.device_count()).type == "cpu"


@pytest.mark.parametrize("i", [-1, 0.5, None, "0"])
def test_try_gpu_rejects_a_bad_index_naming_it(i):
    with pytest.raises(ValueError, match=r"\bi must be a non-negative integer"):
        try_gpu(i)


def test_show_source_and_show_table_name_a_bad_argument(capsys):
    from seqlib.page import show_source, show_table

    for obj in (None, "num_params", 3):
        with pytest.raises(TypeError, match="obj must be a function, class, method or module"):
            show_source(obj)
    with pytest.raises(TypeError, match="header"):
        show_table(None, [])
    with pytest.raises(TypeError, match=r"rows\[0\]"):
        show_table(["a", "b"], ["xy"])            # a string is not a row
    assert show_table(["a"], [], note="n") is None and capsys.readouterr().out == "a\nn\n"
    assert show_table(["a"], [["1"]]) is None  # shown once; nothing left for the cell to print again


def test_show_table_aligns_numbers_right_and_words_left(capsys, monkeypatch):
    from seqlib.page import show, show_table

    shown = []
    monkeypatch.setattr(show, "_display", lambda bundle, **_: shown.append(bundle))
    show_table(["tag", "share", "n", "example words"],
               [["B-PER", "1.2 %", "−3", "John"], ["O", "85.0 %", "–", "the, a"]])
    assert shown[0]["text/plain"].splitlines() == ["tag     share   n  example words",
                                                   "B-PER   1.2 %  −3  John",
                                                   "O      85.0 %   –  the, a"]
    cells = shown[0]["text/html"].split("<td")[1:5]
    assert ["text-align: right" in c for c in cells] == [False, True, True, False]
    # numbers that outnumber a word keep their column right; dates written out are words
    show_table(["model", "parameters", "written"],
               [["LSTM", "1,806", "3 May 1979"], ["KN", "counts", "3 mai 1979"], ["GRU", "4,503", "May 3, 1979"]])
    cells = shown[1]["text/html"].split("<td")[1:4]
    assert ["text-align: right" in c for c in cells] == [False, True, False]


def _long_comments(x):
    y = x + 1  # a short comment stays where it is
    z = y * 2  # a comment that takes this line well past the book's column of eighty characters
    return [z, "a string with a # that is not a comment, long enough to pass eighty characters"]


def test_show_source_moves_a_long_trailing_comment_above_its_code(monkeypatch):
    from seqlib.page import show, show_source

    shown = []
    monkeypatch.setattr(show, "_display", lambda bundle, **_: shown.append(bundle))
    show_source(_long_comments)
    assert shown[0]["text/plain"].splitlines()[1:] == [
        "    y = x + 1  # a short comment stays where it is",
        "    # a comment that takes this line well past the book's column of eighty characters",
        "    z = y * 2",
        '    return [z, "a string with a # that is not a comment, long enough to pass eighty characters"]',
    ]


def test_progress_goes_to_the_terminal_during_the_book_build(monkeypatch):
    from tqdm.std import tqdm as text_tqdm

    from seqlib.page import progress

    monkeypatch.setenv("SEQLIB_PROGRESS", "terminal")
    bar = progress(range(3), disable=True)
    assert type(bar) is text_tqdm and list(bar) == [0, 1, 2]
    monkeypatch.delenv("SEQLIB_PROGRESS")
    assert list(progress(range(2), disable=True)) == [0, 1]


def test_terminal_progress_bypasses_the_kernels_captured_stderr(monkeypatch):
    """In a Jupyter kernel fd 2 is captured into the notebook; sys.stderr.fileno() is not."""
    import os

    from seqlib.page import progress

    read_end, write_end = os.pipe()

    class KernelStderr:  # like ipykernel's OutStream: fileno() is the uncaptured original
        def fileno(self):
            return write_end

        def write(self, text):
            raise AssertionError("the bar must not be written into the notebook")

        def flush(self):
            pass

    monkeypatch.setenv("SEQLIB_PROGRESS", "terminal")
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setattr("sys.stderr", KernelStderr())
    bar = progress(range(3), desc="demo", mininterval=0, disable=False)  # TQDM_DISABLE is read at import
    assert list(bar) == [0, 1, 2]
    bar.close()
    os.close(write_end)
    with os.fdopen(read_end) as f:
        assert "demo" in f.read()


def _shown_source(monkeypatch, obj, **kwargs):
    """The MIME bundle show_source displays for ``obj`` in a notebook."""
    import IPython.display

    from seqlib.page import show, show_source

    shown = []
    monkeypatch.setattr(show, "_in_ipython", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw)))
    show_source(obj, **kwargs)
    ((bundle, raw),) = shown
    assert raw is True
    return bundle


def test_show_source_displays_a_short_function_open_and_highlighted(monkeypatch):
    from seqlib.page import seed_everything

    bundle = _shown_source(monkeypatch, seed_everything)
    plain = bundle["text/plain"]
    assert plain.startswith("# (1 line checking the input left out)\ndef seed_everything(seed: int)"), plain
    assert "torch.manual_seed" in plain
    html = bundle["text/html"]
    assert html.startswith("<pre") and "<details" not in html
    assert "white-space: pre-wrap" in html     # long lines wrap in the book's column instead of running off it
    assert "style=" in html and "manual_seed" in html  # colours inline: no stylesheet needed in Jupyter, Colab, book


def test_show_source_collapses_a_long_source_behind_a_toggle(monkeypatch):
    from seqlib.fused import LSTMWithBPTT

    bundle = _shown_source(monkeypatch, LSTMWithBPTT)
    html = bundle["text/html"]
    assert html.startswith('<details class="seqlib-source"><summary>') and html.endswith("</details>")
    summary = html[:html.index("</summary>")]
    assert "seqlib.fused.LSTMWithBPTT" in summary and "lines" in summary and "seqlib/fused.py" in summary
    assert "backward" in html and "white-space: pre-wrap" in html
    assert "collapsed" in bundle["text/plain"] and len(bundle["text/plain"].splitlines()) == 1
    # a larger limit shows the same source open
    assert "<details" not in _shown_source(monkeypatch, LSTMWithBPTT, max_lines=1000)["text/html"]


def test_a_collapsed_decorated_function_names_its_own_file_not_the_decorators(monkeypatch):
    """Day 3 showed seqlib.decoding.sample (under @torch.no_grad()) as from torch/utils/_contextlib.py."""
    from seqlib.decoding import sample

    summary = _shown_source(monkeypatch, sample, max_lines=1)["text/html"].split("</summary>")[0]
    assert "seqlib/decoding.py" in summary and "torch" not in summary, summary


@torch.no_grad()
def _decorated(x):
    """Double ``x``.

    Warm-up: a docstring of several lines.
    """

    return 2 * x


def test_show_source_leaves_out_the_docstring_unless_asked(monkeypatch):
    full = _shown_source(monkeypatch, _decorated, docstring=True)["text/plain"]
    code = _shown_source(monkeypatch, _decorated)["text/plain"]
    assert '"""' in full and '"""' not in code and "Warm-up" not in code
    assert code == "@torch.no_grad()\ndef _decorated(x):\n    return 2 * x"


def test_show_source_prints_outside_a_notebook(capsys):
    from seqlib.page import seed_everything, show_source

    show_source(seed_everything, docstring=False)
    out = capsys.readouterr().out
    assert "\ndef seed_everything(seed: int)" in out and "Seed Python" not in out


def test_tqdm_disable_turns_off_the_notebook_bar_too(monkeypatch):
    import tqdm.auto

    from seqlib.page import progress

    monkeypatch.delenv("SEQLIB_PROGRESS", raising=False)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    seen = {}
    monkeypatch.setattr(tqdm.auto, "tqdm", lambda iterable, **kwargs: seen.update(kwargs) or iterable)
    assert list(progress(range(3))) == [0, 1, 2] and seen["disable"] is True


def test_show_source_shows_the_lesson_without_its_input_checks(monkeypatch):
    """A boundary's checks are left out, with a line saying how many; what the function does stays."""
    from seqlib.training import clip_gradients

    plain = _shown_source(monkeypatch, clip_gradients)["text/plain"]
    assert plain.splitlines()[0] == "# (1 line checking the input left out)"
    assert "number_in_range" not in plain and "return _clip_norm(" in plain
    from seqlib import cells

    plain = _shown_source(monkeypatch, cells.lstm_step)["text/plain"]
    assert "left out" not in plain and plain.startswith("def lstm_step(") and "lstm_pointwise" in plain


def test_a_wrapped_source_line_hangs_under_its_own_indentation(monkeypatch):
    from seqlib import cells

    html = _shown_source(monkeypatch, cells.lstm_step)["text/html"]
    rows = html.split("<div ")[1:]
    assert rows[0].startswith('style="padding-left: 4ch; text-indent: -4ch"')   # def ...: column 0
    assert rows[1].startswith('style="padding-left: 8ch; text-indent: -4ch"')   # the body: 4 spaces in


def test_show_source_leaves_out_a_check_of_each_item_inside_a_loop(monkeypatch):
    """A reader's per-line check (Day 8b's read_bio) is input checking too: the lesson is the loop."""
    from seqlib.entities import bio_spans, read_bio

    plain = _shown_source(monkeypatch, read_bio)["text/plain"]
    assert "validation" not in plain and "(3 lines checking the input left out)" in plain, plain
    assert "fields = line.split" in plain and "words.append(fields[0])" in plain
    plain = _shown_source(monkeypatch, bio_spans)["text/plain"]
    assert "_check_tags" not in plain and "for t, tag in enumerate([*tags, \"O\"])" in plain, plain


def test_keep_freed_memory_applies_on_glibc_and_is_a_no_op_elsewhere(monkeypatch):
    import platform

    from seqlib.page.runtime import keep_freed_memory

    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_freed_memory(False) is glibc and keep_freed_memory() is glibc  # back to kept, as in the labs
    calls = []

    class FakeLibc:
        def mallopt(self, option, value):
            calls.append((option, value))
            return 1

    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "libc_ver", lambda: ("glibc", "2.36"))
    monkeypatch.setattr("ctypes.CDLL", lambda name: FakeLibc())
    assert keep_freed_memory() is True and keep_freed_memory(False) is True
    # M_MMAP_THRESHOLD (-3) and M_TRIM_THRESHOLD (-1): 32 MiB and 1 GiB kept, then glibc's 128 KiB back
    assert calls == [(-3, 32 << 20), (-1, 1 << 30), (-3, 128 << 10), (-1, 128 << 10)]
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert keep_freed_memory() is False and len(calls) == 4
