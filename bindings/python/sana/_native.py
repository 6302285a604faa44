"""ctypes mirror of include/sana/sana.h: structs, callback types and function signatures.

Every struct here must match the C layout byte for byte; tests/test_layout.py compiles a C
program against the header and compares sizes and offsets.
"""
from __future__ import annotations

from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_float,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

from . import _loader

c_enum = c_int  # C enums are int-sized on every ABI we target
c_status = c_int

# --- opaque handles ----------------------------------------------------------------------------


class sana_context(Structure):
    pass


class sana_model(Structure):
    pass


class sana_sampler(Structure):
    pass


class sana_image(Structure):
    pass


class sana_tensor(Structure):
    pass


class sana_tokenizer(Structure):
    pass


ctx_p = POINTER(sana_context)
model_p = POINTER(sana_model)
sampler_p = POINTER(sana_sampler)
image_p = POINTER(sana_image)
tensor_p = POINTER(sana_tensor)
tokenizer_p = POINTER(sana_tokenizer)

# --- callbacks ---------------------------------------------------------------------------------

log_fn = CFUNCTYPE(None, c_enum, c_char_p, c_void_p)
progress_fn = CFUNCTYPE(None, c_int32, c_int32, c_void_p)
preview_fn = CFUNCTYPE(None, c_int32, POINTER(c_float), c_int32, c_int32, c_int32, c_int32, c_void_p)

# --- params structs (append-only in C; same order here) ----------------------------------------


class context_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("backend", c_enum),
        ("device", c_int32),
        ("n_threads", c_int32),
        ("precision", c_enum),
        ("log", log_fn),
        ("log_user_data", c_void_p),
        ("log_level", c_enum),
    ]


class model_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("components", c_uint32),
        ("variant", c_char_p),
        ("weights", c_enum),
    ]


class model_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_enum),
        ("components", c_uint32),
        ("latent_channels", c_int32),
        ("vae_scale_factor", c_int32),
        ("sample_size", c_int32),
        ("text_hidden_size", c_int32),
        ("transformer_params", c_int64),
        ("text_encoder_params", c_int64),
        ("vae_params", c_int64),
    ]


class sampler_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("solver", c_enum),
        ("steps", c_int32),
        ("flow_shift", c_float),
        ("max_timesteps", c_float),
        ("intermediate_timesteps", c_float),
    ]


class generate_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("prompt", c_char_p),
        ("negative_prompt", c_char_p),
        ("width", c_int32),
        ("height", c_int32),
        ("resolution_binning", c_int32),
        ("batch", c_int32),
        ("seed", c_uint64),
        ("noise", c_enum),
        ("sampler", sampler_p),
        ("steps", c_int32),
        ("guidance_scale", c_float),
        ("pag_scale", c_float),
        ("pag_layers", POINTER(c_int32)),
        ("n_pag_layers", c_int32),
        ("complex_human_instruction", c_int32),
        ("init_image", image_p),
        ("strength", c_float),
        ("max_sequence_length", c_int32),
        ("progress", progress_fn),
        ("progress_user_data", c_void_p),
        ("preview", preview_fn),
        ("preview_user_data", c_void_p),
        ("decode_memory_budget", c_size_t),
    ]


class encode_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("complex_human_instruction", c_int32),
        ("max_sequence_length", c_int32),
        ("nvlabs_compat", c_int32),
        ("exact_padding", c_int32),
    ]


class denoise_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("embeddings", tensor_p),
        ("mask", tensor_p),
        ("uncond_embeddings", tensor_p),
        ("uncond_mask", tensor_p),
        ("sampler", sampler_p),
        ("guidance_scale", c_float),
        ("pag_scale", c_float),
        ("pag_layers", POINTER(c_int32)),
        ("n_pag_layers", c_int32),
        ("first_step", c_int32),
        ("progress", progress_fn),
        ("progress_user_data", c_void_p),
        ("seed", c_uint64),
    ]


class decode_params(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("mode", c_enum),
        ("memory_budget", c_size_t),
        ("tile_size", c_int32),
        ("tile_stride", c_int32),
    ]


STRUCTS = {
    "sana_context_params": context_params,
    "sana_model_params": model_params,
    "sana_model_info": model_info,
    "sana_sampler_params": sampler_params,
    "sana_generate_params": generate_params,
    "sana_encode_params": encode_params,
    "sana_denoise_params": denoise_params,
    "sana_decode_params": decode_params,
}

# --- functions ---------------------------------------------------------------------------------

lib = _loader.load()

_SIGNATURES = {
    # name: (restype, argtypes)
    "sana_version": (c_char_p, []),
    "sana_version_number": (c_uint32, []),
    "sana_status_string": (c_char_p, [c_status]),
    "sana_last_error": (c_char_p, []),
    "sana_log_set_default": (None, [log_fn, c_void_p, c_enum]),
    "sana_context_params_init": (None, [POINTER(context_params)]),
    "sana_context_create": (c_status, [POINTER(context_params), POINTER(ctx_p)]),
    "sana_context_free": (None, [ctx_p]),
    "sana_context_backend": (c_enum, [ctx_p]),
    "sana_context_last_error": (c_char_p, [ctx_p]),
    "sana_context_cancel": (None, [ctx_p]),
    "sana_model_params_init": (None, [POINTER(model_params)]),
    "sana_model_load": (c_status, [ctx_p, c_char_p, POINTER(model_params), POINTER(model_p)]),
    "sana_model_free": (None, [model_p]),
    "sana_model_release_text_encoder": (c_status, [model_p]),
    "sana_model_info_init": (None, [POINTER(model_info)]),
    "sana_model_get_info": (c_status, [model_p, POINTER(model_info)]),
    "sana_image_create": (c_status, [c_uint32, c_uint32, c_uint32, POINTER(image_p)]),
    "sana_image_free": (None, [image_p]),
    "sana_image_width": (c_uint32, [image_p]),
    "sana_image_height": (c_uint32, [image_p]),
    "sana_image_channels": (c_uint32, [image_p]),
    "sana_image_stride": (c_size_t, [image_p]),
    "sana_image_pixels": (POINTER(c_uint8), [image_p]),
    "sana_image_parameters": (c_char_p, [image_p]),
    "sana_image_save_png": (c_status, [image_p, c_char_p, c_char_p]),
    "sana_image_load_png": (c_status, [c_char_p, POINTER(image_p)]),
    "sana_sampler_params_init": (None, [POINTER(sampler_params)]),
    "sana_sampler_create": (c_status, [model_p, POINTER(sampler_params), POINTER(sampler_p)]),
    "sana_sampler_free": (None, [sampler_p]),
    "sana_sampler_timesteps": (c_status, [sampler_p, POINTER(c_float), c_size_t, POINTER(c_size_t)]),
    "sana_generate_params_init": (None, [POINTER(generate_params)]),
    "sana_generate": (c_status, [ctx_p, model_p, POINTER(generate_params), POINTER(image_p)]),
    "sana_tensor_create": (c_status, [c_int32, POINTER(c_int64), POINTER(c_float), POINTER(tensor_p)]),
    "sana_tensor_free": (None, [tensor_p]),
    "sana_tensor_ndim": (c_int32, [tensor_p]),
    "sana_tensor_dim": (c_int64, [tensor_p, c_int32]),
    "sana_tensor_numel": (c_int64, [tensor_p]),
    "sana_tensor_read": (c_status, [tensor_p, POINTER(c_float), c_size_t]),
    "sana_encode_params_init": (None, [POINTER(encode_params)]),
    "sana_encode_prompt": (
        c_status,
        [ctx_p, model_p, POINTER(c_char_p), c_int32, POINTER(encode_params), POINTER(tensor_p),
         POINTER(tensor_p)],
    ),
    "sana_denoise_params_init": (None, [POINTER(denoise_params)]),
    "sana_denoise": (c_status, [ctx_p, model_p, POINTER(denoise_params), tensor_p]),
    "sana_noise_fill": (c_status, [c_enum, c_uint64, tensor_p]),
    "sana_decode_params_init": (None, [POINTER(decode_params)]),
    "sana_decode_latents": (c_status, [ctx_p, model_p, tensor_p, POINTER(decode_params), POINTER(image_p)]),
    "sana_encode_image": (c_status, [ctx_p, model_p, image_p, POINTER(tensor_p)]),
    "sana_tokenizer_load": (c_status, [c_char_p, POINTER(tokenizer_p)]),
    "sana_tokenizer_free": (None, [tokenizer_p]),
    "sana_tokenizer_encode": (
        c_status,
        [tokenizer_p, c_char_p, c_size_t, c_int32, POINTER(c_int32), c_size_t, POINTER(c_size_t)],
    ),
    "sana_tokenizer_decode": (
        c_status,
        [tokenizer_p, POINTER(c_int32), c_size_t, c_int32, POINTER(c_char), c_size_t, POINTER(c_size_t)],
    ),
    "sana_tokenizer_vocab_size": (c_int32, [tokenizer_p]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def text(b: "bytes | None") -> str:
    return b.decode("utf-8", "replace") if b else ""

