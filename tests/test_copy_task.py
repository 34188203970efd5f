"""seqlib.copy_task (Day 7): the samples, the model with its state carried across chunks, the
training loop (the command-line tool: tests/test_cli.py)."""

from __future__ import annotations

import pytest
import torch

from seqlib.copy_task import (ALPHABET, TOKENS, CopyModel, accuracies, bits_to_store, blank_baseline, copy_accuracy,
                              fit_options, hidden_states, make_dataset, make_sample, to_text, vocab)
from seqlib.training import fit

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
    with pytest.raises(ValueError, match=r"output_len must be <= 5, got 6; it must not be longer than seq_len \(5\)"):
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
    with pytest.raises(ValueError, match=r"output_len must be <= 2, got 3; it must not be longer than seq_len\[0\] \(2\)"):
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
    model = CopyModel(cell, embed_size=5, num_hiddens=7)
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
    chunked, at_once = copy_accuracy(model, X, Y, chunk_len=6), copy_accuracy(model, X, Y)
    assert chunked.pop("loss") == pytest.approx(at_once.pop("loss")) and chunked == at_once
    states = hidden_states(model, X[0])
    assert states["H"].shape == (15, 7) and (("C" in states) == (cell in ("lstm", "mlstm")))
    torch.testing.assert_close(states["H"][-1], (final[0] if isinstance(final, tuple) else final)[0])


def test_training_lowers_the_loss_and_is_seeded():
    data = make_dataset(64, 4, 1, 2, seed=0)

    def run():
        torch.manual_seed(0)
        model = CopyModel("gru", 11, 16)
        return model, fit(model, **fit_options(model, data, num_epochs=3, batch_size=16, lr=0.01, seed=0),
                          progress=False)

    model, history = run()
    assert history.train_loss[-1] < history.train_loss[0]
    assert set(history.metrics) == {"train_acc", "train_copy_acc"}
    assert run()[1].train_loss == history.train_loss
    mixed = make_dataset(32, (2, 5), 1, 2, seed=0)
    lines = []
    history = fit(model, **fit_options(model, mixed, num_epochs=1, batch_size=8, lr=0.01, val=data, chunk_len=7,
                                       log=lines.append), progress=False)
    assert len(history.val_loss) == 1 and list(history.metrics) == ["train_acc", "train_copy_acc", "val_acc",
                                                                    "val_copy_acc"]
    assert lines[0].startswith("epoch 1/1: train loss") and "test loss" in lines[0]


def _old_copy_loop(model, data, num_epochs, batch_size, lr, seed, val=None, chunk_len=None):
    """The copy task's loop that fit replaced (copy_task.train before issue 23)."""
    from seqlib.copy_task.model import _batches

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    losses, accs, val_losses = [], [], []
    for _ in range(num_epochs):
        model.train()
        total, acc, count = 0.0, 0.0, 0
        for X, Y in _batches(data, batch_size, generator):
            optimizer.zero_grad()
            logits, _ = model(X)
            loss = torch.nn.CrossEntropyLoss()(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)
            optimizer.step()
            total += len(X) * loss.item()
            acc += len(X) * accuracies(logits.detach(), Y)["copy"]
            count += len(X)
        losses.append(total / count)
        accs.append(acc / count)
        if val is not None:
            val_losses.append(copy_accuracy(model, *val, chunk_len=chunk_len)["loss"])
    return losses, accs, val_losses


def test_fit_makes_the_same_updates_as_the_loop_it_replaced():
    """Day 7 keeps its results: clipping by value, the same batches, the same weights bit for bit."""
    data, test = make_dataset(48, (3, 6), 2, 3, seed=1), make_dataset(20, 10, 2, 3, seed=5)
    runs = []
    for new in (False, True):
        torch.manual_seed(0)
        model = CopyModel("lstm", 6, 12)
        if new:
            h = fit(model, **fit_options(model, data, num_epochs=2, batch_size=16, lr=0.01, seed=0, val=test,
                                         chunk_len=10), progress=False)
            numbers = h.train_loss, h.metrics["train_copy_acc"], h.val_loss
        else:
            numbers = _old_copy_loop(model, data, 2, 16, 0.01, 0, test, 10)
        runs.append((numbers, [p.detach().clone() for p in model.parameters()]))
    (old, old_params), (new, new_params) = runs
    assert new == old and all(torch.equal(a, b) for a, b in zip(old_params, new_params))


def test_model_and_training_reject_bad_input():
    with pytest.raises(ValueError, match="cell must be one of"):
        CopyModel("transformer")
    with pytest.raises(ValueError, match="num_hiddens"):
        CopyModel("rnn", num_hiddens=0)
    model = CopyModel("rnn", 4, 4)
    with pytest.raises(ValueError, match="X"):
        model(torch.tensor([[0, 11]]))
    with pytest.raises(TypeError, match="make_dataset"):
        fit_options(model, "data")
    with pytest.raises(ValueError, match="lr must be positive"):
        fit_options(model, make_dataset(4, 3, 1, 1, seed=0), lr=0)


@pytest.mark.parametrize("ids", [[-1, 2], [3, 11], torch.tensor([0, 12])])
def test_to_text_refuses_ids_outside_the_eleven_tokens(ids):
    with pytest.raises(ValueError, match=r"token ids must lie in 0\.\.10"):
        to_text(ids)


def test_the_mlstm_can_run_on_a_students_step():
    """Day 7 trains the student's mlstm_step: CopyModel(step=) replaces the mLSTM's step (and only its)."""
    import torch

    from seqlib import cells
    from seqlib.copy_task import CopyModel

    calls = []

    def mine(X, H, C, p):
        calls.append(X.shape)
        return cells.mlstm_step(X, H, C, p)

    torch.manual_seed(0)
    ours = CopyModel("mlstm", 11, 16)
    torch.manual_seed(0)
    theirs = CopyModel("mlstm", 11, 16, step=mine)
    X = torch.randint(0, 11, (3, 5))
    assert torch.equal(ours(X)[0], theirs(X)[0]) and len(calls) == 5   # one call per time step
    with pytest.raises(ValueError, match="cell='mlstm'"):
        CopyModel("lstm", step=mine)


def test_the_mgru_can_run_on_a_students_step():
    """Day 7 trains the student's mgru_step too: CopyModel("mgru", step=) calls it at every time step."""
    import torch

    from seqlib import cells
    from seqlib.copy_task import CopyModel

    calls = []

    def mine(X, H, p):
        calls.append(X.shape)
        return cells.mgru_step(X, H, p)

    torch.manual_seed(0)
    ours = CopyModel("mgru", 11, 16)
    torch.manual_seed(0)
    theirs = CopyModel("mgru", 11, 16, step=mine)
    X = torch.randint(0, 11, (3, 5))
    assert torch.equal(ours(X)[0], theirs(X)[0]) and len(calls) == 5
    with pytest.raises(ValueError, match="cell='mgru'"):
        CopyModel("gru", step=mine)


def test_copy_accuracy_scores_with_the_function_it_is_given():
    """The lab passes the student's copy_scores: its per-position accuracies and sequence share are the ones
    reported, and the copy accuracy is their mean."""
    torch.manual_seed(0)
    X, Y = make_dataset(6, 5, 2, 3, seed=1)
    model = CopyModel("lstm", 4, 8)
    default = copy_accuracy(model, X, Y)
    fixed = copy_accuracy(model, X, Y, scores=lambda logits, Y: (torch.tensor([1.0, 0.5, 0.0]), 0.25))
    assert fixed["per_position"] == [1.0, 0.5, 0.0] and fixed["sequence_acc"] == 0.25
    assert fixed["copy_acc"] == pytest.approx(0.5) and fixed["acc"] == default["acc"]
    with pytest.raises(TypeError, match="scores must be a function"):
        copy_accuracy(model, X, Y, scores="copy_scores")
