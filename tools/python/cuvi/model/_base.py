"""What every cuvi model shares: setup_anndata, construction from a set-up AnnData, the trained model
handle, save/load of the .cuvi file, import from scvi-tools, and registering an AnnData for a call."""

from __future__ import annotations

import os
import tempfile

import numpy as np

from .. import _cuvi
from .._anndata import WHERE, register, setup_of, store_setup, make_keys
from .._settings import settings

MODEL_FILE = "model.cuvi"
ADATA_FILE = "adata.h5ad"
_CHOICES = {
    "dispersion": ("gene", "gene-batch", "gene-label", "gene-cell"),
    "gene_likelihood": ("zinb", "nb", "poisson"),
    "latent_distribution": ("normal", "ln"),
    "use_batch_norm": ("none", "encoder", "decoder", "both"),
    "use_layer_norm": ("none", "encoder", "decoder", "both"),
}
_NORM_BOOLS = {True: "both", False: "none"}  # scvi-tools also takes booleans for the norm options
_OPTIONS = {"n_hidden", "n_latent", "n_layers", "dropout_rate", "dispersion", "gene_likelihood", "latent_distribution",
            "use_observed_lib_size", "encode_covariates", "deeply_inject_covariates", "use_batch_norm",
            "use_layer_norm"}  # the module options cuvi implements


def init_options(params: dict) -> dict:
    """A constructor's module options from its locals(): the named ones and its **kwargs."""
    named = {k: v for k, v in params.items() if k not in ("self", "adata", "__class__", "kwargs", "model_kwargs")}
    return {**named, **params.get("kwargs", {}), **params.get("model_kwargs", {})}


def threads() -> int:
    """CPU threads of an engine call: settings.num_threads, or all cores (as the process started with)."""
    return int(settings.num_threads or _cuvi.default_threads)


def _device(accelerator: str, devices="auto") -> str:
    """The engine's device for scvi-tools' accelerator/devices arguments."""
    if devices not in ("auto", 1, [0], (0,), 0, "0"):
        raise ValueError(f"devices={devices!r}: cuvi trains on one device (use 'auto' or 1)")
    choice = {"auto": "auto", "cpu": "cpu", "gpu": "cuda", "cuda": "cuda"}.get(accelerator)
    if choice is None:
        raise ValueError(f"accelerator={accelerator!r} is not one of 'auto', 'cpu', 'gpu'")
    return choice


class BaseModelClass:
    """A model of kind `_kind` (the engine's name) exposed as scvi-tools' class `_model_name`; `_engine` is
    the extension's handle class of that kind (train, read, save, config, registry, history). The SCVI
    family's option checks and configuration are the defaults; other kinds override _checked_options,
    _config_for and _check_file."""

    _model_name = ""
    _kind = ""
    _engine = _cuvi.Model

    def __init__(self, adata=None, **options):
        if adata is None:
            raise ValueError(f"{self._model_name} needs the AnnData it will be trained on")
        self.adata = adata
        self._keys, self._strict_counts = setup_of(adata, self._model_name)
        self._read_model_keys(adata)
        self._options = self._checked_options(options)
        self._config = self._config_for(register(adata, self._keys, extra_keys=self._extra_keys(),
                                                 strict_counts=self._strict_counts))
        self._model = None  # _cuvi.Model once trained or loaded
        self._device = "auto"
        self.is_trained_ = False
        self.history_ = {}
        self.train_indices = self.validation_indices = None
        self.init_params_ = {"non_kwargs": dict(options), "kwargs": {}}

    # ---- setup ---------------------------------------------------------------------------------
    @classmethod
    def _setup(cls, adata, strict_counts=False, **keys) -> None:
        k = make_keys(**keys)
        register(adata, k, strict_counts=strict_counts)  # the readers' checks, now rather than at train()
        store_setup(adata, cls._model_name, k, strict_counts)

    def _read_model_keys(self, adata) -> None:
        """A model kind's own keys from the setup record (none for the SCVI family)."""

    def _extra_keys(self) -> list[str]:
        """obs columns every registration of this model needs beyond the SetupKeys (none by default)."""
        return []

    # ---- configuration -------------------------------------------------------------------------
    @classmethod
    def _checked_options(cls, options: dict) -> dict:
        out = dict(options)
        for name in ("use_batch_norm", "use_layer_norm"):
            if isinstance(out.get(name), bool):
                out[name] = _NORM_BOOLS[out[name]]
        for name, allowed in _CHOICES.items():
            if name in out and out[name] not in allowed:
                raise ValueError(f"{name}={out[name]!r} is not one of {', '.join(allowed)}")
        for name in ("n_hidden", "n_latent", "n_layers"):
            if name in out and int(out[name]) < 1:
                raise ValueError(f"{name} must be at least 1, got {out[name]}")
        if "dropout_rate" in out and not 0 <= float(out["dropout_rate"]) < 1:
            raise ValueError(f"dropout_rate must be in [0, 1), got {out['dropout_rate']}")
        unknown = sorted(set(out) - _OPTIONS)
        if unknown:
            raise TypeError(f"{cls._model_name} got unsupported options: {', '.join(unknown)}")
        return out

    def _config_for(self, data: _cuvi.Data):
        cfg = _cuvi.ScviConfig.for_data(self._kind, data)
        for name, value in self._options.items():
            setattr(cfg, name, value)
        return cfg

    # ---- trained state ---------------------------------------------------------------------------
    def _require_trained(self):
        if self._model is None:
            raise RuntimeError(f"this {self._model_name} model is not trained yet; call train() first")
        return self._model

    def _adopt(self, model) -> None:
        from ._history import history_frames

        self._model = model
        self._config = model.config
        self.is_trained_ = model.epochs_run > 0 or bool(model.history)
        self.history_ = history_frames(model.history)

    @property
    def history(self) -> dict:
        """Training history: one DataFrame per metric, indexed by epoch (scvi-tools' keys)."""
        return self.history_

    @property
    def is_trained(self) -> bool:
        return self.is_trained_

    @property
    def n_latent(self) -> int:
        return int(self._config.n_latent)

    def get_var_names(self):
        return self.adata.var_names if self._model is None else list(self._model.registry.genes)

    def _train_engine(self, data, config, tc, progress):
        """A new trained model handle (the extension's train of this kind)."""
        return self._engine.train(data, config, tc, self._device, threads(), progress, settings.progress_interval,
                                  WHERE)

    def _run(self, batch_size=None) -> _cuvi.RunOptions:
        run = _cuvi.RunOptions()
        run.device = self._device
        run.threads = threads()
        run.seed = settings.seed
        run.batch_size = int(batch_size or settings.batch_size)
        return run

    def _data_for(self, adata=None, indices=None, extra_keys=(), obs_names: bool = False):
        """(adata, registered data) for an inference call: the model's keys, genes and categories."""
        model = self._require_trained()
        adata = self.adata if adata is None else adata
        if indices is not None:
            adata = adata[np.asarray(indices)]
        return adata, register(adata, model.registry.keys, model.registry, [*self._extra_keys(), *extra_keys],
                               self._strict_counts, obs_names)

    # ---- files -----------------------------------------------------------------------------------
    def save(self, dir_path: str, prefix: str | None = None, overwrite: bool = False, save_anndata: bool = False,
             **anndata_write_kwargs) -> None:
        """Writes ``<prefix>model.cuvi`` (and with save_anndata ``<prefix>adata.h5ad``) into dir_path."""
        model = self._require_trained()
        if not os.path.exists(dir_path) or overwrite:
            os.makedirs(dir_path, exist_ok=overwrite)
        else:
            raise ValueError(f"{dir_path} already exists. Please provide another directory for saving.")
        if save_anndata:
            self.adata.write_h5ad(os.path.join(dir_path, f"{prefix or ''}{ADATA_FILE}"), **anndata_write_kwargs)
        model.save(os.path.join(dir_path, f"{prefix or ''}{MODEL_FILE}"))

    @classmethod
    def load(cls, dir_path: str, adata=None, accelerator: str = "auto", device="auto", prefix: str | None = None):
        """A model saved by save() (a directory, or a .cuvi file such as `cuvi train` writes) on `adata`,
        whose genes and categories must be the model's; without adata, the directory's adata.h5ad."""
        path = dir_path if os.path.isfile(dir_path) else os.path.join(dir_path, f"{prefix or ''}{MODEL_FILE}")
        if not os.path.exists(path):
            raise ValueError(f"{path} not found (expected a directory written by save() or a .cuvi file)")
        model = cls._engine.read(path)
        if adata is None:
            import anndata

            adata_path = os.path.join(os.path.dirname(path), f"{prefix or ''}{ADATA_FILE}")
            if not os.path.exists(adata_path):
                raise ValueError(f"no AnnData given and {adata_path} does not exist (save with save_anndata=True)")
            adata = anndata.read_h5ad(adata_path)
        return cls._from_model(model, adata, _device(accelerator, device))

    @classmethod
    def _check_file(cls, model) -> None:
        """Fails when a model read from a file is not of this class (SCVI vs LinearSCVI)."""
        expected = "LinearSCVI" if cls._kind == "linear-scvi" else "SCVI"
        if model.config.model != expected:
            raise ValueError(f"the file holds an {model.config.model} model, not {expected}")

    @classmethod
    def _from_model(cls, model, adata, device: str):
        cls._check_file(model)
        keys = model.registry.keys
        self = cls.__new__(cls)
        self._adopt_keys(model)
        register(adata, keys, model.registry, self._extra_keys())  # genes and categories must be the model's
        store_setup(adata, cls._model_name, keys, model_keys=self._stored_model_keys())
        self.adata = adata
        self._keys = keys
        self._strict_counts = False
        self._options = {}
        self._device = device
        self.train_indices = self.validation_indices = None
        self.init_params_ = {"non_kwargs": {}, "kwargs": {}}
        self._adopt(model)
        return self

    def _adopt_keys(self, model) -> None:
        """A model kind's own keys from a model read from a file (none for the SCVI family)."""

    def _stored_model_keys(self) -> dict:
        return {}

    @classmethod
    def from_scvi_tools(cls, path_or_model, adata, prefix: str | None = None, accelerator: str = "auto"):
        """A model trained by scvi-tools (its save() directory, or the model object) on `adata`."""
        from .. import scvi_tools_import

        with tempfile.TemporaryDirectory(prefix="cuvi-import-") as tmp:
            out = os.path.join(tmp, MODEL_FILE)
            if isinstance(path_or_model, (str, os.PathLike)):
                scvi_tools_import.export_model_dir(os.fspath(path_or_model), out, prefix)
            else:
                scvi_tools_import.export_model(path_or_model, out)
            model = _cuvi.Model.read(out)
        return cls._from_model(model, adata, _device(accelerator))

    # ---- display ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        c = self._config
        return (
            f"{self._model_name} model with the following parameters: \n"
            f"n_hidden: {c.n_hidden}, n_latent: {c.n_latent}, n_layers: {c.n_layers}, "
            f"dropout_rate: {c.dropout_rate}, dispersion: {c.dispersion}, \n"
            f"gene_likelihood: {c.gene_likelihood}, latent_distribution: {c.latent_distribution}.\n"
            f"Training status: {'Trained' if self.is_trained_ else 'Not Trained'}\n"
            f"Engine: cuvi {_cuvi.build_info()['version']}"
        )
