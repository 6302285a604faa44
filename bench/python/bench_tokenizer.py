"""Tokenizer benchmark, Python side: the `tokenizers` package on the real Gemma-2 tokenizer.json.

Twin of bench/bench_tokenizer.c: same file, same text (read from the C source so the two can
never drift), same statistics (median of N loads; median per-encode time over batches of 50).
Prints one JSON object.

    python bench/python/bench_tokenizer.py [--tokenizer PATH] [--loads N] [--reps N]

Needs `pip install tokenizers` (measured with 0.23.3).
"""
import argparse
import json
import os
import re
import statistics
import time

import tokenizers
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))


def prompt_from_c_source():
    src = open(os.path.join(HERE, "..", "bench_tokenizer.c"), encoding="utf-8").read()
    body = re.search(r"static const char \*k_prompt =\n(.*?);\n", src, re.S).group(1)
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default="../shared/data/gemma2-tokenizer")
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--reps", type=int, default=4000)
    a = ap.parse_args()
    path = a.tokenizer
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")

    lw, lc, tok = [], [], None
    for _ in range(max(1, a.loads)):
        del tok
        w0, c0 = time.perf_counter(), time.process_time()
        tok = Tokenizer.from_file(path)
        lw.append(time.perf_counter() - w0)
        lc.append(time.process_time() - c0)

    text = prompt_from_c_source()
    for _ in range(50):  # warm-up
        enc = tok.encode(text)
    batch = 50
    ew, ec = [], []
    for _ in range(max(100, a.reps) // batch):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(batch):
            tok.encode(text)
        ew.append((time.perf_counter() - w0) / batch)
        ec.append((time.process_time() - c0) / batch)

    print(json.dumps({
        "bench": "tokenizer", "impl": "python-tokenizers", "version": tokenizers.__version__,
        "tokenizer": a.tokenizer, "vocab_size": tok.get_vocab_size(),
        "prompt_bytes": len(text.encode("utf-8")), "n_ids": len(enc.ids),
        "first_ids": enc.ids[:3], "loads": len(lw),
        "load_ms_median": round(statistics.median(lw) * 1e3, 1),
        "load_cpu_ms_median": round(statistics.median(lc) * 1e3, 1),
        "encode_reps": len(ew) * batch,
        "encode_us_median": round(statistics.median(ew) * 1e6, 2),
        "encode_us_min": round(min(ew) * 1e6, 2),
        "encode_cpu_us_median": round(statistics.median(ec) * 1e6, 2),
    }))


if __name__ == "__main__":
    main()
