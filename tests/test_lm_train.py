"""seqlib.lm_train: a language model trained by fit (state per sampling scheme, the same updates as the
loop it replaced), perplexity and top-k accuracy."""

from __future__ import annotations

import math

import pytest
import torch

from seqlib.lm import RNNLMFast
from seqlib.history import History
from seqlib.decoding import top_k_accuracy
from seqlib.lm_train import fit_options, lm_loss, perplexity, predictions
from seqlib.partitioning import SeqDataLoader
from seqlib.training import fit

class Spy(torch.nn.Module):
    """A tiny model that records which states it was given."""

    def __init__(self, vocab_size=6, h=3):
        super().__init__()
        self.inner = RNNLMFast(vocab_size, h, "rnn")
        self.begins, self.seen = 0, []

    def begin_state(self, batch_size, device):
        self.begins += 1
        return self.inner.begin_state(batch_size, device)

    def forward(self, X, state):
        self.seen.append(state)
        return self.inner(X, state)


@pytest.mark.parametrize("use_random_iter", [True, False])
def test_fit_resets_or_carries_the_state(use_random_iter):
    spy = Spy()
    loader = SeqDataLoader(torch.arange(200) % 6, 2, 5, use_random_iter, seed=0)
    opt = torch.optim.SGD(spy.parameters(), lr=0.1)
    history = fit(spy, loader, loss_fn=lm_loss, optimizer=opt, num_epochs=1, clip_grad_norm=1.0, progress=False,
                  state="reset" if use_random_iter else "carry")
    n = len(spy.seen)
    assert n > 1 and history.train_ppl[0] > 1 and history.tokens_per_s > 0
    assert history.train_tokens == [n * 2 * 5]
    if use_random_iter:
        assert spy.begins == n and all(float(s[0].abs().sum()) == 0 for s in spy.seen)
    else:
        assert spy.begins == 1
        assert all(float(s[0].abs().sum()) > 0 for s in spy.seen[1:]), "the state is carried over"
        assert all(not s[0].requires_grad for s in spy.seen), "and detached: no gradient crosses minibatches"


def _old_lm_loop(net, loader, num_epochs, lr, theta=1.0):
    """The language-model loop that fit replaced (lm_train.train before issue 23): Adam, cosine
    schedule to lr / 20, state reset or carried per sampling scheme, clipping by global norm."""
    from seqlib.training import clip_gradients

    opt = torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=num_epochs, eta_min=lr / 20)
    losses = []
    for _ in range(num_epochs):
        net.train()
        state, total, tokens = None, 0.0, 0
        for X, Y in loader:
            if state is None or loader.use_random_iter:
                state = net.begin_state(batch_size=X.shape[0], device="cpu")
            else:
                state = tuple(s.detach() for s in state)
            y_hat, state = net(X, state)
            l = torch.nn.CrossEntropyLoss()(y_hat, Y.T.reshape(-1).long()).mean()
            opt.zero_grad()
            l.backward()
            clip_gradients(net, theta)
            opt.step()
            total += float(l.detach()) * Y.numel()
            tokens += Y.numel()
        schedule.step()
        losses.append(total / tokens)
    return losses


@pytest.mark.parametrize("cell, use_random_iter, updates", [("lstm", False, None), ("gru", True, None),
                                                             ("rnn", False, 5)])
def test_fit_makes_the_same_updates_as_the_loop_it_replaced(cell, use_random_iter, updates):
    """Days 3 and 6 keep their results: the same seeds give the same weights, bit for bit."""
    text = torch.tensor([(i * 7 + i // 5) % 11 for i in range(600)])
    runs = []
    for new in (False, True):
        torch.manual_seed(0)
        net = RNNLMFast(11, 8, cell, dropout=0.3)
        loader = SeqDataLoader(text, 8, 8, use_random_iter, seed=0, updates_per_epoch=updates)
        if new:
            losses = fit(net, loader, **fit_options(net, loader, 3, 0.01), progress=False).train_loss
        else:
            losses = _old_lm_loop(net, loader, 3, 0.01)
        runs.append((losses, [p.detach().clone() for p in net.parameters()]))
    (old_losses, old_params), (new_losses, new_params) = runs
    assert new_losses == pytest.approx(old_losses, rel=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(old_params, new_params))


class Uniform:
    """A 'model' that knows nothing: equal logits for every token."""

    training = False

    def __init__(self, vocab_size):
        self.vocab_size = vocab_size
        self.p = torch.zeros(1, requires_grad=True)

    def begin_state(self, batch_size, device):
        return (torch.zeros(batch_size, 1),)

    def __call__(self, X, state):
        return torch.zeros(X.numel(), self.vocab_size), state

    def parameters(self):
        return [self.p]

    def train(self, mode=True):
        return self

    def eval(self):
        return self


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    assert perplexity(Uniform(28), list(range(28)) * 10) == pytest.approx(28, rel=1e-5)


def test_perplexity_does_not_depend_on_the_chunk_length_and_matches_the_definition():
    torch.manual_seed(0)
    net = RNNLMFast(7, 8, "lstm", dropout=0.5)
    corpus = torch.randint(0, 7, (101,))
    net.train()
    p1 = perplexity(net, corpus, batch_size=1, num_steps=7)
    p2 = perplexity(net, corpus, batch_size=1, num_steps=1000)
    assert p1 == pytest.approx(p2, rel=1e-5)
    assert net.training, "perplexity leaves the model's mode as it was"
    net.eval()
    with torch.no_grad():
        y_hat, _ = net(corpus[None, :-1], net.begin_state(1))
        nll = torch.nn.functional.cross_entropy(y_hat, corpus[1:])
    assert p1 == pytest.approx(math.exp(float(nll)), rel=1e-5)
    with pytest.raises(ValueError, match="too short"):
        perplexity(net, corpus[:3], batch_size=8)


def test_top_k_accuracy_of_predictions_matches_a_brute_force_count():
    torch.manual_seed(1)
    net = RNNLMFast(9, 8, "gru")
    corpus = torch.randint(0, 9, (121,))
    acc = top_k_accuracy(predictions(net, corpus, batch_size=1, num_steps=13), ks=(5, 1, 9))
    net.eval()
    with torch.no_grad():
        y_hat, _ = net(corpus[None, :-1], net.begin_state(1))
    rank = (y_hat > y_hat.gather(1, corpus[1:, None])).sum(dim=1)  # how many logits beat the true token
    assert list(acc) == [1, 5, 9]
    for k in (1, 5):
        assert acc[k] == pytest.approx(float((rank < k).float().mean()))
    assert acc[9] == 1.0  # every token is among all 9 guesses
    # the same rows and state as perplexity: chunking does not change anything
    assert top_k_accuracy(predictions(net, corpus, batch_size=1, num_steps=1000), ks=(1,))[1] == acc[1]


def test_predictions_refuse_a_corpus_too_short_at_the_call():
    net = RNNLMFast(4, 3, "rnn")
    with pytest.raises(ValueError, match="too short"):
        predictions(net, torch.arange(4), batch_size=8)  # refused when called, not when first read


def test_fit_options_record_history_and_learn():
    torch.manual_seed(0)
    text = [i % 5 + 1 for i in range(600)]
    net = RNNLMFast(6, 16, "gru")
    loader = SeqDataLoader(text[:500], 4, 10, seed=0)
    history = fit(net, loader, **fit_options(net, loader, 4, 0.02, val_corpus=text[500:], plot=True), progress=False)
    assert isinstance(history, History)
    assert history.epochs == [1, 2, 3, 4] and len(history.train_ppl) == len(history.val_ppl) == 4
    assert history.val_ppl[-1] < 1.5 < history.train_ppl[0]
    assert history.tokens_per_s > 0 and history.train_seconds > 0
    assert "validation perplexity" in history.summary()
    # one record: the perplexities are views of the per-token losses, with lr, time and the best epoch
    assert history.train_ppl == [math.exp(loss) for loss in history.train_loss]
    assert history.val_ppl[-1] == pytest.approx(perplexity(net, text[500:]), rel=1e-9)
    assert history.monitor == "val_loss" and history.val_ppl[history.best_epoch - 1] == min(history.val_ppl)
    assert len(history.lr) == len(history.train_time) == len(history.train_tokens) == 4
    assert history.lr[0] == pytest.approx(0.02) and history.lr[-1] < history.lr[0]  # the cosine schedule
    assert history.train_seconds <= history.total_time
    with pytest.raises(ValueError, match="optimizer must be"):
        fit_options(net, loader, 1, 0.1, optimizer="lbfgs")


# --- issue 13: bad settings get a clear error ----------------------------------------------

@pytest.mark.parametrize("batch_size, num_steps, error, match", [
    (2, 0, ValueError, r"num_steps must be a positive integer"),
    (2, -5, ValueError, r"num_steps must be a positive integer"),
    (0, 5, ValueError, r"batch_size must be a positive integer"),
    (-1, 5, ValueError, r"batch_size must be a positive integer"),
    (2.5, 5, TypeError, r"batch_size must be a positive integer"),
    (100, 5, ValueError, r"too short for batch_size=100 rows"),
])
def test_perplexity_rejects_bad_settings(batch_size, num_steps, error, match):
    """Issue 13 item 5: num_steps <= 0 returned 1.0 (a perfect score), batch_size=0 ZeroDivisionError."""
    net = RNNLMFast(6, 3, "rnn")
    with pytest.raises(error, match=match):
        perplexity(net, [i % 6 for i in range(20)], batch_size, num_steps)


def test_perplexity_accepts_numpy_sizes():
    import numpy as np

    net = RNNLMFast(6, 3, "rnn")
    text = [i % 6 for i in range(40)]
    assert perplexity(net, text, np.int64(2), np.int64(5)) == pytest.approx(perplexity(net, text, 2, 5))


@pytest.mark.parametrize("num_epochs", [0, -1])
def test_fit_options_reject_no_epochs(num_epochs):
    """Issue 13 item 9: num_epochs=0 or -1 returned an empty History."""
    net = RNNLMFast(6, 3, "rnn")
    loader = SeqDataLoader([i % 6 for i in range(100)], 2, 5)
    with pytest.raises(ValueError, match=r"num_epochs must be a positive integer"):
        fit(net, loader, **fit_options(net, loader, num_epochs, 0.1), progress=False)


def test_an_empty_history_summary_says_so():
    assert History().summary() == "0 epochs: nothing recorded yet"


def test_divergence_reads_as_infinite_perplexity_not_an_overflow():
    """Issue 13 item 9: a diverging run ended in a bare OverflowError: math range error."""
    torch.manual_seed(0)
    net = RNNLMFast(7, 16, "rnn")
    loader = SeqDataLoader([i % 7 for i in range(600)], 4, 10, seed=0)
    history = fit(net, loader, **fit_options(net, loader, 1, 1e4, optimizer="sgd", clip_grad_norm=1e6), progress=False)
    assert history.train_loss[0] > 1000 and history.train_ppl == [math.inf]
    assert "train perplexity inf" in history.summary()


def test_fit_options_reject_bad_learning_rates_and_clipping():
    net = RNNLMFast(6, 3, "rnn")
    loader = SeqDataLoader([i % 6 for i in range(100)], 2, 5)
    with pytest.raises(ValueError, match=r"lr must be positive"):
        fit_options(net, loader, 1, 0.0)
    with pytest.raises(ValueError, match=r"lr must be a finite number"):
        fit_options(net, loader, 1, float("nan"))
    with pytest.raises(ValueError, match=r"clip_grad_norm must be positive"):
        fit(net, loader, **fit_options(net, loader, 1, 0.1, clip_grad_norm=0), progress=False)
