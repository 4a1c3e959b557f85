#!/usr/bin/env bash
# Installs what Blueprint's build and tests need and is missing: Debian packages (only those not
# yet installed; `apt-get update` only when something is missing) and the Python packages the
# checkpoint tests use. Idempotent and quiet; runs as root (CI, developer machines) or with sudo.
set -euo pipefail

debian_packages=(
  cmake g++ make ccache
  libboost-dev catch2 libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libopenmpi-dev openmpi-bin
  python3 python3-pip
)
# The second compiler (scripts/test.sh's clang tier and the libFuzzer harnesses): only with
# --with-clang, so that the main job (scripts/main.sh) does not wait for it.
if [[ ${1:-} == --with-clang ]]; then debian_packages+=(clang-19 libclang-rt-19-dev); fi
python_packages=(numpy ml_dtypes safetensors)

as_root=()
if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi

missing=()
for p in "${debian_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >/dev/null
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import numpy, ml_dtypes, safetensors" 2>/dev/null; then
  echo "setup: installing ${python_packages[*]} (pip)"
  # Debian marks its Python as externally managed (PEP 668); these are test-only packages.
  python3 -m pip install -q --disable-pip-version-check --break-system-packages \
    "${python_packages[@]}" 2>/dev/null ||
    python3 -m pip install -q --disable-pip-version-check "${python_packages[@]}"
fi
