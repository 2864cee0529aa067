"""Training history as scvi-tools returns it: a dict of one-column DataFrames indexed by epoch, under
scvi-tools' metric names (its per-epoch loss is ``train_loss``), scvi-tools' keys first."""

from __future__ import annotations

import pandas as pd

_RENAMED = {"train_loss_epoch": "train_loss"}
_SCVI_ORDER = ("train_loss", "elbo_train", "reconstruction_loss_train", "kl_local_train", "kl_global_train",
               "validation_loss", "elbo_validation", "reconstruction_loss_validation", "kl_local_validation",
               "kl_global_validation")


def history_frames(raw: dict) -> dict[str, pd.DataFrame]:
    named = {_RENAMED.get(k, k): v for k, v in raw.items()}
    order = [k for k in _SCVI_ORDER if k in named] + sorted(k for k in named if k not in _SCVI_ORDER)
    return {k: pd.DataFrame({k: named[k]}, index=pd.RangeIndex(len(named[k]), name="epoch")) for k in order}
