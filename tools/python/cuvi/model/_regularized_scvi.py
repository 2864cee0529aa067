"""regularizedvi's AmbientRegularizedSCVI (single modality, regularizedvi.md §1-9) with its purpose-based
setup_anndata keys, constructor names and defaults, trained and run by the engine's RegularizedVI workflow
(the functions behind `cuvi train regularized-scvi`, `latent`, `normalize` and `de`)."""

from __future__ import annotations

import warnings

from .. import _cuvi
from .._anndata import WHERE, model_keys_of, register, store_setup
from .._settings import settings
from ._base import BaseModelClass, threads
from ._de import DEMixin
from ._inference import RNASeqMixin
from ._training import UnsupervisedTrainingMixin

_OPTIONS = {
    "n_hidden", "n_latent", "n_layers", "dropout_rate", "dispersion", "library_n_hidden", "use_batch_norm",
    "use_layer_norm", "deeply_inject_covariates", "use_additive_background", "use_feature_scaling",
    "library_log_vars_weight", "library_log_means_centering_sensitivity", "residual_library_encoder",
    "library_obs_w_prior_rate", "regularise_dispersion", "dispersion_hyper_prior_mean",
    "dispersion_hyper_prior_alpha", "dispersion_prior_direction", "regularise_background", "additive_bg_prior_alpha",
    "additive_bg_prior_beta", "feature_scaling_prior_alpha", "feature_scaling_prior_beta", "decoder_weight_l2",
    "decoder_cov_weight_l2", "init_decoder_bias", "bg_init_gene_fraction", "decoder_bias_multiplier",
    "additive_bg_init_std", "dispersion_init", "dispersion_init_bio_frac", "dispersion_init_theta_min",
    "dispersion_init_theta_max"}
# regularizedvi's constructor arguments whose only supported value is its default.
_FIXED = {"gene_likelihood": "gamma_poisson", "latent_distribution": "normal", "scale_activation": "softplus",
          "use_batch_in_decoder": False, "compute_pearson": False, "decoder_type": "expected_RNA",
          "z_sparsity_prior": None, "use_kl_z": True, "hidden_activation_sparsity": False, "decoder_hidden_l1": 0.0}
_CHOICES = {"dispersion": ("gene", "gene-batch"), "use_batch_norm": ("none", "encoder", "decoder", "both"),
            "use_layer_norm": ("none", "encoder", "decoder", "both"),
            "dispersion_prior_direction": ("inverse_sqrt", "sqrt"), "init_decoder_bias": ("mean", "topN", "none"),
            "dispersion_init": ("prior", "data")}
_EARLY_STOPPING_MIN_DELTA_PER_FEATURE = 2e-4  # regularizedvi's default


def _key_list(name: str, value) -> list[str]:
    if value is None or value is False:
        return []
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of obs column names, got the string {value!r}")
    return [str(v) for v in value]


def _key(name: str, value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be the name of an obs column (a str), got {type(value).__name__}")
    return value


class AmbientRegularizedSCVI(RNASeqMixin, DEMixin, UnsupervisedTrainingMixin, BaseModelClass):
    """scVI with regularizedvi's priors: an additive ambient background per ambient covariate category,
    per-feature scaling, a learned library prior per library-size group, a regularised gene-batch
    dispersion and a batch-free decoder; regularizedvi's defaults (NB likelihood, layer norm)."""

    _model_name = "AmbientRegularizedSCVI"
    _kind = "regularized-scvi"
    _engine = _cuvi.RegviModel
    _normalize = staticmethod(_cuvi.regvi_normalized_expression)
    _de_engine = staticmethod(_cuvi.regvi_differential_expression)

    def __init__(self, adata=None, n_hidden: int = 128, n_latent: int = 10, n_layers: int = 1,
                 dropout_rate: float = 0.1, dispersion: str = "gene-batch", **kwargs):
        options = {"n_hidden": n_hidden, "n_latent": n_latent, "n_layers": n_layers, "dropout_rate": dropout_rate,
                   "dispersion": dispersion, **kwargs}
        super().__init__(adata, **options)

    # ---- setup ---------------------------------------------------------------------------------
    @classmethod
    def setup_anndata(cls, adata, layer: str | None = None, batch_key: str | None = None,
                      size_factor_key: str | None = None, nn_conditioning_covariate_keys=None,
                      nn_continuous_covariate_keys=None, ambient_covariate_keys=None, dispersion_key=None,
                      library_size_key=None, feature_scaling_covariate_keys=None, encoder_covariate_keys=False,
                      strict_counts: bool = False, **kwargs):
        """regularizedvi's purpose keys: batch_key alone fans out to ambient = [batch_key] and dispersion =
        library size = batch_key; otherwise ambient_covariate_keys, dispersion_key and library_size_key
        (all three needed, as regularizedvi); feature scaling defaults to the nn-conditioning keys."""
        if kwargs:
            raise TypeError(f"setup_anndata() got unsupported arguments {sorted(kwargs)}")
        k = _cuvi.RegviKeys()
        k.batch_key = _key("batch_key", batch_key)
        k.size_factor_key = _key("size_factor_key", size_factor_key)
        k.dispersion_key = _key("dispersion_key", dispersion_key)
        k.library_size_key = _key("library_size_key", library_size_key)
        k.ambient_covariate_keys = _key_list("ambient_covariate_keys", ambient_covariate_keys)
        k.nn_conditioning_covariate_keys = _key_list("nn_conditioning_covariate_keys", nn_conditioning_covariate_keys)
        k.continuous_covariate_keys = _key_list("nn_continuous_covariate_keys", nn_continuous_covariate_keys)
        k.feature_scaling_set = feature_scaling_covariate_keys is not None
        k.feature_scaling_covariate_keys = _key_list("feature_scaling_covariate_keys", feature_scaling_covariate_keys)
        if encoder_covariate_keys is not False and encoder_covariate_keys is not None:
            warnings.warn("encoder_covariate_keys is set to a non-default value: injecting categorical covariates "
                          "into the encoder may leak batch information into the latent space", UserWarning,
                          stacklevel=2)
        k.encoder_covariate_keys = _key_list("encoder_covariate_keys", encoder_covariate_keys)
        resolved = k.resolved()  # batch_key with purpose keys: regularizedvi's ValueError
        for what, present in (("ambient_covariate_keys", resolved.ambient_covariate_keys),
                              ("dispersion_key", resolved.dispersion_key),
                              ("library_size_key", resolved.library_size_key)):
            if not present:
                raise ValueError(f"Either batch_key or {what} must be provided (regularizedvi's setup_anndata)")
        keys = k.setup_keys("" if layer is None else str(layer))
        extra = [k.size_factor_key] if k.size_factor_key else []
        register(adata, keys, extra_keys=extra, strict_counts=strict_counts)
        store_setup(adata, cls._model_name, keys, strict_counts, model_keys=k.to_dict())

    def _read_model_keys(self, adata) -> None:
        self._regvi_keys = _cuvi.RegviKeys.from_dict(model_keys_of(adata))

    def _extra_keys(self) -> list[str]:
        sf = self._regvi_keys.size_factor_key
        return [sf] if sf else []

    def _adopt_keys(self, model) -> None:
        self._regvi_keys = model.keys

    def _stored_model_keys(self) -> dict:
        return self._regvi_keys.to_dict()

    # ---- configuration -------------------------------------------------------------------------
    @classmethod
    def _checked_options(cls, options: dict) -> dict:
        out = {}
        for name, value in options.items():
            if name in _FIXED:
                if value != _FIXED[name]:
                    raise NotImplementedError(f"{name}={value!r} is not supported by cuvi's AmbientRegularizedSCVI "
                                              f"(only {_FIXED[name]!r})")
            elif name in _OPTIONS:
                out[name] = value
            else:
                raise TypeError(f"AmbientRegularizedSCVI got unsupported options: {name}")
        for name, allowed in _CHOICES.items():
            if name in out and out[name] not in allowed:
                raise ValueError(f"{name}={out[name]!r} is not one of {', '.join(allowed)}")
        for name in ("n_hidden", "n_latent", "n_layers", "library_n_hidden"):
            if name in out and int(out[name]) < 1:
                raise ValueError(f"{name} must be at least 1, got {out[name]}")
        if "dropout_rate" in out and not 0 <= float(out["dropout_rate"]) < 1:
            raise ValueError(f"dropout_rate must be in [0, 1), got {out['dropout_rate']}")
        for name in ("library_log_means_centering_sensitivity", "bg_init_gene_fraction", "decoder_bias_multiplier",
                     "dispersion_hyper_prior_mean", "dispersion_hyper_prior_alpha", "additive_bg_init_std"):
            if name in out and out[name] is None:  # regularizedvi's None: the engine's 'unset' value
                out[name] = {"library_log_means_centering_sensitivity": 0.0, "bg_init_gene_fraction": 0.0,
                             "decoder_bias_multiplier": 1.0, "dispersion_hyper_prior_mean": 1.0 / 3.0,
                             "dispersion_hyper_prior_alpha": 9.0, "additive_bg_init_std": 0.01}[name]
        return out

    def _config_for(self, data: _cuvi.Data) -> _cuvi.RegviConfig:
        cfg = _cuvi.RegviConfig.single_modal(data.n_genes)
        for name, value in self._options.items():
            setattr(cfg, name, value)
        return cfg

    @classmethod
    def _check_file(cls, model) -> None:
        pass  # RegviModel.read accepts single-modal RegularizedVI files only

    def _train_engine(self, data, config, tc, progress):
        return self._engine.train(data, self._regvi_keys, config, tc, self._device, threads(), progress,
                                  settings.progress_interval, WHERE)

    # ---- training / inference ------------------------------------------------------------------
    def train(self, max_epochs: int | None = None, accelerator: str = "auto", devices="auto",
              train_size: float | None = None, validation_size: float | None = None, shuffle_set_split: bool = True,
              load_sparse_tensor: bool = False, batch_size: int = 128, early_stopping: bool = False,
              datasplitter_kwargs: dict | None = None, plan_kwargs: dict | None = None,
              early_stopping_min_delta_per_feature: float | None = None, **trainer_kwargs):
        """regularizedvi's train(): scvi-tools' arguments; with early_stopping, min_delta defaults to
        n_features * early_stopping_min_delta_per_feature (2e-4)."""
        if early_stopping and "early_stopping_min_delta" not in trainer_kwargs:
            per = early_stopping_min_delta_per_feature or _EARLY_STOPPING_MIN_DELTA_PER_FEATURE
            trainer_kwargs["early_stopping_min_delta"] = self.adata.n_vars * per
        return super().train(max_epochs, accelerator, devices, train_size, validation_size, shuffle_set_split,
                             load_sparse_tensor, batch_size, early_stopping, datasplitter_kwargs, plan_kwargs,
                             **trainer_kwargs)

    def get_latent_representation(self, adata=None, indices=None, give_mean: bool = True, mc_samples: int = 5000,
                                  batch_size: int | None = None, return_dist: bool = False):
        """(n_obs, n_latent) float32: the posterior mean of z (give_mean) or one sample."""
        if return_dist:
            raise NotImplementedError("return_dist=True is not supported by cuvi (give_mean gives the mean)")
        adata, data = self._data_for(adata, indices)
        return _cuvi.regvi_latent(self._model, data, bool(give_mean), self._run(batch_size))

    # ---- display ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        c = self._config
        k = self._regvi_keys.resolved()
        return (
            f"AmbientRegularizedSCVI model with the following parameters: \n"
            f"n_hidden: {c.n_hidden}, n_latent: {c.n_latent}, n_layers: {c.n_layers}, "
            f"dropout_rate: {c.dropout_rate}, dispersion: {c.dispersion}, \n"
            f"ambient_covariate_keys: {list(k.ambient_covariate_keys)}, dispersion_key: {k.dispersion_key!r}, "
            f"library_size_key: {k.library_size_key!r}.\n"
            f"Training status: {'Trained' if self.is_trained_ else 'Not Trained'}\n"
            f"Engine: cuvi {_cuvi.build_info()['version']}"
        )
