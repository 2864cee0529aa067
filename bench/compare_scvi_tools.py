# Side by side: cuvi and scvi-tools train SCVI on the CPU with the same data, epochs, batch size and
# threads, in alternating runs; prints the best training time of each, cells/s, the ratio and the ELBO.
#
#   python bench/compare_scvi_tools.py --cuvi build/cuvi [--data F.h5ad ...] [--epochs 2] [--threads 2]
#       [--repeats 3] [--batch-size 128] [--json out.json]
#
# Needs a Python (>= 3.12) with scvi-tools; each scvi-tools run is a fresh process (torch's threads set
# before any work), timed around model.train() only, as cuvi reports its own training time.
import argparse
import json
import os
import platform
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = ["pbmc-zheng2017/pbmc_zheng2017_sorted_2140cells.h5ad",
                "pbmc-kang2018/pbmc_kang2018_ctrl_stim_2000cells.h5ad"]


def scvi_worker(args):
    import time

    import torch
    torch.set_num_threads(args.threads)
    import anndata as ad
    import scvi

    a = ad.read_h5ad(args.data)
    scvi.settings.seed = args.seed
    scvi.model.SCVI.setup_anndata(a)
    m = scvi.model.SCVI(a)
    t0 = time.perf_counter()
    m.train(max_epochs=args.epochs, batch_size=args.batch_size, accelerator="cpu", devices=1,
            enable_progress_bar=False)
    seconds = time.perf_counter() - t0
    elbo = float(m.history["elbo_train"].iloc[-1, 0])
    print(json.dumps({"seconds": seconds, "elbo_train": elbo, "n_cells": a.n_obs,
                      "version": scvi.__version__, "torch": torch.__version__}))


def run_scvi(args, data):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--data", data, "--epochs", str(args.epochs),
           "--threads", str(args.threads), "--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               PYTHONWARNINGS="ignore")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_cuvi(args, data):
    cmd = [args.cuvi, "train", "scvi", "--data", data, "--max-epochs", str(args.epochs), "--batch-size",
           str(args.batch_size), "--threads", str(args.threads), "--device", "cpu", "--seed", str(args.seed),
           "--out", os.path.join(args.tmp, "bench.cuvi")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("cuvi failed: " + r.stderr.strip())
    m = re.search(r"trained \S+: \d+ epochs in ([0-9.]+) s .*elbo_train ([0-9.eE+-]+)", r.stderr + r.stdout)
    dev = re.search(r"device: (.*)", r.stderr + r.stdout)
    return {"seconds": float(m.group(1)), "elbo_train": float(m.group(2)), "device": dev.group(1) if dev else ""}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        name = re.search(r"model name\s*:\s*(.*)", text).group(1)
        flags = re.search(r"flags\s*:\s*(.*)", text).group(1).split()
        isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
        return "%s (%s, %d cores)" % (name, isa, os.cpu_count())
    except (OSError, AttributeError):
        return platform.processor()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cuvi", default=os.path.join(HERE, "..", "build", "cuvi"))
    p.add_argument("--data", nargs="+")
    p.add_argument("--shared-data", default=os.path.join(HERE, "..", "..", "shared", "data"))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tmp", default="/tmp")
    p.add_argument("--json")
    args = p.parse_args()
    if args.worker:
        args.data = args.data[0]
        return scvi_worker(args)
    datasets = args.data or [os.path.join(args.shared_data, d) for d in DEFAULT_DATA]
    for d in datasets:
        if not os.path.exists(d):
            sys.exit("no such data file: " + d)
    print("machine: %s; %d threads, %d epochs, batch %d, best of %d alternating runs" %
          (cpu_model(), args.threads, args.epochs, args.batch_size, args.repeats))
    results = []
    for data in datasets:
        runs = {"cuvi": [], "scvi-tools": []}
        for r in range(args.repeats):
            runs["cuvi"].append(run_cuvi(args, data))
            runs["scvi-tools"].append(run_scvi(args, data))
        n = runs["scvi-tools"][0]["n_cells"]
        best = {k: min(v, key=lambda x: x["seconds"]) for k, v in runs.items()}
        row = {"data": os.path.basename(data), "n_cells": n,
               "cuvi_s": [x["seconds"] for x in runs["cuvi"]],
               "scvi_tools_s": [x["seconds"] for x in runs["scvi-tools"]],
               "cuvi_elbo_train": best["cuvi"]["elbo_train"], "scvi_tools_elbo_train": best["scvi-tools"]["elbo_train"],
               "speedup": best["scvi-tools"]["seconds"] / best["cuvi"]["seconds"],
               "cuvi_device": best["cuvi"]["device"], "scvi_tools_version": best["scvi-tools"]["version"]}
        results.append(row)
        print("%s (%d cells): cuvi %.2f s (%.0f cells/s) vs scvi-tools %s %.2f s (%.0f cells/s): %.2fx; "
              "elbo_train %.2f vs %.2f (%+.2f %%)" % (
                  row["data"], n, best["cuvi"]["seconds"], n * args.epochs / best["cuvi"]["seconds"],
                  row["scvi_tools_version"], best["scvi-tools"]["seconds"],
                  n * args.epochs / best["scvi-tools"]["seconds"], row["speedup"], row["cuvi_elbo_train"],
                  row["scvi_tools_elbo_train"],
                  100 * (row["cuvi_elbo_train"] / row["scvi_tools_elbo_train"] - 1)))
        print("  all runs, s: cuvi %s; scvi-tools %s; cuvi on %s" % (
            " ".join("%.2f" % s for s in row["cuvi_s"]), " ".join("%.2f" % s for s in row["scvi_tools_s"]),
            row["cuvi_device"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": cpu_model(), "epochs": args.epochs, "threads": args.threads, "runs": results}, f,
                      indent=1)


if __name__ == "__main__":
    main()
