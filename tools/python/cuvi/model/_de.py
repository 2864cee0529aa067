"""differential_expression with scvi-tools' signature and table: one-vs-rest or group1 vs group2 of an obs
column, vanilla or change mode, computed by the engine's DE (the one behind `cuvi de`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import _cuvi

_KWARGS = {"pseudocounts", "n_samples_overall", "test_mode", "threshold_counts"}


class DEMixin:
    _de_engine = staticmethod(_cuvi.differential_expression)  # the model kind's binding

    def differential_expression(self, adata=None, groupby: str | None = None, group1=None, group2=None,
                                idx1=None, idx2=None, mode: str = "vanilla", delta: float | None = 0.25,
                                batch_size: int | None = None, all_stats: bool = True,
                                batch_correction: bool = False, batchid1=None, batchid2=None,
                                fdr_target: float = 0.05, silent: bool = False, weights: str = "uniform",
                                filter_outlier_cells: bool = False, importance_weighting_kwargs=None,
                                **kwargs) -> pd.DataFrame:
        """scvi-tools' DE table (genes as index; probabilities, Bayes factor, scales, raw-count statistics,
        in change mode the LFC summaries and is_de_fdr_<target>; comparison, group1, group2)."""
        if groupby is None or idx1 is not None or idx2 is not None:
            raise NotImplementedError("cuvi compares groups of an obs column: give groupby (idx1/idx2 are not supported)")
        if batchid1 is not None or batchid2 is not None or filter_outlier_cells or not all_stats:
            raise NotImplementedError("batchid1/batchid2, filter_outlier_cells and all_stats=False are not supported")
        if weights != "uniform":
            raise NotImplementedError(f"weights={weights!r}: importance-weighted DE is not implemented in cuvi")
        if mode not in ("vanilla", "change"):
            raise ValueError(f"mode must be 'vanilla' or 'change', got {mode!r}")
        unknown = sorted(set(kwargs) - _KWARGS)
        if unknown:
            raise TypeError(f"differential_expression() got unsupported arguments {unknown}")
        opt = _cuvi.DeOptions()
        opt.groupby = str(groupby)
        if group1 is not None:
            opt.group1 = [str(g) for g in ([group1] if isinstance(group1, str) or np.isscalar(group1) else group1)]
        if group2 is not None:
            opt.group2 = str(group2)
        opt.mode = mode
        opt.delta = None if delta is None else float(delta)
        opt.fdr_target = float(fdr_target)
        opt.batch_correction = bool(batch_correction)
        if kwargs.get("pseudocounts") is not None:
            opt.pseudocounts = float(kwargs["pseudocounts"])
        for name in ("n_samples_overall", "test_mode", "threshold_counts"):
            if name in kwargs:
                setattr(opt, name, kwargs[name])
        run = self._run(batch_size)
        opt.seed = run.seed
        opt.batch_size = run.batch_size
        adata, data = self._data_for(adata, None, extra_keys=[opt.groupby])
        (index, columns), notes = self._de_engine(self._model, data, opt, run)
        if not silent:
            for note in notes:
                print(f"note: {note}")
        table = pd.DataFrame({name: values for name, values in columns}, index=pd.Index(index))
        return table
