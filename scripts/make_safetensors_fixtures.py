#!/usr/bin/env python3
# Writes the safetensors fixtures of tests/test_safetensors.cpp with the real `safetensors` library,
# so the C++ reader is checked against files it did not write itself:
#   all_dtypes.safetensors  one small tensor of each of edgerun's 15 dtypes, plus __metadata__
#   complex64.safetensors   a C64 tensor (a dtype the library has and edgerun does not)
# Values are arange-based so the test can check bytes, not only shapes. Run from the repo root:
#   python3 scripts/make_safetensors_fixtures.py
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "safetensors")


def main():
    os.makedirs(OUT, exist_ok=True)
    ar = lambda n, dt: torch.arange(n, dtype=torch.int64).to(dt)  # noqa: E731
    tensors = {
        "f64": ar(6, torch.float64).reshape(2, 3),
        "f32": ar(12, torch.float32).reshape(3, 4),
        "f16": ar(4, torch.float16),
        "bf16": ar(6, torch.bfloat16).reshape(3, 2),
        "f8_e4m3": ar(5, torch.float32).to(torch.float8_e4m3fn),
        "f8_e5m2": ar(3, torch.float32).to(torch.float8_e5m2),
        "i64": (ar(4, torch.int64) - 2).reshape(2, 2),
        "i32": ar(3, torch.int32) - 1,
        "i16": ar(2, torch.int16).reshape(1, 2, 1),
        "i8": ar(5, torch.int8) - 3,
        "u64": ar(2, torch.uint64),
        "u32": ar(3, torch.uint32),
        "u16": ar(4, torch.uint16),
        "u8": ar(7, torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "empty": torch.zeros((0, 3), dtype=torch.float32),  # zero-size tensors are valid
        "scalar": torch.tensor(7.5, dtype=torch.float32),   # rank 0
    }
    save_file(tensors, os.path.join(OUT, "all_dtypes.safetensors"),
              metadata={"format": "pt", "source": "make_safetensors_fixtures.py"})
    save_file({"ok": torch.ones(2), "z": torch.zeros(2, dtype=torch.complex64)},
              os.path.join(OUT, "complex64.safetensors"))


if __name__ == "__main__":
    main()
