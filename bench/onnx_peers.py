#!/usr/bin/env python3
# edgerun against ONNX Runtime (PyPI) on ONNX files (scripts/onnx_zoo.py): the same model.onnx,
# the same input, the same thread count (default 2), batch 1, the machine's environment as it
# is. Engines alternate within every repetition; medians of >= 5. ONNX Runtime: a warm
# InferenceSession (intra-op threads = --threads, inter-op 1, graph optimizations on: its
# default). edgerun: `edgerun run --repeat 5 --json`, the median of the calls after the first
# (call_compute_ms: warm, weights resident). Outputs are checked against each other (1e-4 of
# the largest magnitude) before anything is timed.
#   python3 bench/onnx_peers.py --zoo /tmp/zoo resnet50 resnet101 vgg19 mobilenet_v3_large
#       [--reps 5] [--threads 2] [--edgerun build/edgerun] [--json docs/results/onnx_peers.json]
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def edgerun_call(binary, model_dir, x_path, threads, out_path):
    cmd = [binary, "run", model_dir, "--input", x_path, "--json", "--threads", str(threads), "--repeat", "5",
           "--output-npy", out_path]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    j = json.loads(r.stdout)
    return statistics.median(j["call_compute_ms"][1:]), j


def main():
    ap = argparse.ArgumentParser(description="edgerun vs ONNX Runtime on ONNX files")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--zoo", required=True, help="folder of scripts/onnx_zoo.py models")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--edgerun", default="build/edgerun")
    ap.add_argument("--json")
    a = ap.parse_args()
    results = []
    for name in a.models:
        d = os.path.join(a.zoo, name)
        x_path = os.path.join(d, "x.npy")
        x = np.load(x_path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(os.path.join(d, "model.onnx"), so, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}
        ref = sess.run(None, feed)[0]
        for _ in range(2):
            sess.run(None, feed)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "y.npy")
            ort_ms, er_ms = [], []
            report = None
            for rep in range(a.reps):
                t0 = time.perf_counter()
                sess.run(None, feed)
                ort_ms.append((time.perf_counter() - t0) * 1e3)
                ms, report = edgerun_call(a.edgerun, d, x_path, a.threads, out)
                er_ms.append(ms)
                if rep == 0:
                    y = np.load(out)
                    err = float(np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-30))
                    if err > 1e-4:
                        sys.exit(f"{name}: edgerun's output differs from onnxruntime's by {err:.2e} of max |y|")
        r = {"model": name, "ort_ms": statistics.median(ort_ms), "edgerun_ms": statistics.median(er_ms),
             "ort_runs": ort_ms, "edgerun_runs": er_ms, "max_rel_error": err, "threads": a.threads,
             "blas_core": report["blas_core"], "onnxruntime": ort.__version__}
        r["ratio"] = r["edgerun_ms"] / r["ort_ms"]
        results.append(r)
        print(f"{name:22s} edgerun {r['edgerun_ms']:8.1f} ms   onnxruntime {r['ort_ms']:8.1f} ms   "
              f"ratio {r['ratio']:.2f}   (max rel error {err:.1e})", flush=True)
    if a.json:
        os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({"command": " ".join(sys.argv), "results": results,
                       "env": {k: os.environ.get(k) for k in ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]}}, f, indent=1)


if __name__ == "__main__":
    main()
