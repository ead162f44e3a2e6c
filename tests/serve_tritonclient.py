#!/usr/bin/env python3
"""`edgerun serve` driven by PyPI's tritonclient.http, the client Triton users already have.

Starts the server on loopback (port 0) with three ONNX models from tests/data in one budget,
then: health, metadata; for each model a JSON and a binary inference whose outputs must be the
same bits and match onnxruntime's reference outputs; a bounded load of CLIENTS threads x REQUESTS
requests over the three models (every answer must be the reference bits: 0 lost, 0 wrong), with
latency percentiles; the process's peak memory against budget + baseline + server allowance
(from /metrics); and a SIGTERM while clients are sending, after which every request either got
its right answer or a clean refusal, and the server exits 0.

Usage: serve_tritonclient.py EDGERUN_BINARY [--clients 8] [--requests 25] [--json OUT]
Stops by itself: every request and wait is bounded in time.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import tritonclient.http as th
from tritonclient.utils import InferenceServerException

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "onnx")
MODELS = {
    "det": ("yolov3_tiny/model.onnx", "yolov3_tiny/x.npy", {"y16": "yolov3_tiny/y16.npy", "y32": "yolov3_tiny/y32.npy"}),
    "seg": ("fcn_tiny", "fcn_tiny/x.npy", {"out": "fcn_tiny/out.npy", "aux": "fcn_tiny/aux.npy"}),
    "cls": ("cnn_bn", "cnn_bn/x.npy", {"logits": "cnn_bn/logits.npy"}),
}
BUDGET = 6 << 20


def fail(msg):
    print("serve_tritonclient: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def start(binary, tmp):
    cfg = os.path.join(tmp, "models.yaml")
    with open(cfg, "w") as f:
        f.write(f"budget: {BUDGET}\npolicy: round-robin\nmodels:\n")
        for name, (path, _, _) in MODELS.items():
            f.write(f"  - name: {name}\n    path: {os.path.join(DATA, path)}\n    threads: 2\n")
    port_file = os.path.join(tmp, "port")
    p = subprocess.Popen([binary, "serve", "--config", cfg, "--listen", "127.0.0.1:0", "--port-file", port_file],
                         stderr=subprocess.PIPE, text=True)
    until = time.time() + 120
    while time.time() < until:
        if os.path.exists(port_file) and open(port_file).read().strip():
            return p, int(open(port_file).read())
        if p.poll() is not None:
            fail("the server exited: " + p.stderr.read())
        time.sleep(0.05)
    p.kill()
    fail("the server did not start within 120 s")


def infer(client, name, x, binary):
    i = th.InferInput("x", list(x.shape), "FP32")
    i.set_data_from_numpy(x, binary_data=binary)
    outs = [th.InferRequestedOutput(o, binary_data=binary) for o in MODELS[name][2]]
    r = client.infer(name, [i], outputs=outs)
    return {o: r.as_numpy(o) for o in MODELS[name][2]}


def metrics(port):
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    m = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            m[k] = float(v)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=25)
    ap.add_argument("--json")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start(a.binary, tmp)
        try:
            run(a, proc, port)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def run(a, proc, port):
    url = f"127.0.0.1:{port}"
    c = th.InferenceServerClient(url=url, connection_timeout=30, network_timeout=60)
    if not (c.is_server_live() and c.is_server_ready()):
        fail("not live and ready")
    if c.get_server_metadata()["extensions"] != ["binary_tensor_data"]:
        fail("server metadata")
    xs, want = {}, {}
    for name, (_, x, refs) in MODELS.items():
        if not c.is_model_ready(name):
            fail(name + " not ready")
        meta = c.get_model_metadata(name)
        if meta["inputs"][0]["name"] != "x" or meta["inputs"][0]["datatype"] != "FP32":
            fail(f"{name} metadata: {meta}")
        xs[name] = np.load(os.path.join(DATA, x))
        got_json = infer(c, name, xs[name], binary=False)
        got_bin = infer(c, name, xs[name], binary=True)
        for o, ref in refs.items():
            r = np.load(os.path.join(DATA, ref))
            if got_json[o].tobytes() != got_bin[o].tobytes():
                fail(f"{name}.{o}: JSON and binary answers differ")
            err = float(np.abs(got_bin[o] - r).max() / (1 + np.abs(r).max()))
            if got_bin[o].shape != r.shape or not err < 1e-4:
                fail(f"{name}.{o}: shape {got_bin[o].shape} vs {r.shape}, error {err} against onnxruntime")
        want[name] = got_bin
    try:
        c.infer("nope", [th.InferInput("x", [1], "FP32")])
        fail("an unknown model was answered")
    except InferenceServerException as e:
        if "unknown model" not in str(e):
            fail("unknown model: " + str(e))
    print("serve_tritonclient: metadata, JSON and binary round trips: ok")

    # The bounded load.
    names = list(MODELS)
    lat = {n: [] for n in names}
    errors = []
    lock = threading.Lock()

    def client(k):
        cl = th.InferenceServerClient(url=url, connection_timeout=30, network_timeout=120)
        for j in range(a.requests):
            n = names[(k + j) % len(names)]
            t = time.perf_counter()
            try:
                got = infer(cl, n, xs[n], binary=True)
            except Exception as e:  # every request must be answered
                with lock:
                    errors.append(f"{n}: {e}")
                continue
            dt = (time.perf_counter() - t) * 1000
            ok = all(got[o].tobytes() == want[n][o].tobytes() for o in got)
            with lock:
                lat[n].append(dt)
                if not ok:
                    errors.append(f"{n}: wrong answer")

    t0 = time.perf_counter()
    ts = [threading.Thread(target=client, args=(k,)) for k in range(a.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=600)
    wall = time.perf_counter() - t0
    if any(t.is_alive() for t in ts):
        fail("a client did not finish within 600 s")
    if errors:
        fail(f"{len(errors)} lost or wrong: {errors[:3]}")
    m = metrics(port)
    peak, base = m["edgerun_process_peak_rss_bytes"], m["edgerun_fixed_baseline_bytes"]
    allow = m["edgerun_server_allowance_bytes"]
    report = {"clients": a.clients, "requests_per_client": a.requests, "wall_s": wall,
              "requests_per_s": a.clients * a.requests / wall, "lost_or_wrong": len(errors),
              "peak_rss_bytes": peak, "budget_bytes": BUDGET, "fixed_baseline_bytes": base,
              "server_allowance_bytes": allow, "budget_high_water_bytes": m["edgerun_budget_high_water_bytes"],
              "models": {n: {"count": len(v), "p50_ms": float(np.percentile(v, 50)), "p95_ms": float(np.percentile(v, 95)),
                             "p99_ms": float(np.percentile(v, 99)), "mean_ms": float(np.mean(v))} for n, v in lat.items()}}
    print(json.dumps(report, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)
    if m["edgerun_budget_high_water_bytes"] > BUDGET:
        fail("the budget's high water passed the budget")
    if peak > BUDGET + base + allow:
        fail(f"peak RSS {peak} > budget {BUDGET} + baseline {base} + allowance {allow}")

    # SIGTERM while clients send: answers are right or clean refusals; nothing hangs; exit 0.
    stop = threading.Event()
    outcomes = {"ok": 0, "refused": 0}
    bad = []

    def sender(k):
        cl = th.InferenceServerClient(url=url, connection_timeout=10, network_timeout=60)
        while not stop.is_set():
            n = names[k % len(names)]
            try:
                got = infer(cl, n, xs[n], binary=True)
                good = all(got[o].tobytes() == want[n][o].tobytes() for o in got)
                with lock:
                    if good:
                        outcomes["ok"] += 1
                    else:
                        bad.append("wrong answer")
            except InferenceServerException as e:
                with lock:
                    if "shutting down" in str(e) or "503" in str(e):
                        outcomes["refused"] += 1
                    else:
                        bad.append(str(e))
                return
            except Exception:  # connection refused or reset once the listener closes
                with lock:
                    outcomes["refused"] += 1
                return

    ss = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in ss:
        t.start()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        fail("the server did not stop within 120 s of SIGTERM")
    stop.set()
    for t in ss:
        t.join(timeout=120)
    if code != 0:
        fail(f"exit code {code} after SIGTERM: {proc.stderr.read()}")
    if bad:
        fail(f"during the drain: {bad[:3]}")
    print(f"serve_tritonclient: SIGTERM drain: {outcomes['ok']} answered, {outcomes['refused']} refused cleanly, exit 0")


if __name__ == "__main__":
    main()
