#!/usr/bin/env python3
# Float64 NumPy references of edgerun's attention variants (DESIGN.md "Numerics"), written from
# the formulas alone, independently of the C++ kernels: random float32 q, k, v (and padding
# masks) go to tests/data/attention/<case>/, with out_<variant>.npy (float64) for softmax,
# taylor, sima and shiftmax. tests/test_attention_variants.cpp checks every kernel against them.
#   python3 scripts/make_attention_refs.py
import json
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "attention")
SIMA_EPS = 1e-6  # kernels::kSimaEps
LOG2E = 1.0 / math.log(2.0)


def counted(mask_row, T):
    """Tokens that count: the valid ones, or all of them when none is valid (then softmax and
    shiftmax weigh every key equally, as transformers does; taylor and sima take them all)."""
    if mask_row is None or not mask_row.any():
        return np.ones(T, dtype=bool), mask_row is not None
    return mask_row.astype(bool), False


def softmax(q, k, v, scale, use, none):
    s = np.zeros((len(q), len(k))) if none else scale * (q @ k.T)
    s = np.where(use[None, :], s, -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)) @ v


def taylor(q, k, v, scale, use, none):
    # exp(x) ~ 1 + x with keys centred over the n counted tokens: the normaliser is n.
    n = use.sum()
    kc = np.where(use[:, None], k - k[use].mean(axis=0), 0.0)
    v_sum = v[use].sum(axis=0)
    return v_sum[None, :] / n + scale * (q @ (kc.T @ v)) / n


def sima(q, k, v, scale, use, none):
    qh = q / (np.abs(q[use]).sum(axis=0) + SIMA_EPS)
    kh = np.where(use[:, None], k / (np.abs(k[use]).sum(axis=0) + SIMA_EPS), 0.0)
    return qh @ (kh.T @ v)


def pow2_shift(u):
    """2^u for u <= 0 as (1 + frac u) 2^floor(u); 0 below -126 (as the kernels)."""
    u = np.asarray(u, dtype=np.float64)
    fl = np.floor(np.where(u > -126, u, 0.0))
    r = np.ldexp(1.0 + (u - fl), fl.astype(np.int64))
    return np.where(u > -126, r, 0.0)


def log2_mitchell(s):
    m, e = np.frexp(s)  # s = m 2^e, m in [0.5, 1)
    return (e - 1) + (2.0 * m - 1.0)


def shiftmax(q, k, v, scale, use, none):
    s = np.zeros((len(q), len(k))) if none else scale * LOG2E * (q @ k.T)
    s = np.where(use[None, :], s, -np.inf)
    u = s - s.max(axis=1, keepdims=True)
    l = log2_mitchell(pow2_shift(u).sum(axis=1, keepdims=True))
    return pow2_shift(u - l) @ v


VARIANTS = {"softmax": softmax, "taylor": taylor, "sima": sima, "shiftmax": shiftmax}


def run(name, q, k, v, B, T, H, hd, scale, mask):
    D = H * hd
    q64, k64, v64 = (x.astype(np.float64).reshape(B, T, H, hd) for x in (q, k, v))
    for variant, fn in VARIANTS.items():
        out = np.zeros((B, T, H, hd))
        for b in range(B):
            use, none = counted(None if mask is None else mask[b], T)
            for h in range(H):
                out[b, :, h, :] = fn(q64[b, :, h], k64[b, :, h], v64[b, :, h], scale, use, none)
        np.save(os.path.join(OUT, name, f"out_{variant}.npy"), out.reshape(B * T, D))


def main():
    rng = np.random.default_rng(20240604)
    cases = [
        # name, B, T, H, hd, scale, q spread, mask rows (None: no mask)
        ("vit_digits", 2, 17, 4, 8, 1 / math.sqrt(8), 1.0, None),
        ("bert_masked", 3, 9, 2, 5, 1 / math.sqrt(5), 1.5,
         [[1] * 9, [1] * 6 + [0] * 3, [1, 1] + [0] * 7]),
        ("odd", 1, 31, 3, 13, 0.3, 2.0, None),
        ("padded_rows", 2, 5, 1, 4, 0.5, 1.0, [[0] * 5, [1, 0, 1, 0, 1]]),
    ]
    index = []
    for name, B, T, H, hd, scale, spread, mask in cases:
        scale = float(np.float32(scale))  # the kernels get it as float32
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        D = H * hd
        q = (spread * rng.standard_normal((B * T, D))).astype(np.float32)
        k = rng.standard_normal((B * T, D)).astype(np.float32)
        v = rng.standard_normal((B * T, D)).astype(np.float32)
        for n, x in (("q", q), ("k", k), ("v", v)):
            np.save(os.path.join(OUT, name, f"{n}.npy"), x)
        m = None
        if mask is not None:
            m = np.array(mask, dtype=np.int64)
            np.save(os.path.join(OUT, name, "mask.npy"), m)
        run(name, q, k, v, B, T, H, hd, scale, m)
        index.append({"name": name, "B": B, "T": T, "n_head": H, "head_dim": hd,
                      "scale": scale, "mask": m is not None})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"variants": list(VARIANTS), "cases": index}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(index)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
