#!/usr/bin/env bash
# Creates (once) the Python virtual environment the tests use: anndata, scanpy (with leiden), h5py, xarray
# with netCDF4, pytest, and the Python package's build tools. With --install-cuvi BUILD_DIR it then installs
# the cuvi package from this source tree into it (pip install ., CUDA or CPU-only as the build tree is),
# building in BUILD_DIR so the objects of the C++ build there are reused. Prints the interpreter's path.
# Usage: setup_python.sh VENV_DIR [--install-cuvi BUILD_DIR]
set -euo pipefail
venv=${1:?usage: setup_python.sh VENV_DIR [--install-cuvi BUILD_DIR]}
install_dir=""
if [ "${2:-}" = "--install-cuvi" ]; then install_dir=${3:?--install-cuvi needs the build directory}; fi
packages=(anndata scanpy h5py xarray netCDF4 pandas pytest tqdm igraph leidenalg nanobind scikit-build-core)
stamp="$venv/.cuvi-packages"
if ! [ -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
  # A Python >= 3.10 with the venv module.
  py=""
  for cand in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$cand" >/dev/null &&
       "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      py=$(command -v "$cand")
      break
    fi
  done
  if [ -z "$py" ] || ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "cuvi: installing python3-venv for the test environment" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo_cmd=""; elif command -v sudo >/dev/null; then sudo_cmd="sudo"; else
      echo "cuvi: need Python >= 3.10 with venv (apt-get install python3 python3-venv)" >&2
      exit 1
    fi
    $sudo_cmd apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3 python3-venv python3-dev >/dev/null
    py=$(command -v python3)
  fi

  rm -rf "$venv"
  "$py" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${packages[@]}" >&2 || {
    echo "cuvi: pip could not install ${packages[*]} into $venv (is PyPI reachable?)" >&2
    exit 1
  }
  echo "${packages[*]}" >"$stamp"
fi

if [ -n "$install_dir" ]; then
  # The build tools are in the venv already (no isolated build environment to download); the build
  # directory keeps its generator, so the C++ objects it holds are reused and only the bindings compile.
  src=$(cd "$(dirname "$0")/../.." && pwd)
  generator=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$install_dir/CMakeCache.txt" 2>/dev/null || true)
  CMAKE_GENERATOR=${generator:-${CMAKE_GENERATOR:-}} CMAKE_BUILD_PARALLEL_LEVEL=${CUVI_JOBS:-2} \
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
    -C build-dir="$install_dir" -C cmake.define.CUVI_BUILD_TESTS=ON -C cmake.define.CUVI_BUILD_BENCH=ON \
    "$src" >&2 || {
    echo "cuvi: pip install of the cuvi package from $src failed" >&2
    exit 1
  }
fi
echo "$venv/bin/python"
