#!/usr/bin/env python3
"""The peer of bench/bench_dcae.c: one diffusers AutoencoderDC decode on PyTorch CPU at the real
dc-ae-f32c32-sana-1.0 configuration (or, --model lite, the real dc-ae-lite-f32c32-sana-1.1 one),
random init (nothing downloaded), a random latent of size/32. Prints one JSON object (wall and
process CPU time, peak RSS).

Run with the oracle's interpreter (torch + diffusers pinned there):
    tests/reference/.venv/bin/python bench/python/bench_dcae.py --size 1024 [--model lite]
    ... --tile 512 --stride 448   (diffusers' enable_tiling, approximate)
"""
import argparse
import json
import resource
import time

import torch
from diffusers import AutoencoderDC

SANA_DCAE = dict(
    in_channels=3, latent_channels=32, attention_head_dim=32,
    encoder_block_types=["ResBlock"] * 3 + ["EfficientViTBlock"] * 3,
    decoder_block_types=["ResBlock"] * 3 + ["EfficientViTBlock"] * 3,
    encoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
    decoder_block_out_channels=[128, 256, 512, 512, 1024, 1024],
    encoder_layers_per_block=[2, 2, 2, 3, 3, 3], decoder_layers_per_block=[3, 3, 3, 3, 3, 3],
    encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
    upsample_block_type="interpolate", downsample_block_type="Conv", decoder_norm_types="rms_norm",
    decoder_act_fns="silu", scaling_factor=0.41407)

# mit-han-lab/dc-ae-lite-f32c32-sana-1.1-diffusers (spec dcae.md 3.2): the SANA-1.0 encoder, a
# decoder of ResBlocks only with pixel_shuffle upsamplers; decoder 268,154,124 parameters.
LITE_DCAE = dict(
    SANA_DCAE, decoder_block_types="ResBlock", decoder_layers_per_block=[0, 3, 5, 4, 4, 4],
    upsample_block_type="pixel_shuffle", decoder_conv_act_fn="silu")

# decoder TFLOP at 1024^2: SANA 2 x 4.18 TMAC (spec 5.2); Lite 2 x 3.757 TMAC (its convolutions,
# counted by forward hooks on this module at 1024^2; spec 3.2: ~3.76)
TFLOP_1024 = dict(sana=8.36, lite=7.514)


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["sana", "lite"], default="sana")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--tile", type=int, default=0)
    ap.add_argument("--stride", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    vae = AutoencoderDC(**(LITE_DCAE if a.model == "lite" else SANA_DCAE)).eval()
    build_s = time.perf_counter() - t0
    rss_model = rss_mib()
    if a.tile:
        vae.enable_tiling(a.tile, a.tile, a.stride or a.tile * 7 // 8, a.stride or a.tile * 7 // 8)
    z = torch.randn(1, 32, a.size // 32, a.size // 32)
    with torch.inference_mode():
        w0, c0 = time.perf_counter(), time.process_time()
        y = vae.decode(z, return_dict=False)[0]
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    tflop = TFLOP_1024[a.model] * a.size * a.size / (1024 * 1024)
    print(json.dumps(dict(
        impl="diffusers %s / torch %s" % (__import__("diffusers").__version__, torch.__version__),
        model=a.model, size=a.size, threads=torch.get_num_threads(), tile=a.tile,
        params=sum(p.numel() for p in vae.parameters()),
        decoder_params=sum(p.numel() for p in vae.decoder.parameters()), build_s=round(build_s, 2),
        decode_wall_s=round(wall, 2), decode_cpu_s=round(cpu, 2), gflops_wall=round(tflop * 1000 / wall, 1),
        rss_after_model_mib=round(rss_model), peak_rss_mib=round(rss_mib()), out_shape=list(y.shape))))


if __name__ == "__main__":
    main()
