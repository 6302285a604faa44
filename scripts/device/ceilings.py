#!/usr/bin/env python3
"""The two ceilings of the GPU, measured through PyTorch in the same call as the benchmarks
(/work/.library/device/METHOD.md, "Two numbers first"): the bf16 matrix rate (an 8192^3 product
on random data, CUDA events, 3 warm-ups then 10 timed) and the device-to-device copy bandwidth
(2 GiB, bytes read + written). Prints one JSON object; scripts/device/report.py takes the FLOP
floor of the DiT loop from matmul_tflops_median."""
import json
import statistics
import sys

import torch


def time_ms(fn, warmup=3, reps=10):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        out.append(a.elapsed_time(b))
    return out


def main():
    if not torch.cuda.is_available():
        print(json.dumps({"bench": "ceilings", "error": "no CUDA device"}))
        return 1
    n = 8192
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(n, n, device="cuda", dtype=torch.bfloat16, generator=g)
    y = torch.randn(n, n, device="cuda", dtype=torch.bfloat16, generator=g)
    z = torch.empty(n, n, device="cuda", dtype=torch.bfloat16)
    mm = time_ms(lambda: torch.matmul(x, y, out=z))
    flop = 2.0 * n ** 3
    del x, y, z
    nbytes = 2 << 30
    src = torch.randint(0, 255, (nbytes,), device="cuda", dtype=torch.uint8, generator=g)
    dst = torch.empty_like(src)
    cp = time_ms(lambda: dst.copy_(src))
    del src, dst
    out = {
        "bench": "ceilings", "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "matmul_shape": [n, n, n], "matmul_ms": mm,
        "matmul_tflops_median": flop / (statistics.median(mm) * 1e-3) * 1e-12,
        "matmul_tflops_best": flop / (min(mm) * 1e-3) * 1e-12,
        "copy_bytes": nbytes, "copy_ms": cp,
        "copy_tbps_median": 2 * nbytes / (statistics.median(cp) * 1e-3) * 1e-12,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
