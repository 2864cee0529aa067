"""SCVI with scvi-tools' constructor, setup_anndata and methods, trained and run by cuvi's engine."""

from __future__ import annotations

from ._base import BaseModelClass, init_options
from ._de import DEMixin
from ._inference import RNASeqMixin, VAEMixin
from ._training import UnsupervisedTrainingMixin


class SCVI(RNASeqMixin, VAEMixin, DEMixin, UnsupervisedTrainingMixin, BaseModelClass):
    """single-cell Variational Inference (Lopez et al. 2018), scvi-tools' defaults.

    Extra options (encode_covariates, deeply_inject_covariates, use_batch_norm, use_layer_norm) are
    keyword arguments, as scvi-tools passes them to its VAE.
    """

    _model_name = "SCVI"
    _kind = "scvi"

    def __init__(self, adata=None, n_hidden: int = 128, n_latent: int = 10, n_layers: int = 1,
                 dropout_rate: float = 0.1, dispersion: str = "gene", gene_likelihood: str = "zinb",
                 use_observed_lib_size: bool = True, latent_distribution: str = "normal", **kwargs):
        super().__init__(adata, **init_options(locals()))

    @classmethod
    def setup_anndata(cls, adata, layer: str | None = None, batch_key: str | None = None,
                      labels_key: str | None = None, size_factor_key: str | None = None,
                      categorical_covariate_keys: list[str] | None = None,
                      continuous_covariate_keys: list[str] | None = None, strict_counts: bool = False, **kwargs):
        """Registers adata's counts (X or a layer; 'raw' for raw.X) and obs keys, checking them now.
        Fractional counts warn and train, as in scvi-tools; strict_counts=True refuses them."""
        if size_factor_key is not None:
            raise NotImplementedError("size_factor_key is not supported by cuvi")
        if kwargs:
            raise TypeError(f"setup_anndata() got unsupported arguments {sorted(kwargs)}")
        cls._setup(adata, strict_counts=strict_counts, layer=layer, batch_key=batch_key, labels_key=labels_key,
                   categorical_covariate_keys=categorical_covariate_keys,
                   continuous_covariate_keys=continuous_covariate_keys)
