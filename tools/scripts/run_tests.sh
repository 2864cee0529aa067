#!/usr/bin/env bash
# Builds cuvi and runs the whole test suite. Tests labelled gpu run where a CUDA device is present
# and are reported as skipped elsewhere. Real-data tests read ../shared/data when it exists.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/build.sh
cd build
ctest --output-on-failure -j"${CUVI_JOBS:-2}" "$@"
