"""seqlib.training.fit on tiny problems: loss decreases, schedules step, early stopping
restores the best weights, metrics and monitors, and bad arguments raise clear errors."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from seqlib.training import History, evaluate, fit


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
    assert "epochs" in h.summary() and h.values("mae") == h.metrics["mae"]


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
    (dict(optimizer="adam"), TypeError, "torch.optim.Optimizer"),
    (dict(optimizer=torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)), ValueError, "none of the model's"),
    (dict(num_epochs=0), ValueError, "num_epochs"),
    (dict(num_epochs=2.5), ValueError, "num_epochs"),
    (dict(mode="lowest"), ValueError, "mode"),
    (dict(monitor="val_acc"), ValueError, "monitor must be one of"),
    (dict(val_loader=None, monitor="val_loss"), ValueError, "need a val_loader"),
    (dict(patience=0), ValueError, "patience"),
    (dict(min_delta=-1), ValueError, "min_delta"),
    (dict(clip_grad_norm=0), ValueError, "clip_grad_norm"),
    (dict(metrics={"mae": 3}), TypeError, "metric 'mae'"),
    (dict(scheduler=object()), TypeError, "scheduler"),
])
def test_bad_arguments_raise_clear_errors(overrides, error, match):
    with pytest.raises(error, match=match):
        _call(**overrides)


def test_scheduler_of_another_optimizer_or_mode_is_rejected():
    model = Linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    other = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        _call(model=model, optimizer=opt, scheduler=torch.optim.lr_scheduler.StepLR(other, 1))
    with pytest.raises(ValueError, match="mode='max'"):
        _call(model=model, optimizer=opt, mode="max", monitor="mae", metrics={"mae": _mae},
              scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(opt))


def test_non_scalar_loss_and_diverging_training_raise_with_advice():
    with pytest.raises(ValueError, match="reduction='mean'"):
        _call(loss_fn=nn.MSELoss(reduction="none"))
    model = Linear()
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        _call(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=1e6), num_epochs=20)


def test_bad_batches_are_explained():
    loader = DataLoader(torch.zeros(8, 3), batch_size=4)
    with pytest.raises(TypeError, match=r"\(\*inputs, target\)"):
        _call(train_loader=loader)


def test_progress_bar_runs(capsys):
    h = _call(progress=True, num_epochs=2, desc="tiny")
    assert len(h) == 2 and math.isfinite(h.train_loss[-1])
