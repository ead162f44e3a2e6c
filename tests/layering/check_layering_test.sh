#!/usr/bin/env bash
# scripts/check_layering.py passes on this tree and, on a copy given one forbidden include,
# fails naming the file, the line and the rule.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$src/scripts/check_layering.py" --root "$src"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cmake" "$work/src/core" "$work/src/models" "$work/src/runtime" "$work/include/edgerun"
cp "$src/cmake/layering.txt" "$work/cmake/"
for h in $(sed -n 's/^public [^:]*://p' "$src/cmake/layering.txt"); do touch "$work/include/edgerun/$h"; done
touch "$work/src/core/tensor.h" "$work/src/runtime/engine.h"
printf '#include "core/tensor.h"\n\n#include "runtime/engine.h"\n' > "$work/src/models/bad.cpp"
if out=$(python3 "$src/scripts/check_layering.py" --root "$work" 2>&1); then
  echo "check_layering.py passed a tree where models includes runtime" >&2
  exit 1
fi
want='src/models/bad.cpp:3: #include "runtime/engine.h": models may not use runtime'
if ! grep -qF "$want" <<<"$out"; then
  echo "check_layering.py failed without naming the line; it said:" >&2
  echo "$out" >&2
  exit 1
fi
echo "check_layering.py names the forbidden include: $want"
