"""Ctrl-C during train() stops cleanly: the weights and history of the last finished epoch are kept, and
they are those of a run that was asked for exactly that many epochs (same seed)."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

import cuvi
from cuvi._progress import EpochProgress
from cuvi.model import _training
from conftest import synthetic_counts


def fresh(adata):
    return cuvi.model.SCVI(adata, n_latent=3, n_hidden=16)


def assert_same_as_run_of(model, adata, epochs: int):
    reference = fresh(adata)
    reference.train(max_epochs=epochs)
    assert len(reference.history["train_loss"]) == epochs
    for key in ("train_loss", "elbo_validation"):
        np.testing.assert_array_equal(model.history[key][key], reference.history[key][key])
    np.testing.assert_array_equal(model.get_latent_representation(), reference.get_latent_representation())


def test_interrupt_inside_an_epoch_keeps_the_previous_epoch(monkeypatch):
    class InterruptInThirdEpoch(EpochProgress):
        def __call__(self, p):
            if p["epoch"] == 2 and not p["epoch_done"] and p["batch"] == 2:
                raise KeyboardInterrupt

    monkeypatch.setattr(_training, "EpochProgress", InterruptInThirdEpoch)
    monkeypatch.setattr(cuvi.settings, "progress_interval", 0.0)
    adata = synthetic_counts(600, 30)
    cuvi.model.SCVI.setup_anndata(adata)
    model = fresh(adata)
    with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\) after 2 finished epoch"):
        model.train(max_epochs=50)
    assert model.is_trained and len(model.history["train_loss"]) == 2
    monkeypatch.undo()
    cuvi.settings.progress_bar = False
    assert_same_as_run_of(model, adata, 2)


def test_sigint_while_the_engine_runs():
    # Large enough that 400 epochs take far longer than the timer on any machine (600 x 30 ran them in < 1.5 s).
    adata = synthetic_counts(4000, 200)
    cuvi.model.SCVI.setup_anndata(adata)
    model = fresh(adata)
    # A process started in the background by a non-interactive shell (as CI may run the suite) inherits
    # SIGINT ignored, and Python then keeps it ignored: install Python's own Ctrl-C handler for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.warns(UserWarning, match=r"interrupted \(Ctrl-C\)"):
            model.train(max_epochs=400)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    epochs = len(model.history["train_loss"]) if model.history else 0
    assert epochs < 400
    if epochs == 0:
        assert not model.is_trained
    else:
        assert_same_as_run_of(model, adata, epochs)
