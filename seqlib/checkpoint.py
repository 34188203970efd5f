"""Save a trained model with its vocabulary and configuration; load it back safely.

A checkpoint is one file written by ``torch.save`` that holds everything needed to use the
model again, and nothing that runs code:

==============  ==============================================================
``format``      ``"seqlib-checkpoint"`` and ``version`` (1)
``model``       the name of the model's class (to say which class to pass to :func:`load`)
``config``      the keyword arguments that build the model: ``build(**config)``
``state_dict``  the weights (tensors)
``vocab``       the vocabulary's tokens in index order, and their training counts
``extra``       anything else worth keeping (plain data: the validation loss, the seed, ...)
==============  ==============================================================

:func:`load` reads it with ``torch.load(path, weights_only=True)``: only tensors and plain Python
data are unpickled, so a file from someone else cannot run code on your machine. It rebuilds the
model with ``build(**config)`` (``build`` is the model's class, or any function returning the
model), loads the weights and the :class:`seqlib.text.Vocab`. :func:`save` writes a temporary
file and renames it, so an interrupted save never leaves half a checkpoint behind.

Every failure is a :class:`CheckpointError` that says which one and what to do:
:class:`CheckpointMissingError` (no such file), :class:`CheckpointCorruptError` (truncated, not a
checkpoint, or holding objects other than tensors and plain data) and
:class:`CheckpointMismatchError` (the weights do not fit the model that ``build`` makes, or the
vocabulary does not fit the configuration).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch
from torch import nn

from seqlib import validation
from seqlib.text import Vocab

__all__ = ["save", "load", "describe", "Checkpoint", "CheckpointError", "CheckpointMissingError", "CheckpointCorruptError",
           "CheckpointMismatchError"]

FORMAT, VERSION = "seqlib-checkpoint", 1
_PLAIN = (str, int, float, bool, type(None))


class CheckpointError(RuntimeError):
    """A checkpoint could not be loaded; the message says why and what to do."""


class CheckpointMissingError(CheckpointError, FileNotFoundError):
    """There is no file at the path given."""


class CheckpointCorruptError(CheckpointError):
    """The file is truncated, is not a seqlib checkpoint, or holds more than tensors and plain data."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's weights or vocabulary do not fit the model built from its configuration."""


class Checkpoint(NamedTuple):
    """What :func:`load` returns: the model (in evaluation mode), its vocabulary, configuration and extras."""

    model: nn.Module
    vocab: Vocab
    config: dict
    extra: dict


def _check_plain(value, where: str) -> None:
    """Only plain data (numbers, strings, lists, dicts with string keys) can be read with weights_only=True."""
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise validation.ArgumentTypeError(f"{where} has the key {key!r}: use strings as keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise validation.ArgumentTypeError(
        f"{where} is a {type(value).__name__}: a checkpoint keeps plain data only (numbers, strings, lists, dicts) "
        f"so that it loads with weights_only=True; convert it (a tensor: .item() or .tolist())")


def _path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes) or str(path) == "":
        raise validation.ArgumentTypeError(f"path must be the checkpoint's file name (a string or a Path), got "
                                           f"{path!r:.60}; e.g. 'models/char_lstm.pt'")
    return Path(path)


def save(path, model: nn.Module, vocab: Vocab, config: dict, **extra) -> Path:
    """Write ``model``'s weights, ``vocab`` and ``config`` (``build(**config)`` rebuilds the model) to ``path``.

    ``extra``: plain data to keep beside them (``val_loss=1.62``). Returns the path written. The
    file appears only once complete (written to a temporary file, then renamed).
    """
    if not isinstance(model, nn.Module):
        raise validation.ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(vocab, Vocab):
        raise validation.ArgumentTypeError(f"vocab must be a seqlib.text.Vocab, got {type(vocab).__name__}")
    if not isinstance(config, dict):
        raise validation.ArgumentTypeError(f"config must be a dict of the keyword arguments that build the model, "
                                           f"got {type(config).__name__}")
    _check_plain(config, "config")
    _check_plain(extra, "extra")
    payload = {
        "format": FORMAT, "version": VERSION, "model": type(model).__name__, "config": dict(config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "vocab": {"idx_to_token": list(vocab.idx_to_token),
                  "token_freqs": [[str(t), int(c)] for t, c in vocab.token_freqs]},
        "extra": dict(extra),
    }
    path = _path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _vocab(saved: dict) -> Vocab:
    """The :class:`seqlib.text.Vocab` of a checkpoint: the same tokens at the same indices."""
    try:
        return Vocab.from_tokens(saved["idx_to_token"], saved["token_freqs"])
    except (ValueError, TypeError) as err:
        raise CheckpointCorruptError(f"its vocabulary is damaged ({err}): save the model again with "
                                     "seqlib.checkpoint.save") from None


def _read(path: Path) -> dict:
    how = (f"save the model again with seqlib.checkpoint.save(path, model, vocab, config), or copy the file "
           f"again in full")
    size = path.stat().st_size
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only" in str(err).lower() or "weights_only" in str(err):
            raise CheckpointCorruptError(
                f"{path} holds objects other than tensors and plain data, so it is not loaded (a file that "
                f"unpickles arbitrary objects can run code). It was not written by seqlib.checkpoint.save: save the "
                f"model with seqlib.checkpoint.save(path, model, vocab, config). "
                f"(Only if you trust its author: torch.load(path, weights_only=False).)") from None
        raise CheckpointCorruptError(f"{path} ({size:,} bytes) cannot be read: it is truncated or damaged "
                                     f"({err}); {how}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CheckpointCorruptError(f"{path} ({size:,} bytes) is truncated or is not a PyTorch file "
                                     f"({str(err).split('. ')[0] if str(err) else type(err).__name__}): an "
                                     f"interrupted save or copy leaves such a file; {how}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
            raise CheckpointCorruptError(
                f"{path} holds a bare state_dict (weights only), not a seqlib checkpoint with its vocabulary and "
                f"configuration: load it with model.load_state_dict(torch.load(path, weights_only=True)) into a "
                f"model you build yourself, or save a full checkpoint with seqlib.checkpoint.save")
        raise CheckpointCorruptError(f"{path} is a PyTorch file but not a seqlib checkpoint (no "
                                     f"format={FORMAT!r} entry); write checkpoints with seqlib.checkpoint.save")
    if payload.get("version") != VERSION:
        raise CheckpointCorruptError(f"{path} is a seqlib checkpoint of version {payload.get('version')!r}; this "
                                     f"seqlib reads version {VERSION}: update seqlib or save the model again")
    missing = [k for k in ("model", "config", "state_dict", "vocab", "extra") if k not in payload]
    if missing:
        raise CheckpointCorruptError(f"{path} lacks {', '.join(missing)}: it is incomplete; {how}")
    return payload


def load(path, build: Callable[..., nn.Module], *, device=None) -> Checkpoint:
    """Read a checkpoint written by :func:`save`: ``(model, vocab, config, extra)``.

    ``build``: the model's class (or a function) such that ``build(**config)`` makes a model of the
    same shape; the weights are then loaded into it (strictly: every tensor, same names and shapes)
    and it is moved to ``device`` (default: the CPU) in evaluation mode.
    """
    if not callable(build):
        raise validation.ArgumentTypeError(f"build must be the model's class (or a function making the model "
                                           f"from the saved config), got {type(build).__name__}")
    path = _path(path)
    if not path.is_file():
        where = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise CheckpointMissingError(f"no checkpoint at {path.resolve()}: the path {where}. Check the name and "
                                     f"the folder, or train the model and save it first with "
                                     f"seqlib.checkpoint.save({str(path)!r}, model, vocab, config)")
    payload = _read(path)
    saved_as, config = payload["model"], payload["config"]
    name = getattr(build, "__name__", type(build).__name__)
    vocab = _vocab(payload["vocab"])
    if "vocab_size" in config and config["vocab_size"] != len(vocab):
        raise CheckpointMismatchError(f"{path}: its config says vocab_size={config['vocab_size']} but its vocabulary "
                                      f"has {len(vocab)} tokens; the file was assembled by hand: save it again")
    try:
        model = build(**config)
    except TypeError as err:
        raise CheckpointMismatchError(f"{path} was saved from the class {saved_as} with config {config}; {name}(**config) "
                                      f"fails ({err}): pass the class that saved it, build={saved_as}") from None
    if not isinstance(model, nn.Module):
        raise validation.ArgumentTypeError(f"build(**config) must return a torch.nn.Module, got {type(model).__name__}")
    own = model.state_dict()
    saved = payload["state_dict"]
    problems = [f"missing {k}" for k in own if k not in saved] + [f"unexpected {k}" for k in saved if k not in own]
    problems += [f"{k}: saved {tuple(saved[k].shape)}, model {tuple(v.shape)}" for k, v in own.items()
                 if k in saved and saved[k].shape != v.shape]
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        hint = (f"It was saved from the class {saved_as}: pass build={saved_as}" if saved_as != name else
                f"The class {saved_as} changed since the file was saved: save the model again")
        raise CheckpointMismatchError(f"{path}: the saved weights do not fit {name}(**{config}): {shown}. {hint}")
    model.load_state_dict(saved)
    model.to(device if device is not None else torch.device("cpu"))
    model.eval()
    return Checkpoint(model, vocab, dict(config), dict(payload["extra"]))


def describe(path) -> dict[str, Any]:
    """What a checkpoint holds, without building the model: its class name, config, vocabulary size and extras."""
    path = _path(path)
    if not path.is_file():
        raise CheckpointMissingError(f"no checkpoint at {path.resolve()}")
    payload = _read(path)
    return {"model": payload["model"], "config": payload["config"], "vocab_size": len(payload["vocab"]["idx_to_token"]),
            "num_params": sum(t.numel() for t in payload["state_dict"].values()), **payload["extra"]}
