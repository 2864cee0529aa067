"""AnnData in memory: every accepted layout of the counts registers the same matrix (a float32 CSR is
borrowed, not copied), and bad inputs fail with the file readers' messages (compared with the CLI
reading the same data from an .h5ad where it is available)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import cuvi
from cuvi import _anndata
from conftest import run_cli, synthetic_counts


def keys(**kw):
    return _anndata.make_keys(**kw)


def layouts(x: sp.csr_matrix):
    dense = x.toarray()
    wide = x.copy()
    wide.indices, wide.indptr = x.indices.astype(np.int64), x.indptr.astype(np.int64)
    return {
        "csr float32": x,
        "csr float64": x.astype(np.float64),
        "csr int64 indices": wide,
        "csc float32": x.tocsc(),
        "dense float32 C": dense,
        "dense float64 Fortran": np.asfortranarray(dense.astype(np.float64)),
        "dense int32": dense.astype(np.int32),
        "dense uint16": dense.astype(np.uint16),
    }


def test_every_layout_registers_the_same_counts(trained):
    adata, model = trained
    reference = model.get_latent_representation()
    for name, matrix in layouts(adata.X).items():
        other = adata.copy()
        other.X = matrix
        data = _anndata.register(other, keys(batch_key="batch", labels_key="cell_type"))
        assert data.n_cells == adata.n_obs and data.n_genes == adata.n_vars and data.nnz == adata.X.nnz, name
        assert data.borrowed == (name == "csr float32"), name  # float32 values with int32 indices only
        np.testing.assert_array_equal(model.get_latent_representation(other), reference, err_msg=name)


def test_unsorted_csr_is_sorted_not_rejected(trained):
    adata, model = trained
    x = adata.X.copy()
    for r in range(x.shape[0]):  # reverse each row's stored order
        s, e = x.indptr[r], x.indptr[r + 1]
        x.indices[s:e] = x.indices[s:e][::-1].copy()
        x.data[s:e] = x.data[s:e][::-1].copy()
    x.has_sorted_indices = False
    other = adata.copy()
    other.X = x
    data = _anndata.register(other, keys())
    assert not data.borrowed
    np.testing.assert_array_equal(model.get_latent_representation(other), model.get_latent_representation())


def test_layer_and_raw_are_read(trained):
    adata, model = trained
    other = adata.copy()
    other.layers["counts"] = other.X.copy()
    other.X = sp.csr_matrix(np.log1p(other.X.toarray()))  # normalised X, counts in a layer
    assert _anndata.register(other, keys(layer="counts")).nnz == adata.X.nnz
    with pytest.raises(cuvi.CuviError, match="non-integer count"):
        _anndata.register(other, keys(), strict_counts=True)
    raw = adata.copy()
    raw.raw = raw
    assert _anndata.register(raw, keys(layer="raw")).nnz == adata.X.nnz


def problem_of(message: str) -> str:
    """The problem part of an io message: what follows '<where>: <element>: '."""
    return re.sub(r"^[^:]+: [^:]+: ", "", message)


def cli_error(tmp_path, adata, *args) -> str:
    path = tmp_path / "bad.h5ad"
    adata.write_h5ad(path)
    r = run_cli("train", "scvi", "--data", str(path), "--out", str(tmp_path / "m.cuvi"), "--max-epochs", "1",
                "--quiet", *args)
    assert r.returncode != 0
    return r.stderr.strip().splitlines()[-1].split(": error: ", 1)[1]  # after "cuvi train: error: "


@pytest.mark.parametrize("value, expected", [
    (-1.0, "negative count -1 at row 2, column 5; counts must be non-negative"),
    (np.nan, "NaN at row 2, column 5; counts must be finite non-negative integers"),
    (np.inf, "infinite value at row 2, column 5; counts must be finite non-negative integers"),
])
def test_invalid_values_give_the_readers_message(tmp_path, value, expected):
    adata = synthetic_counts(30, 8)
    x = adata.X.toarray()
    x[2, 5] = value
    adata.X = sp.csr_matrix(x)
    with pytest.raises(cuvi.CuviError) as err:
        cuvi.model.SCVI.setup_anndata(adata)
    assert str(err.value) == f"AnnData object: X: {expected}"
    dense = adata.copy()
    dense.X = x
    with pytest.raises(cuvi.CuviError, match=re.escape(expected)):
        cuvi.model.SCVI.setup_anndata(dense)
    assert problem_of(cli_error(tmp_path, adata)) == expected


def test_fractional_counts_warn_and_strict_counts_refuses(tmp_path):
    adata = synthetic_counts(30, 8)
    x = adata.X.toarray()
    x[1, 3] = 2.5
    adata.X = sp.csr_matrix(x)
    with pytest.warns(UserWarning, match=r"stored values are not integers \(first: 2.5 at row 1, column 3\); "
                                         r"training on them as counts, as scvi-tools does \(strict_counts=True"):
        cuvi.model.SCVI.setup_anndata(adata)
    with pytest.raises(cuvi.CuviError) as err:
        cuvi.model.SCVI.setup_anndata(adata, strict_counts=True)
    expected = ("non-integer count 2.5 at row 1, column 3; the matrix looks normalised or log-transformed, use the "
                "raw counts (e.g. layers/counts or raw/X)")
    assert str(err.value) == f"AnnData object: X: {expected}"
    assert problem_of(cli_error(tmp_path, adata, "--strict-counts")) == expected


def test_missing_keys_list_what_exists(tmp_path):
    adata = synthetic_counts(30, 8)
    with pytest.raises(cuvi.CuviError) as err:
        cuvi.model.SCVI.setup_anndata(adata, batch_key="donor")
    assert str(err.value) == "AnnData object: column 'donor' not found in obs; columns: cell_type, batch"
    assert cli_error(tmp_path, adata, "--batch-key", "donor").endswith(
        "column 'donor' not found in obs; columns: cell_type, batch")
    with pytest.raises(cuvi.CuviError) as err:
        cuvi.model.SCVI.setup_anndata(adata, layer="counts")
    assert str(err.value) == "layer 'counts' not found in AnnData object; layers: (none)"
    with pytest.raises(cuvi.CuviError, match=r"raw/X not found \(the AnnData has no raw\)"):
        cuvi.model.SCVI.setup_anndata(adata, layer="raw")


def test_missing_values_in_obs_keys_are_errors():
    adata = synthetic_counts(30, 8)
    adata.obs["batch"] = adata.obs["batch"].cat.add_categories("x")
    adata.obs.iloc[4, adata.obs.columns.get_loc("batch")] = np.nan
    with pytest.raises(cuvi.CuviError, match=r"obs column 'batch' has a missing value \(cell 4\)"):
        cuvi.model.SCVI.setup_anndata(adata, batch_key="batch")


def test_reuse_checks_genes_and_categories(trained):
    adata, model = trained
    permuted = adata[:, list(reversed(adata.var_names))].copy()
    with pytest.raises(cuvi.CuviError, match="genes in a different order"):
        model.get_latent_representation(permuted)
    fewer = adata[:, adata.var_names[:-3]].copy()
    with pytest.raises(cuvi.CuviError, match=r"genes do not match the model: model has 40, file has 37"):
        model.get_latent_representation(fewer)
    new_batch = adata.copy()
    new_batch.obs["batch"] = new_batch.obs["batch"].cat.rename_categories({"b2": "b3"})
    with pytest.raises(cuvi.CuviError, match="category 'b3', which the model was not trained with"):
        model.get_latent_representation(new_batch)


def test_setup_is_required_and_remembered():
    adata = synthetic_counts(30, 8)
    with pytest.raises(ValueError, match="Please set up your AnnData with SCVI.setup_anndata first"):
        cuvi.model.SCVI(adata)
    cuvi.model.LinearSCVI.setup_anndata(adata)
    with pytest.raises(ValueError, match=r"set up for LinearSCVI"):
        cuvi.model.SCVI(adata)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cuvi.model.SCVI.setup_anndata(adata, batch_key="batch")
    assert adata.uns["_cuvi_setup"]["batch_key"] == "batch"
