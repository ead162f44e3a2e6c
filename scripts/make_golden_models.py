#!/usr/bin/env python3
# Writes the golden HF fixtures of the C++ golden tests: tiny random-weight ViT / BERT / GPT-2 models
# made by transformers' own classes and saved by its own save_pretrained (plus two hand-written
# "legacy layout" folders), each with inputs and the reference output transformers computes in
# float32 eval mode, and tests/data/golden/manifest.json describing them. Deterministic (fixed
# seeds), but another torch build may round the expected outputs differently: `--only` writes just
# the fixtures named, leaving the others byte for byte. The helpers are scripts/golden_common.py,
# the heads' fixtures (masked LM, token classification, QA, GPT-2 classifier) scripts/golden_heads.py.
# It does not write ONNX models or large models (see scripts/make_bench_models.py).
#   python3 scripts/make_golden_models.py --out tests/data/golden [--only bert_qa,gpt2_seq_cls]
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
#  - tied weights are written once: GPT2LMHeadModel has no "lm_head.weight" (tie to transformer.wte);
#    BertForMaskedLM has "cls.predictions.bias" and no "cls.predictions.decoder.*" (tied to the word
#    embedding and that bias). Untied (tie_word_embeddings false) it has decoder.weight and
#    decoder.bias, which its forward reads, beside the unread "cls.predictions.bias".
#  - BertForMaskedLM / TokenClassification / QuestionAnswering have no pooler; transformers 5 reports
#    a file's "bert.pooler.*" as UNEXPECTED for them. GPT2ForSequenceClassification: "score.weight"
#    (no bias), "pad_token_id" in config.json (null when unset).
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

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import (BertConfig, BertForSequenceClassification, BertModel, GPT2Config,
                          GPT2LMHeadModel, GPT2Model, ViTConfig, ViTForImageClassification,
                          ViTModel)

from golden_common import (ATOL, Writer, add_noise, bert_ids, check_reload, eager, gpt2_ids,
                           gpt2_lm_config, load, make_generation, primary, to_torch)
from golden_heads import (fixture_bert_mlm, fixture_bert_mlm_untied, fixture_bert_qa,
                          fixture_bert_token_cls, fixture_gpt2_seq_cls, fixture_gpt2_seq_cls_nopad)


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


FIXTURES = (fixture_vit_cls, fixture_vit_base_gelu_new, fixture_vit_cls_legacy,
            fixture_bert_cls, fixture_bert_base_relu, fixture_bert_cls_sharded,
            fixture_bert_mlm, fixture_bert_mlm_untied, fixture_bert_token_cls, fixture_bert_qa,
            fixture_gpt2_lm, fixture_gpt2_base_scaled, fixture_gpt2_lm_bf16,
            fixture_gpt2_legacy, fixture_gpt2_seq_cls, fixture_gpt2_seq_cls_nopad)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "data", "golden"))
    ap.add_argument("--only", default="",
                    help="comma-separated fixture names: write only these folders and replace or add"
                         " only their manifest entries, leaving the other fixtures byte for byte")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    w = Writer(args.out)
    only = set(filter(None, args.only.split(",")))
    known = {f.__name__[len("fixture_"):] for f in FIXTURES}
    assert only <= known, f"unknown fixtures {sorted(only - known)}; known: {sorted(known)}"
    manifest_path = os.path.join(args.out, "manifest.json")
    kept = {}
    if only:
        with open(manifest_path) as f:
            kept = {e["name"]: e for e in json.load(f)}
    for fixture in FIXTURES:
        name = fixture.__name__[len("fixture_"):]
        if not only or name in only:
            fixture(w)
        elif name in kept:
            w.manifest.append(kept[name])
    with open(manifest_path, "w") as f:
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
