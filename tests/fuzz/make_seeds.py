#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/seed_* from tests/fixtures (small
files, cut down from the fixtures: a few tensors, a few hundred vocabulary pieces) and a few
handmade ones. Crash inputs found by fuzzing are kept next to them as crash_* and are not
touched here. Run from anywhere: python3 tests/fuzz/make_seeds.py"""
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "sana_tiny")
OUT = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data)


def read(*p):
    with open(os.path.join(FIX, *p), "rb") as f:
        return f.read()


# --- safetensors: a few small tensors of the DC-AE fixture, re-packed ----------------------------
def st_file(tensors, metadata=None, pad=True):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


vae = read("vae", "diffusion_pytorch_model.safetensors")
n = struct.unpack("<Q", vae[:8])[0]
hdr = json.loads(vae[8:8 + n])
body = vae[8 + n:]
small = [(k, v) for k, v in hdr.items() if k != "__metadata__" and v["data_offsets"][1] - v["data_offsets"][0] <= 256][:3]
ts = [(k, v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in small]
put("safetensors", "vae_three", st_file(ts, {"format": "pt"}))
put("safetensors", "mixed_dtypes", st_file([
    ("a.f16", "F16", [2, 2], b"\x00\x3c" * 4), ("b.bf16", "BF16", [3], b"\x80\x3f" * 3),
    ("c.empty", "F32", [0, 4], b""), ("d.scalar", "F64", [], b"\x00" * 8),
    ("e.i64", "I64", [1], b"\x01" + b"\x00" * 7), ("f.u8", "U8", [5], b"abcde")]))
put("safetensors", "empty_header", st_file([], pad=False))
put("safetensors", "unpadded", st_file(ts[:1], None, pad=False))

# --- configs: every config.json of the fixture pipeline, and the other scheduler classes -------
for comp in ("transformer", "vae", "text_encoder"):
    put("config", comp, read(comp, "config.json"))
put("config", "scheduler_dpm", read("scheduler", "scheduler_config.json"))
put("config", "scheduler_euler", json.dumps({
    "_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 3.0,
    "use_dynamic_shifting": False, "base_shift": 0.5, "max_shift": 1.15}))
put("config", "scheduler_scm", json.dumps({
    "_class_name": "SCMScheduler", "num_train_timesteps": 1000, "prediction_type": "trigflow",
    "sigma_data": 0.5}))
put("config", "python_literals", '{"a": NaN, "b": -Infinity, "c": [Infinity, 1e999], "s": "NaN\\"I"}')
put("config", "gemma_layers", json.dumps({
    "model_type": "gemma2", "num_hidden_layers": 2, "layer_types": ["sliding_attention", "full_attention"],
    "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}, "hidden_activation": "gelu"}))

# --- model_index.json (and lone component config.json) ------------------------------------------
put("model_index", "pipeline", read("model_index.json"))
put("model_index", "sprint", json.dumps({
    "_class_name": "SanaSprintPipeline", "scheduler": ["diffusers", "SCMScheduler"],
    "transformer": ["diffusers", "SanaTransformer2DModel"], "vae": [None, None],
    "text_encoder": ["transformers", "Gemma2Model"], "tokenizer": ["transformers", "GemmaTokenizerFast"]}))
put("model_index", "single_vae", read("vae", "config.json"))
put("model_index", "single_gemma", read("text_encoder", "config.json"))


# --- PNG: handmade files covering the colour types libpng converts ------------------------------
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def png(w, h, depth, color, rows, interlace=0, extra=b"", after=b""):
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, interlace))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + after + chunk(b"IEND", b""))


put("png", "rgb8_text", png(2, 2, 8, 2, [b"\xff\x00\x00\x00\xff\x00", b"\x00\x00\xff\xff\xff\xff"],
                             extra=chunk(b"tEXt", b"parameters\x00a cat, 20 steps")))
put("png", "rgba16_ztxt", png(1, 2, 16, 6, [b"\x12\x34" * 4, b"\xff\xff" * 4],
                              after=chunk(b"zTXt", b"parameters\x00\x00" + zlib.compress(b"zipped"))))
put("png", "palette_trns_itxt", png(3, 1, 2, 3, [b"\x1b"], extra=chunk(b"PLTE", b"\x00\x00\x00\xff\x00\x00\x00\xff\x00")
                                    + chunk(b"tRNS", b"\x00\x80"),
                                    after=chunk(b"iTXt", b"parameters\x00\x00\x00en\x00\x00\xe2\x96\x81 UTF-8")))
put("png", "gray1_interlaced", png(1, 1, 1, 0, [b"\x80"], interlace=1))

# --- tokenizer.json: the real file cut to ~500 ids and the first merges of short pieces ---------
tok = json.loads(read("tokenizer", "tokenizer.json"))
vocab = tok["model"]["vocab"]
keep = {k: v for k, v in vocab.items() if v < 480}
nxt = 480
merges = []
for m in tok["model"]["merges"]:
    a, b = m.split(" ") if isinstance(m, str) else m
    if len(a + b) <= 3 and all(c in "▁abcdeilnorst" for c in a + b):
        for p in (a, b, a + b):
            if p not in keep:
                keep[p] = nxt
                nxt += 1
        merges.append(a + " " + b)
        if len(merges) >= 120:
            break
tiny = dict(tok)
tiny["added_tokens"] = [t for t in tok["added_tokens"] if t["id"] < 8]
tiny["model"] = dict(tok["model"], vocab=keep, merges=merges)
put("tokenizer_json", "gemma_tiny", json.dumps(tiny, ensure_ascii=False, separators=(",", ":")))
cfg = {"add_bos_token": True, "add_eos_token": True, "bos_token": "<bos>", "eos_token": "<eos>",
       "pad_token": "<pad>", "unk_token": "<unk>"}
variant = dict(tiny, normalizer={"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    pre_tokenizer=None, post_processor=None,
    decoder={"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                                               {"type": "ByteFallback"}, {"type": "Fuse"},
                                               {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})
variant["model"] = dict(tiny["model"], merges=[m.split(" ") for m in merges[:40]], ignore_merges=True)
put("tokenizer_json", "pairs_config", json.dumps(variant, ensure_ascii=False, separators=(",", ":"))
    + "\n--tokenizer_config.json--\n" + json.dumps(cfg))
put("tokenizer_json", "minimal", json.dumps({"model": {"type": "BPE", "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3},
                                                       "merges": ["a b"], "unk_token": "<unk>"}}))

# --- text for the tokenizer and the prompt preprocessing ----------------------------------------
texts = {
    "ascii": "A photo of a cat sitting on a red chair, 4k, highly detailed",
    "unicode": "Ünïcödé ÀÉÎ İstanbul straße ΣΟΦΟΣ 東京の夜景 🐱‍👤 \u3000 end\u2029",
    "specials": "<bos><start_of_turn>user\n<eos><pad><unk>  <mask> text<end_of_turn>",
    "whitespace": " \t\n\r\x0b\x0c\u00a0\u2003 lead and trail \u1680\u2028  ",
}
for k, v in texts.items():
    put("tokenizer_encode", k, v)
    put("prompt", k, v)
put("tokenizer_encode", "invalid_utf8", b"\xff\xfe ok \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 \xc0\xaf end\x80")
put("prompt", "nvlabs_flags", "  A Cat In The Rain --ar 16:9 --hw 1024,768 --aspect_ratio 2.0 \u00a0")
put("prompt", "invalid_utf8", b"\xc3\x28\xe2\x28\xa1 MIXED Case \xf0\x9f\x98 \xcf\x83\xce\xa3")

# --- model.safetensors.index.json over the two shards fuzz_weights_index.c writes ---------------
put("weights_index", "two_shards", json.dumps({"metadata": {"total_size": 12},
                                               "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}))
put("weights_index", "one_shard", json.dumps({"weight_map": {"z": "b.safetensors"}}))
