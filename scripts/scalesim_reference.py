#!/usr/bin/env python3
# Reference numbers from SCALE-Sim (PyPI `scalesim`, pinned) for edgerun's systolic-array model.
# Installs the pinned SCALE-Sim into its own virtual environment (its 3.0.0 release needs
# numpy < 2), runs it on a fixed set of GEMMs (ViT, BERT, ResNet im2col and odd shapes) for
# several array shapes and all three dataflows in the no-stall configuration (large SRAM, high
# bandwidth), and writes tests/data/scalesim/reference.csv (columns compared by name, so v2's
# and v3's report layouts both work) plus reference_meta.json. tests/test_sim_scalesim.cpp
# checks edgerun against reference.csv; CI never runs this script.
#
#   python3 scripts/scalesim_reference.py                      # reference.csv (a few minutes)
#   python3 scripts/scalesim_reference.py --speed --edgerun build/edgerun
#       # time SCALE-Sim vs edgerun on one ViT-B/16 encoder layer -> speed.json
#   python3 scripts/scalesim_reference.py --compare --edgerun build/edgerun
#       # no SCALE-Sim run: edgerun's COMPUTE_REPORT.csv vs reference.csv, as a markdown table
import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "data", "scalesim")
SCALESIM_VERSION = "3.0.0"
# scalesim 3.0.0 calls int() on one-element arrays, which the numpy 2.4 pip picks by default
# rejects ("only 0-dimensional arrays can be converted"); pandas 3 needs numpy 2. These pins are what reference.csv was made with.
PINS = [f"scalesim=={SCALESIM_VERSION}", "numpy==1.26.4", "pandas==2.2.3"]

# (name, M, N, K): C[M x N] = A[M x K] B[K x N], SCALE-Sim's "Layer, M, N, K" order.
SMALL = [
    # the digits ViT (17 tokens, d 32, 4 heads of 8, FFN 64): the SAMM ASIC's shapes
    ("vit_digits_patch", 16, 32, 4),
    ("vit_digits_qkv", 17, 32, 32),
    ("vit_digits_fc1", 17, 64, 32),
    ("vit_digits_fc2", 17, 32, 64),
    ("vit_digits_qk_head", 17, 17, 8),
    ("vit_digits_pv_head", 17, 8, 17),
    ("vit_digits_taylor_ktv_head", 8, 8, 17),
    ("vit_digits_taylor_qktv_head", 17, 8, 8),
    ("vit_digits_classifier", 1, 10, 32),
    # odd shapes: single rows/columns, primes, one past a fold boundary
    ("odd_1x1x1", 1, 1, 1),
    ("odd_3x5x7", 3, 5, 7),
    ("odd_33x17x65", 33, 17, 65),
    ("odd_1x64x1", 1, 64, 1),
    ("odd_100x1x50", 100, 1, 50),
    # the topology of tests/test_sim_cli.cpp's COMPUTE_REPORT test (8x8 os)
    ("example_l0", 17, 32, 48),
    ("example_l1", 20, 9, 13),
]
LARGE = [
    ("vit_b16_qk_head", 197, 197, 64),
    ("vit_b16_pv_head", 197, 64, 197),
    ("vit_ti16_qkv", 197, 192, 192),
    ("bert_tiny_s128_qkv", 128, 128, 128),
    ("bert_tiny_s128_fc1", 128, 512, 128),
    ("bert_tiny_s128_qk_head", 128, 128, 64),
    ("resnet20_conv1_im2col", 1024, 16, 27),
    ("resnet20_layer1_conv_im2col", 1024, 16, 144),
    ("resnet20_layer3_conv_im2col", 64, 64, 576),
]
# 17x32, 16x32 and 17x1 are the SAMM ASIC's arrays.
ARRAYS = [(8, 8), (16, 32), (32, 32), (17, 32), (17, 1)]
# SCALE-Sim builds its demand matrices with one np.concatenate per fold (quadratic in the fold
# count) and then walks them cycle by cycle (~70 us per cycle), so a (layer, array, dataflow)
# case is run only if it has at most MAX_FOLDS folds and MAX_CYCLES cycles (DESIGN.md's fold
# formulas); this keeps the whole reference run to a couple of minutes.
MAX_FOLDS, MAX_CYCLES = 160, 40000
# Cases run whatever those limits say: tests/test_sim_systolic.cpp's hand-checked numbers.
FORCED = {(8, 8, "ws", "resnet20_layer3_conv_im2col"), (8, 8, "is", "resnet20_layer3_conv_im2col")}
DATAFLOWS = ["os", "ws", "is"]

CONFIG = """[general]
run_name = edgerun_ref

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : 65536
FilterSramSzkB : 65536
OfmapSramSzkB : 65536
IfmapOffset : 0
FilterOffset : 100000000
OfmapOffset : 200000000
Bandwidth : 1024
Dataflow : {dataflow}
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : 1024
IfmapSRAMBankNum : 1
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : 1024
FilterSRAMBankNum : 1
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : USER
UseRamulatorTrace : False
"""

# SCALE-Sim 3.x reads a layout file even for GEMMs; with custom layouts off its content is unused.
LAYOUT_HEADER = ("Layer name, IFMAP Height Intraline Factor, IFMAP Width Intraline Factor, "
                 "Filter Height Intraline Factor, Filter Width Intraline Factor, Channel "
                 "Intraline Factor, Num Filter Intraline Factor, IFMAP Height Intraline Order, "
                 "IFMAP Width Intraline Order, Channel Intraline Order, IFMAP Height Interline "
                 "Order, IFMAP Width Interline Order, Channel Interline Order, Num Filter "
                 "Intraline Order, Channel Intraline Order, Filter Height Intraline Order, "
                 "Filter Width Intraline Order, Num Filter Interline Order, Channel Interline "
                 "Order, Filter Height Interline Order, Filter Width Interline Order,\n")
LAYOUT_ROW = "1, 1, 1, 1, 1, 1, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 3,\n"

DRIVER = """
import sys
from scalesim.scale_sim import scalesim
s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2],
             layout=sys.argv[3], input_type_gemm=True)
s.run_scale(top_path=sys.argv[4])
"""


def venv_python(venv):
    py = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, "edgerun_pins.txt")
    if os.path.exists(py) and os.path.exists(stamp) and open(stamp).read() == "\n".join(PINS):
        return py
    print(f"creating {venv} with {' '.join(PINS)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", *PINS], check=True)
    with open(stamp, "w") as f:
        f.write("\n".join(PINS))
    return py


def write_topology(path, layers):
    with open(path, "w") as f:
        f.write("Layer, M, N, K,\n")
        for name, m, n, k in layers:
            f.write(f"{name}, {m}, {n}, {k},\n")


def read_report(path):
    """SCALE-Sim report -> list of {column name: text}, names stripped (they start with ' ')."""
    with open(path) as f:
        rows = [[c.strip() for c in r] for r in csv.reader(f)]
    header = [h for h in rows[0] if h]
    return [dict(zip(header, r)) for r in rows[1:] if any(r)]


def run_scalesim(py, rows, cols, dataflow, layers, work):
    d = tempfile.mkdtemp(dir=work)
    cfg, topo, lay = (os.path.join(d, n) for n in ("scale.cfg", "topology.csv", "layout.csv"))
    with open(cfg, "w") as f:
        f.write(CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
    write_topology(topo, layers)
    with open(lay, "w") as f:
        f.write(LAYOUT_HEADER + LAYOUT_ROW * len(layers))
    out = os.path.join(d, "out")
    t0 = time.perf_counter()
    subprocess.run([py, "-c", DRIVER, cfg, topo, lay, out], check=True,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    run_dir = os.path.join(out, "edgerun_ref")
    compute = read_report(os.path.join(run_dir, "COMPUTE_REPORT.csv"))
    detail = read_report(os.path.join(run_dir, "DETAILED_ACCESS_REPORT.csv"))
    assert len(compute) == len(layers) == len(detail), (len(compute), len(layers))
    return compute, detail, seconds


COMPUTE_COLUMNS = ["Total Cycles", "Stall Cycles", "Overall Util %", "Mapping Efficiency %",
                   "Compute Util %", "Total Cycles (incl. prefetch)"]
DETAIL_COLUMNS = ["SRAM IFMAP Reads", "SRAM Filter Reads", "SRAM OFMAP Writes"]


def folds_and_cycles(rows, cols, df, m, n, k):
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[df]
    tau = rows + cols + t - 2 if df == "os" else 2 * rows + cols + t - 2
    folds = -(-sr // rows) * -(-sc // cols)
    return folds, folds * tau


def selected(rows, cols, df):
    out = []
    for layer in SMALL + LARGE:
        folds, cycles = folds_and_cycles(rows, cols, df, *layer[1:])
        if (folds <= MAX_FOLDS and cycles <= MAX_CYCLES) or (rows, cols, df, layer[0]) in FORCED:
            out.append(layer)
    return out


def make_reference(py, work):
    out_rows = []
    total_s = 0.0
    for rows, cols in ARRAYS:
        for df in DATAFLOWS:
            layers = selected(rows, cols, df)
            compute, detail, s = run_scalesim(py, rows, cols, df, layers, work)
            total_s += s
            print(f"  {rows}x{cols} {df}: {len(layers)} layers in {s:.1f} s", flush=True)
            for (name, m, n, k), c, d in zip(layers, compute, detail):
                row = {"array": f"{rows}x{cols}", "dataflow": df, "layer": name,
                       "M": m, "N": n, "K": k}
                for col in COMPUTE_COLUMNS:
                    row[col] = c.get(col, "")  # v2 has no "incl. prefetch" column
                for col in DETAIL_COLUMNS:
                    row[col] = d[col]
                out_rows.append(row)
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "reference.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(out_rows)
    freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    meta = {"scalesim_version": SCALESIM_VERSION, "pins": PINS,
            "pip_freeze": freeze.split(), "python": platform.python_version(),
            "config": "SRAM 65536 KB each, Bandwidth 1024, word size 1 byte (SCALE-Sim's), "
                      "InterfaceBandwidth USER: the no-stall configuration",
            "scalesim_seconds": round(total_s, 1), "rows": len(out_rows),
            "made_by": "scripts/scalesim_reference.py"}
    with open(os.path.join(OUT_DIR, "reference_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {path}: {len(out_rows)} rows; SCALE-Sim ran {total_s:.1f} s")


def vit_b16_layer():
    """One ViT-B/16 encoder layer (197 tokens, d 768, 12 heads of 64, FFN 3072), softmax."""
    t, d, h, hd, f = 197, 768, 12, 64, 3072
    layers = [(f"query", t, d, d), (f"key", t, d, d), (f"value", t, d, d)]
    for i in range(h):
        layers += [(f"h{i}.qk", t, t, hd), (f"h{i}.pv", t, hd, t)]
    layers += [("attention.output", t, d, d), ("intermediate", t, f, d), ("output", t, d, f)]
    return layers


def vit_b16_model():
    layers = [("patch_embed", 196, 768, 3 * 16 * 16)]
    for i in range(12):
        layers += [(f"layer{i}.{n}", m, nn, k) for n, m, nn, k in vit_b16_layer()]
    layers.append(("classifier", 1, 1000, 768))
    return layers


def speed(py, edgerun, work, runs):
    layer_csv = os.path.join(OUT_DIR, "vit_b16_layer.csv")
    model_csv = os.path.join(OUT_DIR, "vit_b16.csv")
    write_topology(layer_csv, vit_b16_layer())
    write_topology(model_csv, vit_b16_model())
    rows, cols, df = 32, 32, "os"
    print(f"SCALE-Sim on one ViT-B/16 encoder layer ({rows}x{cols} {df}) ...", flush=True)
    compute, _, ss = run_scalesim(py, rows, cols, df, vit_b16_layer(), work)
    ss_cycles = sum(int(c["Total Cycles"]) for c in compute)

    def edgerun_run(csv_path):
        t0 = time.perf_counter()
        r = subprocess.run([edgerun, "sim", "systolic", "--topology", csv_path, "--array",
                            f"{rows}x{cols}", "--dataflow", df, "--json"],
                           check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        j = json.loads(r.stdout)
        return wall, j["sim_time_us"], j["total"]["total_cycles"]

    layer_runs = [edgerun_run(layer_csv) for _ in range(runs)]
    model_runs = [edgerun_run(model_csv) for _ in range(runs)]
    er_wall = statistics.median(r[0] for r in layer_runs)
    er_core = statistics.median(r[1] for r in layer_runs)
    result = {
        "array": f"{rows}x{cols}", "dataflow": df, "scalesim_version": SCALESIM_VERSION,
        "layer_gemms": len(vit_b16_layer()),
        "scalesim_layer_seconds": round(ss, 2), "scalesim_layer_cycles": ss_cycles,
        "edgerun_layer_cycles": layer_runs[0][2],
        "edgerun_layer_process_seconds_median": er_wall,
        "edgerun_layer_model_us_median": er_core,
        "ratio_process": ss / er_wall, "ratio_model_only": ss / (er_core * 1e-6),
        "edgerun_model_gemms": len(vit_b16_model()),
        "edgerun_model_process_seconds_median": statistics.median(r[0] for r in model_runs),
        "edgerun_model_model_us_median": statistics.median(r[1] for r in model_runs),
        "runs": runs, "cpu": platform.processor() or platform.machine(),
    }
    with open(os.path.join(OUT_DIR, "speed.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(json.dumps(result, indent=1))


def compare(edgerun, work):
    with open(os.path.join(OUT_DIR, "reference.csv")) as f:
        ref = list(csv.DictReader(f))
    groups = {}
    for r in ref:
        groups.setdefault((r["array"], r["dataflow"]), []).append(r)
    print("| array | dataflow | layers | Total Cycles identical | max abs diff Overall Util % | "
          "max abs diff Mapping Efficiency % | max abs diff Compute Util % | sum of Total Cycles |")
    print("|---|---|---|---|---|---|---|---|")
    for (array, df), rows in groups.items():
        topo = os.path.join(work, f"{array}_{df}.csv")
        write_topology(topo, [(r["layer"], r["M"], r["N"], r["K"]) for r in rows])
        out = os.path.join(work, f"{array}_{df}")
        subprocess.run([edgerun, "sim", "systolic", "--topology", topo, "--array", array,
                        "--dataflow", df, "--out", out], check=True, capture_output=True)
        ours = read_report(os.path.join(out, "COMPUTE_REPORT.csv"))
        assert len(ours) == len(rows)
        same = sum(o["Total Cycles"] == r["Total Cycles"] for o, r in zip(ours, rows))
        diffs = [max(abs(float(o[c]) - float(r[c])) for o, r in zip(ours, rows))
                 for c in ("Overall Util %", "Mapping Efficiency %", "Compute Util %")]
        total = sum(int(r["Total Cycles"]) for r in rows)
        print(f"| {array} | {df} | {len(rows)} | {same}/{len(rows)} | {diffs[0]:.1e} | "
              f"{diffs[1]:.1e} | {diffs[2]:.1e} | {total} |")


def main():
    ap = argparse.ArgumentParser(description="SCALE-Sim reference numbers for edgerun sim systolic")
    ap.add_argument("--venv", default=os.path.join(
        os.path.expanduser("~"), ".cache", "edgerun", f"scalesim-venv-{SCALESIM_VERSION}"))
    ap.add_argument("--speed", action="store_true",
                    help="time SCALE-Sim vs edgerun on one ViT-B/16 layer (speed.json)")
    ap.add_argument("--compare", action="store_true",
                    help="compare edgerun's reports with reference.csv (no SCALE-Sim run)")
    ap.add_argument("--edgerun", default=os.path.join(ROOT, "build", "edgerun"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="scalesim_ref_")
    try:
        if args.compare:
            compare(args.edgerun, work)
            return
        py = venv_python(args.venv)
        if args.speed:
            speed(py, args.edgerun, work, args.runs)
        else:
            make_reference(py, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
