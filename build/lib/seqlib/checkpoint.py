"""Save a trained model with its vocabulary and configuration; load it back safely.

A checkpoint is one file of ``torch.save`` holding everything needed to use the model again, and nothing
that runs code:

==============  ==============================================================
``format``      ``"seqlib-checkpoint"`` and ``version`` (1)
``model``       the name of the model's class (to say which class to pass to :func:`load`)
``config``      the keyword arguments that build the model: ``build(**config)``
``state_dict``  the weights (tensors)
``vocab``       the vocabulary's tokens in index order, and their training counts
``extra``       anything else worth keeping (plain data: the validation loss, the seed, ...)
==============  ==============================================================

:func:`load` reads it with ``torch.load(path, weights_only=True)`` and rebuilds the model with
``build(**config)``. Every failure is a :class:`CheckpointError` saying what to do; a failed call changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.text import Vocab

__all__ = ["save", "load", "describe", "Checkpoint", "CheckpointError", "CheckpointArgumentError",
           "CheckpointMissingError", "CheckpointCorruptError", "CheckpointUnsafeError", "CheckpointMismatchError"]

FORMAT, VERSION = "seqlib-checkpoint", 1
_PARTS = {"model": str, "config": dict, "state_dict": dict, "vocab": dict, "extra": dict}
_AGAIN = "save the model again with seqlib.checkpoint.save(path, model, vocab, config), or copy the file again in full"


class CheckpointError(RuntimeError):
    """A checkpoint could not be saved or loaded; the message says why and what to do."""


class CheckpointArgumentError(CheckpointError, validation.ArgumentTypeError):
    """An argument of :func:`save` or :func:`load` is of the wrong kind (also a ``TypeError``)."""


class CheckpointMissingError(CheckpointError, FileNotFoundError):
    """There is no file at the path given."""


class CheckpointCorruptError(CheckpointError):
    """The file is damaged: empty, truncated, incomplete, a Git LFS pointer, a web page, not a seqlib checkpoint."""


class CheckpointUnsafeError(CheckpointError):
    """The file holds objects other than tensors and plain data: loading them could run code."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's weights or vocabulary do not fit the model built from its configuration."""


class Checkpoint(NamedTuple):
    """What :func:`load` returns: the model (in evaluation mode), its vocabulary, configuration and extras."""

    model: nn.Module
    vocab: Vocab
    config: dict
    extra: dict


def _plain(value, where: str):
    """``value`` as the plain data that ``weights_only`` loading reads; anything else is refused."""
    if isinstance(value, np.generic):
        value = value.item()
    for kind in (type(None), bool, int, float, str):
        if isinstance(value, kind):
            return value if kind is type(None) else kind(value)
    if isinstance(value, (list, tuple)):
        kind = type(value) if type(value) in (list, tuple) else list
        return kind(_plain(item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(value, dict):
        if bad := [key for key in value if not isinstance(key, str)]:
            raise CheckpointArgumentError(f"{where} has the key {bad[0]!r}: use strings as keys")
        return {str(key): _plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    raise CheckpointArgumentError(
        f"{where} is a {type(value).__name__}: a checkpoint keeps plain data only (numbers, strings, lists, dicts) "
        f"so that it loads with weights_only=True; convert it (a tensor: .item() or .tolist())")


def _path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes) or str(path) == "":
        raise CheckpointArgumentError(f"path must be the checkpoint's file name (a string or a Path), got "
                                      f"{path!r:.60}; e.g. 'models/char_lstm.pt'")
    return Path(path)


def save(path, model: nn.Module, vocab: Vocab, config: dict, **extra) -> Path:
    """Write ``model``'s weights, ``vocab`` and ``config`` (``build(**config)`` rebuilds the model) to ``path``.

    ``extra``: plain data to keep beside them (``val_loss=1.62``). Returns the path written; a failed
    save leaves neither the file nor the folders it made.
    """
    for name, value, kind, what in (("model", model, nn.Module, "a torch.nn.Module"),
                                    ("vocab", vocab, Vocab, "a seqlib.text.Vocab"),
                                    ("config", config, dict, "a dict of the keyword arguments that build the model")):
        if not isinstance(value, kind):
            raise CheckpointArgumentError(f"{name} must be {what}, got {type(value).__name__}")
    payload = {
        "format": FORMAT, "version": VERSION, "model": type(model).__name__, "config": _plain(config, "config"),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "vocab": {"idx_to_token": _plain(list(vocab.idx_to_token), "vocab"),
                  "token_freqs": [[str(t), int(c)] for t, c in vocab.token_freqs]},
        "extra": _plain(extra, "extra"),
    }
    path = _path(path)
    made = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        for folder in made:  # innermost first
            folder.rmdir()
        raise
    return path


def _damage(head: bytes) -> str | None:
    """What a file starting with ``head`` is if it cannot be a checkpoint (a zip archive or a pickle), else ``None``."""
    if not head:
        return "empty: an interrupted save or copy leaves such a file"
    if head.startswith(b"version https://git-lfs"):
        return ("a Git LFS pointer, not the file itself: run `git lfs pull` in the repository, or download the "
                "file itself")
    if head.lstrip()[:1] == b"<":
        return "a web page (HTML), not a checkpoint: download the file itself (the 'raw' link), not the page"
    if not head.startswith((b"PK\x03\x04", b"\x80")):
        return f"not a PyTorch file (it starts with {head[:16]!r})"
    return None


def _read(path) -> tuple[Path, dict]:
    """``(path, payload)`` of the checkpoint at ``path``, its vocabulary a :class:`Vocab`."""
    path = _path(path)
    if not path.is_file():
        where = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise CheckpointMissingError(f"no checkpoint at {path.resolve()}: the path {where}. Check the name and "
                                     f"the folder, or train the model and save it first with "
                                     f"seqlib.checkpoint.save({str(path)!r}, model, vocab, config)")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as err:
        raise CheckpointError(f"{path} cannot be read ({err}): check its permissions") from None
    if damage := _damage(head):
        raise CheckpointCorruptError(f"{path} ({size:,} bytes) is {damage}; {_AGAIN}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch's unpickler raises anything on a damaged file
        if "allowed global" in str(err) or "Unsupported global" in str(err):
            found = ", ".join(dict.fromkeys(re.findall(r"GLOBAL ([\w.]+)", str(err)))) or "objects"
            raise CheckpointUnsafeError(
                f"{path} holds objects other than tensors and plain data ({found}), so it is not loaded: "
                f"unpickling them can run code. Only if you trust its author, read it with torch.load(path, "
                f"weights_only=False) and save the model with seqlib.checkpoint.save") from None
        first = str(err).strip().splitlines()[0].split(". ")[0][:120] if str(err).strip() else type(err).__name__
        raise CheckpointCorruptError(f"{path} ({size:,} bytes) is truncated or damaged ({first}): an interrupted "
                                     f"save or copy leaves such a file; {_AGAIN}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        bare = isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values())
        raise CheckpointCorruptError(f"{path} is a PyTorch file but not a seqlib checkpoint " + (
            "(a bare state_dict, weights only): load it with model.load_state_dict(torch.load(path, "
            "weights_only=True)) into a model you build yourself, or" if bare else f"(no format={FORMAT!r} entry):")
            + " write checkpoints with seqlib.checkpoint.save")
    if payload.get("version") != VERSION:
        raise CheckpointCorruptError(f"{path} is a seqlib checkpoint of version {payload.get('version')!r}; this "
                                     f"seqlib reads version {VERSION}: update seqlib or save the model again")
    damaged = [k for k, kind in _PARTS.items() if not isinstance(payload.get(k), kind)]
    if damaged or not all(isinstance(t, torch.Tensor) for t in payload["state_dict"].values()):
        raise CheckpointCorruptError(f"{path} lacks or has damaged {', '.join(damaged) or 'state_dict'}: "
                                     f"it is incomplete; {_AGAIN}")
    try:
        payload["vocab"] = Vocab.from_tokens(payload["vocab"]["idx_to_token"], payload["vocab"]["token_freqs"])
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointCorruptError(f"{path}: its vocabulary is damaged ({err}); {_AGAIN}") from None
    return path, payload


def load(path, build: Callable[..., nn.Module], *, device=None) -> Checkpoint:
    """Read a checkpoint written by :func:`save`: ``(model, vocab, config, extra)``.

    ``build``: the model's class (or a function) such that ``build(**config)`` makes a model of the
    same shape; the weights are then loaded into it (strictly: every tensor, same names and shapes)
    and it is moved to ``device`` (default: the CPU) in evaluation mode.
    """
    if not callable(build):
        raise CheckpointArgumentError(f"build must be the model's class (or a function making the model "
                                      f"from the saved config), got {type(build).__name__}")
    path, payload = _read(path)
    saved_as, config, vocab = payload["model"], payload["config"], payload["vocab"]
    name = getattr(build, "__name__", type(build).__name__)
    if "vocab_size" in config and config["vocab_size"] != len(vocab):
        raise CheckpointMismatchError(f"{path}: its config says vocab_size={config['vocab_size']} but its vocabulary "
                                      f"has {len(vocab)} tokens; the file was assembled by hand: save it again")
    try:
        model = build(**config)
    except Exception as err:  # noqa: BLE001 - build may refuse the config in any way
        raise CheckpointMismatchError(f"{path} was saved from the class {saved_as} with config {config}; {name}(**config) "
                                      f"fails ({err}): pass the class that saved it, build={saved_as}") from None
    if not isinstance(model, nn.Module):
        raise CheckpointArgumentError(f"build(**config) must return a torch.nn.Module, got {type(model).__name__}")
    own, saved = model.state_dict(), payload["state_dict"]
    problems = [f"missing {k}" for k in own if k not in saved] + [f"unexpected {k}" for k in saved if k not in own]
    problems += [f"{k}: saved {tuple(saved[k].shape)}, model {tuple(v.shape)}" for k, v in own.items()
                 if k in saved and saved[k].shape != v.shape]
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more" if len(problems) > 4 else "")
        hint = (f"It was saved from the class {saved_as}: pass build={saved_as}" if saved_as != name else
                f"The class {saved_as} changed since the file was saved: save the model again")
        raise CheckpointMismatchError(f"{path}: the saved weights do not fit {name}(**{config}): {shown}. {hint}")
    model.load_state_dict(saved)
    try:
        model.to("cpu" if device is None else device).eval()
    except (RuntimeError, TypeError, AssertionError) as err:  # not a device, or not one of this machine
        raise CheckpointArgumentError(f"device={device!r:.60} cannot hold the model ({err}): pass a torch.device "
                                      f"or a name such as 'cpu' or 'cuda'") from None
    return Checkpoint(model, vocab, dict(config), dict(payload["extra"]))


def describe(path) -> dict[str, Any]:
    """What a checkpoint holds, without building the model: its class name, config, vocabulary size and extras."""
    payload = _read(path)[1]
    return {"model": payload["model"], "config": payload["config"], "vocab_size": len(payload["vocab"]),
            "num_params": sum(t.numel() for t in payload["state_dict"].values()), **payload["extra"]}
