"""(Re)write tests/fixtures/: tiny models, goldens and index.json. Run via make_fixtures.sh."""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from oracle_common import FIX, Registry, fpath, setup_determinism, write_index  # noqa: E402


def versions():
    from importlib.metadata import version
    import platform
    out = {}
    for p in ("torch", "diffusers", "transformers", "tokenizers", "safetensors", "numpy", "huggingface_hub",
              "accelerate", "Pillow"):
        try:
            out[p] = version(p)
        except Exception:
            pass
    out["python"] = platform.python_version()
    return out


def main():
    setup_determinism()
    import torch
    from diffusers import SanaPipeline, SanaSprintPipeline

    import build_models
    import cases_text

    only = set(a for a in sys.argv[1:])
    t0 = time.time()
    gdir = fpath("goldens")
    if os.path.isdir(gdir):
        shutil.rmtree(gdir)
    os.makedirs(gdir)
    build_models.build_all()
    print("models built %.1fs" % (time.time() - t0), flush=True)

    reg = Registry()
    pipe = SanaPipeline.from_pretrained(fpath("sana_tiny"), dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)

    def step(name, fn, *a):
        if only and name not in only:
            return
        t = time.time()
        fn(reg, *a)
        print("%-14s %.1fs" % (name, time.time() - t), flush=True)

    step("tokenizer", cases_text.case_tokenizer)
    step("text_encoder", cases_text.case_text_encoder, pipe)
    step("prompt", cases_text.case_prompt, pipe)

    import cases_dit
    step("dit", cases_dit.case_dit)
    import cases_dcae
    step("dcae", cases_dcae.case_dcae)
    import cases_solver
    step("schedule", cases_solver.case_schedule)
    step("solver_trace", cases_solver.case_solver_trace)
    step("rng", cases_solver.case_rng)
    import cases_e2e
    step("e2e", cases_e2e.case_e2e)

    write_index(reg, versions())
    print("done: %d cases, %.1fs" % (len(reg.cases), time.time() - t0))


if __name__ == "__main__":
    main()
