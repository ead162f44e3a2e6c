#!/usr/bin/env python3
# Peer comparison: PyTorch eager (transformers, from the HF folder), ONNX Runtime (the exported
# model.onnx) and the edgerun binary, on the models of scripts/make_bench_models.py. One process,
# engines alternating within every repetition, medians of >= 5 runs, ratios edgerun / peer.
# Same thread count everywhere (default 2). Resident (warm page cache) runs only: no cold-cache,
# memory-budget or streaming runs here. See bench/README.md.
#   python3 bench/peers.py [--models-dir /tmp/edgerun-bench/models] [--reps 5] [--edgerun build/edgerun]
import argparse
import ctypes.util
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# --repeat 3: edgerun runs the input three times in one process and reports each call's compute
# (call_compute_ms); the median of the calls after the first is its steady-state time, as the
# in-process peers' warm calls are.
DEFAULT_RUN = "{edgerun} run {dir} --input {input} --output-npy {output} --json --threads {threads} --repeat 3"
DEFAULT_GEN = ("{edgerun} run {dir} --input {input} --new-tokens {new_tokens} --output-npy {output}"
               " --json --threads {threads} --repeat 3")


def now_ms():
    return time.perf_counter() * 1000.0


# ------------------------------------------------------------------ engines

class TorchEngine:
    name = "pytorch"

    def __init__(self, info, model_dir, threads):
        import torch
        import transformers
        torch.set_num_threads(threads)
        self.torch = torch
        cls = getattr(transformers, info["arch"])
        t0 = now_ms()
        # default attention implementation (sdpa): what a transformers user gets
        self.model = cls.from_pretrained(os.path.join(model_dir, info["hf_dir"]), dtype=torch.float32).eval()
        self.load_ms = now_ms() - t0
        self.key = info["input_name"]

    def forward(self, x):
        with self.torch.no_grad():
            t0 = now_ms()
            out = self.model(**{self.key: self.torch.from_numpy(x)})
            ms = now_ms() - t0
        return {"forward_ms": ms}, out.logits.numpy()

    def generate(self, ids, new_tokens):
        torch = self.torch
        x = torch.from_numpy(ids)
        with torch.no_grad():
            t0 = now_ms()
            self.model(input_ids=x, use_cache=True)
            prefill = now_ms() - t0
            eos = self.model.config.eos_token_id
            t0 = now_ms()
            out = self.model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new_tokens,
                                      min_new_tokens=new_tokens, do_sample=False, use_cache=True,
                                      pad_token_id=eos)
            total = now_ms() - t0
        return {"generate_ms": total, "prefill_ms": prefill,
                "tokens_per_s": new_tokens / (total / 1000.0)}, out.numpy()


class OrtEngine:
    name = "onnxruntime"

    def __init__(self, info, model_dir, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        t0 = now_ms()
        self.sess = ort.InferenceSession(os.path.join(model_dir, info["onnx"]["file"]), so,
                                         providers=["CPUExecutionProvider"])
        self.load_ms = now_ms() - t0
        self.info = info
        self.inputs = [i.name for i in self.sess.get_inputs()]

    def forward(self, x):
        feed = {self.info["input_name"]: x}
        if "attention_mask" in self.inputs:
            feed["attention_mask"] = np.ones_like(x)
        t0 = now_ms()
        out = self.sess.run(["logits"], feed)[0]
        return {"forward_ms": now_ms() - t0}, out

    def generate(self, ids, new_tokens):
        """Greedy decoding through the exported KV-cache graph: one prefill run (past length 0),
        then new_tokens - 1 single-token runs, as transformers' generate() does."""
        onnx = self.info["onnx"]
        if not onnx.get("kv_cache"):
            raise RuntimeError("the ONNX export has no KV cache; re-run scripts/make_bench_models.py")
        past_names = [n for n in self.inputs if n.startswith("past.")]
        _, n_head, _, head_dim = onnx["past_shape"]
        past = [np.zeros((ids.shape[0], n_head, 0, head_dim), np.float32) for _ in past_names]
        tokens = [ids]
        cur, pos = ids, 0
        t0 = now_ms()
        prefill = None
        for _ in range(new_tokens):
            t = cur.shape[1]
            feed = {"input_ids": cur, "attention_mask": np.ones((cur.shape[0], pos + t), np.int64),
                    "position_ids": np.tile(np.arange(pos, pos + t, dtype=np.int64), (cur.shape[0], 1))}
            feed.update(zip(past_names, past))
            out = self.sess.run(None, feed)
            if prefill is None:
                prefill = now_ms() - t0
            past = out[1:]
            pos += t
            cur = out[0][:, -1].argmax(axis=-1).astype(np.int64)[:, None]
            tokens.append(cur)
        total = now_ms() - t0
        return {"generate_ms": total, "prefill_ms": prefill,
                "tokens_per_s": new_tokens / (total / 1000.0)}, np.concatenate(tokens, axis=1)


class EdgerunEngine:
    """The edgerun binary, one process per run: its JSON report gives compute_ms (model compute
    only), latency_ms and load_ms; wall_ms is the whole process as seen from here."""
    name = "edgerun"

    def __init__(self, info, model_dir, args, env):
        self.dir = os.path.join(model_dir, info["hf_dir"])
        self.input = os.path.join(model_dir, info["input"])
        self.args, self.env = args, env
        self.load_ms = None
        self.last_report = None

    def _run(self, template, new_tokens=0):
        with tempfile.TemporaryDirectory(prefix="edgerun-peers-") as tmp:
            out_path = os.path.join(tmp, "out.npy")
            cmd = template.format(edgerun=shlex.quote(self.args.edgerun), dir=shlex.quote(self.dir),
                                  input=shlex.quote(self.input), output=shlex.quote(out_path),
                                  threads=self.args.threads, new_tokens=new_tokens)
            t0 = now_ms()
            try:
                p = subprocess.run(shlex.split(cmd), capture_output=True, text=True, env=self.env,
                                   timeout=self.args.edgerun_timeout)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise RuntimeError(f"{cmd}: {e}") from None
            wall = now_ms() - t0
            if p.returncode != 0:
                raise RuntimeError(f"{cmd}: exit {p.returncode}: {(p.stderr or p.stdout).strip()[-500:]}")
            rep = parse_json_report(p.stdout)
            if rep is None:
                raise RuntimeError(f"{cmd}: no JSON report on stdout: {p.stdout.strip()[-300:]}")
            out = np.load(out_path) if os.path.exists(out_path) else None
        self.last_report = rep
        m = {"wall_ms": wall}
        for k in ("compute_ms", "latency_ms", "load_ms", "tokens_per_s", "peak_rss_bytes"):
            if isinstance(rep.get(k), (int, float)):
                m[k] = float(rep[k])
        calls = rep.get("call_compute_ms") or []
        if len(calls) > 1:  # steady state: the calls after the first (which pays first touch)
            m["first_call_ms"] = float(calls[0])
            m["compute_ms"] = float(np.median(calls[1:]))
            if new_tokens:
                m["tokens_per_s"] = new_tokens / (m["compute_ms"] / 1000.0)
        if out is None and "generated_ids" in rep:
            out = np.asarray(rep["generated_ids"], dtype=np.int64).reshape(1, -1)
        return m, out

    def forward(self, x):
        return self._run(self.args.edgerun_cmd)

    def generate(self, ids, new_tokens):
        m, out = self._run(self.args.edgerun_gen_cmd, new_tokens)
        if "compute_ms" in m:
            m["generate_ms"] = m["compute_ms"]
        return m, out


def parse_json_report(text):
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    start, end = text.find("{"), text.rfind("}")  # tolerate lines printed before/after the report
    if 0 <= start < end:
        try:
            return json.loads(text[start:end + 1])
        except ValueError:
            return None
    return None


# ------------------------------------------------------------------ environment

def openblas_of(binary, env):
    """Which OpenBLAS the edgerun binary loads and which kernel set it picks under this env
    (OPENBLAS_CORETYPE overrides the CPU detection), asked of the library itself."""
    res = {"binary": binary}
    path = binary if os.path.sep in binary else (shutil.which(binary) or binary)
    try:
        ldd = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30).stdout
    except OSError as e:
        return {**res, "error": str(e)}
    lib = None
    for line in ldd.splitlines():
        m = re.search(r"(\S*(?:openblas|libblas)\S*)\s+=>\s+(\S+)", line)
        if m:
            lib = os.path.realpath(m.group(2))
            break
    if lib is None:
        lib = ctypes.util.find_library("openblas")
        res["note"] = "binary not found or not linked to a BLAS; asked the system libopenblas"
    if not lib:
        return {**res, "error": "no OpenBLAS found"}
    res["library"] = lib
    probe = ("import ctypes,sys; l=ctypes.CDLL(sys.argv[1]); f=l.openblas_get_corename;"
             " f.restype=ctypes.c_char_p; g=l.openblas_get_config; g.restype=ctypes.c_char_p;"
             " print(f().decode()); print(g().decode())")
    p = subprocess.run([sys.executable, "-c", probe, lib], capture_output=True, text=True, env=env)
    if p.returncode == 0:
        lines = p.stdout.strip().splitlines()
        res["corename"], res["config"] = lines[0], lines[1] if len(lines) > 1 else ""
    else:
        res["error"] = p.stderr.strip()[-300:]
    return res


def environment(args, env):
    import onnxruntime
    import torch
    import transformers
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    cfg = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", cfg)
    cap = re.search(r"CPU capability usage: (\S+)", cfg)
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu, "cores": os.cpu_count(), "threads": args.threads,
        "OPENBLAS_CORETYPE": env.get("OPENBLAS_CORETYPE", "(unset: OpenBLAS detects the CPU)"),
        "edgerun_openblas": openblas_of(args.edgerun, env),
        "python": sys.version.split()[0], "numpy": np.__version__,
        "torch": torch.__version__, "torch_blas": blas.group(1) if blas else "?",
        "torch_cpu_capability": cap.group(1) if cap else "?",
        "torch_config": cfg, "torch_parallel_info": torch.__config__.parallel_info(),
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnxruntime_kernels": "MLAS (built into onnxruntime; not OpenBLAS)",
        "command": " ".join(shlex.quote(a) for a in sys.argv),
    }


def cpu_seconds():
    """(wall, CPU seconds used by the whole machine, CPU seconds used by this process and its
    finished children) — to tell whether other processes competed for the cores."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    except (OSError, ValueError, IndexError):
        busy = None
    t = os.times()
    return time.monotonic(), busy, t.user + t.system + t.children_user + t.children_system


def other_cores(a, b):
    if a[1] is None or b[1] is None or b[0] <= a[0]:
        return None
    return round(max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / (b[0] - a[0])), 2)


# ------------------------------------------------------------------ the loop

def bench_model(name, model_dir, args, env):
    with open(os.path.join(model_dir, "info.json")) as f:
        info = json.load(f)
    x = np.load(os.path.join(model_dir, info["input"]))
    gen = info["arch"] == "GPT2LMHeadModel"
    res = {"arch": info["arch"], "input_shape": list(x.shape), "engines": {}, "notes": []}
    if gen:
        res["new_tokens"] = args.new_tokens
        res["notes"].append(f"prompt {x.shape[1]} tokens + {args.new_tokens} greedy tokens;"
                            " tokens_per_s = new tokens / (prefill + decode) time")
        if not info.get("onnx", {}).get("kv_cache"):
            res["notes"].append("ONNX export has no KV cache")
    engines = []
    for e in args.engines.split(","):
        rec = res["engines"].setdefault(e, {"samples": {}, "errors": []})
        try:
            if e == "pytorch":
                eng = TorchEngine(info, model_dir, args.threads)
            elif e == "onnxruntime":
                if "onnx" not in info:
                    raise RuntimeError("no model.onnx (made with --no-onnx?)")
                eng = OrtEngine(info, model_dir, args.threads)
            else:
                eng = EdgerunEngine(info, model_dir, args, env)
            rec["load_ms"] = eng.load_ms
            engines.append(eng)
        except Exception as ex:  # a peer that cannot start is reported, not fatal
            rec["errors"].append(f"setup: {ex}")
    outputs = {}

    def once(eng, record):
        rec = res["engines"][eng.name]
        try:
            m, out = eng.generate(x, args.new_tokens) if gen else eng.forward(x)
        except Exception as ex:
            rec["errors"].append(str(ex))
            return
        if record:
            for k, v in m.items():
                rec["samples"].setdefault(k, []).append(v)
            if out is not None:
                outputs[eng.name] = out
        time.sleep(args.pause)  # let the previous engine's spinning threads go idle

    for _ in range(args.warmup):
        for eng in engines:
            once(eng, record=False)
    for rep in range(args.reps):
        order = engines if rep % 2 == 0 else engines[::-1]  # alternate, and alternate who goes first
        for eng in order:
            once(eng, record=True)
        print(f"  {name}: repetition {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)

    for eng in engines:
        rec = res["engines"][eng.name]
        rec["median"] = {k: statistics.median(v) for k, v in rec["samples"].items()}
        if isinstance(eng, EdgerunEngine) and eng.last_report is not None:
            rep = {k: v for k, v in eng.last_report.items() if k not in ("generated_ids", "top")}
            rec["last_report"] = rep
    # outputs against PyTorch's (or ORT's): same weights, so they must agree
    ref_name = "pytorch" if "pytorch" in outputs else "onnxruntime"
    ref = outputs.get(ref_name)
    for e, out in outputs.items():
        if e == ref_name or ref is None:
            continue
        rec = res["engines"][e]
        if out.shape != ref.shape:
            rec["output_check"] = f"shape {list(out.shape)} != {ref_name} {list(ref.shape)}"
        elif gen:
            same = int((out == ref).all(axis=0).sum())
            rec["output_check"] = f"{same}/{ref.shape[1]} token positions equal to {ref_name}"
        else:
            rec["output_check"] = f"max abs diff vs {ref_name} {float(np.abs(out - ref).max()):.3g}"
    # ratios: edgerun's compute time over each peer's time (< 1: edgerun faster)
    er = res["engines"].get("edgerun", {}).get("median", {})
    key = "generate_ms" if gen else "forward_ms"
    mine = er.get("generate_ms" if gen else "compute_ms")
    res["ratios"] = {}
    for peer in ("onnxruntime", "pytorch"):
        theirs = res["engines"].get(peer, {}).get("median", {}).get(key)
        if mine and theirs:
            res["ratios"][f"edgerun/{peer}"] = mine / theirs
            if er.get("latency_ms") and not gen:
                res["ratios"][f"edgerun latency/{peer}"] = er["latency_ms"] / theirs
    return res


def fmt(v, digits=1):
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(results, envinfo, args):
    ob = envinfo["edgerun_openblas"]
    lines = ["# edgerun peer benchmark", "",
             f"- date: {envinfo['date']}; CPU: {envinfo['cpu']} ({envinfo['cores']} cores); "
             f"threads: {args.threads} everywhere; repetitions: {args.reps} (+{args.warmup} warm-up), "
             "engines alternating, medians",
             f"- edgerun BLAS: OPENBLAS_CORETYPE={envinfo['OPENBLAS_CORETYPE']}; library "
             f"{ob.get('library', '?')} picks core "
             f"**{ob.get('corename', ob.get('error', '?'))}**",
             f"- PyTorch {envinfo['torch']} (BLAS {envinfo['torch_blas']}, CPU capability "
             f"{envinfo['torch_cpu_capability']}), transformers {envinfo['transformers']}, "
             f"ONNX Runtime {envinfo['onnxruntime']} ({envinfo['onnxruntime_kernels']})",
             f"- command: `{envinfo['command']}`", "",
             "edgerun's time is its own `compute_ms` (model in memory, weights loaded); its "
             "`latency_ms` and the process wall time are listed beside it. PyTorch and ONNX Runtime "
             "times are in-process calls on a loaded model. Ratio = edgerun time / peer time "
             "(below 1: edgerun faster).", "",
             "| model | engine | median ms | min–max ms | runs | tokens/s | edgerun ÷ this | notes |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, res in results.items():
        gen = "new_tokens" in res
        key = "generate_ms" if gen else "forward_ms"
        for e, rec in res["engines"].items():
            s = rec["samples"]
            k = ("generate_ms" if gen else "compute_ms") if e == "edgerun" else key
            vals = s.get(k, [])
            med = rec.get("median", {})
            notes = []
            if e == "edgerun":
                for extra in ("latency_ms", "load_ms", "wall_ms"):
                    if extra in med:
                        notes.append(f"{extra.replace('_ms', '')} {med[extra]:.1f} ms")
                if "peak_rss_bytes" in med:
                    notes.append(f"peak RSS {med['peak_rss_bytes'] / 2**20:.0f} MiB")
                blas = rec.get("last_report", {}).get("blas_core")
                if blas:
                    notes.append(f"BLAS {blas}")
            if gen and "prefill_ms" in med:
                notes.append(f"prefill {med['prefill_ms']:.1f} ms")
            if rec.get("output_check"):
                notes.append(rec["output_check"])
            if rec["errors"]:
                notes.append(f"ERROR ({len(rec['errors'])}x): {rec['errors'][-1][:200]}")
            ratio = res["ratios"].get(f"edgerun/{e}")
            rng = f"{min(vals):.1f}–{max(vals):.1f}" if vals else "–"
            tps = fmt(med.get("tokens_per_s")) if gen else ""
            label = name + (f" ({res['input_shape'][1]}+{res['new_tokens']} tok)" if gen else "")
            lines.append(f"| {label} | {e} | {fmt(med.get(k))} | {rng} | {len(vals)} | {tps} | "
                         f"{fmt(ratio, 2) if e != 'edgerun' else ''} | "
                         f"{'; '.join(notes).replace('|', '/')} |")
        for n in res["notes"]:
            lines.append(f"| {name} | | | | | | | {n} |")
    busy = {n: r["other_cpu_cores"] for n, r in results.items()
            if (r.get("other_cpu_cores") or 0) > 0.25}
    if busy:
        lines += ["", f"**Warning: the machine was busy**: other processes used on average {busy} "
                  f"cores (of {os.cpu_count()}) while these ran. They steal cores from the "
                  f"{args.threads} compute threads (PyTorch's OpenMP barriers suffer most): re-run "
                  "on an idle machine before quoting these numbers."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", default="/tmp/edgerun-bench/models")
    ap.add_argument("--models", default="vit-base,bert-base,gpt2")
    ap.add_argument("--engines", default="pytorch,onnxruntime,edgerun")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--pause", type=float, default=0.3, help="seconds of idle between runs")
    default_bin = os.environ.get("EDGERUN") or next(
        (p for p in (os.path.join(REPO, "build", "edgerun"), os.path.join(REPO, "build-release", "edgerun"))
         if os.path.exists(p)), "edgerun")
    ap.add_argument("--edgerun", default=default_bin,
                    help="edgerun binary (default: $EDGERUN, else build/edgerun)")
    ap.add_argument("--edgerun-cmd", default=DEFAULT_RUN,
                    help="template; fields {edgerun} {dir} {input} {output} {threads} {new_tokens}")
    ap.add_argument("--edgerun-gen-cmd", default=DEFAULT_GEN, help="template for GPT-2 generation")
    ap.add_argument("--edgerun-timeout", type=float, default=600)
    ap.add_argument("--openblas-coretype", help="set OPENBLAS_CORETYPE for edgerun (e.g. SkylakeX)")
    ap.add_argument("--json-out", default="/tmp/edgerun-bench/peers.json")
    ap.add_argument("--md-out", default="/tmp/edgerun-bench/peers.md")
    args = ap.parse_args()
    if args.reps < 5:
        print("note: fewer than 5 repetitions; medians are not the project's standard", file=sys.stderr)

    env = dict(os.environ)
    if args.openblas_coretype:
        env["OPENBLAS_CORETYPE"] = args.openblas_coretype
    envinfo = environment(args, env)
    results = {}
    for name in args.models.split(","):
        d = os.path.join(args.models_dir, name)
        if not os.path.exists(os.path.join(d, "info.json")):
            note = f"missing {d}/info.json: run scripts/make_bench_models.py"
            results[name] = {"engines": {}, "notes": [note], "ratios": {}, "input_shape": []}
            continue
        print(f"benchmarking {name}", file=sys.stderr, flush=True)
        before = cpu_seconds()
        results[name] = bench_model(name, d, args, env)
        results[name]["other_cpu_cores"] = other_cores(before, cpu_seconds())
    md = markdown(results, envinfo, args)
    for path, text in ((args.json_out, json.dumps({"environment": envinfo, "results": results}, indent=1)),
                       (args.md_out, md)):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as f:
                f.write(text + ("\n" if not text.endswith("\n") else ""))
    print(md)


if __name__ == "__main__":
    main()
