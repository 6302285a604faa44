"""End-to-end goldens: SanaPipeline, SanaSprintPipeline and SanaPAGPipeline on the tiny folders."""
import copy

import numpy as np
import torch

from oracle_common import f64_mode, fpath, tolerances_for


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _load(kind):
    from diffusers import SanaPipeline, SanaSprintPipeline
    if kind == "sprint":
        p = SanaSprintPipeline.from_pretrained(fpath("sprint_tiny"), dtype=torch.float32)
    else:
        p = SanaPipeline.from_pretrained(fpath("sana_tiny"), dtype=torch.float32)
    p.set_progress_bar_config(disable=True)
    return p


def _as_pag(p, layers):
    from diffusers import SanaPAGPipeline
    q = SanaPAGPipeline(tokenizer=p.tokenizer, text_encoder=p.text_encoder, vae=p.vae, transformer=p.transformer,
                        scheduler=p.scheduler, pag_applied_layers=layers)
    q.set_progress_bar_config(disable=True)
    return q


def _double(p, kind, pag_layers=None):
    """A copy of pipeline p with every model in fp64 (for measuring fp32 noise)."""
    from diffusers import SanaPipeline, SanaSprintPipeline
    cls = SanaSprintPipeline if kind == "sprint" else SanaPipeline
    sched = p.scheduler.__class__.from_config(p.scheduler.config)
    q = cls(tokenizer=p.tokenizer, text_encoder=copy.deepcopy(p.text_encoder).double(),
            vae=copy.deepcopy(p.vae).double(), transformer=copy.deepcopy(p.transformer).double(), scheduler=sched)
    q.set_progress_bar_config(disable=True)
    if pag_layers:
        q = _as_pag(q, pag_layers)
    return q


def _run(pipe, call_kw, seed, f64):
    store = {}
    calls = []
    orig_prep = pipe.prepare_latents

    def prep(*a, **k):
        lat = orig_prep(*a, **k)
        store["initial_noise"] = lat.clone()
        return lat
    pipe.prepare_latents = prep

    def tr_hook(m, args, kwargs, out):
        calls.append({
            "model_input": kwargs.get("hidden_states", args[0] if args else None),
            "timestep": kwargs["timestep"],
            "model_output": out[0] if isinstance(out, tuple) else out.sample,
            "encoder_hidden_states": kwargs["encoder_hidden_states"],
            "encoder_attention_mask": kwargs["encoder_attention_mask"],
            "guidance": kwargs.get("guidance"),
        })
    h1 = pipe.transformer.register_forward_hook(tr_hook, with_kwargs=True)
    h2 = pipe.vae.decoder.register_forward_pre_hook(lambda m, a: store.__setitem__("vae_input", a[0]))

    def cb(p, i, t, kw):
        store["step.%d.latents" % i] = kw["latents"].clone()
        return {}

    ctx = f64_mode() if f64 else _Null()
    with torch.no_grad(), ctx:
        out = pipe(**call_kw, generator=torch.Generator("cpu").manual_seed(seed), output_type="np",
                   callback_on_step_end=cb, callback_on_step_end_tensor_inputs=["latents"])
    h1.remove()
    h2.remove()
    pipe.prepare_latents = orig_prep
    img = out.images
    store["image"] = torch.from_numpy(np.ascontiguousarray(img))
    for i, c in enumerate(calls):
        store["step.%d.model_input" % i] = c["model_input"]
        store["step.%d.timestep" % i] = c["timestep"]
        store["step.%d.model_output" % i] = c["model_output"]
        if c["guidance"] is not None:
            store["step.%d.guidance" % i] = c["guidance"]
    store["prompt_embeds"] = calls[0]["encoder_hidden_states"]
    store["prompt_attention_mask"] = calls[0]["encoder_attention_mask"]
    n = len(calls)
    store["final_latents"] = store["vae_input"] * pipe.vae.config.scaling_factor
    return store, n, img


SPECS = [
    ("e2e/sana_tiny", "sana", None,
     dict(prompt="A red fox sitting in the snow, watercolor", negative_prompt="", num_inference_steps=5,
          guidance_scale=4.5, height=128, width=96, use_resolution_binning=False, max_sequence_length=300),
     42, "SanaPipeline defaults otherwise: DPM-Solver++ flow (shift 3), CFG batch [uncond, cond], default "
         "complex_human_instruction ON, clean_caption False"),
    ("e2e/sana_tiny_seed7_square", "sana", None,
     dict(prompt="a cat", num_inference_steps=4, guidance_scale=4.5, height=128, width=128,
          use_resolution_binning=False, max_sequence_length=300),
     7, "4 steps, square 128x128"),
    ("e2e/sprint_tiny", "sprint", None,
     dict(prompt="A red fox sitting in the snow, watercolor", num_inference_steps=2, guidance_scale=4.5,
          height=128, width=96, use_resolution_binning=False, max_sequence_length=300,
          max_timesteps=1.57080, intermediate_timesteps=1.3),
     42, "SanaSprintPipeline: SCM 2 steps (1.5708, 1.3), no CFG batch, guidance 4.5*0.1 embedded; "
         "initial_noise is the unscaled randn (latents = 0.5*initial_noise); the scheduler draws more noise "
         "from the same generator inside every step"),
    ("e2e/sana_pag_tiny", "sana", "transformer_blocks.1",
     dict(prompt="a lighthouse on a cliff", num_inference_steps=3, guidance_scale=4.5, pag_scale=2.0,
          pag_adaptive_scale=0.0, height=96, width=96, use_resolution_binning=False, max_sequence_length=300),
     11, "SanaPAGPipeline (pag_applied_layers=['transformer_blocks.1']): batch [uncond, cond, perturbed]; the "
         "perturbed copy's self-attention in block 1 is replaced by identity attention (to_out(to_v(x)))"),
]


def case_e2e(reg):
    cache = {}
    for name, kind, pag_layers, call_kw, seed, note in SPECS:
        if kind not in cache:
            cache[kind] = _load(kind)
        p32 = cache[kind]
        if pag_layers:
            p32r = _as_pag(_load(kind), pag_layers)
        else:
            p32r = p32
        p64 = _double(p32, kind, pag_layers)
        r32, n, img = _run(p32r, call_kw, seed, False)
        r64, _, _ = _run(p64, call_kw, seed, True)
        # The reference's PIL conversion: (image * 255).round().astype(uint8), numpy round-half-even.
        r32["image_u8"] = torch.from_numpy((img * 255).round().astype("uint8"))
        step_outs = ["step.%d.latents" % i for i in range(n)]
        outs = ["initial_noise"] + step_outs + ["final_latents", "image", "image_u8"]
        inters = ["prompt_embeds", "prompt_attention_mask"]
        for i in range(n):
            inters += ["step.%d.model_input" % i, "step.%d.timestep" % i, "step.%d.model_output" % i]
            if "step.%d.guidance" % i in r32:
                inters.append("step.%d.guidance" % i)
        meas_names = step_outs + ["final_latents", "image"] + [k for k in inters if "mask" not in k]
        tols, meas = tolerances_for(r32, r64, meas_names,
                                    row_masks={"prompt_embeds": r32["prompt_attention_mask"]})
        tols["initial_noise"] = 0
        for k in inters:
            tols.setdefault(k, 0)
        tensors = {k: r32[k] for k in outs + inters}
        params = dict(call_kw)
        if "complex_human_instruction" not in params:
            from cases_text import sana_chi
            params["complex_human_instruction"] = "pipeline default"
            params["chi_text"] = "\n".join(sana_chi())
        params.update({"seed": seed, "generator": "torch.Generator('cpu').manual_seed(seed)", "output_type": "np",
                       "model_calls": n})
        if pag_layers:
            params["pag_applied_layers"] = [pag_layers]
        reg.add(name, "e2e", tensors, [], outs + inters, name.replace("/", "_") + ".safetensors",
                model="sprint_tiny" if kind == "sprint" else "sana_tiny", tolerances=tols, measured=meas,
                params=params, extra={"abs_tolerances": {"image_u8": 1},
                       "compare_rows": {"prompt_embeds": "prompt_attention_mask"}},
                note=note + ". initial_noise = prepare_latents output (fp32 randn); step.i.latents = latents after "
                            "step i (callback_on_step_end); step.i.model_input/timestep/model_output = the "
                            "transformer call of step i (CFG batch, before guidance); final_latents = what is "
                            "decoded (x scaling_factor); image = output_type='np' float NHWC in [0,1]; image_u8 "
                            "= round-half-even(255*image), tolerance in LSB.")
