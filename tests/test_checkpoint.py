"""Tests of seqlib.checkpoint: the round trip, and one clear error for each kind of bad checkpoint."""

from __future__ import annotations

import pickle
import random

import numpy as np

import pytest
import torch
from torch import nn

from seqlib import checkpoint as ck
from seqlib import decoding as dec
from seqlib.text import Vocab
from seqlib.validation import ArgumentTypeError

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n"


class CharLSTM(nn.Module):
    """A character model with the course's language-model interface (as Day 6 builds it)."""

    def __init__(self, vocab_size: int, num_hiddens: int = 16, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.rnn = nn.LSTM(num_hiddens, num_hiddens, num_layers, dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(num_hiddens, vocab_size)

    def forward(self, X, state):
        Y, state = self.rnn(self.embedding(X.T), state)
        return self.head(Y.reshape(-1, Y.shape[-1])), state

    def begin_state(self, batch_size=1, device=None):
        shape = (self.rnn.num_layers, batch_size, self.rnn.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    vocab = Vocab(list(TEXT))
    config = {"vocab_size": len(vocab), "num_hiddens": 16, "num_layers": 2, "dropout": 0.1}
    model = CharLSTM(**config)
    path = ck.save(tmp_path / "models" / "char.pt", model, vocab, config, val_loss=1.62, seed=0)
    return path, model, vocab, config


def generate(model, vocab, seed=0):
    step = dec.LMStep(model)
    out = dec.sample(step, step.begin_state(2), vocab[list("First")], 40, num_samples=2,
                     temperature=0.8, generator=torch.Generator().manual_seed(seed))
    return ["".join(vocab.to_tokens(row)) for row in out.tokens]


def test_round_trip_keeps_weights_vocabulary_config_and_generation(saved):
    path, model, vocab, config = saved
    loaded = ck.load(path, CharLSTM)
    assert isinstance(loaded.model, CharLSTM) and not loaded.model.training
    assert loaded.config == config and loaded.extra == {"val_loss": 1.62, "seed": 0}
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor)
    assert loaded.vocab.idx_to_token == vocab.idx_to_token and loaded.vocab.token_to_idx == vocab.token_to_idx
    assert loaded.vocab.token_freqs == vocab.token_freqs and loaded.vocab["<never seen>"] == 0
    assert generate(loaded.model, loaded.vocab) == generate(model, vocab)  # the same text for the same seed


def test_the_file_is_plain_data_for_weights_only_loading(saved):
    path, *_ = saved
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "seqlib-checkpoint" and payload["model"] == "CharLSTM"
    assert ck.describe(path)["vocab_size"] == len(saved[2])
    assert [p.name for p in path.parent.iterdir()] == ["char.pt"]  # no temporary file left behind


def test_missing_checkpoint_says_so(tmp_path):
    with pytest.raises(ck.CheckpointMissingError) as info:
        ck.load(tmp_path / "nope.pt", CharLSTM)
    msg = str(info.value)
    assert str(tmp_path / "nope.pt") in msg and "does not exist" in msg and "seqlib.checkpoint.save" in msg
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(ck.CheckpointMissingError, match="is a folder"):
        ck.load(tmp_path, CharLSTM)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.98])
def test_truncated_checkpoint_says_so(saved, tmp_path, keep):
    path, *_ = saved
    raw = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(raw[:int(len(raw) * keep)])
    with pytest.raises(ck.CheckpointCorruptError) as info:
        ck.load(cut, CharLSTM)
    msg = str(info.value)
    assert str(cut) in msg and "truncated" in msg and "save the model again" in msg


def test_weights_that_do_not_fit_name_the_tensors_and_the_class(saved):
    path, *_ = saved

    class Wider(CharLSTM):
        def __init__(self, vocab_size, num_hiddens=16, num_layers=1, dropout=0.0):
            super().__init__(vocab_size, 2 * num_hiddens, num_layers, dropout)

    with pytest.raises(ck.CheckpointMismatchError) as info:
        ck.load(path, Wider)
    msg = str(info.value)
    assert "embedding.weight" in msg and "saved (" in msg and "pass build=CharLSTM" in msg
    with pytest.raises(ck.CheckpointMismatchError, match="build=CharLSTM"):
        ck.load(path, nn.GRU)  # a class whose arguments do not fit the config

    class OneLayer(CharLSTM):
        def __init__(self, vocab_size, num_hiddens=16, num_layers=1, dropout=0.0):
            super().__init__(vocab_size, num_hiddens, 1, dropout)

    with pytest.raises(ck.CheckpointMismatchError, match="unexpected rnn.weight_ih_l1"):
        ck.load(path, OneLayer)


def test_vocabulary_that_does_not_fit_the_config(tmp_path):
    vocab = Vocab(list(TEXT))
    model = CharLSTM(len(vocab) + 1)
    path = ck.save(tmp_path / "m.pt", model, vocab, {"vocab_size": len(vocab) + 1})
    with pytest.raises(ck.CheckpointMismatchError, match=f"vocab_size={len(vocab) + 1}"):
        ck.load(path, CharLSTM)


def test_a_bare_state_dict_or_another_file_is_not_a_checkpoint(tmp_path):
    model = CharLSTM(10)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    with pytest.raises(ck.CheckpointCorruptError, match="bare state_dict"):
        ck.load(tmp_path / "weights.pt", CharLSTM)
    torch.save({"format": "seqlib-checkpoint", "version": 99}, tmp_path / "future.pt")
    with pytest.raises(ck.CheckpointCorruptError, match="version 99"):
        ck.load(tmp_path / "future.pt", CharLSTM)
    (tmp_path / "notes.pt").write_text("not a checkpoint")
    with pytest.raises(ck.CheckpointCorruptError):
        ck.load(tmp_path / "notes.pt", CharLSTM)


class _Trap:
    """An object whose unpickling would write a file: weights_only loading must refuse it."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_file_with_arbitrary_objects_is_refused_without_running_them(tmp_path):
    trap = tmp_path / "pwned.txt"
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"format": "seqlib-checkpoint", "x": _Trap(trap)}, f, protocol=2)
    torch.save({"format": "seqlib-checkpoint", "vocab": Vocab(list("ab"))}, tmp_path / "objects.pt")
    torch.save({"format": "seqlib-checkpoint", "extra": {"loss": np.float64(1.5)}}, tmp_path / "numpy.pt")
    for name, found in (("evil.pt", "io.open"), ("objects.pt", "seqlib.text.Vocab"), ("numpy.pt", "numpy")):
        with pytest.raises(ck.CheckpointUnsafeError) as info:
            ck.load(tmp_path / name, CharLSTM)
        msg = str(info.value)
        assert "objects other than tensors and plain data" in msg and found in msg and "weights_only=False" in msg
        assert isinstance(info.value, ck.CheckpointError) and not isinstance(info.value, ck.CheckpointCorruptError)
    assert not trap.exists()


def _random_bytes(seed, start=b""):
    rng = random.Random(seed)
    return start + bytes(rng.randrange(256) for _ in range(300))


DAMAGED = {  # file contents -> words the message must hold
    "empty": (b"", "empty"),
    "lfs": (b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 12345\n", "git lfs pull"),
    "html": (b"<!DOCTYPE html>\n<html><body>404: Not Found</body></html>\n", "web page"),
    "text": (b"hello world, these are my notes\n", "not a PyTorch file"),
    "json": (b'{"format": "seqlib-checkpoint"}', "not a PyTorch file"),
    **{f"random{seed}": (_random_bytes(seed), "") for seed in range(5)},
    # bytes that look like a pickle or a zip archive get as far as torch's unpickler (a KeyError, an IndexError)
    **{f"pickle-like{seed}": (_random_bytes(seed, b"\x80\x02"), "truncated or damaged") for seed in range(8)},
    "zip-like": (b"PK\x03\x04" + _random_bytes(0), "truncated or damaged"),
}


@pytest.mark.parametrize("name", DAMAGED)
def test_a_damaged_file_is_told_from_an_unsafe_one(tmp_path, name):
    content, words = DAMAGED[name]
    (tmp_path / "m.pt").write_bytes(content)
    for call in (lambda: ck.load(tmp_path / "m.pt", CharLSTM), lambda: ck.describe(tmp_path / "m.pt")):
        with pytest.raises(ck.CheckpointCorruptError) as info:
            call()
        msg = str(info.value)
        assert words in msg and "save the model again" in msg and "weights_only=False" not in msg, msg


def test_save_keeps_numpy_numbers_and_strings_as_plain_data(tmp_path):
    vocab = Vocab(list(TEXT))
    config = {"vocab_size": np.int64(len(vocab)), "num_hiddens": 16}
    extra = dict(val_loss=np.float64(1.62), name=np.str_("run"), ok=np.bool_(True), curve=[np.float32(0.5), 2],
                 sizes=(np.int32(1), {"k": np.float64(2.0)}))
    path = ck.save(tmp_path / "m.pt", CharLSTM(len(vocab)), vocab, config, **extra)
    loaded = ck.load(path, CharLSTM)
    assert loaded.extra == {"val_loss": 1.62, "name": "run", "ok": True, "curve": [0.5, 2], "sizes": (1, {"k": 2.0})}
    assert type(loaded.extra["val_loss"]) is float and type(loaded.extra["name"]) is str
    assert type(loaded.config["vocab_size"]) is int and type(loaded.extra["ok"]) is bool


@pytest.mark.parametrize("extra, words", [
    ({"scale": torch.tensor(1.0)}, "extra['scale'] is a Tensor"),
    ({"kinds": {"a", "b"}}, "extra['kinds'] is a set"),
    ({"table": {1: "a"}}, "has the key 1"),
    ({"when": np.datetime64("2024-01-01")}, "extra['when']"),
    ({"tokens": Vocab(list("ab"))}, "is a Vocab"),
])
def test_save_refuses_what_load_would_refuse_and_changes_nothing(tmp_path, extra, words):
    vocab = Vocab(list(TEXT))
    model = CharLSTM(len(vocab))
    old = ck.save(tmp_path / "m.pt", model, vocab, {"vocab_size": len(vocab)}).read_bytes()
    for path in (tmp_path / "m.pt", tmp_path / "new" / "sub" / "m.pt"):
        with pytest.raises(ck.CheckpointArgumentError, match=words.replace("[", "\\[")):
            ck.save(path, model, vocab, {"vocab_size": len(vocab)}, **extra)
    assert (tmp_path / "m.pt").read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_every_error_is_a_checkpoint_error(saved, tmp_path):
    path, *_ = saved
    calls = [lambda: ck.load(path, "CharLSTM"), lambda: ck.load(path, CharLSTM, device="not a device"),
             lambda: ck.load(path, lambda **config: "not a model"), lambda: ck.load(42, CharLSTM),
             lambda: ck.describe(None), lambda: ck.save(path, "model", None, {})]
    for call in calls:
        with pytest.raises(ck.CheckpointArgumentError) as info:
            call()
        assert isinstance(info.value, ck.CheckpointError) and isinstance(info.value, TypeError)

    def refuses(**config):
        raise ValueError("num_hiddens must be even")

    with pytest.raises(ck.CheckpointMismatchError, match="num_hiddens must be even"):
        ck.load(path, refuses)


def test_save_refuses_what_weights_only_loading_could_not_read(tmp_path):
    vocab = Vocab(list(TEXT))
    model = CharLSTM(len(vocab))
    with pytest.raises(ArgumentTypeError, match="config\\['scale'\\] is a Tensor"):
        ck.save(tmp_path / "m.pt", model, vocab, {"vocab_size": len(vocab), "scale": torch.tensor(1.0)})
    with pytest.raises(ArgumentTypeError, match="Vocab"):
        ck.save(tmp_path / "m.pt", model, list(TEXT), {"vocab_size": len(vocab)})
    assert not (tmp_path / "m.pt").exists()


def test_an_interrupted_save_leaves_no_file(tmp_path, monkeypatch):
    vocab = Vocab(list(TEXT))
    model = CharLSTM(len(vocab))

    def broken_save(obj, f):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(ck.torch, "save", broken_save)
    for path in (tmp_path / "m.pt", tmp_path / "new" / "sub" / "m.pt"):
        with pytest.raises(KeyboardInterrupt):
            ck.save(path, model, vocab, {"vocab_size": len(vocab)})
    assert list(tmp_path.iterdir()) == []  # no file, no folder
