# Side by side: `cuvi benchmark` and scib-metrics' Benchmarker (default settings: pynndescent neighbours)
# score the same embeddings; prints wall time, peak resident memory and the aggregate scores of each.
#
#   python bench/compare_scib_metrics.py --cuvi build/cuvi [--cells 10000 100000] [--threads 2]
#       [--device cpu] [--json out.json] [--keep DIR]
#
# The data are simulated (real sets here have at most a few thousand cells): 10 cell types of unequal
# size, 3 batches, a 10-dimensional "integrated" embedding with a small batch shift left in it and a
# 30-dimensional pre-integration embedding with a large one. Each tool runs as its own process, timed from
# start to exit (file reading included), its CPU time and peak RSS taken from wait4 (CPU time is the fairer
# figure on a shared machine; the load average is printed with each row). Needs scib-metrics in this Python.
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def simulate(n, path, seed=0):
    import anndata as ad
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_types, n_batches = 10, 3
    sizes = rng.dirichlet(np.full(n_types, 2.0))
    labels = rng.choice(n_types, size=n, p=sizes)
    batch = rng.integers(0, n_batches, n)
    centres = rng.normal(scale=3.0, size=(n_types, 30))
    shifts = rng.normal(scale=2.0, size=(n_batches, 30))
    noise = rng.normal(size=(n, 30))
    pre = (centres[labels] + shifts[batch] + noise).astype(np.float32)
    emb = (centres[labels, :10] + 0.2 * shifts[batch, :10] + noise[:, :10]).astype(np.float32)
    obs = pd.DataFrame({"cell_type": pd.Categorical([f"type{v}" for v in labels]),
                        "batch": pd.Categorical([f"batch{v}" for v in batch])},
                       index=[f"cell{i}" for i in range(n)])
    a = ad.AnnData(obs=obs)
    a.obsm["X_emb"] = emb
    a.obsm["X_pre"] = pre
    a.write_h5ad(path)


def scib_worker(args):
    import anndata as ad
    from scib_metrics.benchmark import Benchmarker

    a = ad.read_h5ad(args.data)
    bm = Benchmarker(a, batch_key="batch", label_key="cell_type", embedding_obsm_keys=["X_emb"],
                     pre_integrated_embedding_obsm_key="X_pre", n_jobs=args.threads, progress_bar=False)
    bm.benchmark()
    df = bm.get_results(min_max_scale=False)
    df.to_csv(args.out)


def timed(cmd, env=None):
    """Runs cmd; returns (wall seconds, CPU seconds, peak RSS in MiB, stdout+stderr)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t0
    if status != 0:
        sys.exit(f"{cmd[0]} failed ({status}):\n{out}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, out


def totals(csv_path):
    import pandas as pd

    df = pd.read_csv(csv_path, index_col=0)
    row = df.loc["X_emb"]
    return {k: float(row[k]) for k in df.columns}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuvi", default=os.path.join(HERE, "..", "build", "cuvi"))
    ap.add_argument("--cells", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json")
    ap.add_argument("--keep", help="directory for the simulated files and tables (default: a temporary one)")
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--data")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.worker:
        return scib_worker(args)
    work = args.keep or tempfile.mkdtemp(prefix="cuvi_scib_bench_")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
    from importlib.metadata import version
    rows = []
    for n in args.cells:
        data = os.path.join(work, f"sim_{n}.h5ad")
        simulate(n, data)
        c_csv, s_csv = os.path.join(work, f"cuvi_{n}.csv"), os.path.join(work, f"scib_{n}.csv")
        c_sec, c_cpu, c_mem, c_out = timed([args.cuvi, "benchmark", "--data", data, "--embeddings", "X_emb", "--labels-key",
                                     "cell_type", "--batch-key", "batch", "--pre-integrated", "X_pre", "--device",
                                     args.device, "--threads", str(args.threads), "--out", c_csv], env)
        s_sec, s_cpu, s_mem, _ = timed([sys.executable, os.path.abspath(__file__), "--worker", "--data", data, "--out", s_csv,
                                 "--threads", str(args.threads)], env)
        c, s = totals(c_csv), totals(s_csv)
        rows.append({"cells": n, "cuvi_seconds": c_sec, "cuvi_cpu_seconds": c_cpu, "cuvi_peak_mib": c_mem,
                     "scib_seconds": s_sec, "scib_cpu_seconds": s_cpu, "scib_peak_mib": s_mem, "cuvi": c,
                     "scib_metrics": s, "cuvi_log": c_out.strip(), "load_average": os.getloadavg()})
        print(f"{n:>7} cells  cuvi {c_sec:8.1f} s wall {c_cpu:8.1f} s CPU {c_mem:7.0f} MiB  |  scib-metrics "
              f"{s_sec:8.1f} s wall {s_cpu:8.1f} s CPU {s_mem:7.0f} MiB  |  wall ratio {s_sec / c_sec:6.1f}x  |  "
              f"Total {c['Total']:.4f} vs {s['Total']:.4f}  (load {os.getloadavg()[0]:.1f})", flush=True)
    print("\nper metric (cuvi / scib-metrics):")
    for r in rows:
        print(f"  {r['cells']} cells: " + ", ".join(f"{k} {r['cuvi'][k]:.4f}/{r['scib_metrics'][k]:.4f}"
                                                 for k in r["cuvi"]))
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "threads": args.threads,
            "device": args.device, "scib-metrics": version("scib-metrics"), "python": sys.version.split()[0],
            "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
