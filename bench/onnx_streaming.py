#!/usr/bin/env python3
# Cold streaming of ONNX CNNs (scripts/onnx_zoo.py) under a budget: for each model and budget,
# the model's files are evicted from the page cache (fsync + posix_fadvise DONTNEED), then one
# `edgerun run --budget B --json` process; reported: latency, peak RSS against budget +
# fixed baseline, bytes read, the run's latency over its physical bound max(S/B, C) + fill, as
# bench/streaming.py computes it for the transformers: S the bytes the run read, B the mean of
# cold direct reads of as many bytes of the weight file (`edgerun iobench`) right before and
# right after the run, C the resident compute (warm passes of a resident run, the same
# threads), fill the first streamed layer's bytes over B; and whether the outputs are
# bit-identical to a resident run's. "min" as a budget is the planner's minimum budget.
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


def cold_read_bps(binary, d, nbytes):
    data = max(glob.glob(os.path.join(d, "*")), key=os.path.getsize)  # the external data file
    evict(d)
    r = subprocess.run([binary, "iobench", data, "--bytes", str(max(nbytes, 1 << 20) // 4096 * 4096), "--json",
                        "--no-record"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["read_bytes_per_s"]


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
            warm = subprocess.run([a.edgerun, "run", d, "--input", os.path.join(d, "x.npy"), "--json", "--repeat", "4"],
                                  capture_output=True, text=True, check=True)
            C = statistics.median(json.loads(warm.stdout)["call_compute_ms"][1:])
            plan = json.loads(subprocess.run([a.edgerun, "plan", d, "--json"], capture_output=True, text=True,
                                             check=True).stdout)
            for b in budgets.split(","):
                budget = str(plan["min_budget_bytes"]) if b == "min" else b
                lat, ratio, peak = [], [], []
                row = {"model": name, "budget": b, "weight_bytes": plan["weight_bytes"],
                       "min_budget_bytes": plan["min_budget_bytes"], "resident_compute_ms": C}
                for _ in range(a.rounds):
                    out_dir = tempfile.mkdtemp(dir=tmp)
                    B_before = cold_read_bps(a.edgerun, d, row.get("bytes_read", plan["weight_bytes"]))
                    evict(d)
                    j, err = run(a.edgerun, d, budget, out_dir)
                    if err:
                        row["error"] = err
                        break
                    B = (B_before + cold_read_bps(a.edgerun, d, j["bytes_read"])) / 2
                    bplan = json.loads(subprocess.run([a.edgerun, "plan", d, "--budget", budget, "--json"],
                                                      capture_output=True, text=True, check=True).stdout)
                    first = next((l["bytes"] for l in bplan.get("layers", []) if l.get("bytes")), 0)
                    bound = max(j["bytes_read"] / B * 1e3, C) + first / B * 1e3
                    got = outputs(out_dir)
                    row["bit_identical"] = all(np.array_equal(got[k], ref[k]) for k in ref)
                    lat.append(j["latency_ms"])
                    ratio.append(j["latency_ms"] / bound)
                    row.setdefault("B_bytes_per_s", []).append(B)
                    peak.append(j["peak_rss_bytes"])
                    row.setdefault("over_budget_plus_baseline_bytes", []).append(
                        j["peak_rss_bytes"] - j["budget_bytes"] - j["fixed_baseline_bytes"])
                    row.update({"executor": j["executor"], "budget_bytes": j["budget_bytes"],
                                "baseline_bytes": j["fixed_baseline_bytes"], "bytes_read": j["bytes_read"],
                                "read_bandwidth_source": j["read_bandwidth_source"]})
                if lat:
                    row.update({"latency_ms": statistics.median(lat), "ratio_to_bound": statistics.median(ratio),
                                "peak_rss_bytes": max(peak), "latencies": lat})
                    row["within_budget_plus_baseline"] = max(row["over_budget_plus_baseline_bytes"]) <= 0
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
