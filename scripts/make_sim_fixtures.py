#!/usr/bin/env python3
# Writes tests/data/sim/vit_digits_shape: a randomly initialised ViT with the digits ViT's shape
# (8x8x1 image, patch 2 -> 16 patches + CLS = 17 tokens, d_model 32, 4 heads, FFN 64, 2 layers,
# 10 labels; the SAMM ASIC's 17x32 shapes), saved by transformers itself. The accelerator models
# read only its Graph (shapes), so random weights are enough; `edgerun sim samm` runs the same
# on the trained models/vit-digits-* once they exist.
#   python3 scripts/make_sim_fixtures.py
import os

import torch
from transformers import ViTConfig, ViTForImageClassification

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    torch.manual_seed(0)
    cfg = ViTConfig(image_size=8, patch_size=2, num_channels=1, hidden_size=32,
                    num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                    hidden_act="gelu", num_labels=10)
    model = ViTForImageClassification(cfg).eval()
    out = os.path.join(ROOT, "tests", "data", "sim", "vit_digits_shape")
    model.save_pretrained(out, safe_serialization=True)
    print("wrote", out, sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
