#!/usr/bin/env python3
# Writes the peer-benchmark models (not committed): random-weight fp32 Hugging Face folders with the
# published configs of ViT-B/16 (224, 1000 labels), bert-base-uncased (sequence classifier, 2
# labels) and GPT-2 small (124M, LM head), an ONNX export of each (opset 17, dynamic batch/sequence)
# and the benchmark inputs. Random weights: timings do not depend on the values. No tokenizers.
#   python3 scripts/make_bench_models.py [--out /tmp/edgerun-bench/models] [--models vit-base,gpt2]
# Layout per model: OUT/<name>/hf/ (config.json, model.safetensors), OUT/<name>/model.onnx,
# OUT/<name>/input.npy, OUT/<name>/info.json (shapes, ONNX I/O names, export check).
# GPT-2's ONNX graph takes and returns the KV cache (past.N.key/value -> present.N.key/value,
# (B, n_head, P, 64)), so one graph serves prefill (P = 0) and decode (T = 1).
import argparse
import json
import os
import time

import numpy as np
import torch
from transformers import (BertConfig, BertForSequenceClassification, DynamicCache, GPT2Config,
                          GPT2LMHeadModel, ViTConfig, ViTForImageClassification)

MODELS = ("vit-base", "bert-base", "gpt2")
SEQ = 128  # BERT sequence and GPT-2 prompt length


def vit_base():
    # google/vit-base-patch16-224
    cfg = ViTConfig(image_size=224, patch_size=16, num_channels=3, hidden_size=768,
                    num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                    hidden_act="gelu", layer_norm_eps=1e-12, qkv_bias=True, num_labels=1000,
                    id2label={i: f"class_{i}" for i in range(1000)})
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    return ViTForImageClassification(cfg), {"pixel_values": x}


def bert_base():
    # bert-base-uncased
    cfg = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                     intermediate_size=3072, hidden_act="gelu", max_position_embeddings=512,
                     type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0, num_labels=2)
    ids = np.random.default_rng(2).integers(1000, 30000, size=(1, SEQ), dtype=np.int64)
    ids[0, 0], ids[0, -1] = 101, 102  # [CLS] ... [SEP]
    return BertForSequenceClassification(cfg), {"input_ids": ids}


def gpt2():
    # openai-community/gpt2 (124M)
    cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                     n_inner=None, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                     bos_token_id=50256, eos_token_id=50256)
    ids = np.random.default_rng(3).integers(0, 50256, size=(1, SEQ), dtype=np.int64)
    return GPT2LMHeadModel(cfg), {"input_ids": ids}


class GPT2WithPast(torch.nn.Module):
    """Flat-tensor KV cache interface for the exporter: (ids, mask, positions, k0, v0, k1, ...)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.n_layer = model.config.n_layer

    def forward(self, input_ids, attention_mask, position_ids, *past):
        cache = DynamicCache(config=self.model.config)
        for i in range(self.n_layer):
            cache.update(past[2 * i], past[2 * i + 1], i)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         position_ids=position_ids, past_key_values=cache, use_cache=True)
        res = [out.logits]
        for layer in out.past_key_values.layers:
            res += [layer.keys, layer.values]
        return tuple(res)


def gpt2_io_names(n_layer):
    past = [f"past.{i}.{kv}" for i in range(n_layer) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(n_layer) for kv in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids"] + past, ["logits"] + present


def export_onnx(name, model, inputs, path):
    """torch.onnx.export with the TorchScript exporter (dynamo=False: the dynamo one needs
    onnxscript, which the project does not install). Returns the I/O description."""
    kw = dict(opset_version=17, dynamo=False, do_constant_folding=True)
    if name == "vit-base":
        x = torch.from_numpy(inputs["pixel_values"])
        torch.onnx.export(model, (x,), path, input_names=["pixel_values"], output_names=["logits"],
                          dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}}, **kw)
        return {"inputs": ["pixel_values"], "outputs": ["logits"]}
    if name == "bert-base":
        ids = torch.from_numpy(inputs["input_ids"])
        mask = torch.ones_like(ids)
        dyn = {n: {0: "batch", 1: "sequence"} for n in ("input_ids", "attention_mask")}
        dyn["logits"] = {0: "batch"}
        torch.onnx.export(model, (ids, mask), path, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes=dyn, **kw)
        return {"inputs": ["input_ids", "attention_mask"], "outputs": ["logits"]}
    # gpt2: trace with a non-empty past and T > 1 so neither length is baked in as a constant
    cfg = model.config
    wrapper = GPT2WithPast(model).eval()
    p, t, head_dim = 3, 2, cfg.n_embd // cfg.n_head
    ids = torch.zeros((1, t), dtype=torch.int64)
    mask = torch.ones((1, p + t), dtype=torch.int64)
    pos = torch.arange(p, p + t).unsqueeze(0)
    past = [torch.zeros(1, cfg.n_head, p, head_dim) for _ in range(2 * cfg.n_layer)]
    in_names, out_names = gpt2_io_names(cfg.n_layer)
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "position_ids": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "total_sequence"},
           "logits": {0: "batch", 1: "sequence"}}
    for n in in_names[3:]:
        dyn[n] = {0: "batch", 2: "past_sequence"}
    for n in out_names[1:]:
        dyn[n] = {0: "batch", 2: "total_sequence"}
    torch.onnx.export(wrapper, (ids, mask, pos, *past), path, input_names=in_names,
                      output_names=out_names, dynamic_axes=dyn, **kw)
    return {"inputs": in_names, "outputs": out_names, "kv_cache": True,
            "past_shape": ["batch", cfg.n_head, "past_sequence", head_dim],
            "note": "one graph with KV cache: prefill with past_sequence = 0, then T = 1 steps;"
                    " attention_mask is all ones of length past + T; position_ids = past..past+T-1"}


def check_onnx(name, model, inputs, path):
    """ORT against torch on the benchmark input; for GPT-2 also one decode step through the cache."""
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        if name == "vit-base":
            ref = model(pixel_values=torch.from_numpy(inputs["pixel_values"])).logits.numpy()
            got = sess.run(None, {"pixel_values": inputs["pixel_values"]})[0]
            return {"max_abs_diff": float(np.abs(ref - got).max())}
        ids = inputs["input_ids"]
        if name == "bert-base":
            ref = model(input_ids=torch.from_numpy(ids)).logits.numpy()
            got = sess.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
            return {"max_abs_diff": float(np.abs(ref - got).max())}
        cfg = model.config
        in_names, _ = gpt2_io_names(cfg.n_layer)
        head_dim = cfg.n_embd // cfg.n_head
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
                "position_ids": np.arange(ids.shape[1], dtype=np.int64)[None]}
        for n in in_names[3:]:
            feed[n] = np.zeros((1, cfg.n_head, 0, head_dim), np.float32)
        out = sess.run(None, feed)
        nxt = np.array([[int(out[0][0, -1].argmax())]], dtype=np.int64)
        full = np.concatenate([ids, nxt], axis=1)
        feed = {"input_ids": nxt, "attention_mask": np.ones_like(full),
                "position_ids": np.array([[ids.shape[1]]], dtype=np.int64)}
        feed.update({n: out[1 + k] for k, n in enumerate(in_names[3:])})
        step = sess.run(None, feed)[0]
        ref = model(input_ids=torch.from_numpy(full)).logits.numpy()
        return {"max_abs_diff_prefill": float(np.abs(ref[:, :-1] - out[0]).max()),
                "max_abs_diff_decode_step": float(np.abs(ref[:, -1:] - step).max())}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="/tmp/edgerun-bench/models")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    makers = {"vit-base": vit_base, "bert-base": bert_base, "gpt2": gpt2}
    for name in args.models.split(","):
        if name not in makers:
            ap.error(f"unknown model {name!r}; known: {', '.join(MODELS)}")
        torch.manual_seed(0)
        t0 = time.time()
        model, inputs = makers[name]()
        model.config._attn_implementation = "eager"  # explicit masks in the traced graph
        model.eval()
        d = os.path.join(args.out, name)
        os.makedirs(os.path.join(d, "hf"), exist_ok=True)
        model.save_pretrained(os.path.join(d, "hf"))
        (key, arr), = inputs.items()
        np.save(os.path.join(d, "input.npy"), arr)
        info = {"name": name, "arch": type(model).__name__, "hf_dir": "hf", "input": "input.npy",
                "input_name": key, "input_shape": list(arr.shape), "input_dtype": str(arr.dtype),
                "parameters": sum(p.numel() for p in model.parameters()),
                "transformers": __import__("transformers").__version__, "torch": torch.__version__}
        print(f"{name}: HF folder written ({time.time() - t0:.1f} s)", flush=True)
        if not args.no_onnx:
            t1 = time.time()
            onnx_path = os.path.join(d, "model.onnx")
            info["onnx"] = {"file": "model.onnx", "opset": 17, **export_onnx(name, model, inputs, onnx_path)}
            info["onnx"]["export_s"] = round(time.time() - t1, 1)
            info["onnx"]["check"] = check_onnx(name, model, inputs, onnx_path)
            print(f"{name}: ONNX exported in {info['onnx']['export_s']} s, check {info['onnx']['check']}",
                  flush=True)
            worst = max(info["onnx"]["check"].values())
            if worst > 1e-3:
                raise SystemExit(f"{name}: ONNX export differs from torch by {worst}")
        with open(os.path.join(d, "info.json"), "w") as f:
            json.dump(info, f, indent=1)
        del model


if __name__ == "__main__":
    main()
