#!/usr/bin/env python3
"""The peer of bench/bench_text_encoder.c: transformers' Gemma2Model (eager attention, the backend
that applies the soft-cap) on PyTorch CPU in fp32, the real 2B widths with few layers and a small
vocabulary, random init (nothing downloaded), unpadded sequences of 300 and 512 tokens. Prints one
JSON object with the same fields (seconds per layer, extrapolated to 26 layers).

    tests/reference/.venv/bin/python bench/python/bench_text_encoder.py --layers 1 --threads 2
"""
import argparse
import json
import os
import time

import torch
from transformers import Gemma2Config, Gemma2Model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    threads = a.threads or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = Gemma2Config(vocab_size=4096, num_hidden_layers=a.layers)
    cfg._attn_implementation = "eager"
    model = Gemma2Model(cfg).eval()
    H, I, QD, KD = 2304, 9216, 2048, 1024
    results = []
    for L in (300, 512):
        ids = (torch.arange(L) * 7919 % 4096).unsqueeze(0)
        mask = torch.ones_like(ids)
        best = best_cpu = float("inf")
        with torch.inference_mode():
            for _ in range(a.repeat):
                t0, c0 = time.perf_counter(), time.process_time()  # process time: all threads
                model(ids, attention_mask=mask)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
        per_layer = best / a.layers
        flop = 2.0 * L * (QD * H * 2 + KD * H * 2 + 3.0 * I * H) + 4.0 * 8 * 256 * L * L
        results.append({"tokens": L, "seconds_per_layer": round(per_layer, 4),
                        "gflops": round(flop / per_layer * 1e-9, 1), "seconds_26_layers": round(per_layer * 26, 2),
                        "cpu_seconds_per_layer": round(best_cpu / a.layers, 4),
                        "cpu_seconds_26_layers": round(best_cpu / a.layers * 26, 2)})
    print(json.dumps({"bench": "text_encoder", "peer": "transformers %s, torch %s" % (
        __import__("transformers").__version__, torch.__version__), "threads": threads,
        "layers_run": a.layers, "hidden": H, "results": results}))


if __name__ == "__main__":
    main()
