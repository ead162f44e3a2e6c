#!/usr/bin/env python3
"""Small ONNX models for the tests, exported by torch (random weights) at opset 17, with
onnxruntime's outputs as the reference: tests/data/onnx/<name>/{model.onnx, x.npy, <output>.npy}.

Each model exercises a part of the frontend: BatchNormalization kept (no constant folding) and
folded into the conv by edgerun; weights as external data; weights in Constant nodes (as some
exporters write them); a MobileNet-like block (depthwise conv, HardSwish, HardSigmoid,
squeeze-excite, ReLU6 as Clip); a little encoder-decoder (ConvTranspose, Resize, Concat, Pad,
Slice, Transpose, Softmax) with two outputs; and the project's golden ViT, BERT and GPT-2
(tests/data/golden) exported from transformers, so that the transformers run from ONNX too.

Usage: python3 scripts/make_onnx_models.py [--out tests/data/onnx] [--only NAME ...]
Needs torch, onnx, onnxruntime (PyPI); not needed by CI, which runs the committed files.
"""
import argparse
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = F.max_pool2d(y, 2)
        y = y + torch.relu(self.c2(y))
        y = torch.relu(self.c3(y))
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return self.fc(y)


class MobileBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=16)
        self.se1 = nn.Conv2d(16, 4, 1)
        self.se2 = nn.Conv2d(4, 16, 1)
        self.pw = nn.Conv2d(16, 24, 1)
        self.bn = nn.BatchNorm2d(24)
        self.head = nn.Linear(24, 7)

    def forward(self, x):
        y = F.hardswish(self.stem(x))
        y = F.relu6(self.dw(y))
        s = F.adaptive_avg_pool2d(y, 1)
        s = F.hardsigmoid(self.se2(F.relu(self.se1(s))))
        y = y * s
        y = self.bn(self.pw(y))
        y = F.avg_pool2d(y, 3, stride=2, padding=1, count_include_pad=False)
        y = F.leaky_relu(y, 0.1)
        return self.head(y.mean(dim=(2, 3)))


class EncoderDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.e1 = nn.Conv2d(3, 8, 3, padding=1)
        self.e2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.d1 = nn.Conv2d(16, 4, 3, padding=1)
        self.aux = nn.Conv2d(16, 4, 1)

    def forward(self, x):
        a = torch.relu(self.e1(x))
        b = torch.relu(self.e2(a))
        u = self.up(b)
        y = self.d1(torch.cat([a, u], dim=1))
        seg = torch.softmax(y, dim=1)
        aux = F.interpolate(self.aux(b), scale_factor=2, mode="nearest")
        aux = F.pad(aux, (1, 1, 0, 0))[:, :, :, 1:-1]
        aux = torch.sigmoid(aux.permute(0, 2, 3, 1))
        return seg, aux


def export(model, x, path, names, dynamic, fold=True):
    torch.onnx.export(model, (x,), path, opset_version=17, dynamo=False, do_constant_folding=fold,
                      input_names=["x"], output_names=names,
                      dynamic_axes={k: {0: "batch"} for k in ["x"] + names} if dynamic else None)


def references(folder, x):
    sess = ort.InferenceSession(os.path.join(folder, "model.onnx"), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {"x": x})
    np.save(os.path.join(folder, "x.npy"), x)
    for o, v in zip(sess.get_outputs(), outs):
        np.save(os.path.join(folder, o.name + ".npy"), v)


def to_constant_nodes(path):
    """Moves every initializer into a Constant node at the top of the graph."""
    m = onnx.load(path)
    nodes = [onnx.helper.make_node("Constant", [], [t.name], value=t, name="const_" + t.name)
             for t in m.graph.initializer]
    del m.graph.initializer[:]
    old = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes + old)
    onnx.save(m, path)


def export_transformers(out, only):
    import transformers
    golden = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "golden")
    for name, cls, kind in [("bert_cls", "BertForSequenceClassification", "text"),
                            ("vit_cls", "ViTForImageClassification", "image"),
                            ("gpt2_lm", "GPT2LMHeadModel", "text")]:
        if only and name + "_onnx" not in only:
            continue
        m = getattr(transformers, cls).from_pretrained(os.path.join(golden, name)).eval()
        gen = torch.Generator().manual_seed(3)
        if kind == "text":
            x, key, axes = torch.randint(0, m.config.vocab_size, (2, 7), generator=gen), "input_ids", {0: "batch", 1: "seq"}
        else:
            s = m.config.image_size
            x, key, axes = torch.randn(2, 3, s, s, generator=gen), "pixel_values", {0: "batch"}

        class Logits(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, v):
                return self.inner(v).logits

        d = os.path.join(out, name + "_onnx")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        torch.onnx.export(Logits(m), (x,), os.path.join(d, "model.onnx"), opset_version=17, dynamo=False,
                          input_names=[key], output_names=["logits"], dynamic_axes={key: axes})
        sess = ort.InferenceSession(os.path.join(d, "model.onnx"), providers=["CPUExecutionProvider"])
        np.save(os.path.join(d, "x.npy"), x.numpy())
        np.save(os.path.join(d, "logits.npy"), sess.run(None, {key: x.numpy()})[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/data/onnx")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    def want(name):
        return not args.only or name in args.only

    def fresh(name):
        d = os.path.join(args.out, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    cnn = SmallCnn().eval()
    with torch.no_grad():  # BN statistics that are not the identity
        cnn.bn.running_mean.uniform_(-0.5, 0.5)
        cnn.bn.running_var.uniform_(0.5, 2.0)
    x = rng.standard_normal((2, 3, 16, 16), dtype=np.float32)
    if want("cnn_bn"):
        d = fresh("cnn_bn")
        export(cnn, torch.from_numpy(x), os.path.join(d, "model.onnx"), ["logits"], True, fold=False)
        references(d, x)
    if want("cnn_external"):
        d = fresh("cnn_external")
        p = os.path.join(d, "model.onnx")
        export(cnn, torch.from_numpy(x), p, ["logits"], True)
        m = onnx.load(p)
        onnx.save_model(m, p, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=0)
        references(d, x)
    if want("cnn_constants"):
        d = fresh("cnn_constants")
        p = os.path.join(d, "model.onnx")
        export(cnn, torch.from_numpy(x), p, ["logits"], True)
        to_constant_nodes(p)
        references(d, x)
    if want("mobile_block"):
        d = fresh("mobile_block")
        mb = MobileBlock().eval()
        with torch.no_grad():
            mb.bn.running_mean.uniform_(-0.5, 0.5)
            mb.bn.running_var.uniform_(0.5, 2.0)
        xm = rng.standard_normal((1, 3, 24, 24), dtype=np.float32)
        export(mb, torch.from_numpy(xm), os.path.join(d, "model.onnx"), ["logits"], False)
        references(d, xm)
    if want("encoder_decoder"):
        d = fresh("encoder_decoder")
        xe = rng.standard_normal((1, 3, 12, 12), dtype=np.float32)
        export(EncoderDecoder().eval(), torch.from_numpy(xe), os.path.join(d, "model.onnx"), ["seg", "aux"], True)
        references(d, xe)
    export_transformers(args.out, args.only)


if __name__ == "__main__":
    main()
