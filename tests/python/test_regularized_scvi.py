"""cuvi.model.AmbientRegularizedSCVI (regularizedvi's single-modal model) end to end on real counts (OneK1K,
donors as the ambient / dispersion / library-size batch): shapes, names and finite values, cell types
separated in the latent, DE, save/load round trips, CLI parity and regularizedvi's setup errors."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import cuvi
from conftest import knn_accuracy, onek1k_cohort, run_cli, synthetic_counts

N_CELLS, N_DONORS, EPOCHS = 600, 8, 6
Model = cuvi.model.AmbientRegularizedSCVI


@pytest.fixture(scope="module")
def fitted():
    cuvi.settings.progress_bar = False
    cuvi.settings.seed = 0
    adata = onek1k_cohort(N_CELLS, N_DONORS)
    Model.setup_anndata(adata, batch_key="donor")
    model = Model(adata)
    model.train(max_epochs=EPOCHS)
    return adata, model


def test_latent_shapes_and_cell_types(fitted):
    adata, model = fitted
    assert model.is_trained and model.n_latent == 10
    z = model.get_latent_representation()
    assert z.shape == (adata.n_obs, 10) and z.dtype == np.float32 and np.isfinite(z).all()
    drawn = model.get_latent_representation(give_mean=False)
    assert drawn.shape == z.shape and not np.array_equal(drawn, z)
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    chance = knn_accuracy(z, np.random.default_rng(1).permutation(labels))
    assert knn_accuracy(z, labels) > max(0.8, chance + 0.3)
    assert len(model.history["train_loss"]) == EPOCHS
    assert "AmbientRegularizedSCVI" in repr(model) and "donor" in repr(model)


def test_normalized_expression_and_de(fitted):
    adata, model = fitted
    x = model.get_normalized_expression(library_size=1e4)
    assert isinstance(x, pd.DataFrame) and x.shape == adata.shape
    assert list(x.index) == list(adata.obs_names) and list(x.columns) == list(adata.var_names)
    assert np.isfinite(x.to_numpy()).all() and (x.to_numpy() >= 0).all()
    mu = model.get_normalized_expression(library_size="latent", gene_list=list(adata.var_names[:3]),
                                         return_numpy=True)
    assert mu.shape == (adata.n_obs, 3) and np.isfinite(mu).all()
    de = model.differential_expression(groupby="cell_type", group1="bmem", group2="cd4nc")
    assert set(de.index) == set(adata.var_names)
    assert np.isfinite(de["bayes_factor"]).all() and ((de["proba_m1"] >= 0) & (de["proba_m1"] <= 1)).all()
    with pytest.raises(ValueError, match="transform_batch"):
        model.get_normalized_expression(transform_batch="SAMP1")


def test_save_load_round_trip(fitted, tmp_path):
    adata, model = fitted
    model.save(str(tmp_path / "m"), save_anndata=True)
    z = model.get_latent_representation()
    back = Model.load(str(tmp_path / "m"), adata=adata.copy())
    np.testing.assert_array_equal(back.get_latent_representation(), z)
    np.testing.assert_array_equal(back.get_normalized_expression(return_numpy=True),
                                  model.get_normalized_expression(return_numpy=True))
    alone = Model.load(str(tmp_path / "m"))
    np.testing.assert_array_equal(alone.get_latent_representation(), z)
    with pytest.raises(ValueError):
        cuvi.model.MRVI.load(str(tmp_path / "m"), adata=adata.copy())
    with pytest.raises(ValueError):
        cuvi.model.SCVI.load(str(tmp_path / "m"), adata=adata.copy())


def test_cli_parity(fitted, tmp_path):
    adata, _ = fitted
    small = adata[:300].copy()
    small.obs["donor"] = small.obs["donor"].cat.remove_unused_categories()
    path, model_path, out = tmp_path / "cells.h5ad", tmp_path / "rvi.cuvi", tmp_path / "lat.h5ad"
    small.write_h5ad(path)
    r = run_cli("train", "regularized-scvi", "--data", str(path), "--batch-key", "donor", "--max-epochs", "2",
                "--seed", "4", "--out", str(model_path), "--quiet")
    assert r.returncode == 0, r.stderr
    cuvi.settings.seed = 4
    Model.setup_anndata(small, batch_key="donor")
    python = Model(small)
    python.train(max_epochs=2)
    cuvi.settings.seed = 0
    r = run_cli("latent", "--model", str(model_path), "--data", str(path), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(ad.read_h5ad(out).obsm["X_scVI"], python.get_latent_representation())


def test_bad_input():
    a = synthetic_counts(60, 12)
    with pytest.raises(ValueError, match="batch_key cannot be combined"):
        Model.setup_anndata(a, batch_key="batch", ambient_covariate_keys=["batch"])
    with pytest.raises(ValueError, match="ambient_covariate_keys"):
        Model.setup_anndata(a)
    with pytest.raises(TypeError, match="ambient_covariate_keys"):
        Model.setup_anndata(a, ambient_covariate_keys="batch", dispersion_key="batch", library_size_key="batch")
    with pytest.raises(ValueError, match="nowhere"):
        Model.setup_anndata(a, batch_key="nowhere")
    Model.setup_anndata(a, ambient_covariate_keys=["batch"], dispersion_key="batch", library_size_key="batch",
                        nn_conditioning_covariate_keys=["cell_type"])
    with pytest.raises(NotImplementedError, match="gene_likelihood"):
        Model(a, gene_likelihood="zinb")
    with pytest.raises(TypeError, match="n_hiden"):
        Model(a, n_hiden=3)
    with pytest.raises(ValueError, match="dispersion"):
        Model(a, dispersion="gene-cell")
    model = Model(a, n_latent=3, n_hidden=16)
    with pytest.raises(RuntimeError, match="not trained"):
        model.get_latent_representation()
    model.train(max_epochs=1, batch_size=16)
    assert model.get_latent_representation().shape == (60, 3)
    other = a.copy()
    other.obs["batch"] = pd.Categorical(np.where(np.arange(60) < 30, "b1", "b7"))
    with pytest.raises(ValueError, match="b7"):
        model.get_latent_representation(other)
