"""Goldens for the tokenizer, the Gemma-2 text encoder and SanaPipeline.encode_prompt."""
import copy
import inspect
import json
import os

import torch

from oracle_common import f64_mode, fpath, tolerances_for


def sana_chi():
    from diffusers import SanaPipeline
    return list(inspect.signature(SanaPipeline.__call__).parameters["complex_human_instruction"].default)


def utf8_tensor(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return torch.tensor(list(b), dtype=torch.uint8)


LONG_PROMPT = " ".join(
    "a breathtaking panoramic landscape number %d with towering snow-capped mountains, mirror-like lakes, "
    "ancient pine forests and a dramatic sunset sky painted in orange, magenta and violet hues," % i
    for i in range(12)).strip()


def tokenizer_prompts():
    chi = "\n".join(sana_chi())
    P = [
        ("plain", "a cat"),
        ("plain_long", "A photo of an astronaut riding a horse on the moon, highly detailed, 8k"),
        ("sky", "why is the sky blue?"),
        ("empty", ""),
        ("one_space", " "),
        ("lead_trail_spaces", "   leading and trailing spaces   "),
        ("space_runs", "multiple     spaces   between    words  x"),
        ("spaces_16", " " * 16 + "x"),
        ("spaces_31", " " * 31 + "x"),
        ("spaces_40", " " * 40 + "x"),
        ("tabs", "tab\tseparated\t\tvalues\t\t\t\tend"),
        ("newlines", "line one\nline two\n\nline four\n\n\n"),
        ("newlines_40", "a" + "\n" * 40 + "b"),
        ("crlf", "\r\nwindows line endings\r\n"),
        ("mixed_ws", " \t \n \t\n  x \n\t"),
        ("trailing_space", "hello "),
        ("cyrillic", "Привет, мир! Кошка сидит на окне."),
        ("cjk_zh", "一只可爱的小猫坐在窗台上"),
        ("cjk_ja", "日本語のテキスト、カタカナとひらがな。"),
        ("hangul", "한국어 문장입니다"),
        ("arabic", "مرحبا بالعالم"),
        ("hebrew", "שלום עולם"),
        ("devanagari", "नमस्ते दुनिया"),
        ("thai", "สวัสดีชาวโลก"),
        ("greek", "Καλημέρα κόσμε"),
        ("emoji", "emoji 🐱🚀✨ end"),
        ("emoji_zwj", "family 👨\u200d👩\u200d👧\u200d👦 flag 🇯🇵 skin 👍🏽 heart ❤️"),
        ("combining", "e\u0301 cafe\u0301 n\u0303 a\u0308\u0304 Z\u0351\u0352\u0353"),
        ("precomposed_vs_decomposed", "caf\u00e9 / cafe\u0301"),
        ("byte_fallback", "\U00013000 \U0001D11E \ue000 \U0010FFFD \u0378"),
        ("control_chars", "a\x00b\x01c\x7fd\x1be"),
        ("special_in_text", "<bos>hello<eos> world<pad>"),
        ("turns_in_text", "<start_of_turn>user\nhi there<end_of_turn>\n<start_of_turn>model\n"),
        ("special_partial", "<bos <<bos>> </bos> <unk><mask><unused0><unused99>"),
        ("html_tags", "<h1>Title</h1><p>para <b>bold</b></p><table><tr>"),
        ("digits", "1234567890 3.14159 2024-11-26 x2y3"),
        ("punct", "!!!??? ... ,,, ;;; ::: --- ''' \"\"\" ((( )))"),
        ("code", "def f(x):\n    return x ** 2  # square\n"),
        ("url", "https://example.com/path?q=1&r=2#frag"),
        ("mixed_case", "ThE QuIcK BrOwN FoX JuMpS"),
        ("unicode_spaces", "a\u00a0b\u200bc\u2009d\u3000e\u2028f\u2029g\u0085h"),
        ("compat_chars", "Ⅻ ﬁ ㎏ ① ｆｕｌｌ"),
        ("math", "∑∫√∞ ≠ ≤ ≥ αβγ x²"),
        ("sp_char_literal", "\u2581\u2581hello \u2581world"),
        ("mixed_scripts", "hello世界мир🌍!"),
        ("long_word", "A" * 50 + " " + "ab" * 30),
        ("chi", chi),
        ("chi_plus_prompt", chi + "a cat sitting on a windowsill"),
        ("long_prompt", LONG_PROMPT),
    ]
    return P


# Byte strings that are not valid UTF-8. The Python reference API takes `str`, so it can only
# see such input after decoding; we record Python's bytes.decode("utf-8", errors="replace")
# (one U+FFFD per maximal invalid subsequence, as in the Unicode/WHATWG recommendation).
INVALID_UTF8 = [
    ("invalid_utf8_bytes", b"caf\xc3 \xff\xfe end"),
    ("invalid_utf8_surrogate", b"x\xed\xa0\x80y \xf0\x9f\x90 z \xc0\xafq"),
]


def case_tokenizer(reg):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    tjson = fpath("sana_tiny", "tokenizer", "tokenizer.json")
    tk = Tokenizer.from_file(tjson)
    hf = AutoTokenizer.from_pretrained(fpath("sana_tiny", "tokenizer"))
    hf.padding_side = "right"

    tensors, entries, outputs, inputs = {}, [], [], []
    allp = [(n, s, None) for n, s in tokenizer_prompts()] + [(n, b.decode("utf-8", errors="replace"), b)
                                                           for n, b in INVALID_UTF8]
    for i, (name, text, raw) in enumerate(allp):
        enc = tk.encode(text, add_special_tokens=True)
        ids = enc.ids
        ids_hf = hf(text, add_special_tokens=True).input_ids
        assert ids == ids_hf, (name, ids[:20], ids_hf[:20])
        tensors["text.%d" % i] = utf8_tensor(raw if raw is not None else text)
        tensors["ids.%d" % i] = torch.tensor(ids, dtype=torch.int64)
        inputs.append("text.%d" % i)
        outputs.append("ids.%d" % i)
        e = {"index": i, "name": name, "text": text, "n_ids": len(ids), "tokens": enc.tokens}
        if raw is not None:
            e["raw_utf8_hex"] = raw.hex()
            e["note"] = ("text.%d holds the raw (invalid) bytes; the reference tokenizes "
                         "bytes.decode('utf-8', errors='replace')" % i)
        entries.append(e)

    # Truncation / padding exactly as the pipeline calls the tokenizer (no CHI: max_length 300).
    chi = "\n".join(sana_chi())
    n_chi = len(hf.encode(chi))
    trunc_specs = [
        ("trunc300_long", LONG_PROMPT, 300),
        ("pad300_short", "a cat", 300),
        ("pad300_empty", "", 300),
        ("chi_M_long", chi + LONG_PROMPT.lower(), n_chi + 300 - 2),
        ("chi_M_short", chi + "a cat", n_chi + 300 - 2),
    ]
    trunc_entries = []
    for name, text, M in trunc_specs:
        enc = hf(text, padding="max_length", max_length=M, truncation=True, add_special_tokens=True,
                 return_tensors="pt")
        tensors[name + ".text"] = utf8_tensor(text)
        tensors[name + ".ids"] = enc.input_ids[0]
        tensors[name + ".mask"] = enc.attention_mask[0]
        inputs.append(name + ".text")
        outputs += [name + ".ids", name + ".mask"]
        trunc_entries.append({"name": name, "max_length": M, "text": text})

    side = {"note": "Prompts of the tokenizer case, in the order of text.{i}/ids.{i} in "
                    "goldens/tokenizer.safetensors. ids include <bos>=2 (add_special_tokens=True).",
            "prompts": entries, "truncation": trunc_entries, "n_chi_tokens": n_chi}
    with open(fpath("goldens", "tokenizer_prompts.json"), "w", encoding="utf-8") as f:
        json.dump(side, f, indent=1, ensure_ascii=False)
        f.write("\n")
    reg.add("tokenizer/gemma2", "tokenizer", tensors, inputs, outputs, "tokenizer.safetensors",
            model="sana_tiny/tokenizer", tolerance=0,
            params={"prompts_file": "goldens/tokenizer_prompts.json", "add_special_tokens": True,
                    "padding_side": "right", "n_chi_tokens": n_chi},
            note="Exact ids. text.{i}: UTF-8 bytes of prompt i (uint8); ids.{i}: "
                 "tokenizers.Tokenizer.from_file(tokenizer.json).encode(text).ids (int64), asserted equal "
                 "to transformers' GemmaTokenizer. <name>.ids/.mask: tokenizer(text, padding='max_length', "
                 "max_length=M, truncation=True) as SanaPipeline calls it.")


# ---------------------------------------------------------------------------------------------

def _layer_hooks(te, store):
    hs = []
    hs.append(te.embed_tokens.register_forward_hook(lambda m, i, o: store.__setitem__("embed", o)))
    for li, layer in enumerate(te.layers):
        hs.append(layer.register_forward_hook(
            lambda m, i, o, li=li: store.__setitem__("layer.%d" % li, o[0] if isinstance(o, tuple) else o)))
        if li < 2:  # a sliding (0) and a full (1) layer: branch outputs before their post-norms
            hs.append(layer.self_attn.register_forward_hook(
                lambda m, i, o, li=li: store.__setitem__("layer.%d.self_attn" % li, o[0] if isinstance(o, tuple) else o)))
            hs.append(layer.mlp.register_forward_hook(
                lambda m, i, o, li=li: store.__setitem__("layer.%d.mlp" % li, o)))
    return hs


def case_text_encoder(reg, pipe):
    tok = pipe.tokenizer
    tok.padding_side = "right"
    te32 = pipe.text_encoder
    te64 = copy.deepcopy(te32).double()
    chi = "\n".join(sana_chi())

    specs = [
        ("text_encoder/batch2_padded", ["a cat sitting on a windowsill, watercolor", "hello"], 16, True),
        ("text_encoder/chi_prompt", [chi + "a red fox in the snow"], None, True),
        ("text_encoder/padded_all_layers", ["Кошка 🐱 at\tnight\n\nbright"], 24, True),
    ]
    for name, prompts, M, padded in specs:
        if M is None:
            enc = tok(prompts, add_special_tokens=True, return_tensors="pt")
        else:
            enc = tok(prompts, padding="max_length", max_length=M, truncation=True, add_special_tokens=True,
                      return_tensors="pt")
        ids, mask = enc.input_ids, enc.attention_mask
        per_layer = name.endswith("all_layers")
        res = {}
        for dt, te in (("f32", te32), ("f64", te64)):
            store = {}
            hooks = _layer_hooks(te, store) if per_layer else []
            ctx = f64_mode() if dt == "f64" else _null()
            with torch.no_grad(), ctx:
                out = te(ids, attention_mask=mask)
            for h in hooks:
                h.remove()
            store["last_hidden_state"] = out.last_hidden_state
            res[dt] = store
        outs = ["last_hidden_state"]
        if per_layer:
            outs = ["embed"] + ["layer.%d" % i for i in range(len(te32.layers))] + ["last_hidden_state"]
            outs += ["layer.0.self_attn", "layer.0.mlp", "layer.1.self_attn", "layer.1.mlp"]
        rm = {k: mask for k in outs if k != "embed"}
        tols, meas = tolerances_for(res["f32"], res["f64"], outs, row_masks=rm)
        tensors = {"input_ids": ids, "attention_mask": mask}
        tensors.update({k: res["f32"][k] for k in outs})
        reg.add(name, "text_encoder", tensors, ["input_ids", "attention_mask"], outs,
                name.replace("/", "_") + ".safetensors", model="sana_tiny/text_encoder",
                tolerances=tols, measured=meas,
                params={"prompts": prompts, "max_length": M},
                extra={"compare_rows": {k: "attention_mask" for k in rm}},
                note="Gemma2Model (eager attention, soft-cap on) last_hidden_state (after the final norm), "
                     "right padding, positions 0..L-1. Pad rows (mask 0) are included as the reference "
                     "computes them. embed = embed_tokens output x sqrt(hidden); layer.i = residual "
                     "stream after decoder layer i (before the final norm); layer.i.self_attn = o_proj output and "
                     "layer.i.mlp = down_proj output, both before their post-norms (layers 0 and 1). Compare rows with attention_mask 1 "
                     "(compare_rows); see README on pad rows.")


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def case_prompt(reg, pipe):
    chi = sana_chi()
    specs = [
        ("prompt/no_chi", "A Cat sitting on a Windowsill", None),
        ("prompt/chi", "A Cat sitting on a Windowsill", chi),
        ("prompt/chi_batch2", ["a red car", "  Два КОТА 🐱 in the rain  "], chi),
        ("prompt/chi_long", LONG_PROMPT, chi),
        ("prompt/chi_digit_start", "3 apples on a table", chi),
    ]
    te32 = pipe.text_encoder
    te64 = copy.deepcopy(te32).double()
    for name, prompt, cur_chi in specs:
        res = {}
        for dt in ("f32", "f64"):
            pipe.text_encoder = te32 if dt == "f32" else te64
            ctx = f64_mode() if dt == "f64" else _null()
            with torch.no_grad(), ctx:
                pe, pm, ne, nm = pipe.encode_prompt(prompt, do_classifier_free_guidance=True, negative_prompt="",
                                                    num_images_per_prompt=1, device=torch.device("cpu"),
                                                    clean_caption=False, max_sequence_length=300,
                                                    complex_human_instruction=cur_chi)
            res[dt] = {"prompt_embeds": pe, "prompt_attention_mask": pm, "negative_prompt_embeds": ne,
                       "negative_prompt_attention_mask": nm}
        pipe.text_encoder = te32
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        tensors = {}
        for i, p in enumerate(prompts):
            tensors["prompt.%d" % i] = utf8_tensor(p)
        tensors.update(res["f32"])
        outs = ["prompt_embeds", "prompt_attention_mask", "negative_prompt_embeds", "negative_prompt_attention_mask"]
        rm = {"prompt_embeds": res["f32"]["prompt_attention_mask"],
              "negative_prompt_embeds": res["f32"]["negative_prompt_attention_mask"]}
        tols, meas = tolerances_for(res["f32"], res["f64"], ["prompt_embeds", "negative_prompt_embeds"], row_masks=rm)
        tols["prompt_attention_mask"] = 0
        tols["negative_prompt_attention_mask"] = 0
        params = {"prompt": prompt, "negative_prompt": "", "max_sequence_length": 300, "clean_caption": False,
                  "complex_human_instruction": cur_chi, "do_classifier_free_guidance": True}
        if cur_chi:
            params["chi_text"] = "\n".join(cur_chi)
        reg.add(name, "prompt", tensors, ["prompt.%d" % i for i in range(len(prompts))], outs,
                name.replace("/", "_") + ".safetensors", model="sana_tiny", tolerances=tols, measured=meas,
                params=params,
                extra={"compare_rows": {"prompt_embeds": "prompt_attention_mask",
                                        "negative_prompt_embeds": "negative_prompt_attention_mask"}},
                note="SanaPipeline.encode_prompt: prompts are lower()+strip()ed, CHI (if any) prepended as text, "
                     "tokenized to M = len(tok.encode(chi)) + 300 - 2, Gemma last_hidden_state, rows [0] + "
                     "[-299..-1] kept. Negative prompt '' at max_length 300 without CHI. Masks are int64 "
                     "(1 keep, 0 pad); pad rows of the embeddings are the reference's values.")
