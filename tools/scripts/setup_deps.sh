#!/usr/bin/env bash
# Installs what cuvi needs on Debian/Ubuntu (CMake, a C++17 compiler, HDF5, OpenBLAS, libigraph, GoogleTest,
# Google Benchmark) and looks for the CUDA toolkit; says exactly what is missing when it cannot install.
# Prints nvcc's path, or nothing (with a note) when there is none: the build is then CPU-only.
set -euo pipefail

packages=(cmake make g++ libhdf5-dev libopenblas-openmp-dev libigraph-dev libgtest-dev libbenchmark-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cuvi: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=""; elif command -v sudo >/dev/null; then sudo_cmd="sudo"; else
    echo "cuvi: missing Debian packages: ${missing[*]} (run as root: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  $sudo_cmd apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null || {
    echo "cuvi: apt-get could not install: ${missing[*]}" >&2
    exit 1
  }
fi

nvcc_path=$(command -v nvcc || true)
if [ -z "$nvcc_path" ] && [ -x /usr/local/cuda/bin/nvcc ]; then nvcc_path=/usr/local/cuda/bin/nvcc; fi
if [ -z "$nvcc_path" ]; then
  echo "cuvi: no CUDA toolkit (nvcc) found: building CPU-only (for the CUDA backend install CUDA 13," \
       "https://developer.nvidia.com/cuda-downloads, or Debian's nvidia-cuda-toolkit, and put nvcc on PATH)" >&2
fi
echo "$nvcc_path"
