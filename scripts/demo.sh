#!/usr/bin/env bash
# edgerun's main job, end to end on a fresh machine:
#  1. set up and build (scripts/setup.sh);
#  2. classify bundled digit images with the bundled ViTs trained on scikit-learn's digits (softmax
#     and Taylor attention), in fp32 and in 16-bit fixed point;
#  3. show the memory budget at work: a 420 MB BERT-base (random weights from `edgerun synth`,
#     generated once and cached) run resident, then streamed by pipeload at 10% of its weights,
#     with peak memory and the ratio to the physical bound (B from `edgerun iobench`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ER=./build/edgerun

echo
echo "== 1. digits ViT (models/vit-digits-softmax): one image of each digit =="
M=models/vit-digits-softmax
$ER run $M --input $M/samples/one_of_each.npy --labels $M/samples/one_of_each_labels.npy --top 1
echo
echo "== 2. the whole test split (360 images): attention variants and 16-bit fixed point =="
for spec in "vit-digits-softmax softmax fp32" "vit-digits-softmax softmax q16" \
            "vit-digits-taylor taylor fp32" "vit-digits-taylor taylor q16" "vit-digits-softmax shiftmax q16"; do
  set -- $spec
  printf '%-20s attention %-9s precision %-5s ' "$1" "$2" "$3"
  $ER run models/$1 --input models/$1/test_x.npy --labels models/$1/test_y.npy --quiet \
      --attention "$2" --precision "$3" 2>/dev/null
done

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/edgerun/models"
BERT="$CACHE/bert-base"
if [[ ! -f "$BERT/config.json" ]]; then
  echo
  echo "== generating a random-weight bert-base once into $BERT =="
  $ER synth bert-base --out "$BERT" --force
fi
IDS=$(seq -s, 1000 1127)   # 128 tokens
echo
echo "== 3. the storage's cold read bandwidth B (edgerun iobench), recorded for the physical bound =="
$ER iobench "$BERT/model.safetensors" --bytes 256M --depths 32 --block-sizes 4M 2>&1 | grep -E "recorded|read_bytes_per_s"
echo
echo "== 3. bert-base (sequence 128), resident: all weights in memory =="
$ER run "$BERT" --ids "$IDS" --executor resident --threads 2 >/dev/null
echo
echo "== 3. bert-base, streamed by pipeload inside a budget of 10% of its weights =="
$ER run "$BERT" --ids "$IDS" --budget 10% --executor pipeload --threads 2 >/dev/null
