"""seqlib.copy_task (Day 7): the samples, the model with its state carried across chunks, the
training loop (the command-line tool: tests/test_cli.py)."""

from __future__ import annotations

import pytest
import torch

from seqlib.copy_task import (ALPHABET, TOKENS, CopyModel, accuracies, bits_to_store, blank_baseline, evaluate,
                              hidden_states, make_dataset, make_sample, to_text, train, vocab)

CELLS = ("rnn", "lstm", "gru", "mlstm", "mgru")


# ----------------------------------------------------------------------------------------
# The samples
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("L, P, O", [(1, 1, 1), (10, 3, 5), (100, 10, 50), (7, 2, 7)])
def test_a_sample_is_symbols_delimiters_blanks_and_its_target_copies_the_first_symbols(L, P, O):
    x, y = make_sample(L, P, O, seed=3)
    assert x.shape == y.shape == (L + P + O,) and x.dtype == torch.int64
    text, target = to_text(x), to_text(y)
    assert set(text[:L]) <= set(ALPHABET)
    assert text[L:L + P] == "$" * P and text[L + P:] == " " * O
    assert target == " " * (L + P) + text[:O]


def test_the_vocabulary_is_the_eleven_tokens_with_the_blank_as_unknown():
    v = vocab()
    assert len(v) == len(TOKENS) == 11
    assert v.idx_to_token[1:] == list(TOKENS[1:]) and v.idx_to_token[0] == "<unk>"
    assert v[list(" $axcrywbto")] == list(range(11))


def test_samples_are_seeded_and_the_data_set_draws_like_the_sample():
    assert torch.equal(make_sample(12, 2, 6, seed=0)[0], make_sample(12, 2, 6, seed=0)[0])
    assert not torch.equal(make_sample(12, 2, 6, seed=0)[0], make_sample(12, 2, 6, seed=1)[0])
    X, Y = make_dataset(5, 12, 2, 6, seed=0)
    assert X.shape == Y.shape == (5, 20)
    assert torch.equal(X[0], make_sample(12, 2, 6, seed=0)[0]) and torch.equal(Y[0], make_sample(12, 2, 6, seed=0)[1])
    X2, _ = make_dataset(5, 12, 2, 6, seed=0)
    assert torch.equal(X, X2)
    all_symbols = make_dataset(200, 20, 1, 1, seed=0)[0][:, :20]
    assert set(all_symbols.unique().tolist()) == set(range(2, 11))  # all 9 symbols, never blank or $


def test_bad_lengths_are_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match=r"output_len \(6\) must not be longer than seq_len \(5\)"):
        make_sample(5, 1, 6, seed=0)
    with pytest.raises(ValueError, match="padding must be a positive integer"):
        make_dataset(3, 5, 0, 2, seed=0)
    with pytest.raises(ValueError, match="seq_len must be a positive integer"):
        make_dataset(3, 0, 1, 1, seed=0)
    with pytest.raises(TypeError, match="num_samples"):
        make_dataset(2.5, 5, 1, 2, seed=0)


def test_mixed_lengths_keep_the_output_length():
    pairs = make_dataset(40, (4, 8), 2, 3, seed=0)
    assert len({len(x) for x, _ in pairs}) > 1
    for x, y in pairs:
        L = int((x >= 2).sum())
        assert 4 <= L <= 8 and int((y != 0).sum()) == 3 and len(x) == L + 2 + 3
        assert to_text(y)[L + 2:] == to_text(x)[:3]
    with pytest.raises(ValueError, match=r"output_len \(3\) must not be longer than seq_len\[0\] \(2\)"):
        make_dataset(4, (2, 8), 2, 3, seed=0)


def test_accuracies_and_the_blank_baseline():
    X, Y = make_dataset(8, 6, 2, 3, seed=0)
    logits = torch.zeros(8, 11, 11)
    logits[..., 0] = 1.0  # always the blank
    acc = accuracies(logits, Y)
    assert acc["all"] == pytest.approx(blank_baseline(6, 2, 3)) == pytest.approx(8 / 11)
    assert acc["copy"] == 0 and acc["sequence"] == 0 and acc["per_position"].shape == (3,)
    perfect = torch.nn.functional.one_hot(Y, 11).float()
    assert accuracies(perfect, Y)["copy"] == 1.0 and accuracies(perfect, Y)["sequence"] == 1.0
    assert bits_to_store(50) == pytest.approx(50 * 3.1699, rel=1e-4)


# ----------------------------------------------------------------------------------------
# The model: shapes, state carried across chunks, training
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_processing_in_chunks_with_the_state_carried_equals_processing_whole(cell):
    torch.manual_seed(0)
    model = CopyModel(cell, embedding_size=5, hidden_size=7)
    X, Y = make_dataset(4, 9, 2, 4, seed=1)
    whole, final = model(X)
    assert whole.shape == (4, 15, 11)
    pieces, state = [], None
    for s in range(0, 15, 6):
        logits, state = model(X[:, s:s + 6], state)
        pieces.append(logits)
    torch.testing.assert_close(torch.cat(pieces, 1), whole)
    for a, b in zip(state if isinstance(state, tuple) else (state,), final if isinstance(final, tuple) else (final,)):
        torch.testing.assert_close(a, b)
    chunked, at_once = evaluate(model, X, Y, chunk_len=6), evaluate(model, X, Y)
    assert chunked.pop("loss") == pytest.approx(at_once.pop("loss")) and chunked == at_once
    states = hidden_states(model, X[0])
    assert states["H"].shape == (15, 7) and (("C" in states) == (cell in ("lstm", "mlstm")))
    torch.testing.assert_close(states["H"][-1], (final[0] if isinstance(final, tuple) else final)[0])


def test_training_lowers_the_loss_and_is_seeded():
    data = make_dataset(64, 4, 1, 2, seed=0)

    def fit():
        torch.manual_seed(0)
        model = CopyModel("gru", 11, 16)
        return model, train(model, data, epochs=3, batch_size=16, lr=0.01, seed=0)

    model, history = fit()
    assert history.train_loss[-1] < history.train_loss[0]
    assert set(history.metrics) == {"train_acc", "train_copy_acc"}
    assert fit()[1].train_loss == history.train_loss
    mixed = make_dataset(32, (2, 5), 1, 2, seed=0)
    history = train(model, mixed, epochs=1, batch_size=8, lr=0.01, val=data, chunk_len=7)
    assert len(history.val_loss) == 1 and "val_copy_acc" in history.metrics


def test_model_and_training_reject_bad_input():
    with pytest.raises(ValueError, match="cell must be one of"):
        CopyModel("transformer")
    with pytest.raises(ValueError, match="hidden_size"):
        CopyModel("rnn", hidden_size=0)
    model = CopyModel("rnn", 4, 4)
    with pytest.raises(ValueError, match="X"):
        model(torch.tensor([[0, 11]]))
    with pytest.raises(TypeError, match="make_dataset"):
        train(model, "data")
    with pytest.raises(ValueError, match="lr must be positive"):
        train(model, make_dataset(4, 3, 1, 1, seed=0), lr=0)
