#!/usr/bin/env python3
"""One prompt, many seeds, stage by stage: the prompt is encoded once and its embeddings reused
for every seed (what sana_generate would encode again each call). Each image equals
generate.py's for the same seed, byte for byte.

    SANA_LIBRARY=build/libsana.so PYTHONPATH=bindings/python \\
        python3 examples/python/seeds.py tests/fixtures/sana_tiny "a red fox" fox.png \\
        --size 96x128 --steps 2 --seeds 1,2,3        # fox-1.png fox-2.png fox-3.png
"""
from __future__ import annotations

import argparse
import sys

import sana


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="SANA pipeline folder (diffusers layout)")
    ap.add_argument("prompt")
    ap.add_argument("out", help="output PNG name; each seed's file gets a -SEED suffix")
    ap.add_argument("--size", default="1024x1024", help="WxH in pixels (multiples of 32)")
    ap.add_argument("--steps", type=int, default=0, help="0 = the model's default")
    ap.add_argument("--seeds", default="0,1,2,3", help="comma-separated")
    ap.add_argument("--guidance", type=float, default=4.5)
    ap.add_argument("--negative", default="", help="negative prompt (CFG)")
    ap.add_argument("--backend", choices=["auto", "cpu", "cuda"], default="auto")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    backend = {"auto": sana.Backend.AUTO, "cpu": sana.Backend.CPU, "cuda": sana.Backend.CUDA}[args.backend]

    with sana.Context(backend) as ctx, ctx.load_model(args.model) as model:
        info = model.info
        if info.kind != sana.ModelKind.SANA:
            print("error: this example runs SANA models (Sprint's SCM loop scales its noise)", file=sys.stderr)
            return 1
        emb, mask = ctx.encode_prompt(model, args.prompt)
        # The negative prompt goes without the complex human instruction, as in the pipeline.
        uemb, umask = ctx.encode_prompt(model, args.negative, complex_human_instruction=False)
        model.release_text_encoder()  # not needed any more: its memory goes back now
        sampler = model.sampler(steps=args.steps)
        f = info.vae_scale_factor
        shape = (1, info.latent_channels, height // f, width // f)
        for seed in (int(s) for s in args.seeds.split(",")):
            with sana.Tensor(shape) as latents:
                sana.noise_fill(latents, seed)  # flow matching: the initial sigma is 1
                ctx.denoise(model, latents, emb, mask, uncond_embeddings=uemb, uncond_mask=umask,
                            sampler=sampler, guidance_scale=args.guidance)
                (image,) = ctx.decode_latents(model, latents)
            path = args.out.replace(".png", f"-{seed}.png")
            image.save_png(path, f"{args.prompt}\nSeed: {seed}")
            print(f"{path}: {image.width}x{image.height}, mean {image.array.mean():.1f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except sana.SanaError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
