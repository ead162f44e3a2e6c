#!/usr/bin/env python3
"""A/B timing of `edgerun run` configurations on one model: each round runs every configuration
once, in turn, each cold (the drop of bench/streaming.py, checked with mincore), so that drifts
of the disk and the host fall on all of them alike. Prints medians and every run.

  python3 bench/alternate.py DIR --rounds 5 \\
      "old=--budget 10% --executor pipeload --io-chunk 1M --no-huge-pages" \\
      "new=--budget 10% --executor pipeload"

DIR is a model folder with bench_input.npy (bench/streaming.py makes both). Every configuration
gets `--input DIR/bench_input.npy --json --threads 2` unless it names --threads itself.
`--binary LABEL=PATH` runs that configuration with another edgerun binary (an old build against
the new one: "old=--budget 10%" "new=--budget 10%" --binary old=/tmp/old/build/edgerun).
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streaming  # noqa: E402  (make_cold)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="model folder (config.json, *.safetensors, bench_input.npy)")
    ap.add_argument("configs", nargs="+", help='LABEL=ARGS, e.g. "new=--budget 10%% --executor pipeload"')
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--edgerun", default=os.path.join(REPO, "build", "edgerun"))
    ap.add_argument("--binary", action="append", default=[], metavar="LABEL=PATH",
                    help="the edgerun binary for that configuration (default --edgerun)")
    ap.add_argument("--json", help="write every run's report here")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="seconds to sleep before each run, after the drop: time for a VM's host to take "
                         "back the memory the previous process freed (free page reporting)")
    a = ap.parse_args()
    cfgs = []
    for c in a.configs:
        label, sep, args = c.partition("=")
        if not sep:
            sys.exit(f"configuration {c!r} is not LABEL=ARGS")
        cfgs.append((label, shlex.split(args)))
    binaries = {}
    for b in a.binary:
        label, sep, path = b.partition("=")
        if not sep or label not in {l for l, _ in cfgs}:
            sys.exit(f"--binary {b!r} is not LABEL=PATH for one of the configurations")
        binaries[label] = path
    runs = {label: [] for label, _ in cfgs}
    for r in range(a.rounds):
        for label, args in cfgs:
            left = streaming.make_cold(a.model)
            if left:
                sys.exit(f"{left} pages of the model stayed cached after the drop")
            time.sleep(a.pause)
            cmd = [binaries.get(label, a.edgerun), "run", a.model, "--input", os.path.join(a.model, "bench_input.npy"), "--json"]
            if "--threads" not in args:
                cmd += ["--threads", "2"]
            j = streaming.run_json(["nice", "-n", "-15"] + cmd + args)
            if "error" in j:
                sys.exit(f"{label}: {j['error']}")
            runs[label].append(j)
            print(f"round {r} {label}: {j['latency_ms']:.0f} ms", file=sys.stderr)
    for label, js in runs.items():
        lat = [j["latency_ms"] for j in js]
        comp = [j["compute_ms"] for j in js]
        rate = statistics.median(j["bytes_read"] / j["latency_ms"] / 1e6 for j in js)
        print(f"{label}: latency {statistics.median(lat):.0f} ms ({min(lat):.0f}-{max(lat):.0f}), "
              f"compute {statistics.median(comp):.0f} ms, read {js[0]['bytes_read'] / 1e9:.3f} GB "
              f"({rate:.2f} GB/s), prepare {statistics.median(j.get('prepare_ms', 0.0) for j in js):.0f} ms, "
              f"process wall {statistics.median(j['wall_ms'] for j in js):.0f} ms, "
              f"peak RSS {max(j['peak_rss_bytes'] for j in js) / 2**20:.0f} MiB; "
              f"runs {[round(x) for x in lat]}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(runs, f, indent=2)


if __name__ == "__main__":
    main()
