#!/usr/bin/env python3
"""The peer of bench/bench_dit.c: one diffusers SanaTransformer2DModel forward on PyTorch CPU at a
real SANA configuration, random init (nothing downloaded), same inputs (latent size/32, 300 text
tokens of which 40 unmasked, t = 999). Prints one JSON object.

Run with the oracle's interpreter (torch + diffusers pinned there):
    tests/reference/.venv/bin/python bench/python/bench_dit.py --model 0.6b --size 512

diffusers' forward also runs the caption projection and every block's cross-attention K/V,
which libsana computes once per prompt (prepare_text_s); compare forward_s here with
prepare_text_s + forward_s there for one call, with forward_s there for a denoising step.
"""
import argparse
import json
import os
import resource
import time

import torch
from diffusers import SanaTransformer2DModel

COMMON = dict(in_channels=32, out_channels=32, attention_head_dim=32, caption_channels=2304,
              mlp_ratio=2.5, dropout=0.0, attention_bias=False, sample_size=16, patch_size=1,
              norm_elementwise_affine=False, norm_eps=1e-6, interpolation_scale=None)
CONFIGS = {
    "0.6b": dict(COMMON, num_attention_heads=36, num_layers=28, num_cross_attention_heads=16,
                 cross_attention_head_dim=72, cross_attention_dim=1152),
    "1.6b": dict(COMMON, num_attention_heads=70, num_layers=20, num_cross_attention_heads=20,
                 cross_attention_head_dim=112, cross_attention_dim=2240),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="0.6b", choices=sorted(CONFIGS))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    threads = a.threads or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    side = a.size // 32

    t0 = time.perf_counter()
    model = SanaTransformer2DModel(**CONFIGS[a.model]).eval()
    t_build = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())

    x = torch.randn(a.batch, 32, side, side)
    y = torch.randn(a.batch, a.tokens, 2304)
    mask = torch.zeros(a.batch, a.tokens, dtype=torch.int64)
    mask[:, :40] = 1
    t = torch.full((a.batch,), 999.0)

    times = []
    cpu0 = time.process_time()
    with torch.inference_mode():
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            out = model(hidden_states=x, encoder_hidden_states=y, timestep=t,
                        encoder_attention_mask=mask, return_dict=False)[0]
            times.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / a.repeat
    print(json.dumps({
        "bench": "dit", "backend": "pytorch-cpu", "torch": torch.__version__,
        "model": "sana-" + a.model, "params": params, "image": a.size, "latent": [side, side],
        "batch": a.batch, "text_tokens": a.tokens, "threads": threads,
        "build_random_s": round(t_build, 3), "forward_s": round(min(times), 3),
        "forward_mean_s": round(sum(times) / len(times), 3), "forward_cpu_s": round(cpu, 3),
        "repeat": a.repeat,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "out_sumsq": float((out.double() ** 2).sum()),
    }))


if __name__ == "__main__":
    main()
