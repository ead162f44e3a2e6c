# The golden fixtures of the heads on top of the base models (scripts/make_golden_models.py runs
# them): BertForMaskedLM (tied and untied decoder), BertForTokenClassification,
# BertForQuestionAnswering and GPT2ForSequenceClassification (with and without a pad token).
import json
import os

import numpy as np
import torch
from safetensors import safe_open
from transformers import (BertConfig, BertForMaskedLM, BertForQuestionAnswering,
                          BertForTokenClassification, GPT2ForSequenceClassification)

from golden_common import (add_noise, assert_no_near_ties, bert_ids, check_reload, eager, gpt2_ids,
                           gpt2_lm_config, primary, to_torch)


def bert_head_config(**kw):
    base = dict(vocab_size=60, hidden_size=16, num_attention_heads=2, num_hidden_layers=1,
                intermediate_size=24, max_position_embeddings=16, type_vocab_size=2)
    base.update(kw)
    return BertConfig(**base)


def bert_padded_inputs(seed, vocab, n=2, t=7, valid=4):
    """Row 1 padded after `valid` tokens (mask 0, id 0); token types 0 then 1 in row 0."""
    ids = bert_ids(seed, n, t, vocab)
    mask = np.ones((n, t), dtype=np.int64)
    mask[1, valid:] = 0
    ids[1, valid:] = 0
    tt = np.zeros((n, t), dtype=np.int64)
    tt[0, t // 2:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}


def bert_head_fixture(w, name, cls, cfg, seed, notes, save=None):
    """A BERT head on a tiny encoder: made, noised, run on a padded batch, saved and reloaded."""
    torch.manual_seed(seed)
    model = eager(cls, cfg)
    add_noise(model, seed)
    inputs = bert_padded_inputs(seed, cfg.vocab_size)
    expected, _ = primary(model, to_torch(inputs))
    assert_no_near_ties(expected)
    path = w.folder(name)
    model.save_pretrained(path)
    if save:
        save(path)
    check_reload(cls, path, inputs, expected)
    w.add(name, "bert", cls.__name__, inputs, expected, notes=notes)


def tensor_names(path):
    with safe_open(os.path.join(path, "model.safetensors"), "pt") as f:
        return set(f.keys())


def fixture_bert_mlm(w, seed=204):
    def check(path):
        names = tensor_names(path)  # tied: the decoder is the word embedding, its bias cls.predictions.bias
        assert "cls.predictions.bias" in names and not any(k.startswith("cls.predictions.decoder") for k in names)
        assert not any("pooler" in k for k in names), names
    bert_head_fixture(w, "bert_mlm", BertForMaskedLM, bert_head_config(hidden_act="gelu_new"), seed, save=check,
                      notes="BertForMaskedLM, tied decoder (no cls.predictions.decoder.* in the file: the word"
                            " embedding and cls.predictions.bias); gelu_new in the head transform; no pooler;"
                            " vocab 60 > 2 * intermediate, so the decoder runs in 2 row chunks; logits (2, 7, 60)")


def fixture_bert_mlm_untied(w, seed=205):
    def check(path):
        names = tensor_names(path)  # untied: the decoder's own weight and bias, and the unread cls.predictions.bias
        assert {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias", "cls.predictions.bias"} <= names
        with safe_open(os.path.join(path, "model.safetensors"), "pt") as f:  # so the test tells them apart
            assert not torch.equal(f.get_tensor("cls.predictions.bias"), f.get_tensor("cls.predictions.decoder.bias"))
    bert_head_fixture(w, "bert_mlm_untied", BertForMaskedLM,
                      bert_head_config(tie_word_embeddings=False, vocab_size=50), seed, save=check,
                      notes="BertForMaskedLM with tie_word_embeddings false: the decoder's own"
                            " cls.predictions.decoder.weight and .bias (noised apart from"
                            " cls.predictions.bias, which the untied forward does not read); logits (2, 7, 50)")


def fixture_bert_token_cls(w, seed=206):
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    cfg = bert_head_config(num_labels=5, id2label=dict(enumerate(labels)),
                           label2id={l: i for i, l in enumerate(labels)})
    bert_head_fixture(w, "bert_token_cls", BertForTokenClassification, cfg, seed,
                      notes="BertForTokenClassification: classifier on every token, no pooler;"
                            " logits (2, 7, 5), row 1 padded after 4 tokens")


def fixture_bert_qa(w, seed=207):
    bert_head_fixture(w, "bert_qa", BertForQuestionAnswering, bert_head_config(), seed,
                      notes="BertForQuestionAnswering: expected = stack([start_logits, end_logits], -1)"
                            " (2, 7, 2), edgerun's start_end_logits; row 1 padded after 4 tokens")


def gpt2_seq_cls(w, name, seed, pad, ids, notes):
    labels = ["neg", "pos", "mixed"]
    cfg = gpt2_lm_config(vocab_size=40, n_embd=16, n_head=2, n_layer=1, n_positions=16,
                         bos_token_id=39, eos_token_id=39, pad_token_id=pad, num_labels=3,
                         id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(seed)
    model = eager(GPT2ForSequenceClassification, cfg)
    add_noise(model, seed)
    inputs = {"input_ids": ids}
    expected, _ = primary(model, to_torch(inputs))
    assert_no_near_ties(expected)
    path = w.folder(name)
    model.save_pretrained(path)
    with open(os.path.join(path, "config.json")) as f:
        assert json.load(f)["pad_token_id"] == pad
    check_reload(GPT2ForSequenceClassification, path, inputs, expected)
    w.add(name, "gpt2", "GPT2ForSequenceClassification", inputs, expected, notes=notes)
    return model, expected


def fixture_gpt2_seq_cls(w, seed=305):
    pad, valid = 39, 3
    ids = gpt2_ids(seed, 2, 6, 39)  # ids < 39: no real token is the pad id
    ids[1, valid:] = pad
    model, expected = gpt2_seq_cls(
        w, "gpt2_seq_cls", seed, pad, ids,
        notes="GPT2ForSequenceClassification, pad_token_id 39 (= eos): row 1 right-padded after 3"
              " tokens, scored at its last real token (index 2), row 0 at index 5; no attention_mask"
              " file: with right padding a causal model's real tokens never see the pads, so"
              " transformers gives the same logits with the mask (checked); logits (2, 3)")
    mask = (ids != pad).astype(np.int64)
    with_mask, _ = primary(model, to_torch({"input_ids": ids, "attention_mask": mask}))
    assert float((with_mask - expected).abs().max()) < 1e-5
    alone, _ = primary(model, to_torch({"input_ids": ids[1:, :valid]}))
    assert float((alone[0] - expected[1]).abs().max()) < 1e-5


def fixture_gpt2_seq_cls_nopad(w, seed=306):
    gpt2_seq_cls(w, "gpt2_seq_cls_nopad", seed, None, gpt2_ids(seed, 1, 5, 40),
                 notes="GPT2ForSequenceClassification without pad_token_id: batch 1, scored at the last"
                       " token (transformers refuses batches > 1 then); logits (1, 3)")
