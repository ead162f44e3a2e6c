#!/usr/bin/env bash
# run.sh BUILD_DIR EDGERUN_BINARY: installs BUILD_DIR into a temporary prefix, builds
# tests/consumer against it with find_package(edgerun), runs it on the bundled ViT's test images
# and checks that its logits equal the edgerun binary's, byte for byte.
set -euo pipefail
build=$1 binary=$2
here=$(cd "$(dirname "$0")" && pwd)
model="$here/../../models/vit-digits-softmax"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
"$work/build/consumer" "$model" "$model/test_x.npy" "$work/consumer.npy"
"$binary" run "$model" -i "$model/test_x.npy" -o "$work/cli.npy" -q -t 1 >/dev/null
cmp "$work/consumer.npy" "$work/cli.npy"
echo "consumer output equals edgerun run's"
