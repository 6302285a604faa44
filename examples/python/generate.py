#!/usr/bin/env python3
"""Text to image from Python with libsana (the `sana` package in bindings/python).

    SANA_LIBRARY=build/libsana.so PYTHONPATH=bindings/python \\
        python3 examples/python/generate.py tests/fixtures/sana_tiny "a red fox" fox.png --size 96x128

Ctrl-C cancels the running generation cleanly (sana.CancelledError).
"""
from __future__ import annotations

import argparse
import signal
import sys
import time

import sana


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="SANA pipeline folder (diffusers layout)")
    ap.add_argument("prompt")
    ap.add_argument("out", help="output PNG (the generation parameters go into a tEXt chunk)")
    ap.add_argument("--size", default="1024x1024", help="WxH in pixels")
    ap.add_argument("--steps", type=int, default=0, help="0 = the model's default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--batch", type=int, default=1, help="images; files get -1, -2... suffixes")
    ap.add_argument("--backend", choices=["auto", "cpu", "cuda"], default="auto")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    def progress(step: int, steps: int) -> None:
        bar = "#" * (30 * step // steps)
        print(f"\r[{bar:<30}] {step}/{steps}", end="\n" if step == steps else "", file=sys.stderr, flush=True)

    backend = {"auto": sana.Backend.AUTO, "cpu": sana.Backend.CPU, "cuda": sana.Backend.CUDA}[args.backend]
    print(f"libsana {sana.version()}", file=sys.stderr)
    with sana.Context(backend) as ctx, ctx.load_model(args.model) as model:
        # Ctrl-C: ask the library to stop between steps instead of killing the process.
        signal.signal(signal.SIGINT, lambda *_: ctx.cancel())
        t0 = time.perf_counter()
        try:
            images = ctx.generate_batch(model, args.prompt, batch=args.batch, width=width, height=height,
                                        steps=args.steps, seed=args.seed, guidance_scale=args.guidance,
                                        resolution_binning=False, progress=progress)
        except sana.CancelledError:
            print("\ncancelled", file=sys.stderr)
            return 130
        print(f"{len(images)} image(s) in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    for i, img in enumerate(images):
        path = args.out if len(images) == 1 else args.out.replace(".png", f"-{i + 1}.png")
        img.save_png(path)
        print(f"{path}: {img.width}x{img.height}, mean {img.array.mean():.1f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except sana.SanaError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
