#!/usr/bin/env python3
# Cold streaming of ONNX CNNs (scripts/onnx_zoo.py) under a budget: for each model and budget,
# the model's files are evicted from the page cache (fsync + posix_fadvise DONTNEED), then one
# `edgerun run --budget B --json` process; reported: latency, peak RSS against budget +
# fixed baseline, bytes read, the run's latency over its physical bound per pass
# (max(S/B, C) + fill, as edgerun reports it: S the streamed bytes, B the read bandwidth edgerun
# has on record, C the run's own compute), and whether the outputs are bit-identical to a
# resident run's. "min" as a budget is the planner's minimum budget for the model.
#   python3 bench/onnx_streaming.py --zoo /tmp/zoo resnet101:10%,25% vgg19:25% yolov3:25%,min
#       [--rounds 3] [--edgerun build/edgerun] [--json docs/results/onnx_streaming.json]
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np


def evict(folder):
    for f in glob.glob(os.path.join(folder, "*")):
        if os.path.isfile(f):
            fd = os.open(f, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def run(binary, d, budget, out_dir):
    cmd = [binary, "run", d, "--input", os.path.join(d, "x.npy"), "--json", "--output-dir", out_dir]
    if budget:
        cmd += ["--budget", budget]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return json.loads(r.stdout), None


def outputs(folder):
    return {f: np.load(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}


def main():
    ap = argparse.ArgumentParser(description="cold streaming of ONNX CNNs under a budget")
    ap.add_argument("cases", nargs="+", help="MODEL:BUDGET[,BUDGET...] (a size, N%%, or min)")
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--edgerun", default="build/edgerun")
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in a.cases:
            name, budgets = case.split(":")
            d = os.path.join(a.zoo, name)
            ref_dir = os.path.join(tmp, name + "-resident")
            os.makedirs(ref_dir)
            ref_json, err = run(a.edgerun, d, None, ref_dir)
            if err:
                sys.exit(f"{name}: {err}")
            ref = outputs(ref_dir)
            plan = json.loads(subprocess.run([a.edgerun, "plan", d, "--json"], capture_output=True, text=True,
                                             check=True).stdout)
            for b in budgets.split(","):
                budget = str(plan["min_budget_bytes"]) if b == "min" else b
                lat, ratio, peak = [], [], []
                row = {"model": name, "budget": b, "weight_bytes": plan["weight_bytes"],
                       "min_budget_bytes": plan["min_budget_bytes"]}
                for _ in range(a.rounds):
                    out_dir = tempfile.mkdtemp(dir=tmp)
                    evict(d)
                    j, err = run(a.edgerun, d, budget, out_dir)
                    if err:
                        row["error"] = err
                        break
                    got = outputs(out_dir)
                    row["bit_identical"] = all(np.array_equal(got[k], ref[k]) for k in ref)
                    lat.append(j["latency_ms"])
                    ratio.append(j["latency_ms_per_pass"] / j["bound_ms_per_pass"] if j["bound_ms_per_pass"] else float("nan"))
                    peak.append(j["peak_rss_bytes"])
                    row.update({"executor": j["executor"], "budget_bytes": j["budget_bytes"],
                                "baseline_bytes": j["fixed_baseline_bytes"], "bytes_read": j["bytes_read"],
                                "read_bandwidth_source": j["read_bandwidth_source"]})
                if lat:
                    row.update({"latency_ms": statistics.median(lat), "ratio_to_bound": statistics.median(ratio),
                                "peak_rss_bytes": max(peak), "latencies": lat})
                    row["within_budget_plus_baseline"] = row["peak_rss_bytes"] <= row["budget_bytes"] + row["baseline_bytes"]
                    print(f"{name:10s} {b:>5s} {row['executor']:9s} {row['latency_ms']:8.1f} ms  ratio {row['ratio_to_bound']:.2f}"
                          f"  peak {row['peak_rss_bytes'] / 2**20:7.1f} MiB (budget {row['budget_bytes'] / 2**20:.1f}"
                          f" + baseline {row['baseline_bytes'] / 2**20:.1f})  bits {'=' if row['bit_identical'] else 'DIFFER'}",
                          flush=True)
                else:
                    print(f"{name:10s} {b:>5s} {row['error']}", flush=True)
                rows.append(row)
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
