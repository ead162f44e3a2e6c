#!/usr/bin/env python3
"""The CNNs of SwapNet's evaluation and the edge classics as ONNX files, random init (no
pretrained weights are downloaded), exported by torch at opset 17 with external data, each with
onnxruntime's outputs for one input as the reference:
  resnet50, resnet101, vgg19, mobilenet_v3_large (224x224), fcn_resnet50, fcn_resnet101 (224x224,
  the `out` and `aux` maps), yolov3 (416x416, Darknet-53 with its three raw heads);
and small variants of the same code for the tests (a few MB each):
  yolov3_tiny (width 1/16, 128x128), fcn_tiny (torchvision's FCN over a small backbone, 64x64),
  mobilenet_v3_tiny (torchvision's MobileNetV3-Large at width 0.25, 96x96).

Writes DIR/<name>/{model.onnx, model.onnx.data, x.npy, <output>.npy}.
Usage: python3 scripts/onnx_zoo.py --out DIR [NAME ...]   (default: the small variants)
Needs torch, torchvision, onnx, onnxruntime (PyPI); the tests run the committed small ones.
"""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.segmentation.fcn import FCN, FCNHead


def conv_bn(cin, cout, k, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = conv_bn(c, c // 2, 1)
        self.b = conv_bn(c // 2, c, 3)

    def forward(self, x):
        return x + self.b(self.a(x))


class Darknet53(nn.Module):
    """YOLOv3's backbone: 52 convolutions in five stages of [1, 2, 8, 8, 4] residual blocks."""

    def __init__(self, w):
        super().__init__()
        c = [int(v * w) for v in (32, 64, 128, 256, 512, 1024)]
        self.stem = conv_bn(3, c[0], 3)
        stages = []
        for i, n in enumerate([1, 2, 8, 8, 4]):
            stages.append(nn.Sequential(conv_bn(c[i], c[i + 1], 3, 2), *[Residual(c[i + 1]) for _ in range(n)]))
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for s in self.stages:
            x = s(x)
            outs.append(x)
        return outs[2], outs[3], outs[4]  # strides 8, 16, 32


class YoloHead(nn.Module):
    def __init__(self, cin, c, out):
        super().__init__()
        self.body = nn.Sequential(conv_bn(cin, c, 1), conv_bn(c, 2 * c, 3), conv_bn(2 * c, c, 1),
                                  conv_bn(c, 2 * c, 3), conv_bn(2 * c, c, 1))
        self.out = nn.Sequential(conv_bn(c, 2 * c, 3), nn.Conv2d(2 * c, out, 1))

    def forward(self, x):
        r = self.body(x)
        return r, self.out(r)


class YoloV3(nn.Module):
    """Darknet-53, three heads (3 anchors x (80 classes + 5) = 255 channels), upsampling routes."""

    def __init__(self, w=1.0, classes=80):
        super().__init__()
        c = lambda v: int(v * w)
        out = 3 * (classes + 5)
        self.backbone = Darknet53(w)
        self.h32 = YoloHead(c(1024), c(512), out)
        self.r16 = conv_bn(c(512), c(256), 1)
        self.h16 = YoloHead(c(512) + c(256), c(256), out)
        self.r8 = conv_bn(c(256), c(128), 1)
        self.h8 = YoloHead(c(256) + c(128), c(128), out)

    def forward(self, x):
        f8, f16, f32 = self.backbone(x)
        r, y32 = self.h32(f32)
        r, y16 = self.h16(torch.cat([F.interpolate(self.r16(r), scale_factor=2, mode="nearest"), f16], 1))
        _, y8 = self.h8(torch.cat([F.interpolate(self.r8(r), scale_factor=2, mode="nearest"), f8], 1))
        return y32, y16, y8


class TinyBackbone(nn.Module):
    """A small ResNet-like backbone returning FCN's {'out', 'aux'} features (strides 8 and 4)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.l1 = torchvision.models.resnet.BasicBlock(16, 16)
        down = nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))
        self.l2 = torchvision.models.resnet.BasicBlock(16, 32, stride=2, downsample=down)
        down = nn.Sequential(nn.Conv2d(32, 64, 1, 2, bias=False), nn.BatchNorm2d(64))
        self.l3 = torchvision.models.resnet.BasicBlock(32, 64, stride=2, downsample=down)

    def forward(self, x):
        a = self.l2(self.l1(self.stem(x)))
        return {"aux": a, "out": self.l3(a)}


class DictToTuple(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        d = self.m(x)
        return d["out"], d["aux"]


def randomize_bn(model):
    """Random init leaves BN as the identity; real statistics make its folding matter."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model


def zoo():
    tv = torchvision.models
    seg = torchvision.models.segmentation
    return {
        "resnet50": (lambda: tv.resnet50(weights=None), 224, ["logits"]),
        "resnet101": (lambda: tv.resnet101(weights=None), 224, ["logits"]),
        "vgg19": (lambda: tv.vgg19(weights=None), 224, ["logits"]),
        "mobilenet_v3_large": (lambda: tv.mobilenet_v3_large(weights=None), 224, ["logits"]),
        "fcn_resnet50": (lambda: DictToTuple(seg.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True)),
                         224, ["out", "aux"]),
        "fcn_resnet101": (lambda: DictToTuple(seg.fcn_resnet101(weights=None, weights_backbone=None, aux_loss=True)),
                          224, ["out", "aux"]),
        "yolov3": (lambda: YoloV3(), 416, ["y32", "y16", "y8"]),
        "yolov3_tiny": (lambda: YoloV3(w=1 / 16, classes=4), 128, ["y32", "y16", "y8"]),
        "fcn_tiny": (lambda: DictToTuple(FCN(TinyBackbone(), FCNHead(64, 5), FCNHead(32, 5))), 64, ["out", "aux"]),
        "mobilenet_v3_tiny": (lambda: tv.mobilenet_v3_large(weights=None, width_mult=0.25, num_classes=10), 96,
                              ["logits"]),
    }


SMALL = ["yolov3_tiny", "fcn_tiny", "mobilenet_v3_tiny"]


def make(name, out_dir, seed=0):
    ctor, size, outputs = zoo()[name]
    torch.manual_seed(seed)
    model = randomize_bn(ctor().eval())
    d = os.path.join(out_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    x = np.random.default_rng(seed).standard_normal((1, 3, size, size), dtype=np.float32)
    with torch.no_grad():
        torch.onnx.export(model, (torch.from_numpy(x),), path, opset_version=17, dynamo=False, input_names=["x"],
                          output_names=outputs, dynamic_axes={k: {0: "batch"} for k in ["x"] + outputs})
    m = onnx.load(path)
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data",
                    size_threshold=1024)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.save(os.path.join(d, "x.npy"), x)
    for o, v in zip(sess.get_outputs(), sess.run(None, {"x": x})):
        np.save(os.path.join(d, o.name + ".npy"), v)
    mb = os.path.getsize(os.path.join(d, "model.onnx.data")) / 2**20
    print(f"{name}: {mb:.1f} MiB of weights, input {x.shape}, outputs {outputs}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("names", nargs="*", help=f"of {sorted(zoo())} (default: {SMALL})")
    args = ap.parse_args()
    for n in args.names or SMALL:
        if n not in zoo():
            sys.exit(f"unknown model {n}; one of {sorted(zoo())}")
        make(n, args.out)


if __name__ == "__main__":
    main()
