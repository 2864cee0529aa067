"""scvi-tools' MULTIVI training throughput on the data of bench/bench_multivi.cpp, for side-by-side numbers.

For each peak count: `cuvi simulate --multiome` (1024 cells, 2000 genes, the simulator's ATAC, two batches),
split into a MuData (rna, atac), MULTIVI with every default (n_hidden 128, n_latent 11, adversarial
classifier), one thread, 3 epochs on every cell (train_size 1, no validation); reports cells per CPU
second and per wall second of model.train (data loading included, as it is part of scvi-tools' step).

Run:  python bench/multivi_peaks_scvi_tools.py --cuvi build/cuvi --peaks 25000 100000 200000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cuvi", required=True)
    ap.add_argument("--peaks", type=int, nargs="+", default=[25000, 100000, 200000])
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import anndata as ad
    import mudata as md
    import torch

    import scvi

    torch.set_num_threads(1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for peaks in a.peaks:
            path = os.path.join(tmp, f"sim_{peaks}.h5ad")
            subprocess.run([a.cuvi, "simulate", "--multiome", "--n-cells", "1024", "--n-genes", "2000", "--atac-peaks",
                            str(peaks), "--n-batches", "2", "--out", path, "--quiet"], check=True)
            x = ad.read_h5ad(path)
            genes = (x.var["feature_types"] == "Gene Expression").to_numpy()
            mdata = md.MuData({"rna": x[:, genes].copy(), "atac": x[:, ~genes].copy()})
            mdata.obs["batch"] = x.obs["batch"].values
            scvi.settings.seed = 0
            scvi.model.MULTIVI.setup_mudata(mdata, batch_key="batch", modalities={"rna_layer": "rna", "atac_layer": "atac"})
            model = scvi.model.MULTIVI(mdata)
            t0, c0 = time.time(), time.process_time()
            model.train(max_epochs=a.epochs, train_size=1.0, early_stopping=False, enable_progress_bar=False,
                        accelerator="cpu")
            wall, cpu = time.time() - t0, time.process_time() - c0
            cells = a.epochs * mdata.n_obs
            r = {"peaks": peaks, "cells_per_cpu_second": cells / cpu, "cells_per_wall_second": cells / wall,
                 "n_hidden": int(model.module.n_hidden), "n_latent": int(model.module.n_latent),
                 "scvi_version": scvi.__version__}
            print(json.dumps(r), flush=True)
            results.append(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
