#!/usr/bin/env python3
"""diffusers on the GPU, the peer of examples/sana-bench: the same configuration, seed and stages,
eager or with torch.compile, printed as the same JSON keys.

  python3 bench/python/bench_diffusers_gpu.py [--config sana-0.6b|sana-1.6b|sana-1.6b-4k|sprint-0.6b]
      [--model DIR] [--size PX] [--steps N] [--guidance G] [--batch N] [--runs N] [--warmup N]
      [--seed N] [--tokens N] [--text-layers N] [--precision bf16|fp16|fp32]
      [--compile] [--compile-mode MODE] [--vae-tiling]

Random weights (default): SanaTransformer2DModel with the published config, a Gemma2Model of the
real widths (the real 256000-token vocabulary: its embedding is on the GPU in transformers) and
AutoencoderDC with the dc-ae-f32c32-sana-1.0 config, all made on the GPU. A loop step is what
sana-bench's is: the transformer on [x; x] with CFG (2B), the CFG combination and an Euler
update. With --model DIR: SanaPipeline / SanaSprintPipeline.from_pretrained, its components for
the stages and one pipe(...) call for end to end.

Timing: CUDA synchronised around each stage, warm-up runs first (torch.compile compiles
there), medians of --runs. peak_device_bytes is torch.cuda.max_memory_reserved() (what the
caching allocator took from the driver, the counterpart of libsana's cudaMalloc'd bytes);
peak_allocated_bytes is max_memory_allocated().

diffusers is not in the H200 image: carry its wheel (docs/performance.md, GPU section)."""
import argparse
import json
import statistics
import sys
import time

import torch

CONFIGS = {
    "sana-0.6b": dict(heads=36, layers=28, cross_heads=16, cross_dim=72, sample=32, interp=None, sprint=False,
                      steps=20, size=1024),
    "sana-1.6b": dict(heads=70, layers=20, cross_heads=20, cross_dim=112, sample=32, interp=None, sprint=False,
                      steps=20, size=1024),
    "sana-1.6b-4k": dict(heads=70, layers=20, cross_heads=20, cross_dim=112, sample=128, interp=2.0,
                         sprint=False, steps=20, size=4096),
    "sprint-0.6b": dict(heads=36, layers=28, cross_heads=16, cross_dim=72, sample=32, interp=None, sprint=True,
                        steps=2, size=1024),
    # smoke tests of this script on a CPU (--device cpu): the shapes of sana-bench's "tiny"
    "tiny": dict(heads=4, head_dim=8, layers=2, cross_heads=2, cross_dim=16, sample=32, interp=None, sprint=False,
                 steps=2, size=64, gemma=(64, 128, 2, 1, 32), vae=[8, 8, 16, 16, 32, 32], vae_head=8, vae_depth=1),
}
GEMMA_2B = (2304, 9216, 8, 4, 256)  # hidden, intermediate, heads, kv heads, head dim
VAE_F32C32 = [128, 256, 512, 512, 1024, 1024]
STAGES = ["text_encode", "dit_step", "loop", "decode", "end_to_end"]


def dit_flop(D, L, N, T):
    """Matrix FLOP of one forward for one image (the same formula as sana-bench)."""
    per_layer = 2.0 * N * D * D * (3 + 1 + 1 + 1 + 5 + 2.5) + 2.0 * 9 * N * 5 * D + 4.0 * N * D * 32 + 4.0 * N * T * D
    return per_layer * L


def make_random(cfg, dtype, text_layers, dev):
    from diffusers import AutoencoderDC, SanaTransformer2DModel
    from transformers import Gemma2Config, Gemma2Model

    hd = cfg.get("head_dim", 32)
    D = cfg["heads"] * hd
    gh, gi, gheads, gkv, ghd = cfg.get("gemma", GEMMA_2B)
    kw = dict(in_channels=32, out_channels=32, num_attention_heads=cfg["heads"], attention_head_dim=hd,
              num_layers=cfg["layers"], num_cross_attention_heads=cfg["cross_heads"],
              cross_attention_head_dim=cfg["cross_dim"], cross_attention_dim=D, caption_channels=gh,
              mlp_ratio=2.5, dropout=0.0, attention_bias=False, sample_size=cfg["sample"], patch_size=1,
              norm_elementwise_affine=False, norm_eps=1e-6, interpolation_scale=cfg["interp"])
    if cfg["sprint"]:
        kw.update(qk_norm="rms_norm_across_heads", guidance_embeds=True, guidance_embeds_scale=0.1)
    widths, depth = cfg.get("vae", VAE_F32C32), cfg.get("vae_depth", None)
    with torch.device(dev):
        transformer = SanaTransformer2DModel(**kw).to(dtype).eval()
        gcfg = Gemma2Config(vocab_size=256000 if gh == 2304 else 4096, hidden_size=gh, intermediate_size=gi,
                            num_hidden_layers=text_layers, num_attention_heads=gheads, num_key_value_heads=gkv,
                            head_dim=ghd, query_pre_attn_scalar=ghd)
        text_encoder = Gemma2Model(gcfg).to(dtype).eval()
        blocks = ["ResBlock"] * 3 + ["EfficientViTBlock"] * 3
        vae = AutoencoderDC(in_channels=3, latent_channels=32, attention_head_dim=cfg.get("vae_head", 32),
                            encoder_block_types=blocks, decoder_block_types=blocks,
                            encoder_block_out_channels=widths, decoder_block_out_channels=widths,
                            encoder_layers_per_block=[depth] * 6 if depth else [2, 2, 2, 3, 3, 3],
                            decoder_layers_per_block=[depth] * 6 if depth else [3, 3, 3, 3, 3, 3],
                            encoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
                            decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
                            upsample_block_type="interpolate", downsample_block_type="Conv",
                            decoder_norm_types="rms_norm", decoder_act_fns="silu",
                            scaling_factor=0.41407).to(dtype).eval()
    return transformer, text_encoder, vae


DEVICE = "cuda"


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def timed(fn):
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    return out, (time.perf_counter() - t0) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="sana-0.6b", choices=sorted(CONFIGS))
    ap.add_argument("--model", default=None)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--guidance", type=float, default=4.5)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokens", type=int, default=300)
    ap.add_argument("--text-layers", type=int, default=0, help="0: 26 (Gemma-2-2B), 2 for tiny")
    ap.add_argument("--precision", default="bf16", choices=["bf16", "fp16", "fp32"])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--compile-mode", default="max-autotune-no-cudagraphs")
    ap.add_argument("--vae-tiling", action="store_true")
    ap.add_argument("--device", default="cuda", help="cpu: a smoke test of this script (--config tiny)")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("bench_diffusers_gpu: no CUDA device", file=sys.stderr)
        return 1
    cfg = CONFIGS[a.config]
    size = a.size or cfg["size"]
    steps = a.steps or cfg["steps"]
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[a.precision]
    dev = torch.device(DEVICE)
    cuda = DEVICE == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    text_layers = a.text_layers or (2 if "gemma" in cfg else 26)
    errors = {}
    samples = {s: [] for s in STAGES}
    pipe = None

    if a.model:
        from diffusers import SanaPipeline, SanaSprintPipeline
        import json as _json
        import os
        with open(os.path.join(a.model, "model_index.json")) as f:
            cls = _json.load(f).get("_class_name", "SanaPipeline")
        P = SanaSprintPipeline if "Sprint" in cls else SanaPipeline
        pipe = P.from_pretrained(a.model, torch_dtype=dtype).to(dev)
        transformer, text_encoder, vae = pipe.transformer, pipe.text_encoder, pipe.vae
        sprint = P is SanaSprintPipeline
    else:
        transformer, text_encoder, vae = make_random(cfg, dtype, text_layers, dev)
        sprint = cfg["sprint"]
    if a.vae_tiling:
        vae.enable_tiling()
    if a.compile:
        transformer = torch.compile(transformer, mode=a.compile_mode, fullgraph=True)
        vae.decoder = torch.compile(vae.decoder, mode=a.compile_mode)
        if pipe is not None:
            pipe.transformer = transformer

    B, T = a.batch, a.tokens
    B2 = B if sprint else 2 * B
    f = 32
    h = w = size // f
    base = getattr(transformer, "_orig_mod", transformer)
    D = base.config.num_attention_heads * base.config.attention_head_dim
    L = base.config.num_layers
    g = torch.Generator(device="cpu").manual_seed(a.seed)
    ids = (torch.arange(B2 * T) * 7919 % 4096).reshape(B2, T).to(dev)
    amask = torch.zeros(B2, T, dtype=torch.long, device=dev)
    amask[:B, :120] = 1  # the prompt's tokens, then padding
    amask[B:, :1] = 1  # the negative prompt "": <bos> only, as in sana-bench
    x0 = torch.randn(B, 32, h, w, generator=g).to(dev, dtype)
    gscale = a.guidance * 0.1 if sprint else a.guidance

    def text_stage():
        with torch.no_grad():
            emb = text_encoder(input_ids=ids, attention_mask=amask).last_hidden_state
        return emb

    def dit(x, emb, t):
        xin = x if sprint else torch.cat([x, x])
        tt = torch.full((B2,), t, device=dev, dtype=torch.float32)
        kwargs = dict(encoder_hidden_states=emb, encoder_attention_mask=amask, timestep=tt, return_dict=False)
        if sprint:
            kwargs["guidance"] = torch.full((B2,), gscale, device=dev, dtype=torch.float32)
        with torch.no_grad():
            return transformer(xin, **kwargs)[0]

    def loop(x, emb):
        for i in range(steps):
            tv = 1000.0 * (1.0 - i / steps)
            v = dit(x, emb, tv / 1000.0 if sprint else tv)
            if not sprint:
                vu, vc = v.chunk(2)
                v = vu + a.guidance * (vc - vu)
            x = x + (-1.0 / steps) * v
        return x

    def decode(x):
        with torch.no_grad():
            img = vae.decode(x / vae.config.scaling_factor, return_dict=False)[0]
        return (img.clamp(-1, 1) * 0.5 + 0.5).float().cpu()  # the image to the host

    for run in range(-a.warmup, a.runs):
        ms = {}
        t0 = time.perf_counter()
        emb, ms["text_encode"] = timed(text_stage)
        _, step_ms = timed(lambda: dit(x0, emb, 900.0))
        ms["dit_step"] = step_ms
        xl, ms["loop"] = timed(lambda: loop(x0, emb))
        try:
            _, ms["decode"] = timed(lambda: decode(xl))
        except torch.OutOfMemoryError as e:  # report it, as sana-bench does for a stage
            errors["decode"] = f"out of memory: {e}"
            if cuda:
                torch.cuda.empty_cache()
        sync()
        ms["end_to_end"] = (time.perf_counter() - t0) * 1e3 - step_ms
        if pipe is not None:  # end to end: one pipeline call
            kw = dict(prompt="a photo of a red fox in the snow, highly detailed", height=size, width=size,
                      num_inference_steps=steps, guidance_scale=a.guidance, num_images_per_prompt=B,
                      generator=torch.Generator(device="cpu").manual_seed(a.seed), output_type="pil")
            _, ms["end_to_end"] = timed(lambda: pipe(**kw))
        if run >= 0:
            for s in STAGES:
                if s in ms and s not in errors:
                    samples[s].append(ms[s])
    if "decode" in errors:
        errors.setdefault("end_to_end", "a stage did not run (see its error)")

    med = {s: (statistics.median(samples[s]) if samples[s] and s not in errors else None) for s in STAGES}
    flop = B2 * dit_flop(D, L, h * w, T)
    out = {
        "bench": "diffusers-gpu" + ("-compile" if a.compile else "-eager"),
        "backend": DEVICE, "device": torch.cuda.get_device_name(0) if cuda else "cpu", "precision": a.precision,
        "config": None if a.model else a.config, "model": a.model, "weights": "folder" if a.model else "random",
        "width": size, "height": size, "steps": steps, "guidance_scale": a.guidance, "cfg": not sprint,
        "batch": B, "seed": a.seed, "runs": a.runs, "graphs": False, "text_tokens": T,
        "dit_params": sum(p.numel() for p in base.parameters()),
        "times_ms": med, "samples_ms": samples,
        "images_per_second": B / (med["end_to_end"] * 1e-3) if med["end_to_end"] else None,
        "peak_device_bytes": torch.cuda.max_memory_reserved() if cuda else None,
        "peak_allocated_bytes": torch.cuda.max_memory_allocated() if cuda else None,
        "dit_tflop_per_step": flop * 1e-12,
        "dit_tflops_achieved": flop / (med["dit_step"] * 1e-3) * 1e-12 if med["dit_step"] else None,
        "errors": errors,
        "versions": {"torch": torch.__version__, "diffusers": __import__("diffusers").__version__,
                     "transformers": __import__("transformers").__version__},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
