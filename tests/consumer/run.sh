#!/usr/bin/env bash
# run.sh BUILD_DIR EDGERUN_BINARY: installs BUILD_DIR into a temporary prefix, builds
# tests/consumer against it with find_package(edgerun), runs it on the bundled ViT and checks
# that its output equals the edgerun binary's, byte for byte.
set -euo pipefail
build=$1 binary=$2
here=$(cd "$(dirname "$0")" && pwd)
model="$here/../../models/vit-digits-softmax"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
python3 - "$work/x.npy" <<'PY'
import struct, sys
# A (1, 1, 8, 8) float32 .npy of a fixed ramp, written without numpy.
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }"
hdr = hdr + " " * (-(10 + len(hdr) + 1) % 64) + "\n"
data = b"".join(struct.pack("<f", (i % 17) / 16.0) for i in range(64))
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data)
PY
"$work/build/consumer" "$model" "$work/x.npy" "$work/consumer.npy"
"$binary" run "$model" -i "$work/x.npy" -o "$work/cli.npy" -q -t 1 >/dev/null
cmp "$work/consumer.npy" "$work/cli.npy"
echo "consumer output equals edgerun run's"
