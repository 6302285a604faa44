"""Goldens for SanaTransformer2DModel (every variant) with intermediates."""
import copy

import torch

from oracle_common import f64_mode, fpath, tolerances_for


def load_dit(rel, variant=None):
    from diffusers import SanaTransformer2DModel
    m = SanaTransformer2DModel.from_pretrained(fpath(rel), variant=variant, dtype=torch.float32)
    return m.eval()


def _hooks(model, store):
    hs = []

    def put(name):
        def fn(m, i, o):
            store[name] = o
        return fn

    hs.append(model.patch_embed.register_forward_hook(put("patch_embed")))

    def te(m, i, o):
        store["time_embed.timestep"] = o[0]          # tmod, (B, 6D), shared by all blocks
        store["time_embed.embedded_timestep"] = o[1]  # t_emb, (B, D), used by the output head
    hs.append(model.time_embed.register_forward_hook(te))
    hs.append(model.caption_projection.register_forward_hook(put("caption_projection")))
    hs.append(model.caption_norm.register_forward_hook(put("caption_norm")))
    for i, b in enumerate(model.transformer_blocks):
        hs.append(b.register_forward_hook(put("block.%d" % i)))
    b0 = model.transformer_blocks[0]
    hs.append(b0.attn1.register_forward_hook(put("block.0.attn1")))
    hs.append(b0.attn2.register_forward_hook(put("block.0.attn2")))
    hs.append(b0.ff.register_forward_hook(put("block.0.ff")))
    hs.append(model.norm_out.register_forward_hook(put("norm_out")))
    hs.append(model.proj_out.register_forward_hook(put("proj_out")))
    return hs


def _run(model, inputs, f64):
    store = {}
    hs = _hooks(model, store)
    kw = dict(inputs)
    if f64:
        kw = {k: (v.double() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in kw.items()}
        with torch.no_grad(), f64_mode():
            out = model(**kw, return_dict=False)[0]
    else:
        with torch.no_grad():
            out = model(**kw, return_dict=False)[0]
    for h in hs:
        h.remove()
    store["output"] = out
    return store


def make_inputs(seed, B, H, W, T, n_keep, timestep, caption_channels, guidance=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, 32, H, W, generator=g)
    y = torch.randn(B, T, caption_channels, generator=g)
    mask = torch.zeros(B, T, dtype=torch.int64)
    for b, k in enumerate(n_keep):
        mask[b, :k] = 1
    inp = {"hidden_states": x, "encoder_hidden_states": y,
           "timestep": torch.tensor(timestep, dtype=torch.float32), "encoder_attention_mask": mask}
    if guidance is not None:
        inp["guidance"] = torch.tensor(guidance, dtype=torch.float32)
    return inp


SPECS = [
    # name, model folder, variant file, seed, B, H, W, T, n_keep per batch, timesteps, guidance, note
    ("dit/sana_tiny", "sana_tiny/transformer", None, 2001, 1, 4, 4, 300, [7], [999.0], None,
     "main case: pipeline-like T=300 and integer timestep (DPM passes trunc(1000*sigma))"),
    ("dit/sana_tiny_nonsquare", "sana_tiny/transformer", None, 2002, 1, 3, 5, 20, [5], [500.5], None,
     "non-square latent 3x5 (H != W): the depthwise conv and unpatchify must use the true H, W"),
    ("dit/sana_tiny_batch2", "sana_tiny/transformer", None, 2003, 2, 4, 4, 300, [1, 12], [999.0, 250.0], None,
     "batch 2 with per-sample timesteps and masks; batch 0 keeps only token 0 (like the '' uncond)"),
    ("dit/sprint_tiny", "sprint_tiny/transformer", None, 2004, 1, 4, 4, 300, [9], [0.782708], [0.45],
     "Sprint: timestep is the flow time t_f in [0,1] (not x1000), guidance = 4.5*guidance_embeds_scale"),
    ("dit/sprint_tiny_batch2", "sprint_tiny/transformer", None, 2005, 2, 2, 6, 16, [16, 3],
     [1.0000036, 0.3], [0.45, 0.3], "Sprint batch 2, non-square 2x6"),
    ("dit/sana15_qknorm", "variants/sana15_qknorm", "bf16", 2006, 1, 4, 4, 24, [10], [874.0], None,
     "SANA-1.5: qk_norm rms_norm_across_heads in attn1 and attn2 (bf16 on disk, .bf16 variant name)"),
    ("dit/sana_2k_pe_base", "variants/sana_2k_pe", None, 2007, 1, 6, 6, 20, [6], [717.0], None,
     "2K-style sin-cos PE (interpolation_scale 1.0) on the base grid (H=W=sample_size=6)"),
    ("dit/sana_2k_pe_nonsquare", "variants/sana_2k_pe", None, 2008, 1, 4, 7, 20, [6], [333.0], None,
     "2K-style PE recomputed for a non-square 4x7 grid (base_size 6)"),
    ("dit/sana_4k_pe_base", "variants/sana_4k_pe", None, 2009, 1, 8, 8, 20, [4], [999.0], None,
     "4K-style PE, interpolation_scale 2.0, base grid 8x8"),
    ("dit/sana_4k_pe_nonsquare", "variants/sana_4k_pe", None, 2010, 1, 5, 3, 20, [20], [42.0], None,
     "4K-style PE, non-square 5x3 grid (base_size 8)"),
    ("dit/sana_3blocks", "variants/sana_3blocks", None, 2011, 1, 4, 4, 20, [8], [136.0], None,
     "3 blocks, cross-attention heads == self-attention heads (4x8)"),
]


def case_dit(reg):
    cache = {}
    for (name, rel, variant, seed, B, H, W, T, n_keep, ts, guidance, note) in SPECS:
        key = (rel, variant)
        if key not in cache:
            m32 = load_dit(rel, variant)
            cache[key] = (m32, copy.deepcopy(m32).double())
        m32, m64 = cache[key]
        inp = make_inputs(seed, B, H, W, T, n_keep, ts, m32.config.caption_channels, guidance)
        r32 = _run(m32, inp, False)
        r64 = _run(m64, inp, True)
        outs = ["output"] + sorted(k for k in r32 if k != "output")
        tols, meas = tolerances_for(r32, r64, outs)
        tensors = dict(inp)
        tensors.update(r32)
        inputs = ["hidden_states", "timestep", "encoder_hidden_states", "encoder_attention_mask"]
        if guidance is not None:
            inputs.append("guidance")
        params = {"B": B, "H": H, "W": W, "T": T, "n_keep": n_keep, "timestep": ts}
        if guidance is not None:
            params["guidance"] = guidance
        if variant:
            params["variant"] = variant
        reg.add(name, "dit", tensors, inputs, outs, name.replace("/", "_") + ".safetensors", model=rel,
                tolerances=tols, measured=meas, params=params,
                note=note + ". Intermediates: patch_embed (B,N,D, incl. PE), time_embed.timestep = tmod (B,6D), "
                            "time_embed.embedded_timestep = t_emb (B,D), caption_projection / caption_norm (B,T,D), "
                            "block.i = residual after block i (B,N,D), block.0.attn1 / .attn2 / .ff = branch outputs "
                            "of block 0 before gating/residual (ff in (B,N,D)), norm_out (B,N,D), proj_out (B,N,32).")
