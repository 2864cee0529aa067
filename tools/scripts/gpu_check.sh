#!/usr/bin/env bash
# One prepared GPU check (issue 13), for a fresh machine with one GPU and no internet, within a time budget
# (default 465 s): builds cuvi for sm_90 with every core; times whole SCVI steps (graph vs eager, B 128 and
# 1024, G 2000 and 20000, simulated counts with realistic large values); simulates 1M cells and trains SCVI
# on them with `cuvi train scvi`; runs `ctest -L gpu` and the per-op benchmarks with what is left; writes
# $OUT/gpu_check.json (us/step, cells/s, step-graph node count, test pass/fail counts, phase exit codes and
# times, whether scvi-tools was importable for a side-by-side run) next to every log.
# CUVI_GPU_CHECK_EMULATOR=1 runs the same sequence on the CUDA emulator (build-emu, tiny sizes, phase caps
# x10) to check the script itself where no GPU exists; its timings mean nothing.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${OUT:-$root/gpu_check_out}"
mkdir -p "$out"
emu="${CUVI_GPU_CHECK_EMULATOR:-0}"
budget="${CUVI_GPU_CHECK_BUDGET_S:-$([ "$emu" = 1 ] && echo 7200 || echo 465)}"
jobs="${CUVI_JOBS:-$(nproc)}"
# Phase caps are for the GPU machine; the emulator (and a 2-core host) gets them times CUVI_GPU_CHECK_CAP_SCALE.
scale="${CUVI_GPU_CHECK_CAP_SCALE:-$([ "$emu" = 1 ] && echo 10 || echo 1)}"
t_start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - t_start) )); }
# cap SECONDS: the smaller of SECONDS x scale and what is left of the budget (at least 1)
cap() { local l c=$(( $1 * scale )); l=$(left); [ "$c" -lt "$l" ] && l=$c; [ "$l" -lt 1 ] && l=1; echo "$l"; }
status_file="$out/phases.tsv"
: >"$status_file"
phase() {  # phase NAME SECONDS LOG COMMAND...: runs under a time cap, records rc and wall time
  local name=$1 secs=$2 log=$3
  shift 3
  local t0 rc
  t0=$(date +%s)
  echo "gpu_check: $name (cap $(cap "$secs") s)" >&2
  timeout --kill-after=10 "$(cap "$secs")" "$@" >"$log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >>"$status_file"
  echo "gpu_check: $name exit $rc after $(( $(date +%s) - t0 )) s" >&2
  return $rc
}

if [ "$emu" = 1 ]; then
  build="$root/build-emu"
  cells=2000; genes=200; epochs=1
  bench_shapes=tiny
  configure=(cmake -S . -B "$build" -DCUVI_CUDA_EMULATION=ON -DCUVI_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Release)
  targets=(cuvi_tests_emu cuvi_cli_emu cuvi_bench_emu)
  cli="$build/tools/cuda_emu/cuvi_cli_emu"
  bench="$build/tools/cuda_emu/cuvi_bench_emu"
else
  build="$root/build"
  cells=1000000; genes=2000; epochs=1
  bench_shapes=scvi
  nvcc=$(command -v nvcc || true)
  [ -z "$nvcc" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc
  configure=(cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$nvcc"
             -DCMAKE_CUDA_ARCHITECTURES=90)
  targets=(cuvi cuvi_tests_gpu cuvi_bench)
  cli="$build/cuvi"
  bench="$build/bench/cuvi_bench"
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
  >"$out/gpu.txt" 2>&1
nproc >"$out/cores.txt"

# Order: build, then the figures this check exists for (step benchmark, end-to-end training), then the
# test suite and the per-op benchmark with what is left of the budget.
# 1. Build.
build_ok=0
if phase configure 60 "$out/configure.log" "${configure[@]}" &&
   phase build 300 "$out/build.log" cmake --build "$build" -j"$jobs" --target "${targets[@]}"; then
  build_ok=1
fi
tiny=$([ "$bench_shapes" = tiny ] && echo 1 || echo 0)

# 2. Whole SCVI steps, graph vs eager (each waiting for the device, and pipelined), with the node count.
if [ "$build_ok" = 1 ] && [ -x "$bench" ]; then
  if [ "$tiny" = 1 ]; then
    step_filter='^step/(cuda|cuda_graph)/scvi_N32_G200_H32/'
  else
    step_filter='^step/(cuda|cuda_graph)(_pipelined)?/scvi_N(128|1024)_G(2000|20000)_H128/'
  fi
  phase bench_step 75 "$out/bench_step.log" env CUVI_BENCH_TINY="$tiny" "$bench" --benchmark_filter="$step_filter" \
    --benchmark_min_time=0.2 --benchmark_out_format=json --benchmark_out="$out/bench_step.json"
fi

# 3. End to end: simulate, then train SCVI on the GPU (one epoch, scvi-tools' defaults otherwise).
data="${TMPDIR:-/tmp}/gpu_check_sim.h5ad"
[ "$emu" = 1 ] && data="$build/gpu_check_sim.h5ad"
if [ "$build_ok" = 1 ]; then
  phase simulate 45 "$out/simulate.log" "$cli" simulate --out "$data" --n-cells "$cells" --n-genes "$genes" \
    --seed 1 &&
  phase train 60 "$out/train.log" "$cli" train scvi --data "$data" --max-epochs "$epochs" --device cuda \
    --batch-size 128 --no-early-stopping --out "${TMPDIR:-/tmp}/gpu_check_model.cuvi"
  rm -f "$data"
fi

# 4. GPU tests: ctest -L gpu on a device; on the emulator the GPU suites' tests of this issue's pieces.
if [ "$build_ok" = 1 ]; then
  if [ "$emu" = 1 ]; then
    phase tests 120 "$out/tests.log" env CUVI_SOURCE_DIR="$root" "$build/tools/cuda_emu/cuvi_tests_emu" \
      --gtest_filter='*px_log_prob*:*elbo_mean*:MetricSums*:*Adam*:*Optimizer*:ScviStepGraph*' --gtest_output=json:"$out/tests.json"
  else
    (cd "$build" && phase tests 150 "$out/tests.log" ctest -L gpu -j8 --timeout 120 --output-on-failure)
  fi
fi

# 5. Per op: the fused likelihood and loss next to the unfused ops they replace, the fused layers, and Adam.
if [ "$build_ok" = 1 ] && [ -x "$bench" ] && [ "$(left)" -gt 5 ]; then
  if [ "$tiny" = 1 ]; then
    ops_filter='^cuda/px_log_prob/zinb_N128_G2000/'
  else
    ops_filter='^cuda/(px_log_prob|elbo_mean|zinb_log_prob|nb_log_prob|softmax_rows|fc_layer|normal_latent|linear_pair|adam_step)/'
  fi
  phase bench_ops 40 "$out/bench_ops.log" env CUVI_BENCH_TINY="$tiny" "$bench" --benchmark_filter="$ops_filter" \
    --benchmark_min_time=0.05 --benchmark_out_format=json --benchmark_out="$out/bench_ops.json"
fi

# 6. scvi-tools side by side only if it is importable here (no internet: it usually is not).
scvi_tools="not importable"
for py in python3 /root/scvi-venv/bin/python; do
  if command -v "$py" >/dev/null && "$py" -c 'import scvi' >/dev/null 2>&1; then
    scvi_tools="importable with $py (side-by-side run not attempted within the budget)"
    break
  fi
done

# Summary.
python3 - "$out" "$emu" "$budget" "$(( $(date +%s) - t_start ))" "$scvi_tools" "$cells" "$genes" <<'EOF'
import json, os, re, sys
out, emu, budget, wall, scvi_tools, cells, genes = sys.argv[1:8]
def read(name):
    p = os.path.join(out, name)
    return open(p, errors="replace").read() if os.path.exists(p) else ""
def load(name):
    try:
        return json.loads(read(name))
    except Exception:
        return None
s = {"emulator": emu == "1", "budget_s": int(budget), "wall_s": int(wall), "gpu": read("gpu.txt").strip(),
     "cores": read("cores.txt").strip(), "scvi_tools": scvi_tools, "phases": {}}
for line in read("phases.tsv").splitlines():
    name, rc, secs = line.split("\t")
    s["phases"][name] = {"rc": int(rc), "seconds": int(secs), "timed_out": rc in ("124", "137")}
t = read("tests.log")
m = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", t)
if m:
    s["tests"] = {"passed": int(m.group(3)) - int(m.group(2)), "failed": int(m.group(2)), "total": int(m.group(3))}
gj = load("tests.json")
if gj:
    s["tests"] = {"passed": gj["tests"] - gj["failures"] - gj.get("disabled", 0) - gj.get("errors", 0),
                  "failed": gj["failures"] + gj.get("errors", 0), "total": gj["tests"]}
def bench(name):
    j = load(name)
    rows = []
    for b in (j or {}).get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        r = {"name": b["name"], "us": round(b["real_time"], 3)}
        for k in ("cells/s", "graph_nodes", "nodes", "max_count", "GFLOP/s", "GB/s"):
            if k in b:
                r[k] = round(b[k], 3)
        rows.append(r)
    return rows
s["bench_ops"] = bench("bench_ops.json")
s["bench_step"] = bench("bench_step.json")
for r in s["bench_step"]:
    if "graph_nodes" in r:
        s.setdefault("step_graph_nodes", {})[r["name"]] = r["graph_nodes"]
m = re.search(r"trained (\S+): (\d+) epochs in ([\d.]+) s \((\d+) cells/s\)", read("train.log"))
if m:
    s["train"] = {"model": m.group(1), "cells": int(cells), "genes": int(genes), "epochs": int(m.group(2)),
                  "seconds": float(m.group(3)), "cells_per_s": int(m.group(4))}
json.dump(s, open(os.path.join(out, "gpu_check.json"), "w"), indent=1)
print(json.dumps(s, indent=1))
EOF
