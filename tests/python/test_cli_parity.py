"""The Python package and the cuvi CLI drive the same engine functions: the same data and seed give the
same training history, and the same model file gives the same latent, normalized expression, DE table
and fit measures."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import cuvi
from conftest import run_cli, synthetic_counts

TIMING = {"seconds", "cells_per_second"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """(adata, data.h5ad, model.cuvi trained by the CLI, the Python model trained alike)."""
    tmp = tmp_path_factory.mktemp("parity")
    adata = synthetic_counts()
    path, model_path = tmp / "data.h5ad", tmp / "model.cuvi"
    adata.write_h5ad(path)
    r = run_cli("train", "scvi", "--data", str(path), "--batch-key", "batch", "--labels-key", "cell_type",
                "--n-latent", "4", "--n-hidden", "32", "--max-epochs", "5", "--seed", "3", "--out", str(model_path),
                "--quiet")
    assert r.returncode == 0, r.stderr
    cuvi.settings.seed = 3
    cuvi.settings.progress_bar = False
    cuvi.model.SCVI.setup_anndata(adata, batch_key="batch", labels_key="cell_type")
    python = cuvi.model.SCVI(adata, n_latent=4, n_hidden=32)
    python.train(max_epochs=5)
    cuvi.settings.seed = 0
    return adata, path, model_path, python


def test_same_seed_same_history(files):
    adata, _, model_path, python = files
    cli = cuvi.model.SCVI.load(str(model_path), adata)
    assert set(cli.history) == set(python.history)
    for key in set(python.history) - TIMING:
        np.testing.assert_array_equal(cli.history[key][key].to_numpy(), python.history[key][key].to_numpy(),
                                      err_msg=key)
    np.testing.assert_array_equal(cli.get_latent_representation(), python.get_latent_representation())


def test_latent_matches_cli(files, tmp_path):
    adata, path, model_path, _ = files
    out = tmp_path / "latent.h5ad"
    assert run_cli("latent", "--model", str(model_path), "--data", str(path), "--out", str(out), "--quiet").returncode == 0
    model = cuvi.model.SCVI.load(str(model_path), adata)
    np.testing.assert_array_equal(ad.read_h5ad(out).obsm["X_scVI"], model.get_latent_representation())


def test_normalized_expression_matches_cli(files, tmp_path):
    adata, path, model_path, _ = files
    out = tmp_path / "norm.h5ad"
    r = run_cli("normalize", "--model", str(model_path), "--data", str(path), "--out", str(out),
                "--library-size", "10000", "--quiet")
    assert r.returncode == 0, r.stderr
    model = cuvi.model.SCVI.load(str(model_path), adata)
    python = model.get_normalized_expression(library_size=10000)
    np.testing.assert_array_equal(np.asarray(ad.read_h5ad(out).layers["scvi_normalized"]), python.to_numpy())


def test_differential_expression_matches_cli(files, tmp_path):
    adata, path, model_path, _ = files
    out = tmp_path / "de.csv"
    r = run_cli("de", "--model", str(model_path), "--data", str(path), "--groupby", "cell_type", "--group1", "alpha",
                "--group2", "gamma", "--mode", "change", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    model = cuvi.model.SCVI.load(str(model_path), adata)
    python = model.differential_expression(groupby="cell_type", group1="alpha", group2="gamma", mode="change")
    cli = pd.read_csv(out, index_col=0)
    assert list(cli.columns) == list(python.columns) and list(cli.index) == list(python.index)
    for column in python.columns:
        if python[column].dtype.kind == "f":
            np.testing.assert_allclose(cli[column], python[column].astype(np.float64), rtol=1e-6, err_msg=column)
        else:
            assert list(cli[column].astype(str)) == list(python[column].astype(str)), column


def test_fit_measures_match_cli(files):
    adata, path, model_path, _ = files
    r = run_cli("evaluate", "--model", str(model_path), "--data", str(path), "--n-mc-samples", "10", "--quiet")
    assert r.returncode == 0, r.stderr
    printed = dict(line.split("\t") for line in r.stdout.strip().splitlines())
    model = cuvi.model.SCVI.load(str(model_path), adata)
    assert float(printed["elbo"]) == pytest.approx(model.get_elbo(), abs=1e-5)
    assert float(printed["reconstruction_loss"]) == pytest.approx(
        model.get_reconstruction_error()["reconstruction_loss"], abs=1e-5)
    assert float(printed["marginal_ll"]) == pytest.approx(model.get_marginal_ll(n_mc_samples=10), abs=1e-5)
