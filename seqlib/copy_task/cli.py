"""``python -m seqlib.copy_task``: train one cell on the copy task and test it on longer sequences.

Every run writes a folder named after ``--log`` (``rnn.log`` -> ``rnn/``) holding:

====================  ==============================================================
``<name>.log``        the configuration, loss and accuracy per epoch, the test results
``loss.png``          training and test loss per epoch
``accuracy.png``      training and test accuracy per epoch, all positions and copied ones
``per_position.png``  test accuracy at each copied position
``model.pth``         the model (:mod:`seqlib.checkpoint`: loads with ``weights_only=True``)
``summary.json``      the configuration, the history and the test results
====================  ==============================================================

An existing folder is never overwritten (``--overwrite`` allows it). ``--load PATH`` tests a saved
model (``model.pth`` or its run folder) on the test options given, without training; it writes a
folder only when ``--log`` is given. A bad option stops the program with one line naming it.
The training data come from ``seed``, the test data from ``seed + 1``, so a ``--load`` with the
same test options sees the same test set.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from seqlib import checkpoint, validation
from seqlib.copy_task.model import CELLS, CopyModel, evaluate, train
from seqlib.copy_task.task import check_lengths, make_dataset, vocab
from seqlib.page import num_params

__all__ = ["build_parser", "parse_args", "run", "main", "run_folder", "OPTIONS"]

OPTIONS = [  # (short, long, type, default, help)
    ("-d", "--device", str, "cpu", "cpu, cuda or mps"),
    ("-l", "--log", str, "rnn.log", "run name: the run folder and its log file are named after it"),
    ("-iseq", "--train_seq_len", int, 100, "L: symbols to read in training"),
    ("-tseq", "--test_seq_len", int, 100, "L: symbols to read in the test"),
    ("-p", "--padding", int, 10, "P: number of delimiters"),
    ("-oseq", "--train_output_len", int, 50, "O: symbols to copy back in training (<= L)"),
    ("-toseq", "--test_output_len", int, 50, "O: symbols to copy back in the test (<= L)"),
    ("-b", "--batch_size", int, 32, "batch size"),
    ("-em", "--embedding_size", int, 11, "embedding size"),
    ("-hs", "--hidden_size", int, 128, "hidden size"),
    ("-c", "--cell", str, "rnn", "rnn, gru, lstm, mgru or mlstm"),
    ("-ep", "--epochs", int, 10, "epochs"),
    ("-lr", "--learning_rate", float, 0.1, "Adam's learning rate"),
    ("-s", "--seed", int, 42, "seed (training data: seed, test data: seed + 1)"),
    ("-trs", "--train_samples", int, 10000, "training samples"),
    ("-ts", "--test_samples", int, 1000, "test samples"),
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, naming the option (argparse's own messages do), then exit status 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m seqlib.copy_task",
                     description="Train a recurrent cell to copy a sequence; test it on longer ones.",
                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for short, long, kind, default, text in OPTIONS:
        extra = {"choices": ["cpu", "cuda", "mps"]} if long == "--device" else \
            {"choices": list(CELLS)} if long == "--cell" else {}
        parser.add_argument(short, long, type=kind, default=default, help=text, **extra)
    parser.add_argument("--load", type=str, default=None, metavar="PATH",
                        help="test the model saved at PATH (model.pth or its run folder) without training")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    return parser


def _flag(parser, dest: str) -> str:
    action = next(a for a in parser._actions if a.dest == dest)
    return "/".join(action.option_strings)


def parse_args(argv=None) -> argparse.Namespace:
    """The options, checked: a bad value exits with one line naming its option."""
    parser = build_parser()
    args = parser.parse_args(argv)
    explicit_log = any(a in ("-l", "--log") or a.startswith("--log=") for a in (argv if argv is not None else sys.argv[1:]))
    args.explicit_log = explicit_log
    for dest in ("train_seq_len", "test_seq_len", "padding", "train_output_len", "test_output_len", "batch_size",
                 "embedding_size", "hidden_size", "epochs", "train_samples", "test_samples"):
        if getattr(args, dest) < 1:
            parser.error(f"argument {_flag(parser, dest)}: must be a positive integer, got {getattr(args, dest)}")
    if args.seed < 0:
        parser.error(f"argument {_flag(parser, 'seed')}: must be a non-negative integer, got {args.seed}")
    if not args.learning_rate > 0:
        parser.error(f"argument {_flag(parser, 'learning_rate')}: must be positive, got {args.learning_rate}")
    for out, seq in (("train_output_len", "train_seq_len"), ("test_output_len", "test_seq_len")):
        if getattr(args, out) > getattr(args, seq):
            parser.error(f"argument {_flag(parser, out)}: {getattr(args, out)} is longer than the input "
                         f"({_flag(parser, seq)} {getattr(args, seq)}): only the first symbols are copied")
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available[args.device]:
        parser.error(f"argument {_flag(parser, 'device')}: {args.device} is not available on this machine; "
                     f"use -d cpu")
    if args.load is not None:
        path = Path(args.load)
        path = path / "model.pth" if path.is_dir() else path
        if not path.is_file():
            parser.error(f"argument --load: no saved model at {args.load}")
        args.load = str(path)
    if args.load is None or explicit_log:
        try:
            folder = run_folder(args.log)
        except ValueError as err:
            parser.error(f"argument {_flag(parser, 'log')}: {err}")
        if folder.exists() and not args.overwrite:
            parser.error(f"argument {_flag(parser, 'log')}: the run folder {folder} exists; choose another name "
                         f"or pass --overwrite")
    return args


def run_folder(log: str) -> Path:
    """The folder of a run named ``log``: ``rnn.log`` -> ``rnn``, ``runs/a`` -> ``runs/a``."""
    if not isinstance(log, str) or not log.strip() or _names_no_folder(log):
        raise validation.ArgumentTypeError(f"log must be a run name such as 'rnn.log', got {log!r:.60}")
    path = Path(log)
    return path.with_suffix("") if path.suffix == ".log" else path


def _names_no_folder(log: str) -> bool:
    """Whether ``log`` names no folder (``".log"``, ``"."``, ``"/"``)."""
    return Path(log).with_suffix("").name in ("", ".", "..") if Path(log).suffix == ".log" else Path(log).name in (
        "", ".", "..")


class _Log:
    """Lines to the terminal (past the progress bars) and, once a folder exists, to the log file."""

    def __init__(self, path: Path | None):
        self.file = open(path, "w") if path is not None else None

    def __call__(self, line: str) -> None:
        from tqdm import tqdm

        tqdm.write(line)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()

    def close(self):
        if self.file is not None:
            self.file.close()


def _plots(folder: Path, history, result, label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib.page import figsize, use_course_style

    use_course_style()
    epochs = history.epochs
    if epochs:
        fig, ax = plt.subplots(figsize=figsize(1, 1))
        ax.plot(epochs, history.train_loss, "o-", label="training")
        ax.plot(epochs, history.val_loss, "s--", label=f"test ({label})")
        ax.set(xlabel="epoch", ylabel="cross-entropy per position", title="loss")
        ax.legend(loc="best")
        fig.savefig(folder / "loss.png")
        plt.close(fig)
        fig, ax = plt.subplots(figsize=figsize(1, 1))
        for key, style, name in (("train_acc", "o-", "training, all positions"),
                                 ("train_copy_acc", "o:", "training, copied positions"),
                                 ("val_acc", "s-", f"test, all positions ({label})"),
                                 ("val_copy_acc", "s:", "test, copied positions")):
            ax.plot(epochs, history.metrics[key], style, label=name)
        ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02), title="accuracy")
        ax.legend(loc="lower right")
        fig.savefig(folder / "accuracy.png")
        plt.close(fig)
    fig, ax = plt.subplots(figsize=figsize(1, 1))
    per = result["per_position"]
    ax.plot(range(1, len(per) + 1), per, ".-")
    ax.axhline(1 / 9, color="gray", ls=":", label="chance (1/9)")
    ax.set(xlabel="copied position", ylabel="test accuracy", ylim=(0, 1.02), title=f"test ({label})")
    ax.legend(loc="best")
    fig.savefig(folder / "per_position.png")
    plt.close(fig)


def run(args: argparse.Namespace) -> dict:
    """Train (or ``--load``) and test as ``args`` say; write the run folder; return the summary."""
    folder = run_folder(args.log) if (args.load is None or args.explicit_log) else None
    if folder is not None:
        if folder.exists():
            shutil.rmtree(folder)  # only with --overwrite: parse_args refused otherwise
        folder.mkdir(parents=True)
    log = _Log(folder / Path(args.log).name if folder is not None else None)
    config = {k: v for k, v in vars(args).items() if k not in ("explicit_log",)}
    try:
        device = torch.device(args.device)
        if args.load is not None:
            saved = checkpoint.load(args.load, CopyModel, device=device)
            model, train_lengths = saved.model, saved.extra["train_lengths"]
            log(f"loaded {args.load}: {model.cell}, {num_params(model):,} parameters, trained at "
                f"L={train_lengths[0]}, P={train_lengths[1]}, O={train_lengths[2]}")
            config = {k: config[k] for k in ("device", "log", "test_seq_len", "padding", "test_output_len", "seed",
                                             "test_samples", "load")} | {"model": model.config}
        else:
            train_lengths = list(check_lengths(args.train_seq_len, args.padding, args.train_output_len))
            torch.manual_seed(args.seed)
            model = CopyModel(args.cell, args.embedding_size, args.hidden_size).to(device)
        log("configuration: " + json.dumps(config))
        chunk_len = sum(train_lengths)
        X_test, Y_test = make_dataset(args.test_samples, args.test_seq_len, args.padding, args.test_output_len,
                                      args.seed + 1)
        label = f"L={args.test_seq_len}, O={args.test_output_len}"
        start = time.perf_counter()
        history = None
        if args.load is None:
            log(f"model: {args.cell}, {num_params(model):,} parameters; training at L={train_lengths[0]}, "
                f"P={args.padding}, O={train_lengths[2]} ({args.train_samples} samples), testing at {label}")
            data = make_dataset(args.train_samples, args.train_seq_len, args.padding, args.train_output_len, args.seed)
            history = train(model, data, epochs=args.epochs, batch_size=args.batch_size, lr=args.learning_rate,
                            seed=args.seed, device=device, val=(X_test, Y_test), chunk_len=chunk_len, log=log)
        result = evaluate(model, X_test, Y_test, chunk_len=chunk_len, device=device)
        seconds = time.perf_counter() - start
        log(f"test ({label}, read in chunks of {chunk_len} steps, state carried): loss {result['loss']:.4f}, "
            f"accuracy {result['acc']:.4f}, copy accuracy {result['copy_acc']:.4f}, "
            f"sequences copied without error {result['sequence_acc']:.4f}")
        summary = {"config": config, "cell": model.cell, "num_params": num_params(model),
                   "train_lengths": train_lengths, "test": result, "seconds": round(seconds, 3),
                   "torch": torch.__version__}
        if history is not None:
            summary["history"] = {"epoch": history.epochs, "train_loss": history.train_loss,
                                  "test_loss": history.val_loss, **history.metrics,
                                  "train_seconds": history.train_time}
        if folder is not None:
            if history is not None:
                checkpoint.save(folder / "model.pth", model, vocab(), model.config, train_lengths=train_lengths,
                                seed=args.seed, test_copy_acc=result["copy_acc"])
            _plots(folder, history if history is not None else _NoHistory(), result, label)
            (folder / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
            log(f"run folder: {folder}")
        return summary
    finally:
        log.close()


class _NoHistory:
    epochs: list = []


def main(argv=None) -> int:
    run(parse_args(argv))
    return 0
