"""AnnData plumbing: what setup_anndata records in ``adata.uns``, and the hand-over of an AnnData's counts
and obs columns to the engine, which validates them with the file readers' checks and messages."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import _cuvi

WHERE = "AnnData object"  # how messages name an AnnData in memory
SETUP_KEY = "_cuvi_setup"  # adata.uns entry written by setup_anndata
_LIST_KEYS = ("categorical_covariate_keys", "continuous_covariate_keys")


def store_setup(adata, model_name: str, keys: _cuvi.SetupKeys, strict_counts: bool = False,
                model_keys: dict | None = None) -> None:
    """Records a setup_anndata call in adata.uns (plain strings and lists, so it survives write_h5ad);
    model_keys: a model kind's own keys as strings (regularizedvi's purpose keys)."""
    adata.uns[SETUP_KEY] = {
        "model_keys": {str(k): str(v) for k, v in (model_keys or {}).items()},
        "model": model_name,
        "strict_counts": bool(strict_counts),
        "layer": keys.layer,
        "batch_key": keys.batch_key,
        "labels_key": keys.labels_key,
        "sample_key": keys.sample_key,
        "categorical_covariate_keys": list(keys.categorical_covariate_keys),
        "continuous_covariate_keys": list(keys.continuous_covariate_keys),
    }


def setup_of(adata, model_name: str) -> tuple[_cuvi.SetupKeys, bool]:
    """(keys, strict_counts) setup_anndata recorded for model_name, or a ValueError saying to call it."""
    entry = adata.uns.get(SETUP_KEY)
    if entry is None or str(entry.get("model")) != model_name:
        raise ValueError(
            f"Please set up your AnnData with {model_name}.setup_anndata first"
            + (f" (it was set up for {entry.get('model')})" if entry is not None else "")
        )
    keys = make_keys(**{k: entry.get(k) for k in ("layer", "batch_key", "labels_key", "sample_key") + _LIST_KEYS})
    return keys, bool(entry.get("strict_counts", False))


def model_keys_of(adata) -> dict:
    """The model kind's own keys store_setup recorded (empty when none)."""
    return {str(k): str(v) for k, v in dict(adata.uns.get(SETUP_KEY, {}).get("model_keys", {})).items()}


def make_keys(layer=None, batch_key=None, labels_key=None, categorical_covariate_keys=None,
              continuous_covariate_keys=None, sample_key=None) -> _cuvi.SetupKeys:
    keys = _cuvi.SetupKeys()
    keys.sample_key = "" if sample_key is None else str(sample_key)
    keys.layer = "" if layer is None else str(layer)
    keys.batch_key = "" if batch_key is None else str(batch_key)
    keys.labels_key = "" if labels_key is None else str(labels_key)
    keys.categorical_covariate_keys = [str(k) for k in (categorical_covariate_keys or [])]
    keys.continuous_covariate_keys = [str(k) for k in (continuous_covariate_keys or [])]
    return keys


def _counts(adata, layer: str):
    """(element, matrix, var_names) of the registered counts; a missing layer fails as the readers do."""
    layers = [str(k) for k in adata.layers.keys()]
    element = _cuvi.resolve_matrix(layer, adata.X is not None, adata.raw is not None, layers, WHERE, "AnnData")
    if element == "X":
        return element, adata.X, adata.var_names
    if element == "raw/X":
        return element, adata.raw.X, adata.raw.var_names
    return element, adata.layers[element[len("layers/"):]], adata.var_names


def _matrix_arrays(element: str, m):
    """(storage, values, indices, indptr): scipy CSR/CSC arrays as they are, anything else as a dense array."""
    if sp.issparse(m):
        if m.format not in ("csr", "csc"):
            m = m.tocsr()
        return m.format, m.data, m.indices, m.indptr
    if hasattr(m, "compute"):  # dask
        raise ValueError(f"{WHERE}: {element}: dask arrays are not supported; load the counts into memory first")
    return "dense", np.asarray(m), None, None


def _column(s: pd.Series) -> tuple:
    """An obs column as the engine's (kind, values...) tuple, the way the file readers see it after write_h5ad."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return ("categorical", np.asarray(s.cat.codes), s.cat.categories.tolist(), bool(dtype.ordered))
    if pd.api.types.is_bool_dtype(dtype):
        return ("boolean", s.to_numpy(dtype=np.float64, na_value=np.nan))
    if pd.api.types.is_numeric_dtype(dtype):
        return ("numeric", s.to_numpy(dtype=np.float64, na_value=np.nan), bool(pd.api.types.is_integer_dtype(dtype)))
    return ("string", [None if pd.isna(v) else str(v) for v in s.to_numpy(dtype=object)])


def register(adata, keys: _cuvi.SetupKeys, registry=None, extra_keys=(), strict_counts: bool = False,
             obs_names: bool = False) -> _cuvi.Data:
    """Validates and registers adata's counts and the obs columns the keys (and extra_keys) name.

    With a model's registry, genes and categories must be those the model was trained with. Fractional
    counts warn (as scvi-tools does) unless strict_counts refuses them. obs_names: also hand over the cell
    names (for analyses whose outputs are indexed by cell).
    """
    element, matrix, var_names = _counts(adata, keys.layer)
    storage, values, indices, indptr = _matrix_arrays(element, matrix)
    wanted = [keys.batch_key, keys.labels_key, keys.sample_key, *keys.categorical_covariate_keys,
              *keys.continuous_covariate_keys, *extra_keys]
    columns = {k: _column(adata.obs[k]) for k in wanted if k and k in adata.obs.columns}
    data = _cuvi.prepare_anndata(
        where=WHERE, element=element, storage=storage, values=values, indices=indices, indptr=indptr,
        n_rows=adata.n_obs, n_cols=len(var_names), var_names=[str(v) for v in var_names], obs_columns=columns,
        all_obs_columns=[str(c) for c in adata.obs.columns], keys=keys, extra_keys=list(extra_keys),
        registry=registry, strict_counts=strict_counts,
        obs_names=[str(n) for n in adata.obs_names] if obs_names else [])
    for message in data.warnings:
        warnings.warn(message, UserWarning, stacklevel=3)
    return data
