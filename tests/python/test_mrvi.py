"""cuvi.model.MRVI end to end on real cohort counts (OneK1K, 40 donors with sex and age, subsampled): shapes,
names and finite values of u, z, normalized expression and the sample-level analyses (scvi-tools' xarray
Datasets), cell types separated in u, save/load round trips, CLI parity and clear errors on bad input."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import cuvi
from conftest import knn_accuracy, onek1k_cohort, run_cli, synthetic_counts

N_CELLS, N_DONORS, EPOCHS = 600, 8, 4


@pytest.fixture(scope="module")
def fitted():
    cuvi.settings.progress_bar = False
    cuvi.settings.seed = 0
    adata = onek1k_cohort(N_CELLS, N_DONORS)
    cuvi.model.MRVI.setup_anndata(adata, sample_key="donor")
    model = cuvi.model.MRVI(adata)
    model.train(max_epochs=EPOCHS)
    return adata, model


def test_latents_shapes_and_cell_types(fitted):
    adata, model = fitted
    assert model.is_trained and model.n_latent == 30
    u = model.get_latent_representation()
    z = model.get_latent_representation(give_z=True)
    assert u.shape == (adata.n_obs, 10) and z.shape == (adata.n_obs, 30)
    assert u.dtype == np.float32 and np.isfinite(u).all() and np.isfinite(z).all()
    drawn = model.get_latent_representation(use_mean=False)
    assert drawn.shape == u.shape and not np.array_equal(drawn, u)
    labels = adata.obs["cell_type"].astype(str).to_numpy()
    chance = knn_accuracy(u, np.random.default_rng(1).permutation(labels))
    assert knn_accuracy(u, labels) > max(0.8, chance + 0.3)
    sub = model.get_latent_representation(indices=np.arange(10))
    np.testing.assert_allclose(sub, u[:10], rtol=1e-5, atol=1e-6)
    assert set(model.history) >= {"train_loss", "elbo_validation"} and len(model.history["train_loss"]) == EPOCHS
    assert model.sample_order == sorted(adata.obs["donor"].unique())
    assert list(model.sample_info.index) == list(range(N_DONORS)) and "age" in model.sample_info


def test_normalized_expression(fitted):
    adata, model = fitted
    x = model.get_normalized_expression(library_size=1e4)
    assert isinstance(x, pd.DataFrame) and x.shape == adata.shape
    assert list(x.index) == list(adata.obs_names) and list(x.columns) == list(adata.var_names)
    assert np.isfinite(x.to_numpy()).all() and (x.to_numpy() > 0).all()
    np.testing.assert_allclose(x.sum(1), 1e4, rtol=1e-3)
    latent = model.get_normalized_expression(gene_list=list(adata.var_names[:5]), return_numpy=True)
    assert latent.shape == (adata.n_obs, 5)


def test_local_sample_distances(fitted):
    adata, model = fitted
    ds = model.get_local_sample_distances(groupby="cell_type")
    cell = ds["cell"]
    assert cell.dims == ("cell_name", "sample_x", "sample_y") and cell.shape == (adata.n_obs, N_DONORS, N_DONORS)
    assert list(ds["cell_name"].values) == list(adata.obs_names)
    assert list(ds["sample_x"].values) == model.sample_order
    d = cell.values
    assert np.isfinite(d).all() and (d >= 0).all()
    np.testing.assert_allclose(d, d.transpose(0, 2, 1), atol=1e-5)
    np.testing.assert_allclose(np.diagonal(d, axis1=1, axis2=2), 0, atol=1e-5)
    groups = ds["cell_type"]
    assert groups.dims == ("cell_type_name", "sample_x", "sample_y")
    assert set(groups["cell_type_name"].values) == set(adata.obs["cell_type"].astype(str))
    first = str(groups["cell_type_name"].values[0])
    mask = adata.obs["cell_type"].astype(str).to_numpy() == first
    np.testing.assert_allclose(groups.sel(cell_type_name=first).values, d[mask].mean(0), rtol=1e-4, atol=1e-5)


def test_differential_expression_and_abundance(fitted):
    adata, model = fitted
    de = model.differential_expression(sample_cov_keys=["sex", "age"], mc_samples=5)
    assert de["effect_size"].dims == ("cell_name", "covariate")
    assert de["effect_size"].shape == (adata.n_obs, 2)
    p = de["pvalue"].values
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert de["beta"].shape[0] == adata.n_obs and np.isfinite(de["beta"].values).all()
    da = model.differential_abundance(sample_cov_keys=["sex"], compute_log_enrichment=True)
    assert da["log_probs"].dims == ("cell_name", "sample") and da["log_probs"].shape == (adata.n_obs, N_DONORS)
    assert np.isfinite(da["log_probs"].values).all() and "sex_log_enrichs" in da
    out = model.get_outlier_cell_sample_pairs(subsample_size=50)
    assert out["is_admissible"].shape == (adata.n_obs, N_DONORS)


def test_save_load_round_trip(fitted, tmp_path):
    adata, model = fitted
    model.save(str(tmp_path / "m"), save_anndata=True)
    u, z = model.get_latent_representation(), model.get_latent_representation(give_z=True)
    back = cuvi.model.MRVI.load(str(tmp_path / "m"), adata=adata.copy())
    np.testing.assert_array_equal(back.get_latent_representation(), u)
    np.testing.assert_array_equal(back.get_latent_representation(give_z=True), z)
    assert back.sample_order == model.sample_order and back.is_trained
    alone = cuvi.model.MRVI.load(str(tmp_path / "m"))  # the saved AnnData
    np.testing.assert_array_equal(alone.get_latent_representation(), u)
    with pytest.raises(ValueError, match="already exists"):
        model.save(str(tmp_path / "m"))
    with pytest.raises(ValueError):
        cuvi.model.SCVI.load(str(tmp_path / "m"), adata=adata.copy())


def test_cli_parity(fitted, tmp_path):
    adata, _ = fitted
    small = adata[:300].copy()
    small.obs["donor"] = small.obs["donor"].cat.remove_unused_categories()
    path, model_path, out = tmp_path / "cohort.h5ad", tmp_path / "mrvi.cuvi", tmp_path / "lat.h5ad"
    small.write_h5ad(path)
    r = run_cli("train", "mrvi", "--data", str(path), "--sample-key", "donor", "--max-epochs", "1", "--seed", "4",
                "--out", str(model_path), "--quiet")
    assert r.returncode == 0, r.stderr
    cuvi.settings.seed = 4
    cuvi.model.MRVI.setup_anndata(small, sample_key="donor")
    python = cuvi.model.MRVI(small)
    python.train(max_epochs=1)
    cuvi.settings.seed = 0
    r = run_cli("latent", "--model", str(model_path), "--data", str(path), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    cli = ad.read_h5ad(out)
    np.testing.assert_array_equal(cli.obsm["X_mrvi_u"], python.get_latent_representation())
    np.testing.assert_array_equal(cli.obsm["X_mrvi_z"], python.get_latent_representation(give_z=True))


def test_bad_input():
    a = synthetic_counts(60, 12)
    a.obs["donor"] = pd.Categorical(np.repeat(["d1", "d2", "d3"], 20))
    with pytest.raises(ValueError, match="sample_key"):
        cuvi.model.MRVI.setup_anndata(a)
    with pytest.raises(ValueError, match="nowhere"):
        cuvi.model.MRVI.setup_anndata(a, sample_key="nowhere")
    with pytest.raises(TypeError, match="sample_key"):
        cuvi.model.MRVI.setup_anndata(a, sample_key=["donor"])
    cuvi.model.SCVI.setup_anndata(a)
    with pytest.raises(ValueError, match="MRVI.setup_anndata"):
        cuvi.model.MRVI(a)
    cuvi.model.MRVI.setup_anndata(a, sample_key="donor", batch_key="batch", labels_key="cell_type")
    with pytest.raises(TypeError, match="n_hiden"):
        cuvi.model.MRVI(a, n_hiden=3)
    with pytest.raises(TypeError, match="px_kwargs"):
        cuvi.model.MRVI(a, px_kwargs={"width": 3})
    with pytest.raises(ValueError, match="n_latent_u"):
        cuvi.model.MRVI(a, n_latent_u=0)
    model = cuvi.model.MRVI(a, n_latent=4, n_latent_u=2)
    with pytest.raises(RuntimeError, match="not trained"):
        model.get_latent_representation()
    model.train(max_epochs=1, batch_size=16)
    assert model._model.config.n_labels == 3 and model._model.config.n_batch == 2  # label-guided prior on u
    assert model.get_latent_representation(give_z=True).shape == (60, 4)
    with pytest.raises(ValueError, match="sample_cov_keys"):
        model.differential_expression()
    with pytest.raises(ValueError, match="norm"):
        model.get_local_sample_distances(norm="cosine")
    other = a.copy()
    other.obs["donor"] = pd.Categorical(np.repeat(["d1", "d2", "d9"], 20))
    with pytest.raises(ValueError, match="d9"):
        model.get_latent_representation(other)
