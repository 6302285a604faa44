"""Build the tiny random-weight SANA models and save them with the reference's own save_pretrained.

Layout written under tests/fixtures/:
  sana_tiny/          SanaPipeline folder (model_index.json, scheduler, tokenizer, text_encoder,
                      transformer, vae)
  sprint_tiny/        SanaSprintPipeline folder; tokenizer/ and text_encoder/ are relative symlinks
                      to ../sana_tiny/...
  variants/<name>/    transformer-only folders (SanaTransformer2DModel)
  variants/dcae_lite/ a vae-only folder (AutoencoderDC) of the DC-AE-Lite layout
"""
import os
import shutil

import torch

from oracle_common import FIX, TOKENIZER_SRC, fpath, init_params, round_params_

# ---------------------------------------------------------------------------------------------
# Configs (tiny widths, real structure).

GEMMA_CFG = dict(
    vocab_size=256000,            # the real vocabulary
    hidden_size=16,
    intermediate_size=32,
    num_hidden_layers=3,          # layer_types: sliding, full, sliding
    num_attention_heads=4,
    num_key_value_heads=2,        # GQA, 2 query heads per KV head
    head_dim=6,                   # heads*head_dim = 24 != hidden 16 (as in the 2B: 2048 != 2304)
    query_pre_attn_scalar=10,     # != head_dim: the scale must be read from the config
    sliding_window=4,             # bites inside every test prompt
    attn_logit_softcapping=4.0,   # small so the soft-cap changes results visibly
    final_logit_softcapping=30.0,
    max_position_embeddings=8192,
    rms_norm_eps=1e-6,
    hidden_activation="gelu_pytorch_tanh",
    pad_token_id=0,
    eos_token_id=1,
    bos_token_id=2,
    tie_word_embeddings=True,
)

DIT_BASE = dict(
    in_channels=32,
    out_channels=32,
    num_attention_heads=4,        # self-attn: 4 heads x 8 = D 32
    attention_head_dim=8,
    num_layers=2,
    num_cross_attention_heads=2,  # cross-attn: 2 heads x 16 (differs from the self-attn split)
    cross_attention_head_dim=16,
    cross_attention_dim=32,
    caption_channels=GEMMA_CFG["hidden_size"],
    mlp_ratio=2.5,
    dropout=0.0,
    attention_bias=False,
    sample_size=32,
    patch_size=1,
    norm_elementwise_affine=False,
    norm_eps=1e-6,
    interpolation_scale=None,
    guidance_embeds=False,
    guidance_embeds_scale=0.1,
    qk_norm=None,
    timestep_scale=1.0,
)

SPRINT_DIT = dict(DIT_BASE, guidance_embeds=True, guidance_embeds_scale=0.1, qk_norm="rms_norm_across_heads")

VARIANTS = {
    # SANA-1.5 (1.6B/4.8B): qk_norm over all heads in both attentions. Saved bf16 with the
    # ".bf16" variant file name.
    "sana15_qknorm": dict(DIT_BASE, qk_norm="rms_norm_across_heads"),
    # 2K model: sin-cos positional embedding, interpolation_scale 1.0, sample_size 64 in the real
    # model (here 6, so base_size 6 and test latents both at and off the base grid).
    "sana_2k_pe": dict(DIT_BASE, sample_size=6, interpolation_scale=1.0),
    # 4K model: interpolation_scale 2.0 (sample_size 128 real; 8 here).
    "sana_4k_pe": dict(DIT_BASE, sample_size=8, interpolation_scale=2.0),
    # Sana-1600M layout differs only in widths; a 3-block model with cross heads == self heads
    # (the 1600M 512/1024 configs as published, with keys added later left at defaults).
    "sana_3blocks": dict(DIT_BASE, num_layers=3, num_cross_attention_heads=4, cross_attention_head_dim=8),
}

VAE_CFG = dict(
    in_channels=3,
    latent_channels=32,
    attention_head_dim=8,
    encoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock",
                         "EfficientViTBlock"],
    decoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock",
                         "EfficientViTBlock"],
    encoder_block_out_channels=[8, 8, 16, 16, 32, 32],
    decoder_block_out_channels=[8, 8, 16, 16, 32, 32],
    encoder_layers_per_block=[1, 1, 1, 1, 1, 2],
    decoder_layers_per_block=[1, 1, 1, 1, 2, 1],
    encoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
    decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
    upsample_block_type="interpolate",
    downsample_block_type="Conv",
    decoder_norm_types="rms_norm",
    decoder_act_fns="silu",
    scaling_factor=0.41407,
)

# DC-AE-Lite (mit-han-lab/dc-ae-lite-f32c32-sana-1.1-diffusers): the SANA encoder with a lighter
# decoder: all ResBlock, stage 0 empty (real depths 0,3,5,4,4,4), so the last stage is at half
# resolution and the head's conv_out is DCUpBlock2d without shortcut (decoder.conv_out.conv: conv
# to 4*3 channels, pixel_shuffle 2); pixel_shuffle upsamplers (conv to 4*Cout, pixel_shuffle,
# plus the duplicating shortcut), SiLU before the head. The tiny widths give both shortcut repeat
# counts (2: 16->8, 32->16; 4: 16->16, 32->32). Block/norm types as a string and as a list, and
# the Aug 2025 keys written explicitly.
LITE_VAE_CFG = dict(
    VAE_CFG,
    decoder_block_types="ResBlock",
    decoder_layers_per_block=[0, 1, 2, 1, 1, 1],
    upsample_block_type="pixel_shuffle",
    decoder_norm_types=["rms_norm"] * 6,
    decoder_act_fns="silu",
    encoder_out_shortcut=True,
    decoder_in_shortcut=True,
    decoder_conv_act_fn="silu",
)

DPM_CFG = dict(
    num_train_timesteps=1000,
    beta_start=0.0001,
    beta_end=0.02,
    beta_schedule="linear",
    solver_order=2,
    prediction_type="flow_prediction",
    thresholding=False,
    algorithm_type="dpmsolver++",
    solver_type="midpoint",
    lower_order_final=True,
    euler_at_final=False,
    use_flow_sigmas=True,
    flow_shift=3.0,
    final_sigmas_type="zero",
    timestep_spacing="linspace",
    steps_offset=0,
)

SCM_CFG = dict(num_train_timesteps=1000, prediction_type="trigflow", sigma_data=0.5)

SEEDS = dict(text_encoder=1001, transformer=1002, vae=1003, sprint_transformer=1004, lite_vae=1005)
VARIANT_SEEDS = {"sana15_qknorm": 1101, "sana_2k_pe": 1102, "sana_4k_pe": 1103, "sana_3blocks": 1104}


def _fresh(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def make_text_encoder():
    from transformers import Gemma2Config, Gemma2Model
    cfg = Gemma2Config(**GEMMA_CFG)
    torch.manual_seed(SEEDS["text_encoder"])
    m = Gemma2Model(cfg).eval()
    init_params(m, SEEDS["text_encoder"], gemma_norms=True)
    round_params_(m, torch.bfloat16)
    return m


def make_transformer(cfg, seed, store_dtype):
    from diffusers import SanaTransformer2DModel
    torch.manual_seed(seed)
    m = SanaTransformer2DModel(**cfg).eval()
    init_params(m, seed)
    if store_dtype is not None:
        round_params_(m, store_dtype)
    return m


def make_vae(store_dtype=None, cfg=VAE_CFG, seed=SEEDS["vae"]):
    from diffusers import AutoencoderDC
    torch.manual_seed(seed)
    m = AutoencoderDC(**cfg).eval()
    init_params(m, seed)
    if store_dtype is not None:
        round_params_(m, store_dtype)
    return m


def copy_tokenizer(dst):
    os.makedirs(dst, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(TOKENIZER_SRC, name), os.path.join(dst, name))


def build_all():
    from diffusers import DPMSolverMultistepScheduler, SCMScheduler, SanaPipeline, SanaSprintPipeline
    from transformers import AutoTokenizer

    os.makedirs(FIX, exist_ok=True)
    for d in ("sana_tiny", "sprint_tiny", "variants"):
        _fresh(fpath(d))

    # ---- sana_tiny -----------------------------------------------------------------------
    root = fpath("sana_tiny")
    copy_tokenizer(os.path.join(root, "tokenizer"))
    tok = AutoTokenizer.from_pretrained(os.path.join(root, "tokenizer"))

    te = make_text_encoder()
    # bf16 on disk, sharded (the 8 MB embedding goes alone into the first shard).
    te.to(torch.bfloat16).save_pretrained(os.path.join(root, "text_encoder"), max_shard_size="4MB")
    te = te.to(torch.float32)

    tr = make_transformer(DIT_BASE, SEEDS["transformer"], torch.float16)
    tr.to(torch.float16).save_pretrained(os.path.join(root, "transformer"))  # fp16 on disk
    tr = tr.to(torch.float32)

    vae = make_vae()
    vae.save_pretrained(os.path.join(root, "vae"))  # fp32 on disk

    sched = DPMSolverMultistepScheduler(**DPM_CFG)
    sched.save_pretrained(os.path.join(root, "scheduler"))

    pipe = SanaPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=tr, scheduler=sched)
    pipe.save_config(root)  # model_index.json only; the components were saved above

    # ---- sprint_tiny ---------------------------------------------------------------------
    sroot = fpath("sprint_tiny")
    os.makedirs(sroot, exist_ok=True)
    os.symlink("../sana_tiny/tokenizer", os.path.join(sroot, "tokenizer"))
    os.symlink("../sana_tiny/text_encoder", os.path.join(sroot, "text_encoder"))
    str_ = make_transformer(SPRINT_DIT, SEEDS["sprint_transformer"], None)
    # fp32 on disk, sharded the diffusers way (diffusion_pytorch_model-0000i-of-0000n + index).
    str_.save_pretrained(os.path.join(sroot, "transformer"), max_shard_size="100KB")
    svae = make_vae(store_dtype=torch.float16)
    svae.to(torch.float16).save_pretrained(os.path.join(sroot, "vae"))  # fp16 on disk, same weights
    ssched = SCMScheduler(**SCM_CFG)
    ssched.save_pretrained(os.path.join(sroot, "scheduler"))
    spipe = SanaSprintPipeline(tokenizer=tok, text_encoder=te, vae=svae.to(torch.float32), transformer=str_,
                               scheduler=ssched)
    spipe.save_config(sroot)

    # ---- variants ------------------------------------------------------------------------
    for name, cfg in VARIANTS.items():
        d = fpath("variants", name)
        if name == "sana15_qknorm":
            m = make_transformer(cfg, VARIANT_SEEDS[name], torch.bfloat16)
            m.to(torch.bfloat16).save_pretrained(d, variant="bf16")
        else:
            m = make_transformer(cfg, VARIANT_SEEDS[name], None)
            m.save_pretrained(d)

    # ---- DC-AE-Lite (vae only, fp32 on disk) -----------------------------------------------
    make_vae(cfg=LITE_VAE_CFG, seed=SEEDS["lite_vae"]).save_pretrained(fpath("variants", "dcae_lite"))


if __name__ == "__main__":
    from oracle_common import setup_determinism
    setup_determinism()
    build_all()
