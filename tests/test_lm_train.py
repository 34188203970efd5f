"""seqlib.lm_train: state handling per sampling scheme, perplexity, training, generation."""

from __future__ import annotations

import math

import pytest
import torch

from seqlib.lm import RNNLMFast
from seqlib.history import History
from seqlib.lm_train import perplexity, predict, top_k_accuracy, train, train_epoch
from seqlib.partitioning import SeqDataLoader
from seqlib.text import Vocab

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
def test_train_epoch_resets_or_carries_the_state(use_random_iter):
    spy = Spy()
    loader = SeqDataLoader(torch.arange(200) % 6, 2, 5, use_random_iter, seed=0)
    opt = torch.optim.SGD(spy.parameters(), lr=0.1)
    ppl, speed = train_epoch(spy, loader, torch.nn.CrossEntropyLoss(), opt, torch.device("cpu"), use_random_iter)
    n = len(spy.seen)
    assert n > 1 and ppl > 1 and speed > 0
    if use_random_iter:
        assert spy.begins == n and all(float(s[0].abs().sum()) == 0 for s in spy.seen)
    else:
        assert spy.begins == 1
        assert all(float(s[0].abs().sum()) > 0 for s in spy.seen[1:]), "the state is carried over"
        assert all(not s[0].requires_grad for s in spy.seen), "and detached: no gradient crosses minibatches"


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


def test_top_k_accuracy_matches_a_brute_force_count_of_the_same_predictions():
    torch.manual_seed(1)
    net = RNNLMFast(9, 8, "gru")
    corpus = torch.randint(0, 9, (121,))
    acc = top_k_accuracy(net, corpus, ks=(5, 1, 9), batch_size=1, num_steps=13)
    net.eval()
    with torch.no_grad():
        y_hat, _ = net(corpus[None, :-1], net.begin_state(1))
    rank = (y_hat > y_hat.gather(1, corpus[1:, None])).sum(dim=1)  # how many logits beat the true token
    assert list(acc) == [1, 5, 9]
    for k in (1, 5):
        assert acc[k] == pytest.approx(float((rank < k).float().mean()))
    assert acc[9] == 1.0  # every token is among all 9 guesses
    # the same rows and state as perplexity: chunking does not change anything
    assert top_k_accuracy(net, corpus, ks=(1,), batch_size=1, num_steps=1000)[1] == acc[1]


def test_top_k_accuracy_rejects_bad_ks():
    net = RNNLMFast(4, 3, "rnn")
    with pytest.raises(ValueError, match="only 4 tokens"):
        top_k_accuracy(net, torch.arange(4).repeat(5), ks=(1, 5))
    with pytest.raises(ValueError, match="ks"):
        top_k_accuracy(net, torch.arange(4).repeat(5), ks=())
    with pytest.raises((ValueError, TypeError), match="ks"):
        top_k_accuracy(net, torch.arange(4).repeat(5), ks=(0,))


def test_train_records_history_and_learns():
    torch.manual_seed(0)
    text = [i % 5 + 1 for i in range(600)]
    net = RNNLMFast(6, 16, "gru")
    loader = SeqDataLoader(text[:500], 4, 10, seed=0)
    history = train(net, loader, 4, 0.02, val_corpus=text[500:], plot=True, progress_bar=False)
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
        train(net, loader, 1, 0.1, optimizer="lbfgs")


@pytest.fixture
def trained():
    """A tiny LSTM that has learned 'abcabc...'."""
    torch.manual_seed(0)
    vocab = Vocab(list("abc"))
    net = RNNLMFast(len(vocab), 16, "lstm")
    text = [vocab[ch] for ch in "abc" * 100]
    train(net, SeqDataLoader(text, 4, 12, seed=0), 8, 0.05, plot=False, progress_bar=False)
    return net, vocab


def d2l_predict_ch8(prefix, num_preds, net, vocab, device):
    """The book's predict_ch8 (D2L classic 8.5): warm-up one token at a time, then argmax."""
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))  # noqa: E731
    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([vocab.idx_to_token[i] for i in outputs])


def test_greedy_prediction_matches_the_book_and_continues_the_pattern(trained):
    net, vocab = trained
    net.eval()
    with torch.no_grad():
        expected = d2l_predict_ch8("abcab", 10, net, vocab, torch.device("cpu"))
    assert predict("abcab", 10, net, vocab) == expected == "abcab" + "cabcabcabc"
    assert predict("a", 0, net, vocab) == "a"


def test_prediction_with_unknown_characters_and_empty_prefix(trained):
    net, vocab = trained
    out = predict("aXb", 3, net, vocab)
    assert out.startswith("a<unk>b") and len(vocab.to_tokens([vocab[c] for c in "aXb"])) == 3
    assert len(out) == len("a<unk>b") + 3
    with pytest.raises(ValueError, match="non-empty string"):
        predict("", 5, net, vocab)
    with pytest.raises(ValueError, match=r"temperature must be non-negative \(>= 0\)"):
        predict("a", 5, net, vocab, temperature=-1)


def test_sampling_is_reproducible_and_temperature_matters(trained):
    net, vocab = trained
    a = predict("a", 60, net, vocab, temperature=1.0, generator=torch.Generator().manual_seed(1))
    b = predict("a", 60, net, vocab, temperature=1.0, generator=torch.Generator().manual_seed(1))
    assert a == b
    cold = predict("a", 60, net, vocab, temperature=0.01, generator=torch.Generator().manual_seed(2))
    assert cold == predict("a", 60, net, vocab), "a very low temperature is greedy"
    hot = predict("a", 60, net, vocab, temperature=100.0, generator=torch.Generator().manual_seed(3))
    assert hot != cold, "a very high temperature samples almost uniformly"


# --- issue 13: bad settings get a clear error ----------------------------------------------

@pytest.mark.parametrize("batch_size, num_steps, error, match", [
    (2, 0, ValueError, r"num_steps must be a positive integer"),
    (2, -5, ValueError, r"num_steps must be a positive integer"),
    (0, 5, ValueError, r"batch_size must be a positive integer"),
    (-1, 5, ValueError, r"batch_size must be a positive integer"),
    (2.5, 5, TypeError, r"batch_size must be a positive integer"),
    (100, 5, ValueError, r"too short for batch_size=100 rows.*at most 19"),
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
def test_train_rejects_no_epochs(num_epochs):
    """Issue 13 item 9: num_epochs=0 or -1 returned an empty History."""
    net = RNNLMFast(6, 3, "rnn")
    with pytest.raises(ValueError, match=r"num_epochs must be a positive integer"):
        train(net, SeqDataLoader([i % 6 for i in range(100)], 2, 5), num_epochs, 0.1, plot=False)


def test_an_empty_history_summary_says_so():
    assert History().summary() == "0 epochs: nothing recorded yet"


def test_divergence_ends_in_a_clear_error_not_an_overflow():
    """Issue 13 item 9: a diverging run ended in a bare OverflowError: math range error."""
    torch.manual_seed(0)
    net = RNNLMFast(7, 16, "rnn")
    loader = SeqDataLoader([i % 7 for i in range(600)], 4, 10, seed=0)
    with pytest.raises(FloatingPointError, match=r"training diverged at epoch \d+.*lower the learning rate"):
        train(net, loader, 3, 1e4, optimizer="sgd", theta=1e6, plot=False, progress_bar=False)


def test_train_rejects_bad_learning_rates_and_clipping():
    net = RNNLMFast(6, 3, "rnn")
    loader = SeqDataLoader([i % 6 for i in range(100)], 2, 5)
    with pytest.raises(ValueError, match=r"lr must be positive"):
        train(net, loader, 1, 0.0, plot=False)
    with pytest.raises(ValueError, match=r"lr must be a finite number"):
        train(net, loader, 1, float("nan"), plot=False)
    with pytest.raises(ValueError, match=r"theta must be positive"):
        train(net, loader, 1, 0.1, theta=0, plot=False)
