# Side by side: cuvi and regularizedvi train AmbientRegularizedSCVI / RegularizedMultimodalVI on the CPU with the
# same data, split, settings, epochs and threads, in alternating runs (a fresh process each); prints the best
# training time of each, seconds per epoch, the ratio, the ELBOs and (with --quality) the latent metrics.
#
#   python bench/compare_regularizedvi.py --cuvi build/cuvi [--run pbmc_zheng2017_sorted ...]
#       [--setting defaults|wide ...] [--epochs 2] [--threads 1] [--repeats 3] [--seed 0] [--quality]
#       [--side both|cuvi|regularizedvi] [--json out.json]
#
# Data sets, settings ("defaults": n_hidden 128, n_latent 10, batch 128; "wide": 512 / 128 / 1024) and the split
# (validation = every 10th cell) are those of tools/fixtures/regvi_reference.py, whose loader and metrics this
# reuses. The SNARE-seq run trains on every 5th cell: that subset is written once to --tmp as an .h5mu for cuvi.
# regularizedvi is timed around model.train() only, as cuvi reports its own training time.
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools", "fixtures"))
from compare_scvi_tools import cpu_model  # noqa: E402
from regvi_reference import RUNS, SETTINGS, load, validation_cells  # noqa: E402

CUVI_MODEL = {"single": "regularized-scvi", "multimodal": "regularized-multimodal"}


def latent_scores(spec, adata, z):
    from scvi_reference import batch_mixing, knn_accuracy
    out = {"knn_accuracy_k15": knn_accuracy(z, adata.obs[spec["labels_key"]].astype(str).to_numpy(), 15)}
    if spec["batch_key"]:
        out["batch_mixing_k50"] = batch_mixing(z, adata.obs[spec["batch_key"]].astype(str).to_numpy(), 50)
    return out


def rvi_worker(args):
    import time
    import warnings

    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    import regularizedvi
    import scvi

    spec, setting = RUNS[args.run[0]], SETTINGS[args.setting[0]]
    adata, batch_key = load(spec, args.shared_data)
    val = validation_cells(adata.n_obs)
    train = np.setdiff1d(np.arange(adata.n_obs), val)
    scvi.settings.seed = args.seed
    if spec["kind"] == "single":
        cls = regularizedvi.AmbientRegularizedSCVI
        cls.setup_anndata(adata, batch_key=batch_key)
    else:
        cls = regularizedvi.RegularizedMultimodalVI
        cls.setup_mudata(adata, modalities={"rna": "rna", "atac": "atac"}, batch_key=batch_key)
    m = cls(adata, n_hidden=setting["n_hidden"], n_latent=setting["n_latent"])
    t0 = time.perf_counter()
    m.train(max_epochs=args.epochs, batch_size=setting["batch_size"], accelerator="cpu", devices=1,
            enable_progress_bar=False, check_val_every_n_epoch=args.epochs,
            datasplitter_kwargs={"external_indexing": [train, val, np.array([], dtype=np.int64)]})
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "elbo_train": float(m.history["elbo_train"].iloc[-1, 0]),
           "elbo_validation": float(m.history["elbo_validation"].iloc[-1, 0]), "n_cells": int(adata.n_obs),
           "device": "cpu, %d torch threads" % torch.get_num_threads(),
           "version": "regularizedvi %s, scvi-tools %s" % (getattr(regularizedvi, "__version__", "?"),
                                                           scvi.__version__)}
    if args.quality:
        out.update(latent_scores(spec, adata, np.asarray(m.get_latent_representation())))
    print(json.dumps(out))


def run_rvi(args, name, setting):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--run", name, "--setting", setting,
           "--epochs", str(args.epochs), "--threads", str(args.threads), "--seed", str(args.seed),
           "--shared-data", args.shared_data] + (["--quality"] if args.quality else [])
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               PYTHONWARNINGS="ignore")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [x for x in r.stdout.splitlines() if x.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = r.stderr.strip().splitlines()[-1:] or ["(no output)"]
        sys.exit("regularizedvi failed on %s/%s: %s" % (name, setting, tail[0]))
    return json.loads(lines[-1])


def cuvi_data(args, name):
    """The file cuvi trains on, and the data as loaded (for the metrics): the subset is written once."""
    spec = RUNS[name]
    adata, _ = load(spec, args.shared_data)
    path = os.path.join(args.shared_data, spec["file"])
    if spec.get("subset_every"):
        path = os.path.join(args.tmp, "%s.h5mu" % name)
        if not os.path.exists(path):
            adata.write(path)
    return path, adata


def run_cuvi(args, name, setting, data, adata):
    spec, s = RUNS[name], SETTINGS[setting]
    val = os.path.join(args.tmp, "%s_validation.txt" % name)
    with open(val, "w") as f:
        f.write("".join("%d\n" % i for i in validation_cells(adata.n_obs)))
    model = os.path.join(args.tmp, "%s_%s.cuvi" % (name, setting))
    cmd = [args.cuvi, "train", CUVI_MODEL[spec["kind"]], "--data", data, "--n-hidden", str(s["n_hidden"]),
           "--n-latent", str(s["n_latent"]), "--batch-size", str(s["batch_size"]), "--max-epochs", str(args.epochs),
           "--validation-indices", val, "--threads", str(args.threads), "--device", "cpu", "--seed", str(args.seed),
           "--out", model]
    if spec["batch_key"]:  # without a batch column cuvi trains one group (regularizedvi needs a constant column)
        cmd += ["--batch-key", spec["batch_key"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    text = r.stderr + r.stdout
    if "unknown model" in text:
        sys.exit("cuvi at %s cannot train '%s' yet (%s); build a cuvi with RegularizedVI, or run --side "
                 "regularizedvi" % (args.cuvi, CUVI_MODEL[spec["kind"]], text.strip().splitlines()[-1]))
    if r.returncode != 0:
        sys.exit("cuvi failed on %s/%s: %s" % (name, setting, (text.strip().splitlines() or ["(no output)"])[-1]))
    m = re.search(r"trained \S+: \d+ epochs in ([0-9.]+) s .*elbo_train ([0-9.eE+-]+)"
                  r"(?:, elbo_validation ([0-9.eE+-]+))?", text)
    if not m:
        sys.exit("cuvi's training summary line not found in its output: " + text.strip()[-300:])
    dev = re.search(r"device: (.*)", text)
    out = {"seconds": float(m.group(1)), "elbo_train": float(m.group(2)),
           "elbo_validation": float(m.group(3)) if m.group(3) else None, "device": dev.group(1) if dev else "cpu"}
    if args.quality:
        import anndata
        import numpy as np
        lat = os.path.join(args.tmp, "%s_%s_latent.h5ad" % (name, setting))
        subprocess.run([args.cuvi, "latent", "--model", model, "--data", data, "--out", lat, "--quiet"], check=True)
        obsm = anndata.read_h5ad(lat).obsm  # the joint latent (multimodal: also X_latent_<m> slices)
        key = next((k for k in ("X_latent_joint", "X_scVI") if k in obsm), None)
        if key is None:
            sys.exit("cuvi latent wrote none of X_latent_joint / X_scVI: %s" % sorted(obsm))
        out.update(latent_scores(spec, adata, np.asarray(obsm[key])))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cuvi", default=os.path.join(HERE, "..", "build", "cuvi"))
    p.add_argument("--run", action="append", choices=list(RUNS))
    p.add_argument("--setting", action="append", choices=list(SETTINGS))
    p.add_argument("--shared-data", default=os.path.join(HERE, "..", "..", "shared", "data"))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quality", action="store_true", help="also latent 15-NN accuracy and batch mixing")
    p.add_argument("--side", choices=["both", "cuvi", "regularizedvi"], default="both")
    p.add_argument("--tmp", default="/tmp")
    p.add_argument("--json")
    args = p.parse_args()
    if args.worker:
        return rvi_worker(args)
    if not os.path.isdir(args.shared_data):
        sys.exit("no data directory: " + args.shared_data)
    if args.side != "regularizedvi" and not os.access(args.cuvi, os.X_OK):
        sys.exit("no cuvi executable at %s (give --cuvi, or --side regularizedvi)" % args.cuvi)
    runs, settings = args.run or list(RUNS), args.setting or list(SETTINGS)
    sides = ["cuvi", "regularizedvi"] if args.side == "both" else [args.side]
    print("machine: %s; %d threads, %d epochs, best of %d alternating runs" %
          (cpu_model(), args.threads, args.epochs, args.repeats))
    results = []
    for name in runs:
        data, adata = cuvi_data(args, name) if "cuvi" in sides else (None, None)
        for setting in settings:
            tries = {s: [] for s in sides}
            for _ in range(args.repeats):
                for side in sides:
                    tries[side].append(run_cuvi(args, name, setting, data, adata) if side == "cuvi"
                                       else run_rvi(args, name, setting))
            best = {k: min(v, key=lambda x: x["seconds"]) for k, v in tries.items()}
            row = {"run": name, "setting": setting, "settings": SETTINGS[setting], "epochs": args.epochs}
            for side in sides:
                key = side.replace("regularizedvi", "rvi")
                row[key + "_s"] = [x["seconds"] for x in tries[side]]
                row[key + "_s_per_epoch"] = best[side]["seconds"] / args.epochs
                row[key + "_best"] = best[side]
            if len(sides) == 2:
                row["speedup"] = best["regularizedvi"]["seconds"] / best["cuvi"]["seconds"]
            results.append(row)
            print("%s %s (%s):" % (name, setting, ", ".join("%s %s" % kv for kv in SETTINGS[setting].items())))
            for side in sides:
                b = best[side]
                extra = "".join(", %s %.3f" % (k, b[k]) for k in ("knn_accuracy_k15", "batch_mixing_k50") if k in b)
                val = b.get("elbo_validation")
                print("  %-13s best %.2f s (%.2f s/epoch), elbo_train %.2f, elbo_validation %s%s; all runs, s: %s" % (
                    side, b["seconds"], b["seconds"] / args.epochs, b["elbo_train"],
                    "%.2f" % val if val is not None else "-", extra,
                    " ".join("%.2f" % x["seconds"] for x in tries[side])))
            if "speedup" in row:
                print("  cuvi %.2fx" % row["speedup"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": cpu_model(), "epochs": args.epochs, "threads": args.threads,
                       "repeats": args.repeats, "runs": results}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
