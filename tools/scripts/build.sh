#!/usr/bin/env bash
# Configures and builds cuvi (Release, CUDA sm_90 by default; CPU-only without nvcc) into build/ with two jobs.
# Usage: tools/scripts/build.sh [extra cmake arguments]
set -euo pipefail
cd "$(dirname "$0")/../.."
nvcc=$(tools/scripts/setup_deps.sh)
arch=${CUVI_CUDA_ARCH:-90}
cuda_args=()
if [ -n "$nvcc" ]; then cuda_args=(-DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$arch"); fi
configure=$(cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${cuda_args[@]}" "$@")
printf '%s\n' "$configure" | grep -E "^-- cuvi: (CUDA|CPU-only) build" >&2 || true  # which build this is
cmake --build build -j"${CUVI_JOBS:-2}"
