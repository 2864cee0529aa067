"""PBMC with SCVI, notebook style: train on the Zheng 2017 sorted PBMCs (2140 cells, 9 FACS-sorted
populations) through cuvi's scvi-tools interface, put the latent in obsm['X_scVI'], run scanpy's
neighbors / UMAP / Leiden on it, draw the UMAP coloured by cell type and the training curves, and test
differential expression between the B-cell and the NK-cell cluster. The script checks its own results.

    python tools/examples/pbmc_scvi_workflow.py [--out DIR] [--max-epochs N] [--engine cuvi|scvi-tools]

The same code runs scvi-tools (``--engine scvi-tools``, where scvi-tools is installed): only the module
that provides ``model.SCVI`` changes. The ARI threshold was set from scvi-tools 1.5.1 on this workflow
(seeds 0-2, the default 50 epochs, CPU); see the README section "Python package" for the numbers.
Data: ../shared/data/pbmc-zheng2017 next to the source tree, or --data FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scanpy as sc  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data", "pbmc-zheng2017", "pbmc_zheng2017_sorted_2140cells.h5ad")
# scvi-tools 1.5.1 on this workflow gave leiden-vs-label ARI 0.389, 0.415, 0.440 for seeds 0, 1, 2 (run with
# --engine scvi-tools); the threshold sits one seed spread below the lowest of them.
MIN_ARI = 0.35
B_MARKERS = {"CD79A", "CD79B", "MS4A1", "CD19", "CD22", "BANK1", "BLK", "FCER2", "TCL1A", "VPREB3", "FCRLA"}
NK_MARKERS = {"NKG7", "GNLY", "GZMB", "PRF1", "KLRD1", "KLRF1", "KLRC1", "FGFBP2", "CST7", "GZMA", "FCGR3A", "SH2D1B"}


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--out", default="pbmc_scvi_out")
    ap.add_argument("--max-epochs", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=("cuvi", "scvi-tools"), default="cuvi")
    ap.add_argument("--min-ari", type=float, default=MIN_ARI)
    return ap.parse_args(argv)


def engine(name: str, seed: int):
    """The module whose .model.SCVI is used: cuvi, or scvi-tools for the side-by-side."""
    if name == "cuvi":
        import cuvi

        cuvi.settings.seed = seed
        return cuvi
    import scvi

    scvi.settings.seed = seed
    return scvi


def cluster_of(adata, label: str) -> str:
    """The Leiden cluster holding most cells of a label."""
    return adata.obs.loc[adata.obs["cell_type"] == label, "leiden"].value_counts().idxmax()


def plot_training_curves(history: dict, path: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("elbo_train", "elbo_validation"):
        if key in history:
            ax.plot(history[key].index, history[key][key].astype(float), label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("negative ELBO per cell")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv) -> int:
    args = parse(argv)
    if not os.path.exists(args.data):
        print(f"data not found: {args.data} (give --data)", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    lib = engine(args.engine, args.seed)
    t_start = time.time()

    # %% Load the counts and register them: raw UMI counts in X, labels in obs['cell_type'].
    adata = sc.read_h5ad(args.data)
    lib.model.SCVI.setup_anndata(adata)

    # %% Train SCVI (scvi-tools' defaults: 10 latent dimensions, ZINB, 128 hidden units).
    model = lib.model.SCVI(adata)
    t0 = time.time()
    model.train(max_epochs=args.max_epochs)
    train_seconds = time.time() - t0

    # %% Latent space, neighbours, UMAP and Leiden clusters (scanpy, as in the scvi-tools tutorials).
    adata.obsm["X_scVI"] = model.get_latent_representation()
    sc.pp.neighbors(adata, use_rep="X_scVI", random_state=args.seed)
    sc.tl.umap(adata, random_state=args.seed)
    sc.tl.leiden(adata, flavor="igraph", n_iterations=2, directed=False, random_state=args.seed)
    ari = adjusted_rand_score(adata.obs["cell_type"], adata.obs["leiden"])

    umap_png = os.path.join(args.out, "umap_cell_type.png")
    fig = sc.pl.umap(adata, color=["cell_type", "leiden"], return_fig=True, show=False)
    fig.savefig(umap_png, dpi=120, bbox_inches="tight")
    plt.close(fig)
    curves_png = os.path.join(args.out, "training_curves.png")
    plot_training_curves(model.history, curves_png)

    # %% Differential expression between the B-cell cluster and the NK-cell cluster.
    b_cluster, nk_cluster = cluster_of(adata, "bcells"), cluster_of(adata, "nk")
    t0 = time.time()
    de = model.differential_expression(groupby="leiden", group1=b_cluster, group2=nk_cluster, mode="change")
    de_seconds = time.time() - t0
    de.to_csv(os.path.join(args.out, "de_bcell_vs_nk_cluster.csv"))
    de = de[de["is_de_fdr_0.05"]]
    up = de.sort_values("lfc_mean", ascending=False).index[:25]  # up in the B-cell cluster
    down = de.sort_values("lfc_mean").index[:25]  # up in the NK cluster

    # %% Checks: clusters follow the sorted populations, DE finds the lineage markers, files exist.
    checks = {
        f"leiden ARI vs cell_type >= {args.min_ari}": ari >= args.min_ari,
        "B-cell and NK-cell cells fall in different clusters": b_cluster != nk_cluster,
        "two or more B-cell markers among the 25 genes most up in the B-cell cluster": len(B_MARKERS & set(up)) >= 2,
        "two or more NK markers among the 25 genes most up in the NK cluster": len(NK_MARKERS & set(down)) >= 2,
        "latent is finite": bool(np.isfinite(adata.obsm["X_scVI"]).all()),
        "training curves decrease": float(model.history["elbo_train"].iloc[-1, 0]) < float(
            model.history["elbo_train"].iloc[0, 0]),
        "pictures written": os.path.getsize(umap_png) > 0 and os.path.getsize(curves_png) > 0,
    }
    summary = {
        "engine": args.engine, "max_epochs": args.max_epochs, "seed": args.seed, "train_seconds": train_seconds,
        "de_seconds": de_seconds, "total_seconds": time.time() - t_start, "ari": ari,
        "n_leiden_clusters": int(adata.obs["leiden"].nunique()), "b_cluster": b_cluster, "nk_cluster": nk_cluster,
        "top_up_in_b_cluster": list(up[:10]), "top_up_in_nk_cluster": list(down[:10]),
        "umap_png": umap_png, "training_curves_png": curves_png, "checks": checks,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    print(json.dumps({k: v for k, v in summary.items() if k != "checks"}, default=str))
    failed = [name for name, ok in checks.items() if not ok]
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
