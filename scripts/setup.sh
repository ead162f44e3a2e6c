#!/usr/bin/env bash
# Installs what edgerun needs from Debian (only what is missing) and builds it in ./build.
# Usage: bash scripts/setup.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config libopenblas-dev nlohmann-json3-dev libcli11-dev libstb-dev
      libgtest-dev libbenchmark-dev liburing-dev libprotobuf-dev libonnx-dev libdnnl-dev
      libonnx-testdata python3 python3-venv libyaml-cpp-dev libcpp-httplib-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
