# The helpers of the golden fixtures (scripts/make_golden_models.py, which says what they are and
# what transformers writes; scripts/golden_heads.py): making a model with transformers' own class
# and noised weights, running it, saving, reloading and checking it, and the manifest writer.
import os
import shutil

import numpy as np
import torch
from safetensors import safe_open
from transformers import GPT2Config

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
    if hasattr(out, "start_logits"):  # question answering: edgerun's start_end_logits (N, T, 2)
        return torch.stack([out.start_logits, out.end_logits], dim=-1).float(), None
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


def assert_no_near_ties(expected, min_gap=10 * ATOL):
    """The C++ test compares argmax over the last axis row by row: no row may have a near-tie."""
    top2 = torch.topk(expected.reshape(-1, expected.shape[-1]), 2, dim=-1).values
    gap = float((top2[:, 0] - top2[:, 1]).min())
    assert gap > min_gap, f"near-tie in expected: top-2 gap {gap}"


def bert_ids(seed, n, t, vocab):
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, vocab, size=(n, t), dtype=np.int64)
    ids[:, 0] = 1  # a CLS-like first token
    return ids


def gpt2_ids(seed, n, t, vocab):
    return np.random.default_rng(seed).integers(0, vocab - 1, size=(n, t), dtype=np.int64)


def gpt2_lm_config(**kw):
    # bos/eos default to 50256, outside a tiny vocab: put them on the last id instead
    base = dict(vocab_size=150, n_embd=48, n_head=3, n_layer=2, n_positions=64, n_inner=None,
                activation_function="gelu_new", bos_token_id=149, eos_token_id=149)
    base.update(kw)
    return GPT2Config(**base)
