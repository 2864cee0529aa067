"""The scvi-tools surface: return types, shapes, index and column names as scvi-tools 1.5 gives them
(DE columns from the tables scvi-tools itself wrote under tests/fixtures/de), and values that must hold
between the calls (ELBO below minus the reconstruction loss on the same draw, library size scaling)."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import cuvi
from conftest import FIXTURES, synthetic_counts


def scvi_tools_columns(name: str) -> list[str]:
    with open(FIXTURES / "de" / name) as f:
        return next(csv.reader(f))[1:]  # after the unnamed gene index


def test_history_frames(trained):
    _, model = trained
    h = model.history
    assert {"train_loss", "elbo_train", "reconstruction_loss_train", "kl_local_train",
            "elbo_validation", "validation_loss"} <= set(h)
    for key, frame in h.items():
        assert isinstance(frame, pd.DataFrame)
        assert list(frame.columns) == [key] and frame.index.name == "epoch"
        assert list(frame.index) == list(range(20))
    elbo = h["elbo_train"]["elbo_train"]
    parts = h["reconstruction_loss_train"]["reconstruction_loss_train"] + h["kl_local_train"]["kl_local_train"]
    np.testing.assert_allclose(elbo, parts, rtol=1e-5)


def test_latent(trained):
    adata, model = trained
    z = model.get_latent_representation()
    assert isinstance(z, np.ndarray) and z.dtype == np.float32 and z.shape == (adata.n_obs, 4)
    sample = model.get_latent_representation(give_mean=False)
    assert sample.shape == z.shape and not np.allclose(sample, z)
    sub = model.get_latent_representation(indices=[3, 7, 11])
    np.testing.assert_allclose(sub, z[[3, 7, 11]], rtol=1e-5, atol=1e-6)  # other minibatch: GEMM rounding


def test_normalized_expression(trained):
    adata, model = trained
    ne = model.get_normalized_expression()
    assert isinstance(ne, pd.DataFrame) and ne.shape == adata.shape
    assert list(ne.index) == list(adata.obs_names) and list(ne.columns) == list(adata.var_names)
    assert ne.dtypes.unique().tolist() == [np.float32]
    np.testing.assert_allclose(ne.sum(axis=1), 1.0, rtol=1e-4)
    scaled = model.get_normalized_expression(library_size=1e4, return_numpy=True)
    np.testing.assert_allclose(scaled, ne.to_numpy() * 1e4, rtol=1e-5)
    subset = model.get_normalized_expression(gene_list=["gene7", "gene2"])
    assert list(subset.columns) == ["gene2", "gene7"]  # the model's gene order, as scvi-tools
    np.testing.assert_allclose(subset.to_numpy(), ne[["gene2", "gene7"]].to_numpy(), rtol=1e-6)
    draws = model.get_normalized_expression(n_samples=3, return_mean=False)
    assert isinstance(draws, np.ndarray) and draws.shape == (3, *adata.shape)
    by_batch = model.get_normalized_expression(transform_batch=["b1", "b2"])
    assert by_batch.shape == adata.shape and not np.allclose(by_batch, ne)


@pytest.mark.parametrize("mode, fixture", [("vanilla", "de_vanilla_condition.csv"), ("change", "de_change_cell_type.csv")])
def test_differential_expression_columns(trained, mode, fixture):
    adata, model = trained
    de = model.differential_expression(groupby="cell_type", group1="alpha", group2="beta", mode=mode)
    assert list(de.columns) == scvi_tools_columns(fixture)
    assert de.shape[0] == adata.n_vars and set(de.index) == set(adata.var_names) and de.index.name is None
    assert (de["comparison"] == "alpha vs beta").all()
    assert de["scale1"].dtype == np.float32 and de["bayes_factor"].dtype == np.float64
    prob = "proba_de" if mode == "change" else "proba_m1"
    assert de[prob].between(0, 1).all()
    markers = de.loc[[f"gene{j}" for j in range(0, 40, 3)]]  # type alpha's marker genes
    assert (markers["scale1"] > markers["scale2"]).mean() > 0.8


def test_one_vs_rest(trained):
    adata, model = trained
    de = model.differential_expression(groupby="cell_type")
    assert de.shape[0] == 3 * adata.n_vars
    assert sorted(de["comparison"].unique()) == ["alpha vs Rest", "beta vs Rest", "gamma vs Rest"]


def test_fit_measures(trained):
    adata, model = trained
    elbo = model.get_elbo()
    rec = model.get_reconstruction_error()
    assert isinstance(elbo, float) and elbo < 0
    assert set(rec) == {"reconstruction_loss"} and rec["reconstruction_loss"] > 0
    assert elbo <= -rec["reconstruction_loss"] + 1e-6  # the KL term is non-negative (same z draw)
    per_cell = model.get_elbo(return_mean=False)
    assert per_cell.shape == (adata.n_obs,) and np.isclose(per_cell.mean(), elbo)
    ml = model.get_marginal_ll(n_mc_samples=20)
    assert isinstance(ml, float) and np.isfinite(ml)
    assert model.get_marginal_ll(n_mc_samples=20, return_mean=False).shape == (adata.n_obs,)


def test_posterior_predictive_sample(trained):
    adata, model = trained
    x = model.posterior_predictive_sample()
    dense = x.todense() if hasattr(x, "todense") else np.asarray(x)
    dense = np.asarray(dense.toarray() if sp.issparse(dense) else dense)
    assert dense.shape == adata.shape and (dense >= 0).all() and np.array_equal(dense, np.round(dense))
    three = model.posterior_predictive_sample(n_samples=3)
    assert tuple(three.shape) == (*adata.shape, 3)
    genes = model.posterior_predictive_sample(gene_list=["gene1", "gene5"])
    assert tuple(genes.shape) == (adata.n_obs, 2)


def test_linear_scvi_loadings():
    adata = synthetic_counts(120, 20)
    cuvi.model.LinearSCVI.setup_anndata(adata, batch_key="batch")
    model = cuvi.model.LinearSCVI(adata, n_latent=3, n_hidden=16)
    model.train(max_epochs=2)
    loadings = model.get_loadings()
    assert loadings.shape == (20, 3) and list(loadings.columns) == ["Z_0", "Z_1", "Z_2"]
    assert list(loadings.index) == list(adata.var_names) and np.isfinite(loadings.to_numpy()).all()
    assert model.get_latent_representation().shape == (120, 3)


def test_loadings_need_a_linear_scvi(trained):
    from cuvi import _cuvi

    with pytest.raises(cuvi.CuviError, match="gene loadings exist only for LinearSCVI"):
        _cuvi.loadings(trained[1]._model)


def test_save_and_load(trained, tmp_path):
    adata, model = trained
    model.save(str(tmp_path / "m"), save_anndata=True)
    with pytest.raises(ValueError, match="already exists"):
        model.save(str(tmp_path / "m"))
    again = cuvi.model.SCVI.load(str(tmp_path / "m"))
    np.testing.assert_array_equal(again.get_latent_representation(), model.get_latent_representation())
    assert list(again.history) == list(model.history)
    assert "Training status: Trained" in repr(again)
    with pytest.raises(ValueError, match="LinearSCVI"):
        cuvi.model.LinearSCVI.load(str(tmp_path / "m"), adata)
