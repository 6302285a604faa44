"""Goldens for AutoencoderDC (DC-AE): decode, encode, per-stage intermediates, tiled decode/encode."""
import copy
import re

import torch

from oracle_common import f64_mode, fpath, tolerances_for

# Sub-blocks of every stage, plus the attention / FFN halves of EfficientViT blocks.
_HOOK_RE = re.compile(r"^(encoder\.down_blocks|decoder\.up_blocks)\.\d+\.\d+(\.(attn|conv_out))?$")


def load_vae(rel):
    from diffusers import AutoencoderDC
    return AutoencoderDC.from_pretrained(fpath(rel), dtype=torch.float32).eval()


def _hooks(vae, store, which):
    hs = []
    part = vae.decoder if which == "decode" else vae.encoder
    prefix = "decoder" if which == "decode" else "encoder"
    for name, mod in vae.named_modules():
        if name.startswith(prefix) and _HOOK_RE.match(name):
            if name.endswith(".conv_out") and type(mod).__name__ != "GLUMBConv":
                continue
            hs.append(mod.register_forward_hook(lambda m, i, o, name=name: store.__setitem__(name, o)))
    if which == "decode":
        # Input of the deepest stage = conv_in(z) + repeat_interleave shortcut.
        hs.append(part.up_blocks[-1].register_forward_pre_hook(
            lambda m, i: store.__setitem__("decoder.stem", i[0])))
        # norm_out runs channels-last; stored back in NCHW.
        hs.append(part.norm_out.register_forward_hook(
            lambda m, i, o: store.__setitem__("decoder.norm_out", o.movedim(-1, 1))))
    else:
        hs.append(part.conv_in.register_forward_hook(lambda m, i, o: store.__setitem__("encoder.conv_in", o)))
        hs.append(part.conv_out.register_forward_hook(lambda m, i, o: store.__setitem__("encoder.conv_out", o)))
    return hs


def _run(vae, x, which, f64, hooks):
    store = {}
    hs = _hooks(vae, store, which) if hooks else []
    if f64:
        x = x.double()
    ctx = f64_mode() if f64 else _Null()
    with torch.no_grad(), ctx:
        if which == "decode":
            out = vae.decode(x, return_dict=False)[0]
        else:
            out = vae.encode(x, return_dict=False)[0]
    for h in hs:
        h.remove()
    store["output"] = out
    return store


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


TILING = dict(tile_sample_min_height=96, tile_sample_min_width=96, tile_sample_stride_height=64,
              tile_sample_stride_width=64)

SPECS = [
    # name, kind, vae folder, which, shape, seed, intermediates, tiling, note
    ("dcae_decode/sana_tiny", "dcae_decode", "sana_tiny/vae", "decode", (1, 32, 2, 3), 3001, True, None,
     "decode of a non-square 2x3 latent (already divided by scaling_factor) with every stage's sub-block output"),
    ("dcae_decode/sana_tiny_batch2", "dcae_decode", "sana_tiny/vae", "decode", (2, 32, 4, 4), 3002, False, None,
     "batch 2, 4x4 latent -> 128x128"),
    ("dcae_decode/sprint_fp16", "dcae_decode", "sprint_tiny/vae", "decode", (1, 32, 2, 3), 3001, False, None,
     "same latent as dcae_decode/sana_tiny through the fp16-on-disk copy of the weights, loaded in fp32"),
    ("dcae_encode/sana_tiny", "dcae_encode", "sana_tiny/vae", "encode", (1, 3, 64, 96), 3003, True, None,
     "encode of a non-square 64x96 image in [-1,1] with every stage's sub-block output"),
    ("dcae_encode/sana_tiny_128", "dcae_encode", "sana_tiny/vae", "encode", (1, 3, 128, 128), 3004, False, None,
     "encode 128x128"),
    ("dcae_tiled/decode", "dcae_tiled", "sana_tiny/vae", "decode", (1, 32, 5, 6), 3005, False, TILING,
     "AutoencoderDC.enable_tiling(96, 96, 64, 64): latent tiles of 3 at stride 2 (last tiles shorter), "
     "blend extent 32 px, crop 64 px; output 160x192"),
    ("dcae_tiled/encode", "dcae_tiled", "sana_tiny/vae", "encode", (1, 3, 160, 192), 3006, False, TILING,
     "tiled encode with the same settings: image tiles 96 px at stride 64, latent blend extent 1"),
    # DC-AE-Lite layout (build_models.LITE_VAE_CFG): pixel_shuffle upsamplers, empty decoder stage 0,
    # conv_out.conv upsampling head, SiLU before it.
    ("dcae_decode/lite_tiny", "dcae_decode", "variants/dcae_lite", "decode", (1, 32, 2, 3), 3007, True, None,
     "DC-AE-Lite layout: decode of a non-square 2x3 latent with every stage's sub-block output "
     "(no stage 0: decoder.norm_out is at half resolution, then conv_out.conv + pixel_shuffle)"),
    ("dcae_decode/lite_tiny_batch2", "dcae_decode", "variants/dcae_lite", "decode", (2, 32, 3, 2), 3008, False,
     None, "DC-AE-Lite layout, batch 2, 3x2 latent -> 96x64"),
    ("dcae_tiled/lite_decode", "dcae_tiled", "variants/dcae_lite", "decode", (1, 32, 5, 6), 3009, False, TILING,
     "DC-AE-Lite layout through AutoencoderDC.enable_tiling(96, 96, 64, 64), as dcae_tiled/decode"),
]


def case_dcae(reg):
    cache = {}
    for name, kind, rel, which, shape, seed, inter, tiling, note in SPECS:
        if rel not in cache:
            v32 = load_vae(rel)
            cache[rel] = (v32, copy.deepcopy(v32).double())
        v32, v64 = cache[rel]
        for v in (v32, v64):
            if tiling:
                v.enable_tiling(**tiling)
            else:
                v.disable_tiling()
        g = torch.Generator().manual_seed(seed)
        if which == "decode":
            x = torch.randn(*shape, generator=g)
        else:
            x = torch.rand(*shape, generator=g) * 2 - 1
        r32 = _run(v32, x, which, False, inter)
        r64 = _run(v64, x, which, True, inter)
        v32.disable_tiling()
        v64.disable_tiling()
        outs = ["output"] + sorted(k for k in r32 if k != "output")
        tols, meas = tolerances_for(r32, r64, outs)
        inp_name = "latent" if which == "decode" else "image"
        tensors = {inp_name: x}
        tensors.update(r32)
        params = {"shape": list(shape), "scaling_factor": v32.config.scaling_factor}
        if tiling:
            params.update(tiling)
        reg.add(name, kind, tensors, [inp_name], outs, name.replace("/", "_") + ".safetensors", model=rel,
                tolerances=tols, measured=meas, params=params,
                note=note + ". Names: decoder.stem = conv_in(z) + repeat_interleave shortcut; "
                            "decoder.up_blocks.i.j / encoder.down_blocks.i.j = output of sub-module j of stage i "
                            "(the stage output is its last j; stages run 5..0 in the decoder); .attn / .conv_out "
                            "= the two halves of an EfficientViTBlock (each includes its residual); "
                            "decoder.norm_out in NCHW; encoder.conv_out = conv only (before the averaging "
                            "shortcut); output = decoder image (unclamped) or encoder latent (unscaled).")
