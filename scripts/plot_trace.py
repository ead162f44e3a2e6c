#!/usr/bin/env python3
"""Draws an edgerun Chrome trace (edgerun run ... --trace t.json) as a PNG timeline: one row per
agent (loaders, inference, daemon) and the budget memory in use below. For docs; Perfetto or
chrome://tracing show the same file interactively."""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("png")
    ap.add_argument("--title", default="edgerun trace")
    a = ap.parse_args()
    ev = json.load(open(a.trace))["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in ev if e.get("ph") == "M"}
    spans = [e for e in ev if e.get("ph") == "X"]
    mem = sorted((e["ts"], e["args"]["MiB"]) for e in ev if e.get("ph") == "C")
    order = sorted(names, key=lambda t: (not names[t].startswith("loader"), names[t] != "inference", names[t]))
    row = {t: i for i, t in enumerate(order)}
    colors = {"load": "#4c72b0", "grant": "#c7d3e8", "compute": "#55a868", "stall": "#dd8452", "free": "#8172b2"}
    fig, (ax, axm) = plt.subplots(2, 1, figsize=(12, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    for e in spans:
        kind = e["name"].split(" ")[0]
        ax.barh(row[e["tid"]], e["dur"] / 1e3, left=e["ts"] / 1e3, height=0.6,
                color=colors.get(kind, "#999999"), edgecolor="none")
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([names[t] for t in order])
    ax.invert_yaxis()
    ax.set_title(a.title)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    ax.legend(handles, list(colors), ncol=5, loc="upper right", fontsize=8)
    if mem:
        axm.step([m[0] / 1e3 for m in mem], [m[1] for m in mem], where="post", color="#c44e52")
    axm.set_ylabel("budget in use (MiB)")
    axm.set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)


if __name__ == "__main__":
    main()
