#!/usr/bin/env python3
# Checks `edgerun synth` against transformers itself (run by hand, not part of CI):
#  - the folder loads with from_pretrained with no missing, unexpected or mismatched keys, nothing
#    re-initialised (every parameter equals the file), the LM head tied, and a forward pass is finite;
#  - model.safetensors' header is byte-identical to what save_pretrained writes for the same config
#    (key names, order, dtype, shapes, offsets, padding), and config.json / generation_config.json /
#    preprocessor_config.json equal transformers' own (text, less the "transformers_version" line);
#  - AutoConfig, GenerationConfig and AutoImageProcessor parse them; weight statistics are as meant.
# The expected configs below are copied from the Hub's config.json files independently of the C++
# table. Models over --full-max-params are checked with --layers 2 (the layout repeats per layer);
# --full checks them whole (GPT-2 XL: 6.2 GB on disk and about 13 GB of RAM).
#   python3 scripts/check_synth.py --edgerun build/edgerun [--names gpt2 vit-base] [--full]
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors import safe_open
from transformers import (AutoConfig, AutoImageProcessor, BertConfig, BertModel, GenerationConfig,
                          GPT2Config, GPT2LMHeadModel, ViTConfig, ViTForImageClassification,
                          ViTImageProcessor)

GPT2_EXTRA = {"n_ctx": 1024,
              "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}}}


def vit(d, l, h, f, image=224, patch=16, labels=1000):
    return ViTForImageClassification, dict(
        hidden_size=d, num_hidden_layers=l, num_attention_heads=h, intermediate_size=f,
        image_size=image, patch_size=patch, num_channels=3, hidden_act="gelu", qkv_bias=True,
        layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        num_labels=labels)


def bert(d, l, h, f, vocab=30522, positions=512, extra=True):
    kw = dict(hidden_size=d, num_hidden_layers=l, num_attention_heads=h, intermediate_size=f,
              vocab_size=vocab, max_position_embeddings=positions, type_vocab_size=2,
              hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0)
    if extra:
        kw["position_embedding_type"] = "absolute"
    return BertModel, kw


def gpt2(d, l, h, vocab=50257, positions=1024, extra=True):
    kw = dict(n_embd=d, n_layer=l, n_head=h, vocab_size=vocab, n_positions=positions,
              activation_function="gelu_new", bos_token_id=vocab - 1, eos_token_id=vocab - 1)
    if extra:
        kw.update(GPT2_EXTRA)
    return GPT2LMHeadModel, kw


EXPECTED = {
    "vit-tiny": vit(64, 2, 4, 256, image=32, patch=8, labels=10),
    "vit-base": vit(768, 12, 12, 3072),          # google/vit-base-patch16-224
    "vit-large": vit(1024, 24, 16, 4096),        # google/vit-large-patch16-224
    "bert-tiny": bert(64, 2, 4, 256, vocab=1000, positions=128),
    "bert-base": bert(768, 12, 12, 3072),        # google-bert/bert-base-uncased
    "bert-large": bert(1024, 24, 16, 4096),      # google-bert/bert-large-uncased
    "gpt2-tiny": gpt2(64, 2, 4, vocab=1000, positions=128, extra=False),
    "gpt2": gpt2(768, 12, 12),                   # openai-community/gpt2
    "gpt2-medium": gpt2(1024, 24, 16),
    "gpt2-large": gpt2(1280, 36, 20),
    "gpt2-xl": gpt2(1600, 48, 25),
}
LAYER_KEY = {ViTForImageClassification: "num_hidden_layers", BertModel: "num_hidden_layers",
             GPT2LMHeadModel: "n_layer"}
CONFIG_CLASS = {ViTForImageClassification: ViTConfig, BertModel: BertConfig,
                GPT2LMHeadModel: GPT2Config}


def header(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        return n.to_bytes(8, "little") + f.read(n)


def without_version(text):
    lines = [l for l in text.splitlines() if '"transformers_version"' not in l]
    out = "\n".join(lines) + "\n"
    return out.replace(",\n}\n", "\n}\n") if out.endswith(",\n}\n") else out


def param_count(cls, kw):
    with torch.device("meta"):
        return sum(p.numel() for p in cls(CONFIG_CLASS[cls](**kw)).parameters())


def check(name, dtype, layers, edgerun, work, problems):
    cls, kw = EXPECTED[name]
    kw = dict(kw)
    if layers:
        kw[LAYER_KEY[cls]] = layers
    tag = f"{name} {dtype}" + (f" --layers {layers}" if layers else "")
    ours = os.path.join(work, "ours")
    ref = os.path.join(work, "ref")
    for d in (ours, ref, os.path.join(work, "resaved")):
        shutil.rmtree(d, ignore_errors=True)
    cmd = [edgerun, "synth", name, "--out", ours, "--dtype", dtype, "--seed", "1"]
    if layers:
        cmd += ["--layers", str(layers)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fail(msg):
        problems.append(f"{tag}: {msg}")
        print(f"  FAIL {msg}")

    # The reference: transformers builds and saves the same config itself.
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    cfg = CONFIG_CLASS[cls](**kw, architectures=[cls.__name__])
    cfg._attn_implementation = "eager"
    model = cls(cfg).to(torch_dtype)
    model.save_pretrained(ref)
    if cls is ViTForImageClassification:
        ViTImageProcessor(size={"height": kw["image_size"], "width": kw["image_size"]}).save_pretrained(ref)
    del model

    if header(os.path.join(ours, "model.safetensors")) != header(os.path.join(ref, "model.safetensors")):
        fail("model.safetensors header differs from save_pretrained's")
    for f in ("config.json", "generation_config.json", "preprocessor_config.json"):
        have, want = os.path.exists(os.path.join(ours, f)), os.path.exists(os.path.join(ref, f))
        if have != want:
            fail(f"{f}: written {have}, transformers writes it {want}")
            continue
        if not have:
            continue
        a = open(os.path.join(ours, f)).read()
        b = without_version(open(os.path.join(ref, f)).read())
        if a != b:
            ja, jb = json.loads(a), json.loads(b)
            diff = {k: (ja.get(k), jb.get(k)) for k in set(ja) | set(jb) if ja.get(k) != jb.get(k)}
            fail(f"{f} differs from transformers' (ours, theirs): {diff if diff else 'formatting'}")
    extra = sorted(set(os.listdir(ours)) - set(os.listdir(ref)))
    if extra != ["README.md"]:
        fail(f"files beyond transformers' layout: {extra}")

    # Loading: no key problems, nothing re-initialised, heads tied, outputs finite.
    AutoConfig.from_pretrained(ours)
    model, info = cls.from_pretrained(ours, output_loading_info=True, attn_implementation="eager")
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(k):
            fail(f"from_pretrained {k}: {list(info[k])[:5]}")
    if model.dtype != torch_dtype:
        fail(f"loaded as {model.dtype}, expected {torch_dtype}")
    # transformers 5 renames some modules in memory (ViT: vit.layers.N.attention.q_proj) and maps
    # names back on save, so compare through a re-save rather than through state_dict names.
    resaved = os.path.join(work, "resaved")
    shutil.rmtree(resaved, ignore_errors=True)
    model.save_pretrained(resaved)
    with safe_open(os.path.join(ours, "model.safetensors"), "pt") as f, \
            safe_open(os.path.join(resaved, "model.safetensors"), "pt") as g:
        keys = list(f.keys())
        if sorted(g.keys()) != sorted(keys):
            fail("re-saved model has other tensors")
        for k in keys:
            if k in g.keys() and not torch.equal(f.get_tensor(k), g.get_tensor(k)):
                fail(f"{k}: loaded values differ from the file (re-initialised?)")
        stats = []
        for k in keys:
            t = f.get_tensor(k).float()
            leaf = k.rsplit(".", 1)[-1]
            if leaf == "bias" and t.abs().max() != 0:
                fail(f"{k}: bias not zero")
            elif ("norm" in k.lower() or ".ln_" in k) and leaf == "weight" and not torch.all(t == 1):
                fail(f"{k}: LayerNorm weight not one")
            elif t.numel() >= 4096 and t.dim() >= 2:
                stats.append((k, t.std().item(), t.mean().item()))
    n_layer = kw[LAYER_KEY[cls]]
    for k, sd_, mean in stats:
        want = 0.02 / math.sqrt(2 * n_layer) if k.endswith("c_proj.weight") else 0.02
        if abs(sd_ - want) > 0.05 * want or abs(mean) > 0.1 * want:
            fail(f"{k}: std {sd_:.5f} mean {mean:.2e}, expected std {want:.5f}")
    if cls is GPT2LMHeadModel:
        if model.lm_head.weight.data_ptr() != model.transformer.wte.weight.data_ptr():
            fail("lm_head is not tied to wte")
        GenerationConfig.from_pretrained(ours)
        inputs = {"input_ids": torch.tensor([[1, 2, 3, 4]])}
    elif cls is BertModel:
        inputs = {"input_ids": torch.tensor([[1, 2, 3, 4]])}
    else:
        AutoImageProcessor.from_pretrained(ours)
        s = kw["image_size"]
        inputs = {"pixel_values": torch.randn(1, 3, s, s, dtype=torch_dtype)}
    with torch.no_grad():
        out = model(**inputs)
    y = out.logits if hasattr(out, "logits") else out.last_hidden_state
    if not torch.isfinite(y.float()).all():
        fail("forward pass gives non-finite values")
    want_n = param_count(cls, kw)
    have_n = sum(p.numel() for p in model.parameters())
    if have_n != want_n:
        fail(f"{have_n} parameters, transformers' class has {want_n}")
    if not any(p.startswith(tag + ":") for p in problems):
        print(f"  ok   {tag}: {have_n:,} params, {len(keys)} tensors, header identical")
    del model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgerun", default="build/edgerun")
    ap.add_argument("--names", nargs="*", default=list(EXPECTED))
    ap.add_argument("--dtypes", nargs="*", default=["f32", "bf16"])
    ap.add_argument("--full-max-params", type=float, default=130e6,
                    help="larger models are checked with --layers 2 unless --full")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    work = a.workdir or tempfile.mkdtemp(prefix="check_synth_")
    problems = []
    try:
        for name in a.names:
            cls, kw = EXPECTED[name]
            big = param_count(cls, kw) > a.full_max_params and not a.full
            for dtype in a.dtypes:
                print(f"{name} {dtype}")
                check(name, dtype, 2 if big else 0, a.edgerun, work, problems)
                if big and dtype == a.dtypes[0]:
                    check(name, dtype, 1, a.edgerun, work, problems)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(["", "PROBLEMS:"] + problems) if problems else "\nall checks passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
