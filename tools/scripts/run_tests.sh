#!/usr/bin/env bash
# Builds cuvi and runs the whole test suite: the C++ suite (ctest), then the Python package's (pytest,
# tests/python) against the package pip-installed from this tree into a venv made here. Tests labelled
# gpu run where a CUDA device is present and are reported as skipped elsewhere. Real-data tests read
# ../shared/data when it exists, and must run (not skip) when it does. Either suite failing fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
chmod +x tools/scripts/setup_python.sh
# The venv first: once the package has been built in build/, configuring build/ finds nanobind there.
tools/scripts/setup_python.sh "$PWD/build/test-venv" >/dev/null
tools/scripts/build.sh
# The package builds in build/ itself, so only its bindings compile on top of the C++ build.
t0=$(date +%s)
CUVI_PYTHON=$(tools/scripts/setup_python.sh "$PWD/build/test-venv" --install-cuvi "$PWD/build")
echo "cuvi tests: Python package installed into build/test-venv in $(( $(date +%s) - t0 )) s"
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
status=0
ctest --output-on-failure -j"$jobs" "$@" || status=$?
cd ..
t0=$(date +%s)
CUVI_CLI="$PWD/build/cuvi" OMP_NUM_THREADS=$(nproc) "$CUVI_PYTHON" -m pytest tests/python -q -p no:cacheprovider \
  -o console_output_style=classic -rs || status=1
echo "cuvi tests: pytest took $(( $(date +%s) - t0 )) s"
exit "$status"
