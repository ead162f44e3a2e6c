#!/usr/bin/env python3
# Writes the .npy fixtures of tests/test_npy.cpp with numpy itself, so the C++ reader is checked
# against files it did not write (and write_npy against numpy's exact bytes):
#   f32_2x3.npy     float32 arange(6) reshaped (2, 3)        format 1.0
#   i64_1x5.npy     int64 [-2, -1, 0, 1, 2] shaped (1, 5)     format 1.0
#   scalar_f64.npy  0-d float64 2.5                           format 1.0, shape ()
#   bool_4.npy      bool [True, False, False, True]            descr '|b1'
#   u8_v2.npy       uint8 arange(10) shaped (2, 5)            format 2.0 (written with version=(2, 0))
#   f16_3.npy       float16 [0.5, -1, 65504]                   descr '<f2'
#   empty_0x3.npy   float32 shape (0, 3)                       zero-size data
# Run from the repo root: python3 scripts/make_npy_fixtures.py
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "npy")


def main():
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "f32_2x3.npy"), np.arange(6, dtype=np.float32).reshape(2, 3))
    np.save(os.path.join(OUT, "i64_1x5.npy"), (np.arange(5, dtype=np.int64) - 2).reshape(1, 5))
    np.save(os.path.join(OUT, "scalar_f64.npy"), np.array(2.5, dtype=np.float64))
    np.save(os.path.join(OUT, "bool_4.npy"), np.array([True, False, False, True]))
    np.save(os.path.join(OUT, "f16_3.npy"), np.array([0.5, -1.0, 65504.0], dtype=np.float16))
    np.save(os.path.join(OUT, "empty_0x3.npy"), np.zeros((0, 3), dtype=np.float32))
    with open(os.path.join(OUT, "u8_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(10, dtype=np.uint8).reshape(2, 5), version=(2, 0))


if __name__ == "__main__":
    main()
