#!/usr/bin/env python3
"""Streaming benchmark in the layout of Hermes' Table 2: for ViT-L/16, BERT-Large, GPT-2 Medium
and GPT-2 XL (random weights in their published configs, fp32, from `edgerun synth`), the peak
RSS and cold latency of resident load-then-run, swap and pipeload at budgets of 25%, 15% and 10%
of the weights, and of PyTorch + transformers loading the same safetensors, all in one run; and
each edgerun latency's ratio to the physical bound max(S/B, C) + fill, with B from
`edgerun iobench` and C from the resident run's compute, measured in the same run.

Cold, as DESIGN.md defines it: after every process of the previous run has exited, fsync +
posix_fadvise(DONTNEED) the model files, then check with mincore that no page is left.

The storage of a virtual machine changes speed from minute to minute (here 1.3-2.7 GB/s for the
same cold read), so one measurement of B for the whole run would make every ratio as noisy as the
disk. Instead: the full iobench grid once picks the best depth and block size; then, in each of
--rounds rounds, every configuration runs cold between two cold iobench reads of the same file
at that best setting, and the mean of the two is B for that run's ratio. Each of those reads
streams as many bytes as the run reads (iobench starts over at the file's start past its end):
this disk sustains less over a long stream than over a short burst (GPT-2 XL at 10%: 1.4-1.7
GB/s over 45 GB against 2.1-3.2 GB/s over 2 GB), and the bound is about the stream the run
reads. --burst-b measures B over min(file, 2 GiB) instead, as before. Rows give the median latency over the rounds, the
median of the paired ratios, and the largest peak RSS.

  python3 bench/streaming.py [--models vit-large,bert-large,gpt2-medium,gpt2-xl] [--rounds 3]

Issue 17's table (budgets down to a few percent; each model profiled first, as a user does once):

  python3 bench/streaming.py --models vit-base,bert-base,vit-large,bert-large,gpt2-medium,gpt2-xl \
      --executors pipeload --budgets 10,5 --rounds 5 --no-torch

Each model's minimum budget comes from `plan`'s budget error (its parts: the largest unit and the
activations, KV cache and logits); each streamed row gives its compute over the resident compute,
the least margin of peak RSS under budget + fixed baseline, and whether every run's output was
the resident run's bit for bit.
"""
import argparse
import ctypes
import json
import mmap
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def resident_pages(path):
    """Pages of `path` in the page cache: mincore over a read-only shared mapping (fincore)."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    LIBC.mmap.restype = ctypes.c_void_p
    LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    LIBC.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    vec = (ctypes.c_ubyte * ((size + 4095) // 4096))()
    with open(path, "rb") as f:
        p = LIBC.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
        try:
            if LIBC.mincore(p, size, vec) != 0:
                return -1
        finally:
            LIBC.munmap(p, size)
    return sum(v & 1 for v in vec)


def make_cold(folder):
    left = 0
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
        if name.endswith(".safetensors"):
            left += resident_pages(path)
    return left


def run_json(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = (time.perf_counter() - t0) * 1e3
    if p.returncode != 0:
        return {"error": p.stderr.strip()[-400:], "wall_ms": wall}
    j = json.loads(p.stdout)
    j["wall_ms"] = wall
    return j


TORCH_SNIPPET = r"""
import json, resource, sys, time
import numpy as np, torch, transformers
torch.set_num_threads(int(sys.argv[4]))
t0 = time.perf_counter()
cfg = transformers.AutoConfig.from_pretrained(sys.argv[1])
cls = getattr(transformers, cfg.architectures[0])
m = cls.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
x = torch.from_numpy(np.load(sys.argv[2]))
with torch.no_grad():
    if sys.argv[3] == "gen":
        m.generate(x, max_new_tokens=8, min_new_tokens=8, do_sample=False, pad_token_id=0)
    elif x.dtype == torch.float32:
        m(pixel_values=x)
    else:
        m(input_ids=x)
ms = (time.perf_counter() - t0) * 1e3
print(json.dumps({"latency_ms": ms, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


RESIDENT_CALLS = 3  # the resident run's calls: the first is cold, the others give C


def iobench(er, st, args):
    j = run_json(["nice", "-n", "-15", er, "iobench", st, "--json"] + args)
    if "error" in j:
        sys.exit(f"iobench failed: {j['error']}")
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="vit-large,bert-large,gpt2-medium,gpt2-xl")
    ap.add_argument("--dir", default="/tmp/edgerun-bench/stream")
    ap.add_argument("--edgerun", default=os.path.join(REPO, "build", "edgerun"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budgets", default="25,15,10")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--out", default="streaming_results.json")
    ap.add_argument("--executors", default="swap,pipeload", help="streaming executors run at each budget")
    ap.add_argument("--no-profile", action="store_true",
                    help="do not run `edgerun profile` on each model first (as a user does once; "
                         "the planner then uses its default cost model)")
    ap.add_argument("--burst-b", action="store_true",
                    help="measure B over min(file, 2 GiB) instead of the bytes each run reads")
    a = ap.parse_args()
    er = a.edgerun
    results = {"env": {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "threads": a.threads,
                       "rounds": a.rounds,
                       "B_over": "2 GiB burst" if a.burst_b else "the bytes each run reads"}, "models": {}}
    for name in a.models.split(","):
        d = os.path.join(a.dir, name)
        if not os.path.exists(os.path.join(d, "config.json")):
            subprocess.run([er, "synth", name, "--out", d, "--force"], check=True)
        cfg = json.load(open(os.path.join(d, "config.json")))
        gen = cfg["model_type"] == "gpt2"
        x = os.path.join(d, "bench_input.npy")
        if cfg["model_type"] == "vit":
            np.save(x, np.random.default_rng(0).standard_normal((1, 3, cfg["image_size"], cfg["image_size"]), dtype=np.float32))
        else:
            np.save(x, (np.arange(128, dtype=np.int64).reshape(1, 128) * 7919 + 3) % cfg["vocab_size"])
        st = os.path.join(d, "model.safetensors")
        make_cold(d)
        grid = iobench(er, st, ["--repeat", "3", "--depths", "4,8,16,32", "--block-sizes", "1M,4M,16M"])
        best = grid.get("best")
        best_args = (["--depths", str(best["depth"]), "--block-sizes", str(best["block_bytes"])] if best else [])
        pair_bytes = min(os.path.getsize(st) // 4096 * 4096, 2 << 30)
        extra = ["--new-tokens", "8"] if gen else []
        seq = [] if cfg["model_type"] == "vit" else ["--seq", "128"]
        if not a.no_profile:
            p = subprocess.run([er, "profile", d, "--threads", str(a.threads), "--out", os.path.join(a.dir, name + ".profile")], capture_output=True, text=True)
            print(name, "profile:", "recorded" if p.returncode == 0 else p.stderr.strip()[-300:], file=sys.stderr)
        minimum = min_budget(er, d, seq + extra)
        configs = [("resident", None)] + [(ex, int(p)) for p in a.budgets.split(",") for ex in a.executors.split(",")]
        runs = {f"{ex}" + (f" @{b}%" if b else ""): [] for ex, b in configs}
        # Bytes each configuration reads: the plan's streamed bytes per pass (the weights, for
        # resident) times the passes, until a run has said exactly.
        stream_bytes = {}
        for ex, budget in configs:
            plan = json.loads(subprocess.run([er, "plan", d, "--executor", ex, "--json"] +
                                             (["--budget", f"{budget}%"] if budget else []) +
                                             ([] if cfg["model_type"] == "vit" else ["--seq", "128"]),
                                             capture_output=True, text=True).stdout or "{}")
            per_pass = plan.get("streamed_bytes_per_pass") or plan.get("full_pass_bytes") or pair_bytes
            stream_bytes[f"{ex}" + (f" @{budget}%" if budget else "")] = (
                per_pass * (9 if gen and ex != "resident" else 1))
        ref_out = None  # the resident run's output in this round: the others must match it bit for bit
        for r in range(a.rounds):
            for ex, budget in configs:
                label = f"{ex}" + (f" @{budget}%" if budget else "")
                b_bytes = pair_bytes if a.burst_b else stream_bytes[label]
                make_cold(d)
                B = iobench(er, st, best_args + ["--bytes", str(b_bytes)])["read_bytes_per_s"]
                left = make_cold(d)
                out_npy = os.path.join(a.dir, f"{name}.{ex}.{budget}.out.npy")
                cmd = ["nice", "-n", "-15", er, "run", d, "--input", x, "--json", "--threads", str(a.threads),
                       "--executor", ex, "--output-npy", out_npy] + extra + (["--budget", f"{budget}%"] if budget else
                                                                             ["--repeat", str(RESIDENT_CALLS)])
                j = run_json(cmd)
                if "error" not in j:
                    with open(out_npy, "rb") as f:
                        j["output_bytes"] = f.read()
                    os.unlink(out_npy)
                    if label == "resident":
                        ref_out = j["output_bytes"]
                    j["bit_identical"] = j["output_bytes"] == ref_out
                    del j["output_bytes"]
                    # peak RSS against what the budget allows: the budget plus the fixed baseline
                    # (the process without weights: code, libraries, BLAS buffers), both as reported
                    j["rss_margin_bytes"] = (j.get("budget_bytes") or 0) + j.get("fixed_baseline_bytes", 0) - j["peak_rss_bytes"]
                # The disk's speed drifts within seconds: B for this run is the mean of the cold
                # reads right before and right after it.
                if not a.burst_b and j.get("bytes_read"):
                    b_bytes = stream_bytes[label] = j["bytes_read"]
                make_cold(d)
                B_after = iobench(er, st, best_args + ["--bytes", str(b_bytes)])["read_bytes_per_s"]
                j["cold_pages_left"] = left
                j["B_before"], j["B_after"], j["B_bytes"] = B, B_after, b_bytes
                B = j["B_pair"] = (B + B_after) / 2
                runs[label].append(j)
                print(name, f"round {r}", label, f"B {B / 1e9:.2f} GB/s",
                      {k: j.get(k) for k in ("latency_ms", "peak_rss_bytes", "error")}, file=sys.stderr)
        res_ok = [j for j in runs["resident"] if "error" not in j]
        if not res_ok:
            sys.exit(f"{name}: the resident run failed: {runs['resident'][0].get('error')}")
        # C is the resident compute of a warm call (the calls after the first of each resident run):
        # a first call also pays for faulting in the activation arena and starting BLAS threads.
        calls = max(1, len(res_ok[0].get("call_compute_ms", [])))
        passes = max(1, res_ok[0].get("passes", 1) // calls)
        C_total = statistics.median(statistics.median(j["call_compute_ms"][1:] or j["call_compute_ms"]) for j in res_ok)
        dec = statistics.median(j.get("decode_ms", 0.0) / calls for j in res_ok)
        C_prefill = C_total - dec
        C_dec = dec / (passes - 1) if passes > 1 else 0.0
        rows = []
        for label, js in runs.items():
            ok = [j for j in js if "error" not in j]
            row = {"config": label, "runs": js}
            if not ok:
                row["error"] = js[0]["error"]
                rows.append(row)
                continue
            ratios = []
            for j in ok:
                if label == "resident":
                    continue
                ex, pct = label.split(" @")
                plan = json.loads(subprocess.run([er, "plan", d, "--budget", pct, "--executor", ex, "--json"] +
                                                 ([] if cfg["model_type"] == "vit" else ["--seq", "128"]),
                                                 capture_output=True, text=True).stdout or "{}")
                first = next((l["bytes"] for l in plan.get("layers", []) if l["bytes"]), 0)
                B = j["B_pair"]
                s_over_b = j["streamed_bytes_per_pass"] / B * 1e3
                bound = max(s_over_b, C_prefill) + (passes - 1) * max(s_over_b, C_dec) + first / B * 1e3
                j["bound_harness_ms"] = bound
                ratios.append(j["latency_ms"] / bound)
            lat = [j["latency_ms"] for j in ok]
            if label != "resident":
                row["compute_ratio"] = statistics.median(j.get("compute_ms", 0.0) for j in ok) / C_total
                row["compute_ratios"] = [j.get("compute_ms", 0.0) / C_total for j in ok]
                row["rss_margin_min_bytes"] = min(j["rss_margin_bytes"] for j in ok)
            row["bit_identical"] = all(j.get("bit_identical") for j in ok)
            row.update({"latency_ms": statistics.median(lat), "latency_min_ms": min(lat), "latency_max_ms": max(lat),
                        "peak_rss_bytes": max(j["peak_rss_bytes"] for j in ok),
                        "budget_bytes": ok[0]["budget_bytes"], "bytes_read": ok[0]["bytes_read"],
                        "B_pair_median": statistics.median(j["B_pair"] for j in ok),
                        "compute_ms": statistics.median(j.get("compute_ms", 0.0) for j in ok),
                        # outside latency_ms: committing the budget's pages before the run
                        # (Session::prepare), and the whole process from exec to exit
                        "prepare_ms": statistics.median(j.get("prepare_ms", 0.0) for j in ok),
                        "wall_ms": statistics.median(j["wall_ms"] for j in ok),
                        "cold_pages_left": max(j["cold_pages_left"] for j in ok)})
            if ratios:
                row["ratio_to_bound"] = statistics.median(ratios)
                row["ratios"] = ratios
            rows.append(row)
        torch_row = None
        if not a.no_torch:
            make_cold(d)
            p = subprocess.run([sys.executable, "-c", TORCH_SNIPPET, d, x, "gen" if gen else "fwd", str(a.threads)],
                               capture_output=True, text=True)
            torch_row = json.loads(p.stdout) if p.returncode == 0 else {"error": p.stderr[-400:]}
            print(name, "pytorch", torch_row, file=sys.stderr)
        results["models"][name] = {"minimum": minimum, "iobench_grid": grid, "best_io": best, "resident_compute_ms": C_total,
                                   "passes": passes, "rows": rows, "pytorch": torch_row,
                                   "weight_bytes": res_ok[0].get("weight_bytes")}
        json.dump(results, open(a.out, "w"), indent=2)
    print_markdown(results)


def min_budget(er, d, args):
    """The minimum budget and its parts, from the budget error `plan` gives below it."""
    p = subprocess.run([er, "plan", d, "--budget", "4K"] + args, capture_output=True, text=True)
    nums = [int(x) for x in re.findall(r"\((\d+) bytes\)", p.stderr)]
    if len(nums) < 4:
        return {"error": p.stderr.strip()[-300:]}
    return {"min_budget_bytes": nums[1], "largest_unit_bytes": nums[2], "activations_bytes": nums[3]}


def print_markdown(results):
    for name, m in results["models"].items():
        best = m["best_io"] or {}
        grid = {(g["depth"], g["block_bytes"]): g["bytes_per_s"] for g in m["iobench_grid"].get("grid", [])}
        at_best = grid.get((best.get("depth"), best.get("block_bytes")), 0)
        at_runtime = grid.get((32, 4 << 20), 0)  # the runtime's default weight reads
        print(f"\n### {name}: weights {m['weight_bytes'] / 2**20:.0f} MiB, resident compute of a warm call {m['resident_compute_ms']:.0f} ms "
              f"over {m['passes']} pass(es) (the resident row: {RESIDENT_CALLS} calls, the first cold); B paired at depth {best.get('depth')}, block {best.get('block_bytes', 0) >> 20} MiB "
              f"(grid: {at_best / 1e9:.2f} GB/s there, {at_runtime / 1e9:.2f} GB/s at the runtime's depth 32, 4 MiB)\n")
        mn = m.get("minimum", {})
        if "min_budget_bytes" in mn:
            w = m["weight_bytes"]
            print(f"minimum budget {mn['min_budget_bytes']} bytes ({mn['min_budget_bytes'] / 2**20:.1f} MiB, "
                  f"{100 * mn['min_budget_bytes'] / w:.2f}% of weights): largest unit {mn['largest_unit_bytes'] / 2**20:.2f} MiB "
                  f"({100 * mn['largest_unit_bytes'] / w:.2f}%) + activations, KV cache and logits {mn['activations_bytes'] / 2**20:.1f} MiB\n")
        print("| config | cold latency ms, median (min-max) | prepare ms | process wall ms | peak RSS MiB | budget MiB | read MiB | B GB/s (paired, median) | ratio to bound (median of pairs) | compute / resident | RSS margin MiB (min) | bit-identical |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in m["rows"]:
            if "error" in r:
                print(f"| {r['config']} | error: {r['error'][:80]} | | | | | | | | | | |")
                continue
            ratio = f"{r['ratio_to_bound']:.2f} ({', '.join(f'{x:.2f}' for x in r['ratios'])})" if "ratio_to_bound" in r else ""
            comp = (f"{r['compute_ratio']:.2f} ({', '.join(f'{x:.2f}' for x in r['compute_ratios'])})"
                    if "compute_ratio" in r else "")
            margin = f"{r['rss_margin_min_bytes'] / 2**20:.1f}" if "rss_margin_min_bytes" in r else ""
            print(f"| {r['config']} | {r['latency_ms']:.0f} ({r['latency_min_ms']:.0f}-{r['latency_max_ms']:.0f}) | "
                  f"{r.get('prepare_ms', 0):.0f} | {r.get('wall_ms', 0):.0f} | {r['peak_rss_bytes'] / 2**20:.0f} | "
                  f"{(r['budget_bytes'] or 0) / 2**20:.0f} | {r['bytes_read'] / 2**20:.0f} | "
                  f"{r['B_pair_median'] / 1e9:.2f} | {ratio} | {comp} | {margin} | "
                  f"{'yes' if r['bit_identical'] else 'NO'} |")
        t = m["pytorch"]
        if t and "error" not in t:
            print(f"| pytorch (load + run) | {t['latency_ms']:.0f} | | | {t['peak_rss_bytes'] / 2**20:.0f} | | | | |")
            best_row = min((r for r in m["rows"] if "error" not in r and r["config"].startswith("pipeload")),
                           key=lambda r: r["budget_bytes"], default=None)
            if best_row:
                print(f"\nmemory reduction vs PyTorch at {best_row['config']}: "
                      f"{100 * (1 - best_row['peak_rss_bytes'] / t['peak_rss_bytes']):.1f}%")


if __name__ == "__main__":
    main()
