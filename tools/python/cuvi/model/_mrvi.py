"""MRVI (multi-resolution variational inference, Boyeau et al. 2024) with scvi-tools' setup_anndata,
constructor, train and analyses (spec/mrvi.md §4-5), trained and run by the engine's MRVI workflow (the
functions behind `cuvi train mrvi`, `latent`, `normalize`, `distances`, `de`, `da` and `outliers`).
The analyses return scvi-tools' xarray Datasets (same variables, dimensions and coordinates)."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

from .. import _cuvi
from ._base import BaseModelClass
from ._inference import RNASeqMixin
from ._training import UnsupervisedTrainingMixin

_OPTIONS = {"n_latent", "n_latent_u", "encoder_n_hidden", "encoder_n_layers", "z_u_prior", "z_u_prior_scale",
            "u_prior_scale", "u_prior_mixture", "u_prior_mixture_k", "learn_z_u_prior_scale", "scale_observations",
            "label_prior"}
_PX_KWARGS = {"n_hidden", "n_layers", "dropout_rate", "stop_gradients", "stop_gradients_mlp", "low_dim_batch"}
_QZ_KWARGS = {"n_hidden", "n_layers", "dropout_rate", "stop_gradients", "stop_gradients_mlp", "use_map"}
_FILTER_KWARGS = {"subsample_size", "quantile_threshold", "admissibility_threshold"}


def _names(values) -> list[str]:
    if values is None:
        return []
    return [str(values)] if isinstance(values, str) else [str(v) for v in values]


def _read_dataset(write):
    """write(path) fills a netCDF-4 file; returns it as an in-memory xarray.Dataset, as scvi-tools does."""
    try:
        import xarray as xr
    except ImportError as e:
        raise ImportError("MRVI's analyses return an xarray.Dataset, as scvi-tools does: install xarray and "
                          "netCDF4 (pip install xarray netCDF4)") from e
    with tempfile.TemporaryDirectory(prefix="cuvi-mrvi-") as tmp:
        path = os.path.join(tmp, "result.nc")
        write(path)
        with xr.open_dataset(path) as ds:
            out = ds.load()
    out.attrs.pop("model", None)
    return out


class MRVI(RNASeqMixin, UnsupervisedTrainingMixin, BaseModelClass):
    """MRVI with scvi-tools' effective defaults: z (n_latent=30) and sample-unaware u (n_latent_u=10), the
    mixture prior on u (one component per label when labels_key is set), attention encoder q(z|u, s) and
    decoder p(x|z, batch). Options are MRVAE's keyword arguments (px_kwargs / qz_kwargs as dicts);
    label_prior ('per-cell' or 'parity') is cuvi's, as `cuvi train mrvi --label-prior`."""

    _model_name = "MRVI"
    _kind = "mrvi"
    _engine = _cuvi.MrviModel
    _normalize = staticmethod(_cuvi.mrvi_normalized_expression)

    def __init__(self, adata=None, **model_kwargs):
        super().__init__(adata, **model_kwargs)
        self._set_samples(self.adata)

    # ---- setup ---------------------------------------------------------------------------------
    @classmethod
    def setup_anndata(cls, adata, layer: str | None = None, sample_key: str | None = None,
                      batch_key: str | None = None, labels_key: str | None = None, strict_counts: bool = False,
                      **kwargs):
        """Registers adata's counts (X or a layer) with the sample (donor, patient, perturbation) of each
        cell, and optionally technical batches (seen by the decoder) and labels (guiding the prior on u)."""
        if kwargs:
            raise TypeError(f"setup_anndata() got unsupported arguments {sorted(kwargs)}")
        if sample_key is None:
            raise ValueError("MRVI.setup_anndata needs sample_key: the obs column naming each cell's sample")
        for name, key in (("sample_key", sample_key), ("batch_key", batch_key), ("labels_key", labels_key)):
            if key is not None and not isinstance(key, str):
                raise TypeError(f"{name} must be the name of an obs column (a str), got {type(key).__name__}")
        cls._setup(adata, strict_counts=strict_counts, layer=layer, sample_key=sample_key, batch_key=batch_key,
                   labels_key=labels_key)

    def _set_samples(self, adata) -> None:
        """sample_key, sample_order and sample_info (one obs row per sample, in registered order)."""
        self.sample_key = self._keys.sample_key
        registry = self._model.registry if self._model is not None else self._registry
        self.sample_order = list(registry.sample_categories)
        obs = adata.obs.copy()
        codes = pd.Categorical(obs[self.sample_key].astype(str), categories=self.sample_order).codes
        obs["_scvi_sample"] = codes
        obs = obs.loc[(codes >= 0) & ~obs["_scvi_sample"].duplicated(keep="first")]
        self.sample_info = obs.set_index("_scvi_sample").sort_index()

    # ---- configuration -------------------------------------------------------------------------
    @classmethod
    def _checked_options(cls, options: dict) -> dict:
        out = {}
        for name, value in options.items():
            if name in ("px_kwargs", "qz_kwargs", "qu_kwargs"):
                block = dict(value or {})
                if name == "qu_kwargs":
                    if block:
                        raise TypeError(f"qu_kwargs {sorted(block)} are not supported by cuvi's MRVI")
                    continue
                allowed = _PX_KWARGS if name == "px_kwargs" else _QZ_KWARGS
                unknown = sorted(set(block) - allowed)
                if unknown:
                    raise TypeError(f"MRVI got unsupported {name}: {', '.join(unknown)}")
                prefix = name[:2]
                for k, v in block.items():
                    out[f"{prefix}_{k}"] = v
            elif name in _OPTIONS:
                out[name] = value
            else:
                raise TypeError(f"MRVI got unsupported options: {name}")
        for name in ("n_latent", "n_latent_u", "encoder_n_hidden", "encoder_n_layers", "u_prior_mixture_k",
                     "px_n_hidden", "px_n_layers", "qz_n_hidden", "qz_n_layers"):
            if name in out and int(out[name]) < 1:
                raise ValueError(f"{name} must be at least 1, got {out[name]}")
        for name in ("px_dropout_rate", "qz_dropout_rate"):
            if name in out and not 0 <= float(out[name]) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {out[name]}")
        if "label_prior" in out and out["label_prior"] not in ("per-cell", "parity"):
            raise ValueError(f"label_prior={out['label_prior']!r} is not one of per-cell, parity")
        return out

    def _config_for(self, data: _cuvi.Data) -> _cuvi.MrviConfig:
        self._registry = data.registry
        cfg = _cuvi.MrviConfig()  # sizes (genes, samples, batches, labels) come from the data at train()
        for name, value in self._options.items():
            setattr(cfg, name, value)
        return cfg

    @classmethod
    def _check_file(cls, model) -> None:
        pass  # MrviModel.read accepts MRVI files only

    @classmethod
    def _from_model(cls, model, adata, device: str):
        self = super()._from_model(model, adata, device)
        self._set_samples(adata)
        return self

    # ---- latent space --------------------------------------------------------------------------
    def get_latent_representation(self, adata=None, indices=None, batch_size: int | None = None,
                                  use_mean: bool = True, give_z: bool = False) -> np.ndarray:
        """(n_obs, n_latent_u) u, the sample-unaware representation, or with give_z (n_obs, n_latent) z,
        the cell's own-sample representation: posterior means (use_mean) or one draw per cell."""
        adata, data = self._data_for(adata, indices)
        return _cuvi.mrvi_latent(self._model, data, bool(give_z), bool(use_mean), self._run(batch_size))

    def get_normalized_expression(self, adata=None, indices=None, transform_batch=None, gene_list=None,
                                  library_size="latent", n_samples: int = 1, n_samples_overall=None,
                                  weights=None, batch_size: int | None = None, return_mean: bool = False,
                                  return_numpy: bool | None = None, silent: bool = True):
        """Decoded expression (scvi-tools' MRVI default: library_size='latent', the NB mean at the observed
        library), averaged over n_samples draws and the transform batches."""
        return super().get_normalized_expression(adata, indices, transform_batch, gene_list, library_size,
                                                 n_samples, n_samples_overall, weights, batch_size, return_mean,
                                                 return_numpy, silent)

    # ---- sample-level analyses -----------------------------------------------------------------
    def get_local_sample_distances(self, adata=None, batch_size: int = 256, use_mean: bool = True,
                                   normalize_distances: bool = False, use_vmap="auto", groupby=None,
                                   keep_cell: bool = True, norm: str = "l2", mc_samples: int = 10):
        """Per-cell (cell_name, sample_x, sample_y) distances between counterfactual sample representations
        ("cell", with keep_cell) and their averages per category of each groupby key: an xarray.Dataset."""
        opt = _cuvi.MrviDistanceOptions()
        opt.norm = str(norm)
        opt.use_mean = bool(use_mean) and not normalize_distances
        opt.normalize = bool(normalize_distances)
        opt.mc_samples = int(mc_samples)
        opt.groupby = _names(groupby)
        opt.keep_cell = bool(keep_cell)
        run = self._run(batch_size)
        opt.seed = run.seed
        adata, data = self._data_for(adata, None, extra_keys=opt.groupby, obs_names=True)
        return _read_dataset(lambda path: _cuvi.mrvi_local_sample_distances(self._model, data, opt, False,
                                                                            "average", run, path))

    def differential_expression(self, adata=None, sample_cov_keys=None, sample_subset=None,
                                batch_size: int = 128, use_vmap="auto", normalize_design_matrix: bool = True,
                                add_batch_specific_offsets: bool = False, mc_samples: int = 50,
                                store_lfc: bool = False, store_lfc_metadata_subset=None,
                                store_baseline: bool = False, eps_lfc: float = 1e-4,
                                filter_inadmissible_samples: bool = False, lambd: float = 0.0,
                                delta: float | None = 0.3, **filter_samples_kwargs):
        """Cell-specific multivariate DE: per cell, the counterfactual shifts of every sample regressed on
        the sample covariates (beta, effect_size, pvalue, padj; with store_lfc, lfc, lfc_std and pde)."""
        if store_baseline:
            raise NotImplementedError("store_baseline=True is not supported by cuvi's MRVI")
        unknown = sorted(set(filter_samples_kwargs) - _FILTER_KWARGS)
        if unknown:
            raise TypeError(f"differential_expression() got unsupported arguments {unknown}")
        opt = _cuvi.MrviDeOptions()
        opt.sample_cov_keys = _names(sample_cov_keys)
        if not opt.sample_cov_keys:
            raise ValueError("MRVI's differential_expression needs sample_cov_keys (per-sample obs columns)")
        opt.sample_subset = _names(sample_subset)
        opt.normalize_design_matrix = bool(normalize_design_matrix)
        opt.add_batch_specific_offsets = bool(add_batch_specific_offsets)
        opt.mc_samples = int(mc_samples)
        opt.store_lfc = bool(store_lfc)
        opt.store_lfc_metadata_subset = _names(store_lfc_metadata_subset)
        opt.eps_lfc = float(eps_lfc)
        opt.filter_inadmissible_samples = bool(filter_inadmissible_samples)
        opt.lambd = float(lambd)
        opt.delta = None if delta is None else float(delta)
        run = self._run(batch_size)
        opt.seed = run.seed
        for name, value in filter_samples_kwargs.items():
            setattr(opt.outliers, name, value)
        opt.outliers.seed = run.seed
        adata, data = self._data_for(adata, None, extra_keys=opt.sample_cov_keys, obs_names=True)
        return self._with_warnings(lambda path: _cuvi.mrvi_differential_expression(self._model, data, opt, run,
                                                                                   path))

    def differential_abundance(self, adata=None, sample_cov_keys=None, sample_subset=None,
                               compute_log_enrichment: bool = False, omit_original_sample: bool = True,
                               batch_size: int = 128):
        """log p(u_n | sample) under each sample's aggregated posterior (log_probs) and, per covariate key,
        the aggregates over its values ({key}_log_probs, with compute_log_enrichment {key}_log_enrichs)."""
        opt = _cuvi.MrviDaOptions()
        opt.sample_cov_keys = _names(sample_cov_keys)
        opt.sample_subset = _names(sample_subset)
        opt.compute_log_enrichment = bool(compute_log_enrichment)
        opt.omit_original_sample = bool(omit_original_sample)
        run = self._run(batch_size)
        adata, data = self._data_for(adata, None, extra_keys=opt.sample_cov_keys, obs_names=True)
        return self._with_warnings(lambda path: _cuvi.mrvi_differential_abundance(self._model, data, opt, run,
                                                                                  path))

    def get_outlier_cell_sample_pairs(self, adata=None, subsample_size: int = 5000, quantile_threshold: float = 0.05,
                                      admissibility_threshold: float = 0.0, batch_size: int = 256):
        """Admissibility of every (cell, sample) pair: log_probs, log_ratios and is_admissible."""
        opt = _cuvi.MrviOutlierOptions()
        opt.subsample_size = int(subsample_size)
        opt.quantile_threshold = float(quantile_threshold)
        opt.admissibility_threshold = float(admissibility_threshold)
        run = self._run(batch_size)
        opt.seed = run.seed
        adata, data = self._data_for(adata, None, obs_names=True)
        return _read_dataset(lambda path: _cuvi.mrvi_outlier_cell_sample_pairs(self._model, data, opt, run, path))

    def _with_warnings(self, write):
        import warnings

        notes = []

        def run(path):
            notes.extend(write(path))

        out = _read_dataset(run)
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=3)
        return out

    # ---- display ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        c = self._config
        return (
            f"MRVI model with the following parameters: \n"
            f"n_latent: {c.n_latent}, n_latent_u: {c.n_latent_u}, encoder_n_hidden: {c.encoder_n_hidden}, "
            f"encoder_n_layers: {c.encoder_n_layers}, u_prior_mixture: {c.u_prior_mixture}, "
            f"samples: {len(self.sample_order)}.\n"
            f"Training status: {'Trained' if self.is_trained_ else 'Not Trained'}\n"
            f"Engine: cuvi {_cuvi.build_info()['version']}"
        )
