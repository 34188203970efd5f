"""Every command line of the course (seqlib.cli's one style): each flag of each command, given a bad
value, stops with exit status 2 and one line naming the flag, before any data is read or anything is
written; the copy task's run folders (--overwrite, failed runs, --load) never hurt what they did not make.

Most cases call ``main(argv)`` in this process (fast); a few run the real commands as subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqlib import checkpoint, cli, translation, translation_cli
from seqlib.copy_task import CopyModel, vocab
from seqlib.copy_task import cli as copy_cli
from tools import bench as bench_cli
from tools import reference

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"copy_task": copy_cli, "translation": translation_cli, "bench": bench_cli, "reference": reference}
BAD = {cli.POSITIVE: ["0", "-5", "1.5", "x"], cli.NON_NEGATIVE: ["-1", "x"], cli.FRACTION: ["1", "-0.1", "nan"],
       cli.POSITIVE_NUMBER: ["0", "-1", "inf", "nan", "x"], cli.TEXT: [""]}


def _options(name):
    if name == "reference":
        return reference.OPTIONS
    return COMMANDS[name].OPTIONS


def _bad_cases():
    for name in COMMANDS:
        for flags, _, rule, _ in _options(name):
            if rule is not bool:
                for value in BAD.get(rule, ["no-such-choice"]):
                    yield name, (flags,) if isinstance(flags, str) else flags, value


@pytest.fixture
def no_reading(monkeypatch, tmp_path):
    """Run in an empty folder; reading data or timing anything fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("data were read before every flag was checked")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(copy_cli, "make_dataset", refuse)
    monkeypatch.setattr(translation, "load_multi30k", refuse)
    monkeypatch.setattr(bench_cli, "run", refuse)
    monkeypatch.setattr(reference, "reference_seconds", refuse)
    return tmp_path


def _refused(main, argv, capsys) -> str:
    """The one line ``main(argv)`` printed when it stopped with exit status 2."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and ": error: " in err, err
    return err


@pytest.mark.parametrize("name, flags, value", list(_bad_cases()))
def test_every_flag_of_every_command_refuses_a_bad_value(name, flags, value, no_reading, capsys):
    err = _refused(COMMANDS[name].main, [flags[-1], value], capsys)
    assert f"argument {'/'.join(flags)}: " in err
    assert not any(no_reading.iterdir())  # nothing made


@pytest.mark.parametrize("argv, flag, words", [
    (["--train-pairs", "-5"], "--train-pairs", "positive integer, got '-5'"),
    (["--beam-width", "0"], "--beam-width", "positive integer, got '0'"),
    (["--attention", "luong"], "--attention", "one of additive, dot, none"),
    (["--epochs", "3"], "--epochs", "unrecognized"),
    (["--attention", "none", "--input-feeding"], "--input-feeding", "feeds back what attention read"),
])
def test_translation_refuses_before_loading_multi30k(argv, flag, words, no_reading, capsys):
    err = _refused(translation_cli.main, argv, capsys)
    assert words in err and (flag in err or "unrecognized arguments" in err), err


@pytest.mark.parametrize("argv, flag, words", [
    (["-oseq", "101"], "-oseq/--train-output-len", "longer than the input"),
    (["-tseq", "20", "-toseq", "21"], "-toseq/--test-output-len", "longer than the input"),
    (["-c", "tree"], "-c/--cell", "one of rnn, lstm, gru, mlstm, mgru"),
    (["-l", ".log"], "-l/--log", "must name a run"),
    (["-l", "."], "-l/--log", "must name a run"),
    (["--load", "no/such/model.pth"], "--load", "no checkpoint"),
])
def test_the_copy_task_checks_options_against_each_other(argv, flag, words, no_reading, capsys):
    err = _refused(copy_cli.main, argv, capsys)
    assert f"argument {flag}: " in err and words in err, err
    assert not any(no_reading.iterdir())


def test_an_unavailable_device_is_refused(no_reading, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "-d/--device: cuda is not available on this machine; use -d cpu" in _refused(copy_cli.main, ["-d", "cuda"],
                                                                                           capsys)


def test_overwrite_replaces_only_a_run_folder_of_the_tool(no_reading, capsys):
    (no_reading / "thesis").mkdir()
    (no_reading / "thesis" / "chapter1.tex").write_text("mine")
    (no_reading / "notes").write_text("mine too")
    for log, words in (("thesis", "thesis is a folder that this tool did not make"),
                       ("thesis.log", "thesis is a folder that this tool did not make"),
                       ("notes", "notes is a file"), ("notes/run.log", "notes is not a folder")):
        err = _refused(copy_cli.main, ["-l", log, "--overwrite"], capsys)
        assert f"-l/--log: {words}" in err, err
    assert (no_reading / "thesis" / "chapter1.tex").read_text() == "mine"
    assert (no_reading / "notes").read_text() == "mine too"
    run = no_reading / "rnn"
    run.mkdir()
    (run / copy_cli.MARKER).write_text("")
    assert "the run folder rnn exists; choose another name or pass --overwrite" in _refused(copy_cli.main, [], capsys)
    args = copy_cli.parse_args(["--overwrite"])
    assert args.folder == Path("rnn") and args.lr == 0.1 and args.num_hiddens == 128 and args.embed_size == 11
    assert copy_cli.run_folder("rnn.log") == Path("rnn") and copy_cli.run_folder("runs/a") == Path("runs/a")


def _saved_model(path, **extra):
    model = CopyModel("rnn", 3, 4)
    checkpoint.save(path, model, vocab(), model.config, **extra)
    return path


def test_load_refuses_what_is_not_a_model_of_the_tool(no_reading, capsys):
    _saved_model(no_reading / "bare.pth")  # a CopyModel saved without the tool's extras
    (no_reading / "notes.pth").write_text("not a checkpoint")
    err = _refused(copy_cli.main, ["--load", "bare.pth"], capsys)
    assert "--load: bare.pth holds a CopyModel but not its training lengths" in err
    assert "--load: " in _refused(copy_cli.main, ["--load", "notes.pth"], capsys)
    assert {p.name for p in no_reading.iterdir()} == {"bare.pth", "notes.pth"}


TINY = ["-c", "mlstm", "-iseq", "4", "-oseq", "2", "-p", "1", "-tseq", "9", "-toseq", "3", "-hs", "8",
        "-em", "5", "-ep", "2", "-trs", "48", "-ts", "20", "-b", "16", "-lr", "0.01", "-s", "3"]


def test_a_failed_run_leaves_nothing_and_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def fail(*args, **kwargs):
        raise RuntimeError("the loss is not finite")

    monkeypatch.setattr(copy_cli, "fit", fail)
    with pytest.raises(RuntimeError, match="not finite"):
        copy_cli.main(["-l", "run.log", *TINY])
    assert not any(tmp_path.iterdir())  # the rerun is not blocked
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / copy_cli.MARKER).write_text("")
    (tmp_path / "run" / "run.log").write_text("the earlier run")
    with pytest.raises(RuntimeError, match="not finite"):
        copy_cli.main(["-l", "run.log", "--overwrite", *TINY])
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the earlier run is kept
    assert (tmp_path / "run" / "run.log").read_text() == "the earlier run"


def test_help_lists_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as stop:
        copy_cli.main(["--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    for flags, *_ in copy_cli.OPTIONS:
        assert all(flag in text for flag in ((flags,) if isinstance(flags, str) else flags)), flags
    assert "--load LOAD" in text and "(default: 0.1)" in text and "{rnn,lstm,gru,mlstm,mgru}" in text


def _command(*argv, cwd):
    env = dict(os.environ, TQDM_DISABLE="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_copy_task_runs_end_to_end_and_load_reproduces_the_test_accuracy(tmp_path, monkeypatch, capsys):
    done = _command("-m", "seqlib.copy_task", "-l", "tiny.log", *TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "tiny"
    assert {p.name for p in tmp_path.iterdir()} == {"tiny"}  # no staging folder left
    assert {p.name for p in folder.iterdir()} == {"tiny.log", "loss.png", "accuracy.png", "per_position.png",
                                                 "model.pth", "summary.json", copy_cli.MARKER}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["cell"] == "mlstm" and summary["train_lengths"] == [4, 1, 2]
    assert summary["config"]["num_hiddens"] == 8 and summary["config"]["num_epochs"] == 2
    assert len(summary["history"]["train_loss"]) == 2 and len(summary["test"]["per_position"]) == 3
    log = (folder / "tiny.log").read_text()
    assert "configuration:" in log and "epoch 2/2" in log and "copy accuracy" in log
    payload = torch.load(folder / "model.pth", weights_only=True)
    assert payload["config"]["cell"] == "mlstm" and "rnn.W_xm" in payload["state_dict"]
    for png in ("loss.png", "accuracy.png", "per_position.png"):
        assert (folder / png).read_bytes()[:4] == b"\x89PNG"
    again = copy_cli.main(["--load", str(folder), "-tseq", "9", "-toseq", "3", "-p", "1", "-ts", "20", "-s", "3",
                           "-l", str(tmp_path / "tiny-again")])
    assert again == 0
    reloaded = json.loads((tmp_path / "tiny-again" / "summary.json").read_text())
    assert reloaded["test"] == summary["test"] and not (tmp_path / "tiny-again" / "model.pth").exists()
    monkeypatch.chdir(tmp_path)
    assert "run folder tiny exists" in _refused(copy_cli.main, ["-l", "tiny.log", *TINY], capsys)
    assert (folder / "model.pth").exists()


def test_the_other_commands_refuse_a_bad_flag_as_processes(tmp_path):
    for argv, words in ((["-m", "seqlib.translation", "--beam-width", "0"], "--beam-width: must be a positive"),
                        ([str(ROOT / "tools" / "bench.py"), "--seconds", "inf"], "--seconds: must be a positive")):
        done = _command(*argv, cwd=ROOT if argv[0] == "-m" else tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert not any(tmp_path.iterdir())
