#!/usr/bin/env python3
# The accuracy table of docs/BENCHMARKS.md ("Attention variants and q16 on digits"): test-split
# accuracy of the digits ViTs measured by edgerun itself, for every checkpoint x attention variant
# x precision, beside PyTorch's accuracy of the same checkpoint (metrics.json, computed by
# scripts/train_vit_digits.py with the attention it was trained with). Checkpoints are grouped by
# the attention they were trained with; each group is reported as mean +- 95% t-interval over
# its seeds, with the per-seed values alongside. A checkpoint without a q16 sidecar is
# calibrated first on its calib_x.npy (training images).
#   python3 scripts/digits_accuracy.py --edgerun build/edgerun \
#       --models models/vit-digits-softmax /tmp/edgerun-digits/vit-digits-softmax-seed{1,2} \
#                models/vit-digits-taylor /tmp/edgerun-digits/vit-digits-taylor-seed{1,2}
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import stats

VARIANTS = ["softmax", "taylor", "sima", "shiftmax"]
PRECISIONS = ["fp32", "q16"]


def edgerun_accuracy(exe, model, variant, precision, tmp):
    out = os.path.join(tmp, "logits.npy")
    cmd = [exe, "run", model, "--attention", variant, "--precision", precision,
           "--input", os.path.join(model, "test_x.npy"), "--output-npy", out, "--quiet", "--threads", "2"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    logits = np.load(out)
    y = np.load(os.path.join(model, "test_y.npy"))
    assert logits.shape == (len(y), 10), logits.shape
    return float((logits.argmax(1) == y).mean()), logits


def mean_ci(xs):
    xs = np.asarray(xs, dtype=np.float64) * 100
    if len(xs) < 2:
        return float(xs.mean()), float("nan")
    half = stats.t.ppf(0.975, len(xs) - 1) * xs.std(ddof=1) / math.sqrt(len(xs))
    return float(xs.mean()), float(half)


def fmt(xs):
    m, h = mean_ci(xs)
    per = ", ".join(f"{100 * x:.2f}" for x in xs)
    return f"{m:.2f} ± {h:.2f} ({per})" if not math.isnan(h) else f"{m:.2f} ({per})"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--edgerun", default=os.environ.get("EDGERUN", "build/edgerun"))
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.models:
            metrics = json.load(open(os.path.join(m, "metrics.json")))
            if not os.path.exists(os.path.join(m, "edgerun_q16.json")):
                subprocess.run([args.edgerun, "convert", m, "--sidecar-only", "--calib",
                                os.path.join(m, "calib_x.npy")], check=True, stdout=subprocess.DEVNULL)
            r = {"model": m, "trained": metrics["attention"], "seed": metrics["seed"],
                 "pytorch": metrics["test_accuracy"], "edgerun": {}, "q16_vs_fp32": {}}
            for v in VARIANTS:
                logits = {}
                for p in PRECISIONS:
                    r["edgerun"][f"{v}/{p}"], logits[p] = edgerun_accuracy(args.edgerun, m, v, p, tmp)
                # How far q16 moves the logits, and how many predictions it changes.
                r["q16_vs_fp32"][v] = {
                    "max_abs_logit_diff": float(np.abs(logits["q16"] - logits["fp32"]).max()),
                    "max_abs_logit": float(np.abs(logits["fp32"]).max()),
                    "changed_predictions": int((logits["q16"].argmax(1) != logits["fp32"].argmax(1)).sum())}
            print(f"{m}: trained {r['trained']} seed {r['seed']}: pytorch {100 * r['pytorch']:.2f}, "
                  + ", ".join(f"{k} {100 * a:.2f}" for k, a in r["edgerun"].items()), file=sys.stderr)
            results.append(r)
    if args.json_out:
        json.dump(results, open(args.json_out, "w"), indent=1)
    # Markdown: one row per (trained attention, precision), one column per run-time variant.
    print("| trained with | precision | PyTorch (trained attention, fp32) | "
          + " | ".join(f"edgerun `{v}`" for v in VARIANTS) + " |")
    print("|---|---|---|" + "---|" * len(VARIANTS))
    for trained in sorted({r["trained"] for r in results}, key=VARIANTS.index):
        group = sorted((r for r in results if r["trained"] == trained), key=lambda r: r["seed"])
        for p in PRECISIONS:
            torch_cell = fmt([r["pytorch"] for r in group]) if p == "fp32" else ""
            cells = [fmt([r["edgerun"][f"{v}/{p}"] for r in group]) for v in VARIANTS]
            print(f"| {trained} (seeds {', '.join(str(r['seed']) for r in group)}) | {p} | {torch_cell} | "
                  + " | ".join(cells) + " |")
    print()
    print("q16 against fp32, over every checkpoint and test image: max |logit difference| "
          "(largest |logit|), predictions changed")
    print()
    print("| trained with | " + " | ".join(f"`{v}`" for v in VARIANTS) + " |")
    print("|---|" + "---|" * len(VARIANTS))
    for trained in sorted({r["trained"] for r in results}, key=VARIANTS.index):
        group = [r for r in results if r["trained"] == trained]
        cells = []
        for v in VARIANTS:
            d = max(r["q16_vs_fp32"][v]["max_abs_logit_diff"] for r in group)
            big = max(r["q16_vs_fp32"][v]["max_abs_logit"] for r in group)
            changed = sum(r["q16_vs_fp32"][v]["changed_predictions"] for r in group)
            cells.append(f"{d:.4f} ({big:.1f}), {changed} of {len(group) * 360}")
        print(f"| {trained} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
