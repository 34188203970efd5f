"""seqlib.d2l pins the classic D2L API (PyTorch edition, chapters 8-9): names, signatures, defaults, semantics."""

from __future__ import annotations

import inspect
import random

import pytest
import torch
from torch import nn

from seqlib import d2l

# name -> the book's parameters (name, default) in order; inspect.Parameter.empty = no default
E = inspect.Parameter.empty
BOOK_SIGNATURES = {
    "read_time_machine": [],
    "tokenize": [("lines", E), ("token", "word")],
    "Vocab": [("tokens", None), ("min_freq", 0), ("reserved_tokens", None)],
    "load_corpus_time_machine": [("max_tokens", -1)],
    "seq_data_iter_random": [("corpus", E), ("batch_size", E), ("num_steps", E)],
    "seq_data_iter_sequential": [("corpus", E), ("batch_size", E), ("num_steps", E)],
    "SeqDataLoader": [("batch_size", E), ("num_steps", E), ("use_random_iter", E), ("max_tokens", E)],
    "load_data_time_machine": [("batch_size", E), ("num_steps", E), ("use_random_iter", False),
                               ("max_tokens", 10000)],
    "RNNModelScratch": [("vocab_size", E), ("num_hiddens", E), ("device", E), ("get_params", E),
                        ("init_state", E), ("forward_fn", E)],
    "RNNModel": [("rnn_layer", E), ("vocab_size", E)],
    "grad_clipping": [("net", E), ("theta", E)],
    "sgd": [("params", E), ("lr", E), ("batch_size", E)],
    "train_epoch_ch8": [("net", E), ("train_iter", E), ("loss", E), ("updater", E), ("device", E),
                        ("use_random_iter", E)],
    "train_ch8": [("net", E), ("train_iter", E), ("vocab", E), ("lr", E), ("num_epochs", E), ("device", E),
                  ("use_random_iter", False)],
    "predict_ch8": [("prefix", E), ("num_preds", E), ("net", E), ("vocab", E), ("device", E)],
    "Timer": [],
    "Accumulator": [("n", E)],
    "Animator": [("xlabel", None), ("ylabel", None), ("legend", None), ("xlim", None), ("ylim", None),
                 ("xscale", "linear"), ("yscale", "linear"), ("fmts", ("-", "m--", "g-.", "r:")),
                 ("nrows", 1), ("ncols", 1), ("figsize", (3.5, 2.5))],
    "try_gpu": [("i", 0)],
}


@pytest.mark.parametrize("name", sorted(BOOK_SIGNATURES))
def test_book_names_and_signatures(name):
    """The book's parameters come first, in its order, with its defaults (where the book has no
    default, a course default is allowed: code written for the book passes the argument anyway);
    extra parameters are keyword-only and have defaults."""
    obj = getattr(d2l, name)
    params = list(inspect.signature(obj).parameters.values())
    params = [p for p in params if p.kind is not p.VAR_KEYWORD]  # RNNModel(**kwargs)
    book = BOOK_SIGNATURES[name]
    assert [p.name for p in params[:len(book)]] == [n for n, _ in book]
    for p, (_, default) in zip(params, book):
        assert p.kind is p.POSITIONAL_OR_KEYWORD
        assert default is E or p.default == default, (p.name, p.default, default)
    for extra in params[len(book):]:
        assert extra.kind is extra.KEYWORD_ONLY and extra.default is not E, extra


def test_it_reuses_the_course_implementations():
    from seqlib import decoding, lm, partitioning, plots, text, training
    from seqlib.page import runtime

    assert d2l.Vocab is text.Vocab and d2l.tokenize is text.tokenize
    assert d2l.seq_data_iter_random is partitioning.seq_data_iter_random
    assert issubclass(d2l.SeqDataLoader, partitioning.SeqDataLoader)
    assert d2l.RNNModelScratch is lm.RNNModelScratch and d2l.RNNModel is lm.RNNModel
    assert d2l.generate is decoding.generate and d2l.fit is training.fit  # training and generation are the course's
    assert d2l.Animator is plots.LivePlot and d2l.try_gpu is runtime.try_gpu


@pytest.fixture(scope="module")
def corpus_and_vocab():
    from seqlib.data import DataNotAvailableError

    try:
        return d2l.load_corpus_time_machine()
    except DataNotAvailableError as err:
        pytest.skip(f"Time Machine not available: {err}")


def test_classic_facts_170580_characters_28_tokens(corpus_and_vocab):
    corpus, vocab = corpus_and_vocab
    assert len(corpus) == 170_580 and len(vocab) == 28
    lines = d2l.read_time_machine()
    assert len(lines) == 3221 and lines[0] == "the time machine by h g wells"
    assert d2l.tokenize(lines, "word")[0] == ["the", "time", "machine", "by", "h", "g", "wells"]


def test_load_data_time_machine_defaults_to_10000_tokens(corpus_and_vocab):
    random.seed(0)
    train_iter, vocab = d2l.load_data_time_machine(32, 35)
    assert len(train_iter.corpus) == 10_000 and len(vocab) == 28
    assert train_iter.data_iter_fn is d2l.seq_data_iter_sequential
    batches = list(train_iter)
    assert all(X.shape == (32, 35) for X, _ in batches)
    assert len(batches) == 8  # (10000 - offset - 1) // 32 // 35 = 8 for every offset
    rand_iter, _ = d2l.load_data_time_machine(32, 35, use_random_iter=True)
    assert rand_iter.data_iter_fn is d2l.seq_data_iter_random


def get_params(vocab_size, num_hiddens, device):
    """The book's get_params of section 8.5, as a student types it."""
    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01
    W_xh, W_hh, b_h = normal((vocab_size, num_hiddens)), normal((num_hiddens, num_hiddens)), torch.zeros(
        num_hiddens, device=device)
    W_hq, b_q = normal((num_hiddens, vocab_size)), torch.zeros(vocab_size, device=device)
    params = [W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def test_book_workflow_runs_with_only_the_import_changed(corpus_and_vocab, capsys):
    """Section 8.5's code: scratch RNN, shapes, then train_ch8 with SGD (a few epochs on 10,000 tokens)."""
    from seqlib.lm import init_rnn_state, rnn

    torch.manual_seed(0)
    random.seed(0)
    batch_size, num_steps = 32, 35
    train_iter, vocab = d2l.load_data_time_machine(batch_size, num_steps)
    num_hiddens = 64
    net = d2l.RNNModelScratch(len(vocab), num_hiddens, d2l.try_gpu(), get_params, init_rnn_state, rnn)
    X = torch.arange(10).reshape((2, 5))
    state = net.begin_state(X.shape[0], d2l.try_gpu())
    Y, new_state = net(X.to(d2l.try_gpu()), state)
    assert Y.shape == (10, 28) and len(new_state) == 1 and new_state[0].shape == (2, num_hiddens)
    assert d2l.predict_ch8("time traveller ", 10, net, vocab, d2l.try_gpu()).startswith("time traveller ")
    d2l.train_ch8(net, train_iter, vocab, 1, 10, d2l.try_gpu())
    out = capsys.readouterr().out.splitlines()
    assert out[-3].startswith("perplexity ") and "tokens/sec" in out[-3]
    assert float(out[-3].split()[1].rstrip(",")) < 20
    assert out[-2].startswith("time traveller") and out[-1].startswith("traveller")
    # concise model, as in 8.6
    rnn_layer = nn.RNN(len(vocab), num_hiddens)
    model = d2l.RNNModel(rnn_layer, vocab_size=len(vocab))
    state = model.begin_state(device=d2l.try_gpu(), batch_size=batch_size)
    assert state.shape == (1, batch_size, num_hiddens)
    ppl, speed = d2l.train_epoch_ch8(model, train_iter, nn.CrossEntropyLoss(),
                                     torch.optim.SGD(model.parameters(), 1), d2l.try_gpu(), False)
    assert 1 < ppl < 30 and speed > 0


def test_small_utilities():
    params = [torch.ones(3, requires_grad=True)]
    params[0].grad = torch.full((3,), 2.0)
    d2l.sgd(params, lr=0.5, batch_size=2)
    assert torch.equal(params[0].detach(), torch.full((3,), 0.5)) and torch.equal(params[0].grad, torch.zeros(3))
    acc = d2l.Accumulator(2)
    acc.add(1, 2.5)
    acc.add(torch.tensor(1.0), 0.5)
    assert acc[0] == 2.0 and acc[1] == 3.0
    acc.reset()
    assert acc[0] == 0.0
    timer = d2l.Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() >= 0 and len(timer.cumsum()) == 2
    net = nn.Linear(2, 2)
    for p in net.parameters():
        p.grad = torch.full_like(p, 3.0)
    d2l.grad_clipping(net, 1)
    assert float(torch.sqrt(sum((p.grad ** 2).sum() for p in net.parameters()))) == pytest.approx(1.0, rel=1e-5)


def book_train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """Section 8.5's train_epoch_ch8 as the book prints it (with d2l.Timer, Accumulator, grad_clipping)."""
    import math

    state, timer = None, d2l.Timer()
    metric = d2l.Accumulator(2)
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            if isinstance(net, nn.Module) and not isinstance(state, tuple):
                state.detach_()
            else:
                for s in state:
                    s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            d2l.grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            d2l.grad_clipping(net, 1)
            updater(batch_size=1)
        metric.add(l * y.numel(), y.numel())
    return math.exp(metric[0] / metric[1]), metric[1] / timer.stop()


def test_the_books_own_training_code_prints_no_warning():
    """No PyTorch UserWarning (e.g. converting a tensor that requires grad to a scalar in Accumulator.add)."""
    import warnings

    from seqlib.lm import init_rnn_state, rnn

    corpus = [k % 7 for k in range(400)]
    train_iter = list(d2l.seq_data_iter_sequential(corpus, 4, 5))
    torch.manual_seed(0)
    net = d2l.RNNModelScratch(7, 16, torch.device("cpu"), get_params, init_rnn_state, rnn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ppl, speed = book_train_epoch_ch8(net, train_iter, nn.CrossEntropyLoss(),
                                          lambda batch_size: d2l.sgd(net.params, 1, batch_size),
                                          torch.device("cpu"), False)
        model = d2l.RNNModel(nn.GRU(7, 16), vocab_size=7)
        book_train_epoch_ch8(model, train_iter, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 1),
                             torch.device("cpu"), False)
        acc = d2l.Accumulator(1)
        acc.add(torch.ones(1, requires_grad=True).sum() * 2)
    assert 1 < ppl < 8 and speed > 0 and acc[0] == 2.0


@pytest.mark.parametrize("num_epochs", [0, -1])
def test_train_ch8_rejects_no_epochs(num_epochs):
    """Issue 13 item 9: train_ch8(num_epochs=0) raised UnboundLocalError."""
    net = d2l.RNNModel(nn.RNN(5, 4), 5)
    with pytest.raises(ValueError, match=r"num_epochs must be a positive integer"):
        d2l.train_ch8(net, [], None, 1.0, num_epochs, torch.device("cpu"))


def book_predict_ch8(prefix, num_preds, net, vocab, device):
    """Section 8.5's predict_ch8 as the book prints it: warm-up one token at a time, then argmax."""
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


def test_train_epoch_and_predict_give_the_books_numbers():
    """train_epoch_ch8 (a call of fit) makes the book's updates, with an optimizer or the book's sgd;
    predict_ch8 (a call of decoding.generate) writes the book's greedy text."""
    from seqlib.lm import init_rnn_state, rnn

    vocab = d2l.Vocab(list("abcab" * 20))
    corpus = vocab[list("abcabcaabc" * 30)]
    for concise in (False, True):
        results = []
        for ours in (False, True):
            torch.manual_seed(0)
            net = (d2l.RNNModel(nn.GRU(len(vocab), 16), vocab_size=len(vocab)) if concise else
                   d2l.RNNModelScratch(len(vocab), 16, torch.device("cpu"), get_params, init_rnn_state, rnn))
            updater = (torch.optim.SGD(net.parameters(), 1) if concise else
                       (lambda batch_size, net=net: d2l.sgd(net.params, 1, batch_size)))
            random.seed(0)
            train_iter = list(d2l.seq_data_iter_sequential(corpus, 4, 6))
            epoch = d2l.train_epoch_ch8 if ours else book_train_epoch_ch8
            for _ in range(3):
                ppl, _ = epoch(net, train_iter, nn.CrossEntropyLoss(), updater, torch.device("cpu"), False)
            results.append((ppl, [p.detach().clone() for p in net.parameters()]))
        (book_ppl, book_params), (our_ppl, our_params) = results
        assert our_ppl == pytest.approx(book_ppl, rel=1e-6)  # the book sums float32 products
        assert all(torch.equal(a, b) for a, b in zip(book_params, our_params))
        assert d2l.predict_ch8("ab", 12, net, vocab, "cpu") == book_predict_ch8("ab", 12, net, vocab, "cpu")
