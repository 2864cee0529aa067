#!/usr/bin/env bash
# The main job: simulate a data set with known cell types and batches, train SCVI on it (CUDA when a
# device is present, else the CPU), write the latent space and print a short summary.
# Results go to demo_out/: sim.h5ad, model.cuvi, latent.h5ad, summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/build.sh >/dev/null
out=demo_out
mkdir -p "$out"
cuvi=build/cuvi
$cuvi simulate --out "$out/sim.h5ad" --n-cells 3000 --n-genes 1000 --n-cell-types 5 --n-batches 2 --seed 0
# 60 epochs instead of the heuristic's 400 keep the CPU run short; the KL warm-up is shortened to match.
$cuvi train scvi --data "$out/sim.h5ad" --batch-key batch --max-epochs "${CUVI_DEMO_EPOCHS:-60}" \
  --n-epochs-kl-warmup 20 --seed 0 --device auto --out "$out/model.cuvi"
$cuvi latent --model "$out/model.cuvi" --data "$out/sim.h5ad" --out "$out/latent.h5ad"
{
  echo "cuvi demo: SCVI on a simulated data set (3000 cells x 1000 genes, 5 cell types, 2 batches)"
  $cuvi info "$out/model.cuvi" | sed -n '/^training:/,$p'
  echo "latent space (obsm['X_scVI'] in $out/latent.h5ad):"
  $cuvi metrics --data "$out/latent.h5ad" --labels-key cell_type --batch-key batch | sed 's/^/  /'
} | tee "$out/summary.txt"
