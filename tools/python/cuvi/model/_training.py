"""train() with scvi-tools' signature and defaults, run by the engine's trainer: the same split, KL
warm-up, Adam settings and early stopping (each model kind's defaults, as its `cuvi train` uses them);
a tqdm bar; Ctrl-C ends training cleanly with the weights of the last finished epoch."""

from __future__ import annotations

import warnings

import numpy as np

from .. import _cuvi
from .._anndata import register
from .._progress import EpochProgress
from .._settings import settings
from ._base import _device

_PLAN_KWARGS = {"lr", "weight_decay", "eps", "n_epochs_kl_warmup", "n_steps_kl_warmup"}
_TRAINER_KWARGS = {"early_stopping_patience", "early_stopping_min_delta", "early_stopping_monitor",
                   "enable_progress_bar", "check_val_every_n_epoch", "gradient_clip_val"}


def _train_config(tc: _cuvi.TrainConfig, max_epochs, train_size, validation_size, batch_size, early_stopping,
                  datasplitter_kwargs, plan_kwargs, trainer_kwargs) -> tuple[_cuvi.TrainConfig, bool]:
    """The model kind's training defaults `tc` with scvi-tools' train() arguments applied."""
    tc.seed = int(settings.seed)
    tc.max_epochs = 0 if max_epochs is None else int(max_epochs)
    if max_epochs is not None and tc.max_epochs < 1:
        raise ValueError(f"max_epochs must be at least 1, got {max_epochs}")
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 (BatchNorm needs two cells), got {batch_size}")
    tc.batch_size = int(batch_size)
    if train_size is not None:
        if not 0 < train_size <= 1:
            raise ValueError(f"train_size must be in (0, 1], got {train_size}")
        tc.train_size = float(train_size)
    if validation_size is not None and abs((train_size or 0.9) + validation_size - 1) > 1e-9:
        raise ValueError("cuvi validates on every cell it does not train on: validation_size must be 1 - train_size")
    splitter = dict(datasplitter_kwargs or {})
    if "external_indexing" in splitter:
        index = splitter.pop("external_indexing")
        if train_size is not None:
            raise ValueError("external_indexing and train_size both set the split; give one")
        tc.validation_cells = [int(i) for i in np.asarray(index[1]).ravel()]
    if splitter:
        raise ValueError(f"datasplitter_kwargs {sorted(splitter)} are not supported (cuvi: external_indexing)")
    tc.early_stopping = bool(early_stopping)
    plan = dict(plan_kwargs or {})
    unknown = sorted(set(plan) - _PLAN_KWARGS)
    if unknown:
        raise ValueError(f"plan_kwargs {unknown} are not supported (cuvi: {', '.join(sorted(_PLAN_KWARGS))})")
    if "n_steps_kl_warmup" in plan and "n_epochs_kl_warmup" not in plan:
        plan["n_epochs_kl_warmup"] = 0  # as scvi-tools: steps take over when epochs are not given
    for name, value in plan.items():
        setattr(tc, name, value if value is not None else 0)
    kwargs = dict(trainer_kwargs)
    unknown = sorted(set(kwargs) - _TRAINER_KWARGS)
    if unknown:
        raise TypeError(f"train() got unsupported arguments {unknown}")
    for name in ("early_stopping_patience", "early_stopping_min_delta", "early_stopping_monitor",
                 "gradient_clip_val"):
        if name in kwargs:
            setattr(tc, name, kwargs[name])
    check_val = kwargs.get("check_val_every_n_epoch")
    if check_val not in (None, 1):
        raise ValueError("cuvi validates after every epoch (check_val_every_n_epoch=1)")
    return tc, bool(kwargs.get("enable_progress_bar", settings.progress_bar))


class UnsupervisedTrainingMixin:
    def train(self, max_epochs: int | None = None, accelerator: str = "auto", devices="auto",
              train_size: float | None = None, validation_size: float | None = None, shuffle_set_split: bool = True,
              load_sparse_tensor: bool = False, batch_size: int = 128, early_stopping: bool = False,
              datasplitter_kwargs: dict | None = None, plan_kwargs: dict | None = None, datamodule=None,
              **trainer_kwargs):
        """Trains the model (scvi-tools' arguments; max_epochs None: min(round(20000 / n_cells * 400), 400))."""
        if not shuffle_set_split:
            raise ValueError("shuffle_set_split=False is not supported (cuvi draws the split from the seed)")
        if datamodule is not None:
            raise ValueError("datamodule is not supported: cuvi trains on the model's AnnData")
        if self._model is not None:
            warnings.warn("train() on a trained model starts again from new weights (cuvi does not resume)",
                          UserWarning, stacklevel=2)
        tc, show_progress = _train_config(_cuvi.TrainConfig.defaults(self._kind), max_epochs, train_size,
                                          validation_size, batch_size, early_stopping, datasplitter_kwargs,
                                          plan_kwargs, trainer_kwargs)
        self._device = _device(accelerator, devices)
        data = register(self.adata, self._keys, extra_keys=self._extra_keys(), strict_counts=self._strict_counts)
        config = self._config_for(data)
        progress = EpochProgress(show_progress)
        try:
            model = self._train_engine(data, config, tc, progress)
        finally:
            progress.close()
        if model.keyboard_interrupt:
            warnings.warn(f"training interrupted (Ctrl-C) after {model.epochs_run} finished epoch(s): kept the "
                          f"weights of epoch {model.epochs_run}", UserWarning, stacklevel=2)
        self._adopt(model)
        self.train_indices = np.asarray(model.train_indices, dtype=np.int64)
        self.validation_indices = np.asarray(model.validation_indices, dtype=np.int64)
