"""seqlib.training on tiny problems: fit (loss decreases, schedules step, early stopping restores
the best weights, metrics and monitors, bad arguments raise clear errors), the History it
returns, gradient clipping and the adversarial loss."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from seqlib.history import History
from seqlib.training import adversarial_loss, adversarial_step, clip_gradients, evaluate, fit


def _regression(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, generator=g)
    y = X @ torch.tensor([1.5, -2.0, 0.5]) + 0.3 + 0.05 * torch.randn(n, generator=g)
    return X, y


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, X):
        return self.lin(X).squeeze(-1)


def _loaders(batch_size=32):
    Xtr, ytr = _regression(256, 0)
    Xva, yva = _regression(128, 1)
    return (DataLoader(TensorDataset(Xtr, ytr), batch_size=batch_size, shuffle=True),
            DataLoader(TensorDataset(Xva, yva), batch_size=64))


def _mae(pred, y):
    return (pred - y).abs().mean()


def test_loss_decreases_and_history_is_complete():
    torch.manual_seed(0)
    model = Linear()
    train, val = _loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    h = fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=opt, num_epochs=8,
            metrics={"mae": _mae}, progress=False)
    assert isinstance(h, History) and len(h) == 8 and h.epochs == list(range(1, 9))
    assert len(h.train_loss) == len(h.val_loss) == len(h.lr) == len(h.epoch_time) == len(h.metrics["mae"]) == 8
    assert h.train_loss[-1] < 0.1 * h.train_loss[0]
    assert h.val_loss[-1] < 0.1 * h.val_loss[0]
    assert h.total_time == pytest.approx(sum(h.epoch_time)) and all(t >= 0 for t in h.epoch_time)
    assert h.monitor == "val_loss" and 1 <= h.best_epoch <= 8
    assert h.best_score == pytest.approx(min(h.val_loss))
    assert "epochs" in h.summary() and list(h.metrics) == ["mae"]


def test_validation_numbers_are_exact_means_over_examples():
    torch.manual_seed(0)
    model = Linear()
    train, val = _loaders()
    fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        num_epochs=1, progress=False, restore_best=False)
    Xva, yva = val.dataset.tensors
    with torch.no_grad():
        pred = model(Xva)
    result = evaluate(model, DataLoader(val.dataset, batch_size=50), nn.MSELoss(), {"mae": _mae})
    assert result["loss"] == pytest.approx(((pred - yva) ** 2).mean().item(), rel=1e-5)
    assert result["mae"] == pytest.approx((pred - yva).abs().mean().item(), rel=1e-5)


def test_step_lr_schedule_steps_once_per_epoch():
    model = Linear()
    train, val = _loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=opt, scheduler=sched, num_epochs=6, progress=False)
    assert h.lr == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_reduce_on_plateau_gets_the_monitored_value():
    model = Linear()
    train, _ = _loaders()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
    # monitoring the train loss with mode="max": it decreases, so every epoch is a plateau
    h = fit(model, train, loss_fn=nn.MSELoss(), optimizer=opt, scheduler=sched, num_epochs=4,
            monitor="train_loss", mode="max", progress=False, restore_best=False)
    assert h.lr == pytest.approx([0.1, 0.1, 0.05, 0.025])


class Scripted(nn.Module):
    """A model whose validation metric follows a script: tests early stopping exactly."""

    def __init__(self, script):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.script, self.epoch = script, 0

    def forward(self, X):
        if self.training:
            return X[:, 0] * self.w
        return torch.full((X.shape[0],), float(self.script[self.epoch - 1]))


def _scripted_run(script, *, mode="min", patience=None, restore_best=True, min_delta=0.0):
    model = Scripted(script)
    X, y = torch.ones(8, 1), torch.ones(8)
    train = DataLoader(TensorDataset(X, y), batch_size=4)
    weights = []

    class Loader:
        """Validation loader that tags the epoch and snapshots the weights being validated."""

        def __iter__(self):
            model.epoch += 1
            weights.append(model.w.item())
            yield X, y

        def __len__(self):
            return 1

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = fit(model, train, Loader(), loss_fn=nn.MSELoss(), optimizer=opt,
            num_epochs=len(script), min_delta=min_delta, metrics={"score": lambda p, t: p.mean()},
            monitor="score", mode=mode, patience=patience, restore_best=restore_best, progress=False)
    return model, h, weights


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model, h, weights = _scripted_run([5, 3, 1, 2, 4, 6, 0.5, 0.1], patience=3)
    assert h.best_epoch == 3 and h.best_score == 1
    assert len(h) == 6 and h.stopped_early
    assert model.w.item() == pytest.approx(weights[2])  # the weights validated at epoch 3
    assert model.w.item() != pytest.approx(weights[-1])


def test_best_weights_are_restored_without_early_stopping_and_kept_when_asked():
    model, h, weights = _scripted_run([3, 1, 2, 4])
    assert not h.stopped_early and h.best_epoch == 2
    assert model.w.item() == pytest.approx(weights[1])
    model, h, weights = _scripted_run([3, 1, 2, 4], restore_best=False)
    assert model.w.item() != pytest.approx(weights[1])


def test_max_mode_and_min_delta():
    _, h, _ = _scripted_run([0.5, 0.7, 0.9, 0.6, 0.8], mode="max", patience=2)
    assert h.best_epoch == 3 and len(h) == 5 and not h.stopped_early
    _, h, _ = _scripted_run([0.5, 0.7, 0.9, 0.6, 0.8, 0.95, 0.1], mode="max", patience=2)
    assert h.best_epoch == 3 and len(h) == 5 and h.stopped_early
    # improvements smaller than min_delta do not count
    _, h, _ = _scripted_run([1.0, 0.99, 0.98, 0.97])
    assert h.best_epoch == 4
    _, h, _ = _scripted_run([1.0, 0.99, 0.98, 0.97, 0.9], min_delta=0.05, patience=3)
    assert h.best_epoch == 1 and h.stopped_early and len(h) == 4


def test_batches_with_several_inputs_are_passed_to_the_model():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 1)

        def forward(self, X, scale):
            return self.lin(X).squeeze(-1) * scale

    X, y = _regression(64)
    loader = DataLoader(TensorDataset(X, torch.ones(64), y), batch_size=16)
    model = TwoInputs()
    h = fit(model, loader, loader, loss_fn=nn.MSELoss(), optimizer=torch.optim.Adam(model.parameters(), 0.05),
            num_epochs=3, progress=False)
    assert h.val_loss[-1] < h.val_loss[0]


# ---------------------------------------------------------------------------- bad arguments


def _call(**overrides):
    model = Linear()
    train, val = _loaders()
    kwargs = dict(model=model, train_loader=train, val_loader=val, loss_fn=nn.MSELoss(),
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.01), num_epochs=1, progress=False)
    kwargs.update(overrides)
    return fit(kwargs.pop("model"), kwargs.pop("train_loader"), kwargs.pop("val_loader"), **kwargs)


@pytest.mark.parametrize("overrides, error, match", [
    (dict(model=lambda x: x), TypeError, "torch.nn.Module"),
    (dict(train_loader=torch.zeros(3, 2)), TypeError, "DataLoader"),
    (dict(train_loader=DataLoader(TensorDataset(torch.zeros(3, 3), torch.zeros(3)), batch_size=4, drop_last=True)),
     ValueError, "no batches"),
    (dict(loss_fn="mse"), TypeError, "loss_fn"),
    (dict(num_epochs=0), ValueError, "num_epochs"),
    (dict(num_epochs=2.5), ValueError, "num_epochs"),
    (dict(mode="lowest"), ValueError, "mode"),
    (dict(monitor="val_acc"), ValueError, "monitor must be one of"),
    (dict(val_loader=None, monitor="val_loss"), ValueError, "need a val_loader"),
    (dict(patience=0), ValueError, "patience"),
    (dict(min_delta=-1), ValueError, "min_delta"),
    (dict(clip_grad_norm=0), ValueError, "clip_grad_norm"),
    (dict(clip_grad_value=0), ValueError, "clip_grad_value must be positive"),
    (dict(state="keep"), ValueError, "state must be one of"),
])
def test_bad_arguments_raise_clear_errors(overrides, error, match):
    with pytest.raises(error, match=match):
        _call(**overrides)


def test_diverging_training_raises_with_advice():
    model = Linear()
    with pytest.raises(FloatingPointError, match=r"training diverged at epoch \d+, batch \d+: the training loss is "
                                                 r"(nan|inf); lower the learning rate \(lr=1e\+06\), check the "
                                                 r"data for NaNs, or clip the gradients \(clip_grad_norm=1.0\)"):
        _call(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=1e6), num_epochs=20)


def test_progress_bar_runs(capsys):
    h = _call(progress=True, num_epochs=2, desc="tiny")
    assert len(h) == 2 and math.isfinite(h.train_loss[-1])


# --- History: one record for fit and the language-model loop -----------------------------------

def test_history_records_epochs_tracks_the_best_and_derives_perplexity():
    h = History(monitor="val_loss", mode="min")
    for epoch, (train, val) in enumerate([(2.0, 1.5), (1.0, 0.5), (0.8, 0.7)], 1):
        scores = h.record(epoch, train_loss=train, val_loss=val, metrics={"acc": 0.1 * epoch}, lr=0.1,
                          train_time=1.0, epoch_time=1.5, train_tokens=100)
        assert scores == {"train_loss": train, "val_loss": val, "acc": pytest.approx(0.1 * epoch)}
        if h.improved(val):
            h.best_epoch, h.best_score = epoch, val
    assert len(h) == 3 and h.best_epoch == 2 and h.metrics["acc"] == pytest.approx([0.1, 0.2, 0.3])
    assert h.val_ppl == pytest.approx([math.exp(v) for v in (1.5, 0.5, 0.7)])
    assert h.train_ppl == pytest.approx([math.exp(v) for v in (2.0, 1.0, 0.8)])
    assert h.total_time == 4.5 and h.train_seconds == 3.0 and h.tokens_per_s == 100.0
    assert "validation perplexity 2.01" in h.summary() and "100 tokens/s" in h.summary()
    assert not h.improved(float("nan")) and not History(mode="max", best_score=1.0).improved(0.5)


def test_fit_history_has_no_token_counts():
    torch.manual_seed(0)
    model = Linear()
    train, val = _loaders()
    h = fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
            num_epochs=2, progress=False)
    assert h.train_tokens == [] and math.isnan(h.tokens_per_s)
    assert len(h.train_time) == 2 and all(0 <= t <= e for t, e in zip(h.train_time, h.epoch_time))
    assert "best val_loss" in h.summary() and "perplexity" not in h.summary()


# --- gradient clipping ------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@settings(max_examples=200, deadline=None)
@given(st.lists(arrays(np.float32, st.integers(1, 5), elements=finite), min_size=1, max_size=4),
       st.floats(1e-3, 1e3))
def test_clipping_caps_the_global_norm_and_keeps_direction(grads, theta):
    params = [torch.zeros(len(g), requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g, dtype=torch.float32)
    before = torch.cat([p.grad.clone() for p in params])
    norm = clip_gradients(params, theta)
    after = torch.cat([p.grad for p in params])
    assert norm == pytest.approx(float(before.double().norm()), rel=1e-4, abs=1e-6)
    assert float(after.double().norm()) <= theta * (1 + 1e-5)
    if norm <= theta:
        assert torch.equal(after, before), "small gradients are left unchanged"
    else:
        assert torch.allclose(after * (norm / theta), before, rtol=1e-4, atol=1e-3)


class Scratch:
    """A from-scratch model as Day 3 writes them: a list of parameters in ``params``."""

    def __init__(self):
        self.params = [torch.zeros(5, 4, requires_grad=True), torch.zeros(4, requires_grad=True)]


def test_clipping_accepts_modules_scratch_models_and_checks_theta():
    net = Scratch()
    for p in net.params:
        p.grad = torch.full_like(p, 10.0)
    assert clip_gradients(net, 1.0) > 1.0
    assert math.isclose(float(torch.sqrt(sum((p.grad ** 2).sum() for p in net.params))), 1.0, rel_tol=1e-5)
    module = nn.GRU(5, 4)
    assert clip_gradients(module, 1.0) == 0.0  # no gradients yet: nothing to do
    with pytest.raises(ValueError, match="theta must be positive"):
        clip_gradients(module, 0)


# --- adversarial training ----------------------------------------------------------------------

class Classifier(nn.Module):
    """A padded-sentence classifier with an ``embedding``: a GRU read up to each sentence's end."""

    def __init__(self, vocab_size=30, embed_size=8, num_hiddens=6):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=1)
        self.rnn = nn.GRU(embed_size, num_hiddens, batch_first=True)
        self.head = nn.Linear(num_hiddens, 1)

    def forward(self, X, lengths):
        H, _ = self.rnn(self.embedding(X))                       # (batch, T, num_hiddens)
        last = H[torch.arange(len(X)), torch.as_tensor(lengths) - 1]  # the state at each sentence's end
        return self.head(last).squeeze(-1)


def _adv_setup(seed=0):
    torch.manual_seed(seed)
    model = Classifier()
    X = torch.randint(2, 30, (4, 7))
    lengths = torch.tensor([7, 5, 3, 1])
    X[1, 5:], X[2, 3:], X[3, 1:] = 1, 1, 1  # padding
    y = torch.tensor([1.0, 0.0, 1.0, 0.0])
    return model, X, lengths, y


def test_adversarial_loss_is_clean_plus_perturbed_loss_with_r_of_norm_epsilon():
    model, X, lengths, y = _adv_setup()
    bce = torch.nn.BCEWithLogitsLoss()
    total = adversarial_loss(0.5)(model, (X, lengths), y)
    # the same by hand: gradient at the embedded sentence, normalised per sentence
    E = model.embedding(X).detach().requires_grad_()
    hook = model.embedding.register_forward_hook(lambda m, a, out: E)
    clean = bce(model(X, lengths), y)
    (g,) = torch.autograd.grad(clean, E)
    r = 0.5 * g / g.flatten(1).norm(dim=1)[:, None, None]
    hook.remove()
    hook = model.embedding.register_forward_hook(lambda m, a, out: out + r)
    perturbed = bce(model(X, lengths), y)
    hook.remove()
    assert torch.allclose(r.flatten(1).norm(dim=1), torch.full((4,), 0.5))
    assert torch.allclose(r[1, 5:], torch.zeros_like(r[1, 5:]))  # padding is not perturbed
    assert torch.allclose(total, clean + perturbed, atol=1e-6)
    assert perturbed > clean  # a step along the gradient increases the loss


def test_adversarial_loss_trains_with_fit_and_leaves_no_hooks():
    model, X, lengths, y = _adv_setup()
    loader = [(X, lengths, y)] * 4  # the layout of seqlib's padded sentence batches
    history = fit(model, loader, loss_fn=torch.nn.BCEWithLogitsLoss(),
                  optimizer=torch.optim.Adam(model.parameters(), lr=0.01), num_epochs=3,
                  train_loss=adversarial_loss(0.1), progress=False)
    assert history.train_loss[-1] < history.train_loss[0]
    assert not model.embedding._forward_hooks


def test_adversarial_loss_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epsilon must be positive"):
        adversarial_loss(0.0)


def test_adversarial_loss_gradients_are_those_of_clean_plus_perturbed_loss():
    model, X, lengths, y = _adv_setup(seed=3)
    bce = torch.nn.BCEWithLogitsLoss()
    adversarial_loss(0.5)(model, (X, lengths), y).backward()
    ours = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    embedded = []  # the reference: autograd through both losses, r held constant
    hook = model.embedding.register_forward_hook(lambda m, a, out: embedded.append(out))
    clean = bce(model(X, lengths), y)
    hook.remove()
    (g,) = torch.autograd.grad(clean, embedded[0], retain_graph=True)
    r = (0.5 * g / g.flatten(1).norm(dim=1)[:, None, None]).detach()
    hook = model.embedding.register_forward_hook(lambda m, a, out: out + r)
    (clean + bce(model(X, lengths), y)).backward()
    hook.remove()
    for p, q in zip(ours, model.parameters()):
        assert torch.allclose(p, q.grad, atol=1e-6)


# --- issue 13: no silent broadcasting, no misleading advice ---------------------------------

def test_predictions_that_would_broadcast_against_the_target_get_torchs_warning():
    """Issue 13: a (B, 1) prediction against a (B,) target broadcasts to (B, B); nn.MSELoss warns."""
    model = nn.Linear(3, 1)
    with pytest.warns(UserWarning, match="target size"):
        _call(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01))


def test_fit_accepts_numpy_integers():
    history = _call(num_epochs=np.int64(2), patience=np.int64(3))
    assert len(history) == 2


def test_fit_rejects_non_finite_min_delta_and_clip():
    with pytest.raises(ValueError, match=r"min_delta must be a finite number"):
        _call(min_delta=float("nan"))
    with pytest.raises(ValueError, match=r"clip_grad_norm must be positive"):
        _call(clip_grad_norm=-1.0)


def test_adversarial_step_is_the_work_of_adversarial_loss_for_one_batch():
    model, X, lengths, y = _adv_setup(seed=5)
    bce = torch.nn.BCEWithLogitsLoss()
    total = adversarial_loss(0.3)(model, (X, lengths), y)
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    again = adversarial_step(model, (X, lengths), y, 0.3, bce)
    assert torch.allclose(total, again)
    assert all(torch.allclose(g, p.grad) for g, p in zip(grads, model.parameters()))
    assert not model.embedding._forward_hooks


# --- what the labs need: clipping by value, per-batch metrics, validate, on_epoch, scratch models -------------

def test_clipping_by_value_bounds_every_gradient_entry():
    model = Linear()
    seen = []
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    step = opt.step
    opt.step = lambda *a, **k: (seen.append(max(float(p.grad.abs().max()) for p in model.parameters())), step())[1]
    X, y = _regression(32)
    fit(model, DataLoader(TensorDataset(X, 100 * y), batch_size=8), loss_fn=nn.MSELoss(), optimizer=opt,
        num_epochs=1, clip_grad_value=0.25, progress=False)
    assert len(seen) == 4 and max(seen) == pytest.approx(0.25)


def test_per_batch_metrics_and_on_epoch():
    torch.manual_seed(0)
    model = Linear()
    train, val = _loaders()
    epochs = []
    h = fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
            num_epochs=3, train_metrics={"train_mae": _mae}, metrics={"val_mae": _mae}, progress=False,
            monitor="val_mae", restore_best=False, on_epoch=lambda history: epochs.append(len(history)))
    assert epochs == [1, 2, 3] and list(h.metrics) == ["train_mae", "val_mae"]
    assert h.metrics["train_mae"][-1] < h.metrics["train_mae"][0] and h.best_score == min(h.metrics["val_mae"])
    assert h.metrics["val_mae"][-1] == pytest.approx(evaluate(model, val, metrics={"mae": _mae})["mae"])
    h = fit(model, train, loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
            num_epochs=2, progress=False, validate=lambda m: {"loss": 1.0, "val_mae": 0.5}, monitor="val_mae")
    assert h.val_loss == [1.0, 1.0] and h.metrics["val_mae"] == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"monitor must be one of 'train_loss', 'val_loss'"):
        fit(model, train, val, loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
            num_epochs=1, monitor="bleu", progress=False)


def test_a_scratch_model_trains_and_gets_its_best_weights_back():
    class ScratchLinear:
        def __init__(self):
            self.params = [torch.zeros(3, requires_grad=True)]

        def __call__(self, X):
            return X @ self.params[0]

        def train(self, mode=True):
            return self

        def eval(self):
            return self

    net = ScratchLinear()
    X, y = _regression(64)
    loader = DataLoader(TensorDataset(X, y), batch_size=16)
    snapshots = []
    h = fit(net, loader, loss_fn=nn.MSELoss(), optimizer=torch.optim.SGD(net.params, lr=0.1), num_epochs=4,
            progress=False, monitor="train_loss", mode="max",
            on_epoch=lambda history: snapshots.append(net.params[0].detach().clone()))
    assert h.best_epoch == 1 and torch.equal(net.params[0].detach(), snapshots[0])


def test_history_plot_draws_through_plots_with_the_best_epoch(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seqlib import plots

    drawn = []
    monkeypatch.setattr(plots, "plot_curves", lambda curves, **kw: drawn.append(curves) or plt.subplots()[1])
    h = History()
    for epoch, (train, val) in enumerate([(2.0, 1.5), (1.0, 0.5)], 1):
        h.record(epoch, train_loss=train, val_loss=val, lr=0.1, train_time=1.0, epoch_time=1.0)
    h.best_epoch = 2
    ax = h.plot(title="run")
    assert list(drawn[0]) == ["train loss", "validation loss"]
    assert [line.get_label() for line in ax.get_lines()][-1] == "best epoch (2)"
    plt.close("all")
