#!/usr/bin/env python3
# Writes the golden HF fixtures of the C++ golden tests: tiny random-weight ViT / BERT / GPT-2 models
# made by transformers' own classes and saved by its own save_pretrained (plus two hand-written
# "legacy layout" folders), each with inputs and the reference output transformers computes in
# float32 eval mode, and tests/data/golden/manifest.json describing them. Deterministic (fixed
# seeds). It does not write ONNX models or large models (see scripts/make_bench_models.py).
#   python3 scripts/make_golden_models.py --out tests/data/golden
#
# What transformers 5.x (checked with 5.23.0) writes, which the C++ loader must accept:
#  - save_pretrained writes model.safetensors (metadata {"format": "pt"}) and config.json with
#    "architectures" and "dtype" (was "torch_dtype" in 4.x; both may appear in older folders).
#    Models that can generate (GPT2LMHeadModel) also get generation_config.json.
#  - head models keep the base-model prefix: ViTForImageClassification -> "vit.*" + "classifier.*",
#    BertForSequenceClassification -> "bert.*" (incl. "bert.pooler.*") + "classifier.*",
#    GPT2LMHeadModel -> "transformer.*". Base models (ViTModel, BertModel, GPT2Model) have no prefix
#    ("embeddings.*", "encoder.*", "pooler.*", "h.0.*", "wte.weight", ...).
#  - 5.x renamed ViT's modules internally (layers.N.attention.q_proj/k_proj/v_proj/o_proj,
#    layers.N.mlp.fc1/fc2), so model.state_dict() has those names, but save_pretrained maps them back
#    to the classic checkpoint names ("encoder.layer.N.attention.attention.query.weight",
#    "...attention.output.dense", "...intermediate.dense", "...output.dense"); files hold only the
#    classic names (checked below). BERT and GPT-2 module names are unchanged.
#  - tied weights are written once: GPT2LMHeadModel has no "lm_head.weight" (tie to transformer.wte).
#  - no buffers are saved: no "*.position_ids", no GPT-2 "h.N.attn.bias"/"masked_bias".
#  - ViTForImageClassification has no pooler (add_pooling_layer=False); ViTModel has "pooler.dense.*".
#  - GPT-2 Conv1D weights are stored (in, out), i.e. y = x @ W + b, not nn.Linear's (out, in).
#  - bf16 models are written as BF16 tensors with config "dtype": "bfloat16".
#  - max_shard_size gives model-0000k-of-0000N.safetensors + model.safetensors.index.json
#    ({"metadata": {"total_parameters": ..., "total_size": ...}, "weight_map": {name: file}}).
# The legacy folders differ on purpose: vit_cls_legacy adds the int64 buffer
# "vit.embeddings.position_ids", has no "format" metadata and a config with 4.x "torch_dtype";
# gpt2_legacy has no "transformer." prefix (as openai's original gpt2 checkpoint), the old
# "h.N.attn.bias" causal-mask buffers (F32 in layer 0, BOOL in layer 1), rank-0 F32
# "h.N.attn.masked_bias", no lm_head.weight, and config.json with the old "n_ctx".
import argparse
import json
import os
import shutil

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import (BertConfig, BertForSequenceClassification, BertModel, GPT2Config,
                          GPT2LMHeadModel, GPT2Model, ViTConfig, ViTForImageClassification,
                          ViTModel)

TF_VERSION = __import__("transformers").__version__
ATOL = 1e-4          # tolerance the C++ tests use against expected.npy
RELOAD_ATOL = 1e-6   # the reloaded transformers model must reproduce the in-memory one this closely
GEN_NEW_TOKENS = 20
MIN_GREEDY_MARGIN = 5e-2  # top-1 minus top-2 logit at every greedy step: no near-ties for C++ to flip


def add_noise(model, seed):
    """Replace the (tiny, near-zero) default init by weights large enough that a wrong kernel shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters are visited once
            leaf = name.rsplit(".", 1)[-1]
            is_norm = ("layernorm" in name.lower() or ".ln_" in name or name.startswith("ln_")
                       or "ln_f" in name)
            if leaf == "bias":
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif is_norm and p.dim() == 1:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)


def eager(cls, config):
    config._attn_implementation = "eager"  # plain reference attention path (also what
    return cls(config).eval()               # reorder_and_upcast_attn needs to take effect)


def load(cls, path, **kw):
    return cls.from_pretrained(path, attn_implementation="eager", **kw).eval()


def primary(model, inputs):
    with torch.no_grad():
        out = model(**inputs)
    if hasattr(out, "logits"):
        return out.logits.float(), None
    pooler = getattr(out, "pooler_output", None)
    return out.last_hidden_state.float(), (None if pooler is None else pooler.float())


def to_torch(inputs_np):
    return {k: torch.from_numpy(v) for k, v in inputs_np.items()}


def greedy_reference(model, prompt, new_tokens):
    """Greedy decoding by full recomputation (no KV cache, no logits processors); also returns the
    smallest top-1/top-2 logit gap met, so that fixtures with near-ties can be rejected."""
    ids = prompt.clone()
    margin = float("inf")
    with torch.no_grad():
        for _ in range(new_tokens):
            logits = model(input_ids=ids).logits[0, -1].float()
            top2 = torch.topk(logits, 2).values
            margin = min(margin, float(top2[0] - top2[1]))
            ids = torch.cat([ids, logits.argmax().view(1, 1)], dim=1)
    return ids, margin


def make_generation(model, vocab, seed, prompt_len):
    """Pick a prompt whose greedy continuation has no near-ties, check that HF generate() (with
    KV cache, min_new_tokens so EOS cannot stop it) agrees with plain argmax decoding."""
    rng = np.random.default_rng(seed)
    for _attempt in range(50):
        prompt = torch.from_numpy(rng.integers(0, vocab - 1, size=(1, prompt_len), dtype=np.int64))
        ref, margin = greedy_reference(model, prompt, GEN_NEW_TOKENS)
        if margin < MIN_GREEDY_MARGIN:
            continue
        eos = model.config.eos_token_id
        with torch.no_grad():
            out = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                 max_new_tokens=GEN_NEW_TOKENS, min_new_tokens=GEN_NEW_TOKENS,
                                 do_sample=False, pad_token_id=eos)
        assert torch.equal(out, ref), f"generate() {out.tolist()} != argmax loop {ref.tolist()}"
        return prompt.numpy(), out.numpy(), margin
    raise RuntimeError("no prompt without near-ties found")


class Writer:
    def __init__(self, out_dir):
        self.out = out_dir
        self.manifest = []

    def folder(self, name):
        path = os.path.join(self.out, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.makedirs(path)
        return path

    def add(self, name, family, arch, inputs_np, expected, extra=None, gen=None, notes=""):
        path = os.path.join(self.out, name)
        files = {}
        for key, arr in inputs_np.items():
            fname = "input.npy" if key in ("input_ids", "pixel_values") else f"{key}.npy"
            np.save(os.path.join(path, fname), arr)
            files["input" if key in ("input_ids", "pixel_values") else key] = fname
        np.save(os.path.join(path, "expected.npy"), expected.numpy().astype(np.float32))
        entry = {"name": name, "family": family, "arch": arch, "inputs": files,
                 "expected": "expected.npy", "expected_shape": list(expected.shape),
                 "atol": ATOL, "max_abs_expected": round(float(expected.abs().max()), 4)}
        if extra:
            entry["extra_expected"] = {}
            for key, arr in extra.items():
                np.save(os.path.join(path, f"{key}.npy"), arr.numpy().astype(np.float32))
                entry["extra_expected"][key] = f"{key}.npy"
        entry["generate"] = None
        if gen is not None:
            prompt, out, margin = gen
            np.save(os.path.join(path, "generate_prompt.npy"), prompt)
            np.save(os.path.join(path, "generate_expected.npy"), out)
            entry["generate"] = {"prompt": "generate_prompt.npy", "expected": "generate_expected.npy",
                                 "new_tokens": GEN_NEW_TOKENS, "min_top2_margin": round(margin, 4)}
        entry["notes"] = notes + f" [made by scripts/make_golden_models.py with transformers {TF_VERSION}]"
        self.manifest.append(entry)
        print(f"{name:18s} {arch:30s} expected {tuple(expected.shape)} max|y|={entry['max_abs_expected']}")


def check_classic_names(path):
    """transformers 5 renames ViT modules internally (layers.N.attention.q_proj, mlp.fc1) and maps
    them back on save; fail loudly if a future version starts writing the internal names."""
    for fname in os.listdir(path):
        if fname.endswith(".safetensors"):
            with safe_open(os.path.join(path, fname), "pt") as f:
                bad = [k for k in f.keys() if "q_proj" in k or ".layers." in k or k.startswith("layers.")]
            assert not bad, f"{path}/{fname}: non-classic tensor names {bad[:3]}"


def check_reload(model_cls, path, inputs_np, expected, extra=None, **kw):
    check_classic_names(path)
    re = load(model_cls, path, **kw).float()
    got, got_extra = primary(re, to_torch(inputs_np))
    err = float((got - expected).abs().max())
    assert err <= RELOAD_ATOL, f"{path}: reloaded model differs by {err}"
    if extra is not None:
        assert float((got_extra - extra).abs().max()) <= RELOAD_ATOL, f"{path}: pooler differs"
    return re


# ---------------------------------------------------------------- ViT

def vit_pixels(seed, n, c, size):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c, size, size)).astype(np.float32)


def make_vit_cls(w, name="vit_cls", seed=101):
    labels = ["cat", "dog", "bird", "fish", "frog"]
    cfg = ViTConfig(image_size=16, patch_size=4, num_channels=3, hidden_size=48,
                    num_attention_heads=3, num_hidden_layers=2, intermediate_size=96,
                    hidden_act="gelu", num_labels=5, id2label=dict(enumerate(labels)),
                    label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(seed)
    model = eager(ViTForImageClassification, cfg)
    add_noise(model, seed)
    inputs = {"pixel_values": vit_pixels(seed, 2, 3, 16)}
    expected, _ = primary(model, to_torch(inputs))
    return model, inputs, expected


def fixture_vit_cls(w):
    model, inputs, expected = make_vit_cls(w)
    path = w.folder("vit_cls")
    model.save_pretrained(path)
    check_reload(ViTForImageClassification, path, inputs, expected)
    w.add("vit_cls", "vit", "ViTForImageClassification", inputs, expected,
          notes="exact (erf) gelu; 16x16 image, patch 4 -> 16 patches + CLS; logits (2, 5)")


def fixture_vit_base_gelu_new(w, seed=102):
    cfg = ViTConfig(image_size=12, patch_size=4, num_channels=3, hidden_size=32,
                    num_attention_heads=4, num_hidden_layers=2, intermediate_size=56,
                    hidden_act="gelu_new", qkv_bias=False, layer_norm_eps=1e-6)
    torch.manual_seed(seed)
    model = eager(ViTModel, cfg)  # add_pooling_layer defaults to True
    add_noise(model, seed)
    inputs = {"pixel_values": vit_pixels(seed, 1, 3, 12)}
    expected, pooler = primary(model, to_torch(inputs))
    model.config.hidden_act = "gelu"  # an exact-gelu kernel in place of gelu_new must fail the test
    other = ViTModel(model.config).eval()
    other.load_state_dict(model.state_dict())
    gelu_diff = float((primary(other, to_torch(inputs))[0] - expected).abs().max())
    assert gelu_diff > 3 * ATOL, gelu_diff
    model.config.hidden_act = "gelu_new"
    path = w.folder("vit_base_gelu_new")
    model.save_pretrained(path)
    check_reload(ViTModel, path, inputs, expected, pooler)
    w.add("vit_base_gelu_new", "vit", "ViTModel", inputs, expected, {"pooler_output": pooler},
          notes="gelu_new (tanh approx), qkv_bias false (no q/k/v bias tensors), layer_norm_eps 1e-6;"
                " expected = last_hidden_state (1, 10, 32); pooler_output = tanh(dense(CLS))")


def fixture_vit_cls_legacy(w):
    model, inputs, expected = make_vit_cls(w, seed=109)
    path = w.folder("vit_cls_legacy")
    # start from what save_pretrained writes (classic checkpoint names; model.state_dict() would
    # give transformers 5's internal names "vit.layers.N.attention.q_proj...", which no file has)
    model.save_pretrained(path)
    sd = load_file(os.path.join(path, "model.safetensors"))
    os.remove(os.path.join(path, "model.safetensors"))
    assert all(k.startswith(("vit.", "classifier.")) for k in sd)
    n_pos = (model.config.image_size // model.config.patch_size) ** 2 + 1
    sd["vit.embeddings.position_ids"] = torch.arange(n_pos, dtype=torch.int64).unsqueeze(0)
    save_file(sd, os.path.join(path, "model.safetensors"))  # no metadata, unlike save_pretrained
    cfg = model.config.to_dict()
    cfg["architectures"] = ["ViTForImageClassification"]
    cfg.pop("dtype", None)
    cfg["torch_dtype"] = "float32"  # the transformers 4.x spelling
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    check_reload(ViTForImageClassification, path, inputs, expected)
    w.add("vit_cls_legacy", "vit", "ViTForImageClassification", inputs, expected,
          notes="hand-written safetensors: 'vit.' prefix, extra unused int64 buffer "
                "vit.embeddings.position_ids [1,17], no __metadata__; config uses 'torch_dtype'."
                " transformers 5 loads it (ignores position_ids) and reproduces expected")


# ---------------------------------------------------------------- BERT

def bert_ids(seed, n, t, vocab):
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, vocab, size=(n, t), dtype=np.int64)
    ids[:, 0] = 1  # a CLS-like first token
    return ids


def fixture_bert_cls(w, seed=201):
    labels = ["negative", "neutral", "positive"]
    cfg = BertConfig(vocab_size=120, hidden_size=48, num_attention_heads=3, num_hidden_layers=2,
                     intermediate_size=80, max_position_embeddings=64, type_vocab_size=2,
                     num_labels=3, id2label=dict(enumerate(labels)),
                     label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(seed)
    model = eager(BertForSequenceClassification, cfg)
    add_noise(model, seed)
    n, t, valid = 2, 11, 7
    ids = bert_ids(seed, n, t, 120)
    mask = np.ones((n, t), dtype=np.int64)
    mask[1, valid:] = 0
    ids[1, valid:] = 0  # pad_token_id
    tt = np.zeros((n, t), dtype=np.int64)
    tt[0, 6:] = 1
    tt[1, 4:valid] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    expected, _ = primary(model, to_torch(inputs))
    # padding must not matter: row 1 alone, unpadded, gives the same logits
    alone, _ = primary(model, to_torch({"input_ids": ids[1:, :valid],
                                         "attention_mask": mask[1:, :valid],
                                         "token_type_ids": tt[1:, :valid]}))
    assert float((alone[0] - expected[1]).abs().max()) < 1e-5
    # ... and ignoring the mask must change it, else the fixture would not test masking
    unmasked, _ = primary(model, to_torch({"input_ids": ids, "token_type_ids": tt}))
    assert float((unmasked[1] - expected[1]).abs().max()) > 1e-2
    path = w.folder("bert_cls")
    model.save_pretrained(path)
    check_reload(BertForSequenceClassification, path, inputs, expected)
    w.add("bert_cls", "bert", "BertForSequenceClassification", inputs, expected,
          notes="row 1 padded: 7 valid tokens then 4 pad (mask 0, id 0); token_type_ids mix 0/1;"
                " logits = classifier(tanh(pooler(CLS))); row 1 equals the unpadded 7-token run")


def fixture_bert_base_relu(w, seed=202):
    cfg = BertConfig(vocab_size=90, hidden_size=32, num_attention_heads=2, num_hidden_layers=2,
                     intermediate_size=48, max_position_embeddings=32, hidden_act="relu")
    torch.manual_seed(seed)
    model = eager(BertModel, cfg)
    add_noise(model, seed)
    inputs = {"input_ids": bert_ids(seed, 1, 7, 90)}
    expected, pooler = primary(model, to_torch(inputs))
    path = w.folder("bert_base_relu")
    model.save_pretrained(path)
    check_reload(BertModel, path, inputs, expected, pooler)
    w.add("bert_base_relu", "bert", "BertModel", inputs, expected, {"pooler_output": pooler},
          notes="relu MLP; no attention_mask / token_type_ids files: all ones / all zeros;"
                " expected = last_hidden_state (1, 7, 32)")


def fixture_bert_cls_sharded(w, seed=203):
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_attention_heads=2, num_hidden_layers=3,
                     intermediate_size=64, max_position_embeddings=32, num_labels=4)
    torch.manual_seed(seed)
    model = eager(BertForSequenceClassification, cfg)
    add_noise(model, seed)
    ids = bert_ids(seed, 2, 9, 100)
    mask = np.ones_like(ids)
    mask[1, 5:] = 0
    ids[1, 5:] = 0
    inputs = {"input_ids": ids, "attention_mask": mask}
    expected, _ = primary(model, to_torch(inputs))
    path = w.folder("bert_cls_sharded")
    model.save_pretrained(path, max_shard_size="60KB")
    shards = sorted(f for f in os.listdir(path) if f.startswith("model-"))
    assert 2 <= len(shards) <= 4 and os.path.exists(
        os.path.join(path, "model.safetensors.index.json")), shards
    check_reload(BertForSequenceClassification, path, inputs, expected)
    w.add("bert_cls_sharded", "bert", "BertForSequenceClassification", inputs, expected,
          notes=f"sharded: model.safetensors.index.json + {len(shards)} shards; row 1 padded"
                " after 5 tokens; no token_type_ids file (all zeros)")


# ---------------------------------------------------------------- GPT-2

def gpt2_ids(seed, n, t, vocab):
    return np.random.default_rng(seed).integers(0, vocab - 1, size=(n, t), dtype=np.int64)


def gpt2_lm_config(**kw):
    # bos/eos default to 50256, outside a tiny vocab: put them on the last id instead
    base = dict(vocab_size=150, n_embd=48, n_head=3, n_layer=2, n_positions=64, n_inner=None,
                activation_function="gelu_new", bos_token_id=149, eos_token_id=149)
    base.update(kw)
    return GPT2Config(**base)


def fixture_gpt2_lm(w, seed=301):
    torch.manual_seed(seed)
    model = eager(GPT2LMHeadModel, gpt2_lm_config())
    add_noise(model, seed)
    inputs = {"input_ids": gpt2_ids(seed, 2, 9, 150)}
    expected, _ = primary(model, to_torch(inputs))
    gen = make_generation(model, 150, seed, prompt_len=5)
    path = w.folder("gpt2_lm")
    model.save_pretrained(path)
    re = check_reload(GPT2LMHeadModel, path, inputs, expected)
    assert torch.equal(re.lm_head.weight, re.transformer.wte.weight)
    w.add("gpt2_lm", "gpt2", "GPT2LMHeadModel", inputs, expected, gen=gen,
          notes="tied lm_head (no lm_head.weight in the file); gelu_new; n_inner None -> 4*n_embd;"
                " logits (2, 9, 150); greedy generation of 20 tokens from a 5-token prompt"
                " (eos 149 never chosen; generate() checked equal to a plain argmax loop)")


def fixture_gpt2_base_scaled(w, seed=302):
    cfg = GPT2Config(vocab_size=100, n_embd=32, n_head=4, n_layer=3, n_positions=32, n_inner=72,
                     activation_function="gelu", scale_attn_by_inverse_layer_idx=True,
                     reorder_and_upcast_attn=True, bos_token_id=99, eos_token_id=99)
    torch.manual_seed(seed)
    model = eager(GPT2Model, cfg)
    add_noise(model, seed)
    inputs = {"input_ids": gpt2_ids(seed, 1, 6, 100)}
    expected, _ = primary(model, to_torch(inputs))
    # the flag must change the result, else the fixture would not test it
    plain = GPT2Model(GPT2Config(**{**cfg.to_dict(), "scale_attn_by_inverse_layer_idx": False}))
    plain.config._attn_implementation = "eager"
    plain.load_state_dict(model.state_dict())
    other, _ = primary(plain.eval(), to_torch(inputs))
    assert float((other - expected).abs().max()) > 1e-2
    path = w.folder("gpt2_base_scaled")
    model.save_pretrained(path)
    check_reload(GPT2Model, path, inputs, expected)
    w.add("gpt2_base_scaled", "gpt2", "GPT2Model", inputs, expected,
          notes="scale_attn_by_inverse_layer_idx: scores of layer i scaled by 1/sqrt(d)/(i+1);"
                " reorder_and_upcast_attn (numerically the same in fp32); exact gelu; n_inner 72;"
                " expected = last_hidden_state (1, 6, 32)")


def fixture_gpt2_lm_bf16(w, seed=303):
    torch.manual_seed(seed)
    model = eager(GPT2LMHeadModel, gpt2_lm_config(n_embd=32, n_head=2, vocab_size=130,
                                                  bos_token_id=129, eos_token_id=129))
    add_noise(model, seed)
    path = w.folder("gpt2_lm_bf16")
    model.to(torch.bfloat16).save_pretrained(path)
    with open(os.path.join(path, "config.json")) as f:
        assert json.load(f)["dtype"] == "bfloat16"
    # reference: the saved bf16 weights, widened to fp32, computed in fp32
    ref = load(GPT2LMHeadModel, path).float()
    inputs = {"input_ids": gpt2_ids(seed, 2, 8, 130)}
    expected, _ = primary(ref, to_torch(inputs))
    gen = make_generation(ref, 130, seed, prompt_len=5)
    w.add("gpt2_lm_bf16", "gpt2", "GPT2LMHeadModel", inputs, expected, gen=gen,
          notes="weights stored BF16 (config dtype bfloat16); expected computed in fp32 from the"
                " bf16 weights widened exactly to fp32")


def fixture_gpt2_legacy(w, seed=304):
    torch.manual_seed(seed)
    cfg = gpt2_lm_config(n_positions=32)
    model = eager(GPT2LMHeadModel, cfg)
    add_noise(model, seed)
    inputs = {"input_ids": gpt2_ids(seed, 2, 7, 150)}
    expected, _ = primary(model, to_torch(inputs))
    path = w.folder("gpt2_legacy")
    sd = {}
    for k, v in model.state_dict().items():
        if k == "lm_head.weight":
            continue  # tied to wte, as in openai's checkpoint
        assert k.startswith("transformer."), k
        sd[k[len("transformer."):]] = v.contiguous().clone()
    n_pos = cfg.n_positions
    tril = torch.tril(torch.ones(n_pos, n_pos)).view(1, 1, n_pos, n_pos)
    for i in range(cfg.n_layer):
        # old causal-mask buffers: F32 as in the gpt2 checkpoint on the hub, BOOL as later versions
        sd[f"h.{i}.attn.bias"] = tril.clone() if i % 2 == 0 else tril.bool()
        sd[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)  # rank 0
    save_file(sd, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    c = cfg.to_dict()
    c["architectures"] = ["GPT2LMHeadModel"]
    c["n_ctx"] = n_pos  # old configs carried n_ctx beside n_positions
    for k in ("dtype", "transformers_version"):
        c.pop(k, None)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
    re = check_reload(GPT2LMHeadModel, path, inputs, expected)
    assert torch.equal(re.lm_head.weight, re.transformer.wte.weight)
    w.add("gpt2_legacy", "gpt2", "GPT2LMHeadModel", inputs, expected,
          notes="hand-written openai layout: no 'transformer.' prefix, no lm_head.weight (tied),"
                " buffers h.N.attn.bias [1,1,32,32] (F32 in h.0, BOOL in h.1) and rank-0 F32"
                " h.N.attn.masked_bias, all to be ignored; config has n_ctx. transformers 5 loads"
                " it and reproduces expected")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "data", "golden"))
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    w = Writer(args.out)
    for fixture in (fixture_vit_cls, fixture_vit_base_gelu_new, fixture_vit_cls_legacy,
                    fixture_bert_cls, fixture_bert_base_relu, fixture_bert_cls_sharded,
                    fixture_gpt2_lm, fixture_gpt2_base_scaled, fixture_gpt2_lm_bf16,
                    fixture_gpt2_legacy):
        fixture(w)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(w.manifest, f, indent=1)
        f.write("\n")
    total = 0
    print("\nsizes:")
    for e in w.manifest:
        d = os.path.join(args.out, e["name"])
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        total += size
        print(f"  {e['name']:18s} {size / 1024:8.1f} KiB  {sorted(os.listdir(d))}")
    print(f"  total {total / 1024:.1f} KiB")
    assert total < 2.5e6, "golden fixtures too large"


if __name__ == "__main__":
    main()
