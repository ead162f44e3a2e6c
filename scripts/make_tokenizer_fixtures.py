#!/usr/bin/env python3
"""Trains tiny tokenizers with the `tokenizers` library and records what it makes of tricky text.

Writes tests/data/tokenizers/:
  bpe/, bpe_legacy/                    byte-level BPE (GPT-2 style): tokenizer.json, and
                                       vocab.json + merges.txt (+ tokenizer_config.json)
  wordpiece/, wordpiece_legacy/        uncased BERT WordPiece: tokenizer.json, and vocab.txt +
                                       tokenizer_config.json
  wordpiece_cased/, wordpiece_cased_legacy/   the same with lowercase=False
  expected.json                        ids (with and without specials) and decoded text per input,
                                       from tokenizers.Tokenizer loaded from each tokenizer.json
The legacy folders are also loaded with transformers, which must agree with tokenizer.json, so
that the C++ test may hold both forms to the same expectations.

Run:  python3 scripts/make_tokenizer_fixtures.py
"""
import json
import os
import shutil

import tokenizers
import transformers
from tokenizers import ByteLevelBPETokenizer, BertWordPieceTokenizer, Tokenizer
from transformers import AutoTokenizer, BertTokenizerFast, GPT2TokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tokenizers")

CORPUS = """
The quick brown fox jumps over the lazy dog. It's a sunny day, isn't it? I'm sure we'll
find the answer; they've said so, and you'd agree. We're going home now — don't wait up!
Numbers: 12,345.67 and 3.14159, 2024-05-09, 100% of 42 apples cost $19.99 (plus tax).
Email me at someone@example.com or visit https://example.org/path?query=1&x=y#frag.
Café, naïve, façade, résumé, jalapeño, Zürich, Ångström, São Paulo, Kraków, Dvořák.
Héllo wörld! Über alles, schön und grün. Ça va? Où est la bibliothèque? Él está aquí.
Straße, Fußball, İstanbul, ΣΊΣΥΦΟΣ and σοφία; Москва, привет мир, добрый день.
日本語のテキストです。東京は大きい都市です。中文字符和English混合。我喜欢学习。
안녕하세요 세계. 한국어 문장입니다. ภาษาไทย สวัสดี. مرحبا بالعالم. नमस्ते दुनिया.
Emoji time 🙂👍🏽🎉🚀 and flags 🇺🇸🇫🇷, hearts ❤️💙, math ∑ ∫ ≈ ≠ ½ ¾ ² ①.
def tokenize(text): return [t for t in text.split() if t]  # code_snippet __init__ self.x_y
    Indented line with    multiple   spaces and	tabs	and trailing spaces   
Line one
Line two\r
!!! ... ??? ?! -- ** ## @@ ~~ ^_^ `code` 'quoted' "double" [brackets] {braces} <angle>
Marks that survive accent stripping: x\U0001D165\U0001D16D y\u1AC1\u1DFA z\u0F71\u0F72 q\u0334.
THE END. THE QUICK BROWN FOX. I'M DONE. WE'LL SEE. YOU'VE WON. It'S MiXeD CaSe.
"""

TRICKY = [
    "",
    " ",
    "Hello world!",
    "Héllo wörld",
    "HÉLLO Wörld ÅNGSTRÖM Café",
    "日本語テキスト",
    "中文字符和English混合",
    "안녕하세요 세계",
    "🙂👍🏽",
    "e\u0301 a\u0308\u0323 o\u0323\u0308 n\u0303",      # combining marks, NFD reordering
    "a  b\t\nc  ",
    "trailing spaces   ",
    "   leading spaces",
    "!!!...??",
    "I'm don't you'll we've they're she'd it's",
    "I'M DON'T YOU'LL",
    "12,345.67 and 3.14159 or 1e10",
    "x" * 120,
    "supercalifragilisticexpialidocious" * 4,
    "qzxjv wkpfh bvvxq",
    "ctrl\x00char\x07s\x1b[0m zero\u200bwidth soft\u00adhyphen \ufffd",
    "tab\tseparated\tvalues\x0bvt\x0cff\x85nel",
    "new\nlines\r\nwindows\rmac",
    "<|endoftext|>",
    "Hello<|endoftext|>world",
    "a <|endoftext|> b<|endoftext|><|endoftext|>",
    "[CLS] hello [SEP] [MASK] [unk]",
    "İstanbul ΣΊΣΥΦΟΣ straße ǅ Ǆ",
    "ﬁ ligature Ⅻ ① ½ ² ٣٤٥ ४५६",
    "\u3000ideographic\u00a0nbsp\u2003em\u2028ls",
    "mixed123numbers456 abc123",
    "email@example.com https://x.y/z?q=1&r=2",
    "$100 + 20% = #win ~~ ^_^ `code` {x} <y>",
    "'quoted' \"double\" 's 't 're",
    "  \n\n  ",
    "Zalgo: Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "ภาษาไทย مرحبا بالعالم नमस्ते दुनिया",
    "😀 smile 🇺🇸 flag 👨‍👩‍👧 family",
    "ＡＢＣ fullwidth \ufeffbom",
    "THE QUICK BROWN FOX. It'S MiXeD",
    "word" + "!" * 30,
    "don't do not can't won't",
    "a ' b n't 'm 's 've 're",
    "\U0002B820 \U00020000 \uF900 ext",
    # Canonical reordering that survives Mn removal (Mc marks of classes 226 then 216), and new
    # marks the library's older tables neither reorder nor count as Mn.
    "x\U0001D16D\U0001D165\u0301 y\u1DFA\u1AC1 y\u1AC1\u1DFA z\u0F72\u0F71 q\u0334\u0301",
]


def train_bpe(corpus):
    tok = ByteLevelBPETokenizer(add_prefix_space=False)
    tok.train_from_iterator([corpus] * 3, vocab_size=700, min_frequency=2,
                            special_tokens=["<|endoftext|>"], show_progress=False)
    return tok


def train_wordpiece(corpus, lowercase):
    tok = BertWordPieceTokenizer(lowercase=lowercase)
    tok.train_from_iterator([corpus] * 3, vocab_size=500, min_frequency=1, show_progress=False,
                            special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return tok


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def save_bpe(tok):
    d, legacy = os.path.join(OUT, "bpe"), os.path.join(OUT, "bpe_legacy")
    fresh(d)
    fresh(legacy)
    fast = GPT2TokenizerFast(tokenizer_object=tok._tokenizer, bos_token="<|endoftext|>",
                             eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.save_pretrained(d)
    tok.save_model(legacy)  # vocab.json + merges.txt
    shutil.copy(os.path.join(d, "tokenizer_config.json"), legacy)
    return d, legacy


def save_wordpiece(tok, name, lowercase):
    d, legacy = os.path.join(OUT, name), os.path.join(OUT, name + "_legacy")
    fresh(d)
    fresh(legacy)
    fast = BertTokenizerFast(tokenizer_object=tok._tokenizer, do_lower_case=lowercase,
                             strip_accents=None, tokenize_chinese_chars=True)
    fast.save_pretrained(d)
    tok.save_model(legacy)  # vocab.txt
    shutil.copy(os.path.join(d, "tokenizer_config.json"), legacy)
    cfg = json.load(open(os.path.join(legacy, "tokenizer_config.json")))
    assert cfg.get("do_lower_case") == lowercase, cfg
    return d, legacy


def record(name, d, legacy, bpe):
    ref = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    legacy_tok = AutoTokenizer.from_pretrained(legacy)
    cases = []
    for text in TRICKY:
        with_sp = ref.encode(text, add_special_tokens=True)
        without = ref.encode(text, add_special_tokens=False).ids
        # The legacy files, read by transformers, must mean the same tokenizer.
        leg = legacy_tok(text, add_special_tokens=True)["input_ids"]
        assert leg == with_sp.ids, (name, text, leg, with_sp.ids)
        case = {
            "text": text,
            "ids": with_sp.ids,
            "type_ids": with_sp.type_ids,
            "ids_no_special": without,
            "decoded": ref.decode(with_sp.ids, skip_special_tokens=False),
            "decoded_skip_special": ref.decode(with_sp.ids, skip_special_tokens=True),
        }
        if bpe:
            assert case["decoded"] == text, (name, text, case["decoded"])  # byte-level round trip
        cases.append(case)
    out = {"vocab_size": ref.get_vocab_size(with_added_tokens=True), "cases": cases}
    if bpe:
        # Decoding single ids and prefixes of a multi-byte text: partial characters become U+FFFD.
        partial = []
        for text in ["🙂👍🏽", "Héllo wörld", "日本語テキスト", "ภาษาไทย"]:
            ids = ref.encode(text).ids
            for i in range(len(ids)):
                partial.append({"ids": ids[i:i + 1], "decoded": ref.decode(ids[i:i + 1])})
                partial.append({"ids": ids[:i + 1], "decoded": ref.decode(ids[:i + 1])})
        out["partial_decodes"] = partial
    return out


def compact_json(expected):
    """ASCII JSON with one case per line: readable in a diff, a third of the size of indent=1."""
    lines = ["{", f' "generator": {json.dumps(expected["generator"])},']
    names = [k for k in expected if k != "generator"]
    for n, name in enumerate(names):
        lines.append(f' {json.dumps(name)}: {{"vocab_size": {expected[name]["vocab_size"]},')
        for key in ["cases", "partial_decodes"]:
            if key not in expected[name]:
                continue
            rows = [json.dumps(c, ensure_ascii=True) for c in expected[name][key]]
            lines.append(f'  "{key}": [')
            lines.extend("   " + r + ("," if i + 1 < len(rows) else "") for i, r in enumerate(rows))
            lines.append("  ],")
        lines[-1] = "  ]}" + ("," if n + 1 < len(names) else "")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == expected
    return text


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"generator": f"tokenizers {tokenizers.__version__}, "
                             f"transformers {transformers.__version__}"}
    bpe = train_bpe(CORPUS)
    d, legacy = save_bpe(bpe)
    expected["bpe"] = record("bpe", d, legacy, bpe=True)
    for name, lowercase in [("wordpiece", True), ("wordpiece_cased", False)]:
        wp = train_wordpiece(CORPUS, lowercase)
        d, legacy = save_wordpiece(wp, name, lowercase)
        expected[name] = record(name, d, legacy, bpe=False)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(compact_json(expected))
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, fs in os.walk(OUT) for n in fs)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
