#!/usr/bin/env python3
# Writes the image fixtures of tests/test_image.cpp: small images made with PIL, preprocessor
# configs, and reference pixel_values from transformers' PIL image processor, so the C++
# preprocessing (stb decode + Pillow's resampling reproduced) is checked against the real thing.
#
# Reference processor: transformers 5.x ViTImageProcessorPil (the PIL/NumPy backend; in 5.x the
# plain ViTImageProcessor is the torchvision backend, whose resize differs from PIL's). It is the
# same pipeline as 4.x's slow ViTImageProcessor: PIL resize on uint8, rescale in float64 -> float32,
# normalize in float32, channels first.
#
# Output under tests/data/images/:
#   *.png/*.bmp/*.jpg     the images (RGB with gradients and noise, L, RGBA, P with a transparent
#                         index, 16-bit L, the RGB pixels as BMP, a 40x40 JPEG)
#   configs/<name>/preprocessor_config.json
#   refs/<image>__<config>.npy   pixel_values (1, C, H, W) float32
#   cases.txt             one line per case: image config num_channels max_abs_diff reference
# For num_channels 1 (grayscale models; transformers has no such mode) the reference is the image
# converted as the processor does (convert_to_rgb), then PIL convert("L"), then processed with
# do_convert_rgb=False and 1-channel mean/std.
# Run from the repo root: python3 scripts/make_image_fixtures.py
import json
import os
import shutil

import numpy as np
import transformers
from PIL import Image
from transformers.image_transforms import convert_to_rgb
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "images")

# PNG/BMP decode identically in stb and PIL and the C++ repeats every rounding step, so those
# cases must be bit-identical (0; a float32 rescale instead of float64 would already show as
# ~1e-7). JPEG decoders differ (stb vs libjpeg-turbo: IDCT, chroma upsampling, YCbCr rounding),
# so a JPEG is allowed a few uint8 levels: 0.1 is ~6 levels at std 0.229 (see test_image.cpp).
EXACT = 0.0
JPEG = 0.1

CONFIGS = {
    # ViT-style: square bilinear, mean/std 0.5 (class defaults), conversion to RGB asked for.
    "bilinear_16": {"size": {"height": 16, "width": 16}, "resample": 2, "do_convert_rgb": True},
    # A full ViT config as the Hub has it (extra keys ignored); upscale in height, downscale in width.
    "bicubic_24x20": {
        "do_normalize": True, "do_rescale": True, "do_resize": True,
        "image_mean": [0.485, 0.456, 0.406], "image_processor_type": "ViTImageProcessor",
        "image_std": [0.229, 0.224, 0.225], "resample": 3, "rescale_factor": 0.00392156862745098,
        "size": {"height": 24, "width": 20},
    },
    "lanczos_int_12": {"size": 12, "resample": 1, "do_convert_rgb": True},
    "nearest_31x17": {"size": {"height": 31, "width": 17}, "resample": 0},
    "box_9x10": {"size": {"height": 9, "width": 10}, "resample": 4},
    # Height shrinks more than twice as much as width: Pillow runs the vertical pass first.
    "hamming_8x36": {"size": {"height": 8, "width": 36}, "resample": 5},
    "mks2013_11x14": {"size": [11, 14], "resample": 6},
    "mks2021_20x15": {"size": {"height": 20, "width": 15}, "resample": 7},
    # Shortest edge then a center crop larger than the resized height (zero padding).
    "shortest_crop": {
        "size": {"shortest_edge": 18}, "resample": 3, "do_center_crop": True,
        "crop_size": {"height": 20, "width": 24}, "image_mean": 0.5, "image_std": [0.5, 0.4, 0.3],
        "do_convert_rgb": True,
    },
    "no_resize_rescale_only": {"do_resize": False, "do_normalize": False, "do_convert_rgb": True},
    "gray_1ch": {"size": {"height": 16, "width": 16}, "resample": 2, "image_mean": [0.5],
                 "image_std": [0.25], "do_convert_rgb": True},
}

# (image, config, num_channels)
CASES = [("rgb_37x23.png", c, 3) for c in CONFIGS if c != "gray_1ch"] + [
    ("rgb_37x23.png", "gray_1ch", 1),
    ("gray_19x29.png", "bilinear_16", 3),  # 29 -> 16 rows, 19 -> 16 columns: vertical pass first
    ("gray_19x29.png", "gray_1ch", 1),
    ("rgba_23x17.png", "bilinear_16", 3),
    ("rgba_23x17.png", "no_resize_rescale_only", 3),
    ("palette_trns_13x11.png", "bilinear_16", 3),
    ("gray16_7x5.png", "no_resize_rescale_only", 3),
    ("rgb_37x23.bmp", "bicubic_24x20", 3),
    ("photo_40x40.jpg", "bilinear_16", 3),
    ("photo_40x40.jpg", "bicubic_24x20", 3),
]


def make_images(rng):
    y, x = np.mgrid[0:23, 0:37]
    rgb = np.stack([x * 7, y * 11, (x * y) % 256], axis=-1) + rng.integers(-40, 41, (23, 37, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    rgb[5:9, 20:30] = [255, 0, 0]  # hard edges exercise the clipping of negative filter lobes
    rgb[12:18, 3:6] = [0, 0, 0]
    Image.fromarray(rgb).save(os.path.join(OUT, "rgb_37x23.png"))
    Image.fromarray(rgb).save(os.path.join(OUT, "rgb_37x23.bmp"))

    gy, gx = np.mgrid[0:29, 0:19]
    gray = np.clip(gx * 13 + gy * 5 + rng.integers(-30, 31, (29, 19)), 0, 255).astype(np.uint8)
    Image.fromarray(gray, mode="L").save(os.path.join(OUT, "gray_19x29.png"))

    ry, rx = np.mgrid[0:17, 0:23]
    rgba = np.stack([rx * 11, 255 - ry * 15, rng.integers(0, 256, (17, 23)),
                     np.clip(rx * 12 - 10, 0, 255)], axis=-1).astype(np.uint8)
    rgba[:, -2:, 3] = 255  # fully opaque and fully transparent columns both present
    Image.fromarray(rgba, mode="RGBA").save(os.path.join(OUT, "rgba_23x17.png"))

    pal = Image.fromarray(rng.integers(0, 6, (11, 13)).astype(np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 100, 50, 90, 90, 90])
    pal.save(os.path.join(OUT, "palette_trns_13x11.png"), transparency=3)

    g16 = (np.arange(35).reshape(5, 7) * 19).astype(np.uint16)  # 0..646: PIL clips at 255
    Image.fromarray(g16).save(os.path.join(OUT, "gray16_7x5.png"))

    jy, jx = np.mgrid[0:40, 0:40]
    photo = np.stack([jx * 6, jy * 6, 128 + 60 * np.sin(jx / 5.0) * np.cos(jy / 7.0)], axis=-1)
    photo[10:25, 15:30] = [30, 200, 90]
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(
        os.path.join(OUT, "photo_40x40.jpg"), quality=90)


def reference(image_name, config_name, num_channels):
    proc = ViTImageProcessorPil.from_pretrained(os.path.join(OUT, "configs", config_name))
    img = Image.open(os.path.join(OUT, image_name))
    if num_channels == 1:
        img = Image.fromarray(convert_to_rgb(img, return_numpy=True)).convert("L")
        out = proc(img, do_convert_rgb=False, return_tensors="np")
    else:
        out = proc(img, return_tensors="np")
    pv = out["pixel_values"]
    assert pv.dtype == np.float32 and pv.shape[:2] == (1, num_channels), pv.shape
    return pv


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "refs"))
    make_images(np.random.default_rng(1234))
    for name, cfg in CONFIGS.items():
        os.makedirs(os.path.join(OUT, "configs", name))
        with open(os.path.join(OUT, "configs", name, "preprocessor_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
    lines = [f"# made by scripts/make_image_fixtures.py with transformers {transformers.__version__}, "
             f"Pillow {Image.__version__} (ViTImageProcessorPil)",
             "# image config num_channels max_abs_diff reference"]
    for image_name, config_name, num_channels in CASES:
        ref = f"{image_name.replace('.', '_')}__{config_name}.npy"
        np.save(os.path.join(OUT, "refs", ref), reference(image_name, config_name, num_channels))
        tol = JPEG if image_name.endswith(".jpg") else EXACT
        lines.append(f"{image_name} {config_name} {num_channels} {tol} {ref}")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
