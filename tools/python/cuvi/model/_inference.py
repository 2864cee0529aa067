"""Inference with scvi-tools' signatures and return types: latent representation, normalized expression,
ELBO, reconstruction error, marginal log-likelihood and posterior predictive counts, each computed by the
engine's workflow functions (the ones behind `cuvi latent`, `normalize`, `evaluate` and `sample`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import _cuvi
from .._settings import settings


def _gene_subset(model, gene_list):
    """Names of gene_list in the model's gene order (as scvi-tools returns them); unknown names fail."""
    if gene_list is None:
        return []
    genes = list(model.registry.genes)
    wanted = set(map(str, gene_list))
    missing = sorted(wanted - set(genes))
    if missing:
        raise ValueError(f"gene_list: {', '.join(missing[:5])} not among the model's {len(genes)} genes")
    return [g for g in genes if g in wanted]


def _batches(model, transform_batch):
    if transform_batch is None:
        return []
    values = transform_batch if isinstance(transform_batch, (list, tuple, np.ndarray)) else [transform_batch]
    return [str(v) for v in values]


class VAEMixin:
    def get_latent_representation(self, adata=None, indices=None, give_mean: bool = True, mc_samples: int = 5000,
                                  batch_size: int | None = None, return_dist: bool = False) -> np.ndarray:
        """(n_obs, n_latent) float32: the posterior mean of z (give_mean) or one sample."""
        if return_dist:
            raise NotImplementedError("return_dist=True is not supported by cuvi (give_mean gives the mean)")
        adata, data = self._data_for(adata, indices)
        return _cuvi.latent(self._model, data, give_mean, int(mc_samples), self._run(batch_size))

    def _fit(self, adata, indices, batch_size, n_mc_samples):
        adata, data = self._data_for(adata, indices)
        return _cuvi.evaluate(self._model, data, int(n_mc_samples), self._run(batch_size))

    def get_elbo(self, adata=None, indices=None, batch_size: int | None = None, return_mean: bool = True):
        """ELBO (log p(x|z) - KL; higher is better): the mean over cells, or per cell."""
        fit = self._fit(adata, indices, batch_size, 0)
        return float(fit["elbo_mean"]) if return_mean else fit["elbo"]

    def get_reconstruction_error(self, adata=None, indices=None, batch_size: int | None = None,
                                 return_mean: bool = True) -> dict:
        """{'reconstruction_loss': -log p(x|z)}, the mean over cells or per cell."""
        fit = self._fit(adata, indices, batch_size, 0)
        return {"reconstruction_loss": float(fit["reconstruction_loss_mean"]) if return_mean
                else fit["reconstruction_loss"]}

    def get_marginal_ll(self, adata=None, indices=None, n_mc_samples: int = 1000, batch_size: int | None = None,
                        return_mean: bool = True):
        """Importance-sampled log p(x): the mean of the per-minibatch means (as scvi-tools), or per cell."""
        if n_mc_samples < 1:
            raise ValueError("n_mc_samples must be at least 1")
        fit = self._fit(adata, indices, batch_size, n_mc_samples)
        return np.float64(fit["marginal_ll_batch_mean"]) if return_mean else fit["marginal_ll"]


class RNASeqMixin:
    _normalize = staticmethod(_cuvi.normalized_expression)  # the model kind's binding

    def get_normalized_expression(self, adata=None, indices=None, transform_batch=None, gene_list=None,
                                  library_size=1, n_samples: int = 1, n_samples_overall=None, weights=None,
                                  batch_size: int | None = None, return_mean: bool = True,
                                  return_numpy: bool | None = None, silent: bool = True):
        """Decoded expression scaled to library_size ('latent': the model's library), averaged over n_samples
        posterior draws and the transform batches: a cells x genes DataFrame (an array with return_numpy)."""
        if n_samples_overall is not None or weights not in (None, "uniform"):
            raise NotImplementedError("n_samples_overall and importance weights are not supported by cuvi")
        if n_samples < 1:
            raise ValueError("n_samples must be at least 1")
        adata, data = self._data_for(adata, indices)
        model = self._model
        genes = _gene_subset(model, gene_list)
        size = None if library_size == "latent" else float(library_size)
        batches = _batches(model, transform_batch)
        run = self._run(batch_size)
        if return_mean or n_samples == 1:
            x = self._normalize(model, data, size, int(n_samples), batches, genes, run)
        else:
            draws = []
            for s in range(n_samples):  # one draw each, from consecutive seeds
                run.seed = int(settings.seed) + s
                draws.append(self._normalize(model, data, size, 1, batches, genes, run))
            x = np.stack(draws)
            return_numpy = True
        if return_numpy:
            return x
        return pd.DataFrame(x, index=adata.obs_names, columns=genes or list(model.registry.genes))

    def posterior_predictive_sample(self, adata=None, indices=None, transform_batch=None, n_samples: int = 1,
                                    gene_list=None, batch_size: int | None = None):
        """Counts drawn from p(x|z), z ~ q(z|x): (n_obs, n_vars), or (n_obs, n_vars, n_samples). A
        sparse.GCXS array as scvi-tools returns when the `sparse` package is installed, else a scipy CSR
        matrix (one sample) or a dense array."""
        if transform_batch is not None:
            raise NotImplementedError("transform_batch is not supported by cuvi's posterior_predictive_sample")
        adata, data = self._data_for(adata, indices)
        model = self._model
        draws = [sp.csr_matrix((v, i, p), shape=(r, c))
                 for v, i, p, r, c in _cuvi.posterior_predictive_sample(model, data, int(n_samples),
                                                                        self._run(batch_size))]
        if gene_list is not None:
            keep = [i for i, g in enumerate(model.registry.genes) if g in set(_gene_subset(model, gene_list))]
            draws = [d[:, keep] for d in draws]
        try:
            import sparse
        except ImportError:
            return draws[0] if n_samples == 1 else np.stack([d.toarray() for d in draws], axis=-1)
        if n_samples == 1:
            return sparse.GCXS.from_scipy_sparse(draws[0])
        return sparse.GCXS(np.stack([d.toarray() for d in draws], axis=-1))
