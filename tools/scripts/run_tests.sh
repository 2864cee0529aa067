#!/usr/bin/env bash
# Builds cuvi and runs the whole test suite. Tests labelled gpu run where a CUDA device is present
# and are reported as skipped elsewhere. Real-data tests read ../shared/data when it exists, and must
# run (not skip) when it does; the tests that read outputs back in Python use a venv made here.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/build.sh
chmod +x tools/scripts/setup_python.sh
CUVI_PYTHON=$(tools/scripts/setup_python.sh "$PWD/build/test-venv")
export CUVI_PYTHON CUVI_REQUIRE_PYTHON=1
if [ -d ../shared/data ]; then export CUVI_REQUIRE_DATA=1; fi
echo "cuvi tests: $(build/cuvi version | tr '\n' ';' | sed 's/;$//')"
pyinfo=$($CUVI_PYTHON -c 'import sys; from importlib.metadata import version as v; print(sys.version.split()[0], "anndata", v("anndata"), "scanpy", v("scanpy"))')
if [ -n "${CUVI_REQUIRE_DATA:-}" ]; then data="../shared/data present: real-data tests must run"; else data="no ../shared/data: real-data tests skip"; fi
echo "cuvi tests: python $pyinfo; $data"
cd build
jobs=${CUVI_JOBS:-2}
# One OpenMP/OpenBLAS pool per test process, sized so the parallel jobs share the cores without
# oversubscription (spinning thread pools of two processes on the same cores slow both by far more than 2x).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / jobs > 0 ? $(nproc) / jobs : 1 ))}
ctest --output-on-failure -j"$jobs" "$@"
