#!/usr/bin/env python3
# Trains edgerun's bundled default model: a tiny ViT (17 tokens x 32 dims, 4 heads: the shapes of
# the SAMM ASIC) on scikit-learn's bundled 8x8 digits, and writes it as a Hugging Face folder
# (save_pretrained, safetensors) with its preprocessor config, the held-out test split as .npy,
# sample images and metrics.json. CPU only, 2 threads, deterministic given --seed. Trains softmax
# attention, or ViTALiTy's Taylor attention exactly as edgerun's `taylor` variant computes it
# (DESIGN.md "Numerics"); the folder also gets calib_x.npy, training images for q16 calibration.
#   python3 scripts/train_vit_digits.py --attention softmax --seed 0 --out models/vit-digits-softmax
#   python3 scripts/train_vit_digits.py --attention taylor --seed 0 --out models/vit-digits-taylor
import argparse
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from transformers import AttentionInterface, ViTConfig, ViTForImageClassification, ViTImageProcessor

# Input contract, shared by the .npy files, the PNG samples (through preprocessor_config.json)
# and the C++ side: raw pixels 0..16 -> x = pixels * RESCALE, then (x - MEAN) / STD.
PIXEL_MAX = 16
RESCALE = 1.0 / PIXEL_MAX  # 0.0625, exact in binary
MEAN, STD = 0.5, 0.5

CALIB_IMAGES = 256  # the first training images, saved as calib_x.npy for q16 calibration


def taylor_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """ViTALiTy's first-order Taylor attention as DESIGN.md defines edgerun's `taylor` variant:
    exp(x) ~ 1 + x on keys mean-centred over the n tokens, so the normaliser is the constant n and
    Z = 1 v_sum^T / n + scaling * Q (K^^T V) / n. query/key/value (B, H, n, d); ViT has no mask."""
    assert attention_mask is None, "taylor attention here is for unmasked ViT inputs"
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    n = key.size(-2)
    k_hat = key - key.mean(dim=-2, keepdim=True)
    kv = torch.matmul(k_hat.transpose(-1, -2), value)  # (B, H, d, d): O(n d^2)
    out = value.mean(dim=-2, keepdim=True) + torch.matmul(query, kv) * (scaling / n)
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register("edgerun_taylor", taylor_attention)

# --attention name -> transformers attn_implementation; a variant other than softmax is written
# into config.json as "edgerun_attention", the key edgerun reads to pick the variant.
ATTENTION_VARIANTS = {"softmax": "eager",  # eager: the plain matmul-softmax-matmul path
                      "taylor": "edgerun_taylor"}


@dataclass
class TrainOptions:
    attention: str = "softmax"
    seed: int = 0
    epochs: int = 150
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_epochs: int = 5
    shift: int = 1  # augmentation: random translation by up to this many pixels, 0 = none
    num_hidden_layers: int = 2
    threads: int = 2


def build_config(opts: TrainOptions) -> ViTConfig:
    # image_size/patch_size/hidden_size/heads fix the token grid at 17 x 32 (16 patches + CLS).
    return ViTConfig(image_size=8, patch_size=2, num_channels=1, hidden_size=32,
                     num_hidden_layers=opts.num_hidden_layers, num_attention_heads=4,
                     intermediate_size=64, hidden_act="gelu", hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0,
                     id2label={i: str(i) for i in range(10)},
                     label2id={str(i): i for i in range(10)})


def normalize(raw: np.ndarray) -> np.ndarray:
    """raw pixels (N, 8, 8) in 0..16 -> float32 (N, 1, 8, 8) exactly as pixel_values."""
    x = raw.astype(np.float64) * RESCALE  # float64 then float32, as transformers' processor does
    return ((x - MEAN) / STD).astype(np.float32)[:, None, :, :]


def load_split():
    digits = load_digits()
    raw = digits.images.astype(np.uint8)  # (1797, 8, 8), values 0..16
    y = digits.target.astype(np.int64)
    raw_tr, raw_te, y_tr, y_te = train_test_split(raw, y, test_size=0.2, random_state=0, stratify=y)
    return raw_tr, raw_te, y_tr, y_te


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translates each (1, 8, 8) image by up to max_shift pixels; uncovered pixels get the
    normalized background value (raw 0 -> -1)."""
    if max_shift <= 0:
        return x
    n, _, h, w = x.shape
    background = (0.0 - MEAN) / STD
    padded = torch.nn.functional.pad(x, (max_shift,) * 4, value=background)
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


def lr_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Linear warmup, then cosine decay to 0."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + np.cos(np.pi * progress))


@torch.no_grad()
def accuracy(model: ViTForImageClassification, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    pred = model(pixel_values=x).logits.argmax(-1)
    return float((pred == y).float().mean())


def train(opts: TrainOptions, x_tr: torch.Tensor, y_tr: torch.Tensor):
    torch.manual_seed(opts.seed)
    model = ViTForImageClassification(build_config(opts))
    model.config._attn_implementation = ATTENTION_VARIANTS[opts.attention]
    gen = torch.Generator().manual_seed(opts.seed)  # shuffling and augmentation
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    steps_per_epoch = (len(x_tr) + opts.batch_size - 1) // opts.batch_size
    total_steps = opts.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: lr_factor(s, opts.warmup_epochs * steps_per_epoch, total_steps))
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(opts.epochs):
        model.train()
        perm = torch.randperm(len(x_tr), generator=gen)
        total = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * opts.batch_size:(b + 1) * opts.batch_size]
            xb = random_shift(x_tr[idx], opts.shift, gen)
            loss = loss_fn(model(pixel_values=xb).logits, y_tr[idx])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
            total += loss.item() * len(idx)
        if (epoch + 1) % 25 == 0 or epoch == 0:
            print(f"epoch {epoch + 1}/{opts.epochs}  loss {total / len(x_tr):.4f}  "
                  f"train acc {accuracy(model, x_tr, y_tr):.4f}", flush=True)
    model.eval()
    return model


def write_samples(out: str, raw_te: np.ndarray, x_te: np.ndarray, y_te: np.ndarray):
    """One test image per digit (the first of each label in test order), as normalized .npy and
    as 8-bit PNGs holding the raw 0..16 values: preprocessor_config.json's rescale_factor 1/16
    maps those bytes to exactly the .npy values (the PNGs look nearly black on purpose)."""
    sdir = os.path.join(out, "samples")
    os.makedirs(sdir, exist_ok=True)
    first = [int(np.flatnonzero(y_te == d)[0]) for d in range(10)]
    np.save(os.path.join(sdir, "one_of_each.npy"), x_te[first])
    np.save(os.path.join(sdir, "one_of_each_labels.npy"), y_te[first])
    for d, i in enumerate(first):
        Image.fromarray(raw_te[i], mode="L").save(os.path.join(sdir, f"digit_{d}.png"))
    return first


def check_export(out: str, x_te: np.ndarray, y_te: np.ndarray, expect_acc: float, first,
                 attention: str):
    """Reloads the folder with transformers alone and checks accuracy and the PNG route."""
    model = ViTForImageClassification.from_pretrained(
        out, attn_implementation=ATTENTION_VARIANTS[attention]).eval()
    acc = accuracy(model, torch.from_numpy(np.load(os.path.join(out, "test_x.npy"))),
                   torch.from_numpy(np.load(os.path.join(out, "test_y.npy"))))
    assert acc == expect_acc, f"reloaded accuracy {acc} != trained {expect_acc}"
    proc = ViTImageProcessor.from_pretrained(out)
    images = [Image.open(os.path.join(out, "samples", f"digit_{d}.png")) for d in range(10)]
    pv = proc(images, return_tensors="np")["pixel_values"]
    assert pv.shape == (10, 1, 8, 8) and np.array_equal(pv, x_te[first]), "PNG route != npy route"
    return acc


def main():
    ap = argparse.ArgumentParser(description="Train the bundled ViT digits model (see header).")
    ap.add_argument("--attention", default="softmax", choices=sorted(ATTENTION_VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=TrainOptions.epochs)
    ap.add_argument("--layers", type=int, default=TrainOptions.num_hidden_layers)
    ap.add_argument("--shift", type=int, default=TrainOptions.shift)
    ap.add_argument("--batch-size", type=int, default=TrainOptions.batch_size)
    ap.add_argument("--lr", type=float, default=TrainOptions.lr)
    ap.add_argument("--out", default=None, help="default: models/vit-digits-<attention>")
    args = ap.parse_args()
    opts = TrainOptions(attention=args.attention, seed=args.seed, epochs=args.epochs,
                        num_hidden_layers=args.layers, shift=args.shift,
                        batch_size=args.batch_size, lr=args.lr)
    out = args.out or os.path.join("models", f"vit-digits-{opts.attention}")

    torch.set_num_threads(opts.threads)
    torch.use_deterministic_algorithms(True)
    raw_tr, raw_te, y_tr, y_te = load_split()
    x_tr, x_te = normalize(raw_tr), normalize(raw_te)

    t0, c0 = time.perf_counter(), time.process_time()
    model = train(opts, torch.from_numpy(x_tr), torch.from_numpy(y_tr))
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    test_acc = accuracy(model, torch.from_numpy(x_te), torch.from_numpy(y_te))
    print(f"test accuracy {test_acc:.4f} ({len(y_te)} images), train time {train_s:.1f} s "
          f"wall, {train_cpu_s:.1f} s CPU")

    if os.path.isdir(out):
        shutil.rmtree(out)  # no stale files from an earlier run
    os.makedirs(out)
    if opts.attention != "softmax":
        model.config.edgerun_attention = opts.attention  # edgerun runs the trained variant
    model.save_pretrained(out)  # config.json + model.safetensors
    ViTImageProcessor(do_resize=False, size={"height": 8, "width": 8}, do_rescale=True,
                      rescale_factor=RESCALE, do_normalize=True, image_mean=[MEAN],
                      image_std=[STD], do_convert_rgb=False).save_pretrained(out)
    np.save(os.path.join(out, "test_x.npy"), x_te)  # float32 (N, 1, 8, 8), normalized
    np.save(os.path.join(out, "test_y.npy"), y_te)  # int64 (N,)
    np.save(os.path.join(out, "calib_x.npy"), x_tr[:CALIB_IMAGES])  # q16 calibration inputs
    first = write_samples(out, raw_te, x_te, y_te)
    reload_acc = check_export(out, x_te, y_te, test_acc, first, opts.attention)

    metrics = {"test_accuracy": test_acc, "test_images": int(len(y_te)),
               "reloaded_test_accuracy": reload_acc, "train_images": int(len(y_tr)),
               "train_time_s": round(train_s, 1), "train_cpu_s": round(train_cpu_s, 1),
               "epochs": opts.epochs, "seed": opts.seed, "attention": opts.attention,
               "torch_threads": opts.threads,
               "torch": torch.__version__, "options": asdict(opts),
               "split": "sklearn train_test_split(test_size=0.2, random_state=0, stratify=y)"}
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
