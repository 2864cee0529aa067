"""LinearSCVI (LDVAE: a linear decoder whose weights are interpretable gene loadings) with scvi-tools'
constructor, setup_anndata and methods, trained and run by cuvi's engine."""

from __future__ import annotations

import pandas as pd

from .. import _cuvi
from ._base import BaseModelClass, init_options
from ._de import DEMixin
from ._inference import RNASeqMixin, VAEMixin
from ._training import UnsupervisedTrainingMixin


class LinearSCVI(RNASeqMixin, VAEMixin, DEMixin, UnsupervisedTrainingMixin, BaseModelClass):
    """Linearly-decoded VAE (Svensson et al. 2020), scvi-tools' defaults (nb likelihood, learned library)."""

    _model_name = "LinearSCVI"
    _kind = "linear-scvi"

    def __init__(self, adata=None, n_hidden: int = 128, n_latent: int = 10, n_layers: int = 1,
                 dropout_rate: float = 0.1, dispersion: str = "gene", gene_likelihood: str = "nb",
                 use_observed_lib_size: bool = False, latent_distribution: str = "normal", **model_kwargs):
        super().__init__(adata, **init_options(locals()))

    @classmethod
    def setup_anndata(cls, adata, batch_key: str | None = None, labels_key: str | None = None,
                      layer: str | None = None, strict_counts: bool = False, **kwargs):
        """Registers adata's counts (X or a layer) and its batch and label keys, checking them now."""
        if kwargs:
            raise TypeError(f"setup_anndata() got unsupported arguments {sorted(kwargs)}")
        cls._setup(adata, strict_counts=strict_counts, layer=layer, batch_key=batch_key, labels_key=labels_key)

    def get_loadings(self) -> pd.DataFrame:
        """Per-gene weights of the linear decoder: genes x n_latent, columns Z_0 ... Z_{n_latent-1}."""
        model = self._require_trained()
        w = _cuvi.loadings(model)
        return pd.DataFrame(w, index=list(model.registry.genes), columns=[f"Z_{i}" for i in range(w.shape[1])])
