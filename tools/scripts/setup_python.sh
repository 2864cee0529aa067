#!/usr/bin/env bash
# Creates (once) the Python virtual environment the tests read cuvi's outputs back with: anndata, scanpy,
# h5py, xarray with netCDF4, pytest, igraph and leidenalg (sc.tl.leiden). Prints the interpreter's path.
# Usage: setup_python.sh VENV_DIR
set -euo pipefail
venv=${1:?usage: setup_python.sh VENV_DIR}
packages=(anndata scanpy h5py xarray netCDF4 pandas pytest igraph leidenalg)
stamp="$venv/.cuvi-packages"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${packages[*]}" ]; then
  echo "$venv/bin/python"
  exit 0
fi

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
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3 python3-venv >/dev/null
  py=$(command -v python3)
fi

rm -rf "$venv"
"$py" -m venv "$venv" >&2
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${packages[@]}" >&2 || {
  echo "cuvi: pip could not install ${packages[*]} into $venv (is PyPI reachable?)" >&2
  exit 1
}
echo "${packages[*]}" >"$stamp"
echo "$venv/bin/python"
