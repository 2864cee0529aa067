"""MULTIVI side by side: cuvi and scvi-tools on one multiome .h5mu at the same epochs.

For each variant (full data; the ATAC of a random 20% of cells hidden; separately the RNA of another
random 20% hidden, those cells then train as unpaired cells), both tools train with their defaults
(cuvi train multivi / scvi.model.MULTIVI) on the same train/validation split, and are scored the same way:
  - latent k-NN accuracy on the cell-type column (k = 15) and batch mixing (k = 50), definitions of
    tools/fixtures/scvi_reference.py;
  - held-out reconstruction: mean per-modality reconstruction loss of the validation cells
    (get_reconstruction_error / cuvi evaluate, one z sample, cells that have the modality);
  - imputation: AUROC of the imputed accessibility (decoder p at the posterior mean) against the hidden
    binarised peaks; Pearson correlation of the imputed expression (px_scale) against the hidden
    counts normalised by their library, on log(1e4 x + 1), flattened, and its mean per gene;
  - time per epoch (training run / epochs, validation included): wall clock, and CPU time (user + system
    of every thread), which a machine shared with other work distorts less.

Run:  python bench/multivi_compare_scvi_tools.py --data SNARE.h5mu --cuvi build/cuvi --epochs 10 \
          --threads 2 --out multivi_compare.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools", "fixtures"))
from scvi_reference import batch_mixing, knn_accuracy  # noqa: E402


def auroc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Mann-Whitney AUROC with average ranks for ties (as sklearn's roc_auc_score)."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=np.float64).ravel()
    t = np.asarray(truth, dtype=bool).ravel()
    r = rankdata(s)
    n1 = t.sum()
    n0 = t.size - n1
    return float((r[t].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def log_norm(x: np.ndarray) -> np.ndarray:
    tot = x.sum(1, keepdims=True)
    tot[tot == 0] = 1
    return np.log1p(1e4 * x / tot)


def expression_correlation(imputed: np.ndarray, hidden_counts: np.ndarray) -> dict:
    a = np.log1p(1e4 * imputed)
    b = log_norm(hidden_counts)
    flat = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    per_gene = []
    for g in range(a.shape[1]):
        if b[:, g].std() > 0 and a[:, g].std() > 0:
            per_gene.append(np.corrcoef(a[:, g], b[:, g])[0, 1])
    return {"pearson_log_flat": flat, "pearson_log_per_gene_mean": float(np.mean(per_gene))}


def make_variants(mdata, tmp: str, frac: float, seed: int) -> dict:
    """Files with the ATAC (RNA) rows of a random `frac` of cells zeroed: those cells become unpaired."""
    rng = np.random.default_rng(seed)
    n = mdata.n_obs
    hide_atac = np.sort(rng.choice(n, int(frac * n), replace=False))
    hide_rna = np.sort(np.random.default_rng(seed + 1).choice(n, int(frac * n), replace=False))
    out = {"full": (None, None, None)}
    for name, mod, cells in (("hide_atac", "atac", hide_atac), ("hide_rna", "rna", hide_rna)):
        m = mdata.copy()
        keep = np.ones(n)
        keep[cells] = 0
        x = sp.csr_matrix(m.mod[mod].X)
        truth = x[cells].toarray()
        m.mod[mod].X = sp.csr_matrix(sp.diags(keep) @ x)
        m.mod[mod].X.eliminate_zeros()
        path = os.path.join(tmp, f"{name}.h5mu")
        m.write(path)
        out[name] = (path, cells, truth)
    return out


def score_latent(z, obs, labels_key, batch_key) -> dict:
    return {"knn_accuracy": knn_accuracy(z, obs[labels_key].to_numpy()),
            "batch_mixing": batch_mixing(z, obs[batch_key].to_numpy())}


def held_out(per_cell: dict, val: np.ndarray, has_rna: np.ndarray, has_atac: np.ndarray) -> dict:
    e = np.asarray(per_cell["expression"])[val]
    a = np.asarray(per_cell["accessibility"])[val]
    return {"heldout_rec_expression": float(e[has_rna[val]].mean()),
            "heldout_rec_accessibility": float(a[has_atac[val]].mean())}


def run_scvi(path, mdata_full, variant, val, args, threads) -> dict:
    import mudata as md
    import torch

    import scvi

    torch.set_num_threads(threads)
    scvi.settings.seed = 0
    mdata = md.read_h5mu(path) if path else mdata_full.copy()
    scvi.model.MULTIVI.setup_mudata(mdata, batch_key=args.batch_key,
                                    modalities={"rna_layer": "rna", "atac_layer": "atac"})
    model = scvi.model.MULTIVI(mdata)
    train = np.setdiff1d(np.arange(mdata.n_obs), val)
    t0, c0 = time.time(), time.process_time()
    model.train(max_epochs=args.epochs, datasplitter_kwargs={"external_indexing": [train, val]},
                enable_progress_bar=False, accelerator="cpu")
    secs, cpu = time.time() - t0, time.process_time() - c0
    res = {"seconds": secs, "seconds_per_epoch": secs / args.epochs, "cpu_seconds_per_epoch": cpu / args.epochs}
    res.update(score_latent(model.get_latent_representation(), mdata.obs, args.labels_key, args.batch_key))
    rec = model.get_reconstruction_error(indices=val, return_mean=False)
    per_cell = {"expression": np.zeros(mdata.n_obs), "accessibility": np.zeros(mdata.n_obs)}
    per_cell["expression"][val] = rec["reconstruction_loss_expression"].numpy()
    per_cell["accessibility"][val] = rec["reconstruction_loss_accessibility"].numpy()
    has_rna = np.asarray(mdata.mod["rna"].X.sum(1)).ravel() > 0
    has_atac = np.asarray(mdata.mod["atac"].X.sum(1)).ravel() > 0
    res.update(held_out(per_cell, val, has_rna, has_atac))
    _, cells, truth = variant
    if cells is not None and path.endswith("hide_atac.h5mu"):
        p = model.get_normalized_accessibility(indices=cells, return_numpy=True)
        res["impute_atac_auroc"] = auroc(p, truth > 0)
    if cells is not None and path.endswith("hide_rna.h5mu"):
        e = model.get_normalized_expression(indices=cells, return_numpy=True)
        res.update({"impute_rna_" + k: v for k, v in expression_correlation(np.asarray(e), truth).items()})
    return res


def run_cuvi(path, variant, val, args, threads, tmp) -> dict:
    import anndata as ad
    import pandas as pd

    cuvi = args.cuvi
    common = ["--device", "cpu", "--threads", str(threads)]
    vfile = os.path.join(tmp, "val.txt")
    np.savetxt(vfile, val, fmt="%d")
    model = os.path.join(tmp, "cuvi_model.cuvi")
    t0 = time.time()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([cuvi, "train", "multivi", "--data", path, "--batch-key", args.batch_key, "--max-epochs",
                          str(args.epochs), "--validation-indices", vfile, "--seed", "0", "--out", model, "--quiet"]
                         + common, check=True, capture_output=True, text=True)
    secs = time.time() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    res = {"seconds": secs, "seconds_per_epoch": secs / args.epochs, "cpu_seconds_per_epoch": cpu / args.epochs}
    lat = os.path.join(tmp, "cuvi_latent.h5ad")
    subprocess.run([cuvi, "latent", "--model", model, "--data", path, "--out", lat, "--quiet"] + common, check=True)
    a = ad.read_h5ad(lat)
    res.update(score_latent(a.obsm["X_multivi"], a.obs, args.labels_key, args.batch_key))
    ev = os.path.join(tmp, "cuvi_eval.csv")
    subprocess.run([cuvi, "evaluate", "--model", model, "--data", path, "--per-cell", "--out", ev, "--quiet"] + common,
                   check=True)
    t = pd.read_csv(ev, index_col=0)
    per_cell = {"expression": t["reconstruction_loss_expression"].to_numpy(),
                "accessibility": t["reconstruction_loss_accessibility"].to_numpy()}
    x = a.X.tocsr()
    n_genes = int((a.var["feature_types"] == "Gene Expression").sum())
    has_rna = np.asarray(x[:, :n_genes].sum(1)).ravel() > 0
    has_atac = np.asarray(x[:, n_genes:].sum(1)).ravel() > 0
    res.update(held_out(per_cell, val, has_rna, has_atac))
    _, cells, truth = variant
    if cells is not None:
        ifile = os.path.join(tmp, "cells.txt")
        np.savetxt(ifile, cells, fmt="%d")
        imp = os.path.join(tmp, "cuvi_imputed.h5ad")
        if path.endswith("hide_atac.h5mu"):
            subprocess.run([cuvi, "accessibility", "--model", model, "--data", path, "--indices", ifile, "--out", imp,
                            "--quiet"] + common, check=True)
            res["impute_atac_auroc"] = auroc(ad.read_h5ad(imp).layers["multivi_accessibility"], truth > 0)
        else:
            subprocess.run([cuvi, "normalize", "--model", model, "--data", path, "--indices", ifile, "--out", imp,
                            "--quiet"] + common, check=True)
            e = np.asarray(ad.read_h5ad(imp).layers["multivi_normalized"])
            res.update({"impute_rna_" + k: v for k, v in expression_correlation(e, truth).items()})
    res["train_stdout_tail"] = out.stderr.strip().splitlines()[-1:] if out.stderr else []
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--cuvi", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-key", default="batch")
    ap.add_argument("--labels-key", default="cell_type")
    ap.add_argument("--tools", default="cuvi,scvi")
    ap.add_argument("--variants", default="full,hide_atac,hide_rna")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    import mudata as md
    import warnings

    warnings.filterwarnings("ignore")
    mdata = md.read_h5mu(a.data)
    results = {"data": a.data, "epochs": a.epochs, "threads": a.threads, "n_cells": int(mdata.n_obs),
               "machine": os.uname().nodename, "runs": {}}
    if os.path.exists(a.out):
        results = json.load(open(a.out))
    with tempfile.TemporaryDirectory() as tmp:
        variants = make_variants(mdata, tmp, 0.2, seed=7)
        val = np.sort(np.random.default_rng(3).choice(mdata.n_obs, int(0.1 * mdata.n_obs), replace=False))
        for name in a.variants.split(","):
            path = variants[name][0] or a.data
            for tool in a.tools.split(","):
                print(f"{tool} {name} ...", flush=True)
                r = (run_cuvi(path, variants[name], val, a, a.threads, tmp) if tool == "cuvi"
                     else run_scvi(variants[name][0], mdata, variants[name], val, a, a.threads))
                results["runs"][f"{tool}/{name}"] = r
                print(json.dumps(r), flush=True)
                json.dump(results, open(a.out, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
