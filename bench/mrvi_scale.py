# MRVI scale benchmark: training cells/s and local-sample-distance / DE throughput at S = 10, 100, 1000
# samples, with peak memory, cuvi next to scvi-tools (torch MRVI) on the same simulated cohorts.
#
#   python bench/mrvi_scale.py --cuvi build/cuvi [--samples 10 100 1000] [--cells-per-sample 20]
#       [--min-cells 2000] [--genes 1000] [--epochs 1] [--subset 500] [--mc-samples 10] [--threads 2]
#       [--device cpu|cuda] [--skip-scvi] [--json out.json]
#
# Every measurement is a fresh process timed from outside (wall clock) and its peak resident memory read
# from the kernel (ru_maxrss of the child); cuvi's GPU memory is not included. The cohort: `cuvi simulate`
# with n_donors = S (sample key "donor", covariate "condition"); distances and DE run on
# --subset cells holding every donor (at least one cell of each; grouped by cell type, keep_cell off; DE on
# condition without LFCs). cuvi's analysis times are whole processes (start, model and data load included),
# scvi-tools' the analysis call alone.
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, env=None, may_fail=False):
    """Runs a command in its own process; returns (wall seconds, its peak RSS in MiB, stdout + stderr).
    may_fail: a failing command returns (None, peak MiB, its last output line) instead of stopping."""
    # A fresh interpreter per measurement reports its child's ru_maxrss alone.
    probe = ("import resource,subprocess,sys,time,json;t=time.perf_counter();p=subprocess.run(sys.argv[1:],"
             "capture_output=True,text=True);d=time.perf_counter()-t;"
             "print(json.dumps({'rc':p.returncode,'s':d,'kb':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
             "'out':p.stdout+p.stderr}))")
    p = subprocess.run([sys.executable, "-c", probe] + cmd, capture_output=True, text=True, env=env)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if r["rc"] != 0 and may_fail:
        lines = [l for l in r["out"].strip().splitlines() if l.strip()]
        return None, r["kb"] / 1024.0, lines[-1] if lines else f"exit {r['rc']}"
    if r["rc"] != 0:
        raise SystemExit(f"failed ({r['rc']}): {' '.join(cmd)}\n{r['out']}")
    return r["s"], r["kb"] / 1024.0, r["out"]


def scvi_worker(args):
    import anndata as ad
    import torch

    torch.set_num_threads(args.threads)
    import scvi
    from scvi.external import MRVI

    a = ad.read_h5ad(args.data)
    MRVI.setup_anndata(a, sample_key="donor")
    m = MRVI(a)
    out = {}
    t0 = time.perf_counter()
    if args.task == "train":
        m.train(max_epochs=args.epochs, accelerator="cpu", devices=1, enable_progress_bar=False)
        out["seconds"] = time.perf_counter() - t0
    else:
        # The analyses need a trained model (cuvi's ran on its --epochs model too): train, untimed.
        m.train(max_epochs=args.epochs, accelerator="cpu", devices=1, enable_progress_bar=False)
        sub = ad.read_h5ad(args.subset_file)
        t0 = time.perf_counter()
        if args.task == "distances":
            m.get_local_sample_distances(sub, groupby="cell_type", keep_cell=False)
        else:
            m.differential_expression(sub, sample_cov_keys=["condition"], mc_samples=args.mc_samples)
        out["seconds"] = time.perf_counter() - t0
    out["version"] = scvi.__version__
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuvi", default=os.path.join(HERE, "..", "build", "cuvi"))
    ap.add_argument("--samples", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--cells-per-sample", type=int, default=20)
    ap.add_argument("--min-cells", type=int, default=2000)
    ap.add_argument("--genes", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--subset", type=int, default=500)
    ap.add_argument("--mc-samples", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-scvi", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--workdir", default="/tmp/cuvi_mrvi_scale")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--task", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--subset-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        scvi_worker(args)
        return
    os.makedirs(args.workdir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    results = {"machine": platform.processor() or platform.machine(), "threads": args.threads, "device": args.device,
               "runs": []}
    for S in args.samples:
        n = max(args.min_cells, S * args.cells_per_sample)
        data = os.path.join(args.workdir, f"cohort_S{S}.h5ad")
        model = os.path.join(args.workdir, f"model_S{S}.cuvi")
        run([args.cuvi, "simulate", "--out", data, "--n-cells", str(n), "--n-genes", str(args.genes), "--n-donors",
             str(S), "--n-batches", "1", "--quiet"], env)
        common = ["--device", args.device, "--threads", str(args.threads), "--quiet"]
        r = {"samples": S, "cells": n, "genes": args.genes, "epochs": args.epochs, "subset": max(args.subset, S),
             "mc_samples": args.mc_samples}
        _, mem, out = run([args.cuvi, "train", "mrvi", "--data", data, "--sample-key", "donor", "--max-epochs",
                           str(args.epochs), "--out", model, "--device", args.device, "--threads", str(args.threads)],
                          env)
        t = float(re.search(r"epochs? in ([0-9.]+) s", out).group(1))  # training time as cuvi reports it
        r["cuvi_train_cells_per_s"], r["cuvi_train_peak_mib"] = n * args.epochs / t, mem
        sub = os.path.join(args.workdir, f"cohort_S{S}_sub.h5ad")
        import anndata as ad

        # The analysed subset holds every donor (one cell each first, then random cells), as the DE's design
        # needs each sample's covariates; the same file goes to scvi-tools.
        full = ad.read_h5ad(data)
        rng = np.random.default_rng(0)
        donors = full.obs["donor"].to_numpy()
        first = [int(np.flatnonzero(donors == d)[0]) for d in np.unique(donors)]
        rest = np.setdiff1d(np.arange(full.n_obs), first)
        take = np.sort(np.concatenate([first, rng.choice(rest, max(0, r["subset"] - len(first)), replace=False)]))
        full[take].copy().write_h5ad(sub)
        t, mem, _ = run([args.cuvi, "distances", "--model", model, "--data", sub, "--groupby", "cell_type", "--out",
                         os.path.join(args.workdir, "d.nc")] + common, env)
        r["cuvi_distances_cells_per_s"], r["cuvi_distances_peak_mib"] = r["subset"] / t, mem
        t, mem, _ = run([args.cuvi, "de", "--model", model, "--data", sub, "--sample-cov-keys", "condition",
                         "--mc-samples", str(args.mc_samples), "--out", os.path.join(args.workdir, "de.nc")] + common,
                        env)
        r["cuvi_de_cells_per_s"], r["cuvi_de_peak_mib"] = r["subset"] / t, mem
        if not args.skip_scvi:
            for task in ("train", "distances", "de"):
                wall, mem, out = run([sys.executable, __file__, "--worker", "--task", task, "--data", data, "--epochs",
                                      str(args.epochs), "--subset-file", sub, "--mc-samples",
                                      str(args.mc_samples), "--threads", str(args.threads)], env, may_fail=True)
                if wall is None:  # e.g. torch's per-cell S x S allocation running out of memory
                    r[f"scvi_{task}_failed"], r[f"scvi_{task}_peak_mib"] = out[-300:], mem
                    continue
                # stdout and stderr arrive together: the result is the last line that is a JSON object.
                line = next(l for l in reversed(out.strip().splitlines()) if l.startswith("{") and '"seconds"' in l)
                sec = json.loads(line)["seconds"]
                cells = n * args.epochs if task == "train" else r["subset"]
                r[f"scvi_{task}_cells_per_s"], r[f"scvi_{task}_peak_mib"] = cells / sec, mem
        results["runs"].append(r)
        print(json.dumps(r), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
