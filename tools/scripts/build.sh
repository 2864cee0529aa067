#!/usr/bin/env bash
# Configures and builds cuvi (Release, CUDA sm_90 by default) into build/ with two parallel jobs.
# Usage: tools/scripts/build.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/../.."
nvcc=$(tools/scripts/setup_deps.sh)
arch=${CUVI_CUDA_ARCH:-90}
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$arch" "$@" >/dev/null
cmake --build build -j"${CUVI_JOBS:-2}"
