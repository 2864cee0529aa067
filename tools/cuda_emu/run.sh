#!/usr/bin/env bash
# Builds cuvi_tests_emu in build-emu (CUVI_CUDA_EMULATION=ON, -j1) and runs the GPU test suites on the host
# CUDA emulator. Arguments go to the test binary (e.g. --gtest_filter='*OpCuda*'); see README.md for options.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${CUVI_EMU_BUILD_DIR:-$root/build-emu}"
# Thread orders to run the suite in: a kernel whose result depends on the order of its threads between
# barriers (a race) fails in one of them (README.md, "Execution model").
orders="${CUVI_EMU_ORDERS:-forward reverse warps}"

cmake -S "$root" -B "$build" -DCUVI_CUDA_EMULATION=ON -DCUVI_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target cuvi_tests_emu -j1

export CUVI_SOURCE_DIR="$root"
cd "$root"
launches="$build/emu_launches.log"
rm -f "$launches"
status=0
for order in $orders; do
  log="$build/emu_tests_$order.log"
  start=$(date +%s)
  set +e
  CUVI_EMU_ORDER="$order" CUVI_EMU_LAUNCH_LOG="$launches" "$build/tools/cuda_emu/cuvi_tests_emu" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  secs=$(( $(date +%s) - start ))
  errors=$(grep -c '^\[cuda-emu\] \(error\|fatal\)' "$log" || true)
  echo "cuda_emu: thread order '$order': exit status $rc, ${secs} s, $errors emulator fault report(s); log $log"
  if [ "$rc" -ne 0 ] || [ "$errors" -ne 0 ]; then status=1; fi
done

# Registers per thread (from ptxas) against the block sizes the tests launched: needs nvcc, not a GPU.
nvcc="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
if [ "${CUVI_EMU_RESOURCES:-1}" != 0 ] && [ -x "$nvcc" ] && [ -s "$launches" ]; then
  python3 "$root/tools/cuda_emu/check_resources.py" "$launches" "$root" "$nvcc" || status=1
else
  echo "cuda_emu: register check skipped (no nvcc, CUVI_EMU_RESOURCES=0 or no launches)"
fi
exit $status
