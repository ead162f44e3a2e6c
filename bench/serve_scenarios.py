#!/usr/bin/env python3
"""SwapNet's Table 1 scenarios replayed through `edgerun replay` (docs/SERVE.md, docs/BENCHMARKS.md).

Each scenario's models (real architectures through the ONNX frontend: scripts/onnx_zoo.py; the
road-side unit's duplicates are copies, distinct weight files) run one workload of periodic
arrivals per model, at several budgets in one run: ample (every model resident), Table 1's
budget, and the budgets that give SwapNet's overcommit (Σ weights / 2.32 and / 5.81), raised to
the smallest that works where that is below the models' minimum needs (stated in the output).
Reports per model mean and p95 latency, the mean pass (service) time and the makespan against
the ample run, and the predictor's MAPE. Latency includes queueing, so where streamed passes are
slower than resident ones the load the arrivals make grows, and latency with it. Writes docs/results/serve_scenarios.json.

Usage: bench/serve_scenarios.py --zoo /tmp/zoo [--scenarios uav self_driving rsu] [--count 12] [--no-profile]

First profiles each model (`edgerun profile`, recorded for this device) unless --no-profile.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGERUN = os.path.join(ROOT, "build", "edgerun")
MB = 1000 * 1000
SCENARIOS = {
    # name: (Table 1 budget in MB, [(model name, zoo folder)])
    "self_driving": (843, [("yolov3", "yolov3"), ("fcn", "fcn_resnet101"), ("vgg19", "vgg19"), ("resnet101", "resnet101")]),
    "rsu": (900, [("yolov3_a", "yolov3"), ("yolov3_b", "yolov3_b"), ("resnet101_a", "resnet101"),
                  ("resnet101_b", "resnet101_b"), ("vgg19", "vgg19")]),
    "uav": (1000, [("yolov3", "yolov3"), ("resnet101", "resnet101")]),
}


def weight_bytes(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder) if f.startswith("model.onnx"))


def ensure_zoo(zoo):
    need = {"yolov3", "fcn_resnet101", "vgg19", "resnet101"}
    missing = [n for n in sorted(need) if not os.path.exists(os.path.join(zoo, n, "model.onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "onnx_zoo.py"), "--out", zoo] + missing, check=True)
    for base in ("yolov3", "resnet101"):  # the duplicates of the road-side unit: their own files
        dup = os.path.join(zoo, base + "_b")
        if not os.path.exists(os.path.join(dup, "model.onnx")):
            shutil.copytree(os.path.join(zoo, base), dup)


def profile(zoo, folders, tmp):
    """Records each model's cost model for this device (`edgerun profile`), as a user does once:
    the scheduler's plans and predictions use the record (docs/STREAMING.md)."""
    for f in sorted(folders):
        print(f"profiling {f} ...", flush=True)
        subprocess.run([EDGERUN, "profile", os.path.join(zoo, f), "-o", os.path.join(tmp, "profile_" + f)],
                       check=True, stdout=subprocess.DEVNULL)


def replay(tmp, zoo, models, budget, count, period_ms, tag):
    cfg = os.path.join(tmp, f"{tag}.yaml")
    with open(cfg, "w") as f:
        f.write(f"budget: {budget}\npolicy: round-robin\nmodels:\n")
        for name, folder in models:
            f.write(f"  - name: {name}\n    path: {os.path.join(zoo, folder)}\n    max_queue: {count + 1}\n")
    work = os.path.join(tmp, f"{tag}_work.yaml")
    with open(work, "w") as f:
        f.write(f"config: {cfg}\nstreams:\n")
        for k, (name, folder) in enumerate(models):
            x = os.path.join(zoo, folder, "x.npy")
            f.write(f"  - model: {name}\n    arrival: periodic\n    rate: {1000.0 / period_ms}\n    count: {count}\n"
                    f"    start_ms: {k * period_ms / len(models)}\n    input: {x}\n")
    r = subprocess.run([EDGERUN, "replay", work, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": r.stderr.strip()}
    return json.loads(r.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    ap.add_argument("--count", type=int, default=12, help="requests per model")
    ap.add_argument("--no-profile", action="store_true", help="use the cost models already recorded (or the defaults)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results", "serve_scenarios.json"))
    a = ap.parse_args()
    ensure_zoo(a.zoo)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not a.no_profile:
            profile(a.zoo, {f for sc in a.scenarios for _, f in SCENARIOS[sc][1]}, tmp)
        for sc in a.scenarios:
            table_mb, models = SCENARIOS[sc]
            total = sum(weight_bytes(os.path.join(a.zoo, f)) for _, f in models)
            # Ample first: it also measures each model alone, which sets the arrival period (the
            # sum of the models' passes, times 1.5: a load the device keeps up with).
            ample = replay(tmp, a.zoo, models, 2 * total + (512 << 20), 2, 10000, f"{sc}_probe")
            if "error" in ample:
                sys.exit(f"{sc}: {ample['error']}")
            period = 1.5 * sum(m["single_ms"] for m in ample["models"])
            runs = {"ample": replay(tmp, a.zoo, models, 2 * total + (512 << 20), a.count, period, f"{sc}_ample")}
            for label, budget in (("table1", table_mb * MB), ("overcommit_2.32", int(total / 2.32)),
                                  ("overcommit_5.81", int(total / 5.81))):
                r = replay(tmp, a.zoo, models, budget, a.count, period, f"{sc}_{label}")
                if "error" in r and "give at least" in r["error"]:
                    # Below the models' minimum needs: the smallest budget that works, stated as such.
                    need = r["error"].split("give at least ")[1].split(" (")[0].split()
                    unit = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[need[1]]
                    budget = int(float(need[0]) * unit * 1.01)
                    label += "_raised_to_minimum"
                    r = replay(tmp, a.zoo, models, budget, a.count, period, f"{sc}_{label}")
                if "error" in r:
                    r["budget_bytes"] = budget
                runs[label] = r
            results[sc] = {"weights_bytes": total, "period_ms": period, "runs": runs}
            base = runs["ample"]
            print(f"\n{sc}: weights {total / MB:.0f} MB, one request per model every {period:.0f} ms")
            print(f"  {'run':16} {'budget MB':>9} {'overcommit':>10} {'makespan':>9} {'model':>12} {'mean':>7} {'p95':>7} {'pass':>6} {'MAPE':>6}")
            for label, r in runs.items():
                if "error" in r:
                    print(f"  {label:16} {r['budget_bytes'] / MB:9.0f} {total / r['budget_bytes']:10.2f}  refused: {r['error'][:90]}")
                    continue
                mk = r["makespan_ms"] / base["makespan_ms"]
                for i, m in enumerate(r["models"]):
                    b = base["models"][i]
                    head = (label, f"{r['budget_bytes'] / MB:.0f}", f"{total / r['budget_bytes']:.2f}", f"{mk:.2f}")
                    if i:
                        head = ("", "", "", "")
                    print(f"  {head[0]:16} {head[1]:>9} {head[2]:>10} {head[3]:>9} {m['name']:>12} "
                          f"{m['latency_ms']['mean'] / b['latency_ms']['mean']:7.2f} {m['latency_ms']['p95'] / b['latency_ms']['p95']:7.2f} "
                          f"{m['service_ms']['mean'] / b['service_ms']['mean']:6.2f} "
                          f"{100 * m['prediction']['latency_mape']:5.0f}%")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    old = {}
    if os.path.exists(a.out):
        old = json.load(open(a.out))
    old.update(results)
    with open(a.out, "w") as f:
        json.dump(old, f, indent=1)


if __name__ == "__main__":
    main()
