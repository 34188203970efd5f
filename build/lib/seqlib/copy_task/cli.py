"""``python -m seqlib.copy_task``: train one cell on the copy task and test it on longer sequences.

Every run writes a folder named after ``--log`` (``rnn.log`` -> ``rnn/``): ``rnn.log`` (the configuration,
loss and accuracy per epoch, the test results), ``loss.png``, ``accuracy.png`` (all positions and copied
ones), ``per_position.png`` (test accuracy at each copied position), ``model.pth`` (:mod:`seqlib.checkpoint`),
``summary.json`` (configuration, history, test results) and ``.seqlib-run``, the mark of a folder this tool made.

A run is written to a hidden folder and moved into place when complete: a failed run changes nothing.
``--overwrite`` replaces a run folder this tool made, never anything else. ``--load PATH`` tests a saved
model (``model.pth`` or its run folder) without training. Training data come from ``seed``, test data
from ``seed + 1``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from tqdm import tqdm

from seqlib import checkpoint, cli
from seqlib.copy_task.model import CELLS, CopyModel, copy_accuracy, fit_options
from seqlib.copy_task.task import make_dataset, vocab
from seqlib.page import num_params
from seqlib.training import fit

__all__ = ["OPTIONS", "MARKER", "parse_args", "run", "main", "run_folder"]

PROG = "python -m seqlib.copy_task"
MARKER = ".seqlib-run"
OPTIONS = [  # (flags, default, rule, help): the assignment's short flags, the glossary's long ones
    (("-d", "--device"), "cpu", cli.one_of("cpu", "cuda", "mps"), "where to train and test"),
    (("-l", "--log"), None, cli.TEXT, "run name (rnn.log when training): names the run folder and its log"),
    (("-iseq", "--train-seq-len"), 100, cli.POSITIVE, "L: symbols to read in training"),
    (("-tseq", "--test-seq-len"), 100, cli.POSITIVE, "L: symbols to read in the test"),
    (("-p", "--padding"), 10, cli.POSITIVE, "P: number of delimiters"),
    (("-oseq", "--train-output-len"), 50, cli.POSITIVE, "O: symbols to copy back in training (<= L)"),
    (("-toseq", "--test-output-len"), 50, cli.POSITIVE, "O: symbols to copy back in the test (<= L)"),
    (("-b", "--batch-size"), 32, cli.POSITIVE, "batch size"),
    (("-em", "--embed-size"), 11, cli.POSITIVE, "embedding size"),
    (("-hs", "--num-hiddens"), 128, cli.POSITIVE, "hidden units"),
    (("-c", "--cell"), "rnn", cli.one_of(*CELLS), "the recurrent cell"),
    (("-ep", "--num-epochs"), 10, cli.POSITIVE, "epochs"),
    (("-lr", "--lr"), 0.1, cli.POSITIVE_NUMBER, "Adam's learning rate"),
    (("-s", "--seed"), 42, cli.NON_NEGATIVE, "seed (training data: seed, test data: seed + 1)"),
    (("-trs", "--train-samples"), 10000, cli.POSITIVE, "training samples"),
    (("-ts", "--test-samples"), 1000, cli.POSITIVE, "test samples"),
    ("--load", None, cli.TEXT, "test the model at this path (model.pth or its run folder), no training; no run folder "
                               "unless -l is given"),
    ("--overwrite", False, bool, "replace a run folder of the same name that this tool made"),
]


def run_folder(log: str) -> Path:
    """The folder of a run named ``log``: ``rnn.log`` -> ``rnn``, ``runs/a`` -> ``runs/a``."""
    path = Path(log)
    name = path.name[:-4] if path.name.endswith(".log") else path.name
    if name in ("", ".", ".."):
        raise ValueError(f"must name a run, such as rnn.log, got {log!r}")
    return path.with_name(name)


def _check(args) -> None:
    """What the option table cannot say: lengths against each other, the device, --load, the run folder."""
    for out, seq in (("train_output_len", "train_seq_len"), ("test_output_len", "test_seq_len")):
        if getattr(args, out) > getattr(args, seq):
            raise cli.Refused(out, f"{getattr(args, out)} is longer than the input ({getattr(args, seq)} "
                                   f"symbols): only the first symbols of the input are copied")
    mps = getattr(torch.backends, "mps", None)
    if not {"cpu": True, "cuda": torch.cuda.is_available(), "mps": mps and mps.is_available()}[args.device]:
        raise cli.Refused("device", f"{args.device} is not available on this machine; use -d cpu")
    args.saved = None
    if args.load is not None:
        path = Path(args.load) / "model.pth" if Path(args.load).is_dir() else Path(args.load)
        try:
            args.saved = checkpoint.load(path, CopyModel, device=torch.device(args.device))
        except (checkpoint.CheckpointError, OSError) as err:
            raise cli.Refused("load", str(err)) from None
        if "train_lengths" not in args.saved.extra:
            raise cli.Refused("load", f"{path} holds a CopyModel but not its training lengths: it was not saved "
                                      f"by {PROG}; give the model.pth of a run folder")
        args.load = str(path)
    args.folder = None
    if args.load is None or args.log is not None:
        args.log = args.log or "rnn.log"
        try:
            args.folder = folder = run_folder(args.log)
        except ValueError as err:
            raise cli.Refused("log", str(err)) from None
        above = next(p for p in folder.parents if p.exists())  # the nearest that exists: "." at the latest
        if not above.is_dir() or not os.access(above, os.W_OK | os.X_OK):
            raise cli.Refused("log", f"{above} is {'not a folder' if not above.is_dir() else 'not writable'}, so "
                                     f"the run folder {folder} cannot be made there; choose another name")
        if folder.exists() and not (folder / MARKER).is_file():
            what = "a folder that this tool did not make" if folder.is_dir() else "a file"
            raise cli.Refused("log", f"{folder} is {what}; it is never replaced: choose another run name, or "
                                     f"move it away")
        if folder.exists() and not args.overwrite:
            raise cli.Refused("log", f"the run folder {folder} exists; choose another name or pass --overwrite "
                                     f"to replace it")


def parse_args(argv=None):
    """The options, checked (see :mod:`seqlib.cli`): a bad value exits with one line naming its option."""
    return cli.parse(PROG, "Train a recurrent cell to copy a sequence; test it on longer ones.", OPTIONS,
                     argv, _check)


def _plots(folder: Path, history, result, label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib.page import use_course_style
    from seqlib.plots import plot_curves

    use_course_style()
    if history is not None:
        m = history.metrics
        ax = plot_curves({"training": history.train_loss, f"test ({label})": history.val_loss}, x=history.epochs,
                         xlabel="epoch", ylabel="cross-entropy per position", title="loss", marker="o")
        ax.figure.savefig(folder / "loss.png")
        ax = plot_curves({"training, all positions": m["train_acc"], "training, copied positions":
                          m["train_copy_acc"], f"test, all positions ({label})": m["val_acc"],
                          "test, copied positions": m["val_copy_acc"]}, x=history.epochs, xlabel="epoch",
                         ylabel="accuracy", title="accuracy", marker="o")
        ax.set_ylim(0, 1.02)
        ax.figure.savefig(folder / "accuracy.png")
    ax = plot_curves({"test accuracy": result["per_position"]}, xlabel="copied position", ylabel="test accuracy",
                     title=f"test ({label})", marker=".")
    ax.axhline(1 / 9, color="gray", ls=":", label="chance (1/9)")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="best")
    ax.figure.savefig(folder / "per_position.png")
    plt.close("all")


def _run(args, log, folder: Path | None) -> dict:
    config = {k: v for k, v in vars(args).items() if k not in ("saved", "folder")}
    device = torch.device(args.device)
    if args.saved is not None:
        model, train_lengths = args.saved.model, args.saved.extra["train_lengths"]
        log(f"loaded {args.load}: {model.cell}, {num_params(model):,} parameters, trained at "
            f"L={train_lengths[0]}, P={train_lengths[1]}, O={train_lengths[2]}")
        config = {k: config[k] for k in ("device", "log", "test_seq_len", "padding", "test_output_len", "seed",
                                         "test_samples", "load")} | {"model": model.config}
    else:
        train_lengths = [args.train_seq_len, args.padding, args.train_output_len]
        torch.manual_seed(args.seed)
        model = CopyModel(args.cell, args.embed_size, args.num_hiddens).to(device)
    log("configuration: " + json.dumps(config))
    chunk_len = sum(train_lengths)
    X_test, Y_test = make_dataset(args.test_samples, args.test_seq_len, args.padding, args.test_output_len,
                                  args.seed + 1)
    label = f"L={args.test_seq_len}, O={args.test_output_len}"
    start = time.perf_counter()
    history = None
    if args.saved is None:
        log(f"model: {args.cell}, {num_params(model):,} parameters; training at L={train_lengths[0]}, "
            f"P={args.padding}, O={train_lengths[2]} ({args.train_samples} samples), testing at {label}")
        data = make_dataset(args.train_samples, args.train_seq_len, args.padding, args.train_output_len, args.seed)
        history = fit(model, **fit_options(model, data, num_epochs=args.num_epochs, batch_size=args.batch_size,
                                           lr=args.lr, seed=args.seed, val=(X_test, Y_test), chunk_len=chunk_len,
                                           log=log), device=device)
    result = copy_accuracy(model, X_test, Y_test, chunk_len=chunk_len, device=device)
    seconds = time.perf_counter() - start
    log(f"test ({label}, read in chunks of {chunk_len} steps, state carried): loss {result['loss']:.4f}, "
        f"accuracy {result['acc']:.4f}, copy accuracy {result['copy_acc']:.4f}, "
        f"sequences copied without error {result['sequence_acc']:.4f}")
    summary = {"config": config, "cell": model.cell, "num_params": num_params(model),
               "train_lengths": train_lengths, "test": result, "seconds": round(seconds, 3),
               "torch": torch.__version__}
    if history is not None:
        summary["history"] = {"epoch": history.epochs, "train_loss": history.train_loss,
                              "test_loss": history.val_loss, **history.metrics, "train_seconds": history.train_time}
    if folder is not None:
        if history is not None:
            checkpoint.save(folder / "model.pth", model, vocab(), model.config, train_lengths=train_lengths,
                            seed=args.seed, test_copy_acc=result["copy_acc"])
        _plots(folder, history, result, label)
        (folder / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        log(f"run folder: {args.folder}")
    return summary


def run(args) -> dict:
    """Train (or ``--load``) and test as ``args`` (from :func:`parse_args`) say; write the run folder
    (in a hidden folder beside it, moved into place at the end); return the summary."""
    staging = None
    if args.folder is not None:
        args.folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{args.folder.name}.", dir=args.folder.parent))
        staging.chmod(0o755)
    try:
        with open(staging / f"{args.folder.name}.log", "w") if staging else contextlib.nullcontext() as file:
            def log(line: str) -> None:  # to the terminal (past the progress bars) and to the log file
                tqdm.write(line)
                if file is not None:
                    print(line, file=file, flush=True)
            summary = _run(args, log, staging)
        if staging is not None:
            (staging / MARKER).write_text(f"made by {PROG}: --overwrite may replace this folder\n")
            if args.folder.exists():
                shutil.rmtree(args.folder)  # a run folder of this tool's, and --overwrite: _check made sure
            staging.rename(args.folder)
        return summary
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise


def main(argv=None) -> int:
    run(parse_args(argv))
    return 0
