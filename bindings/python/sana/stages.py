"""The low-level stages of sana.h as Context methods: encode_prompt -> (noise_fill) -> denoise ->
decode_latents, and encode_image. sana_generate is these stages in one call; running them one by
one lets a script reuse a prompt's embeddings over many seeds or run its own loop."""
from __future__ import annotations

import contextlib
import ctypes
from typing import TYPE_CHECKING, Any, Iterator, List, Optional, Sequence, Tuple, Union

from . import _native as N
from ._callbacks import CallbackGuard, ProgressCallback
from ._handle import Handle, check, cstr
from .enums import DecodeMode
from .image import Image
from .tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model
    from .sampler import Sampler


@contextlib.contextmanager
def _holding(*objs: "Optional[Handle]") -> Iterator[None]:
    """Holds the objects' locks (context first) so none is closed while the C call uses it."""
    with contextlib.ExitStack() as stack:
        for o in objs:
            if o is not None:
                stack.enter_context(o._lock)
        yield


def _set(p: Any, **fields: Any) -> None:
    """Sets the fields given (not None); the others keep the library's defaults."""
    for name, value in fields.items():
        if value is not None:
            setattr(p, name, value)


def _flag(value: Optional[bool]) -> Optional[int]:
    return None if value is None else int(bool(value))


class Stages(Handle):
    """Mixed into Context."""

    def encode_prompt(
        self,
        model: "Model",
        prompts: Union[str, Sequence[str]],
        *,
        complex_human_instruction: Optional[bool] = None,
        max_sequence_length: Optional[int] = None,
        nvlabs_compat: Optional[bool] = None,
        exact_padding: Optional[bool] = None,
    ) -> Tuple[Tensor, Tensor]:
        """The DiT's text conditioning: (embeddings [n, L, hidden], mask [n, L]) for one prompt
        or a list. For the negative prompt of CFG pass complex_human_instruction=False. Padding
        rows (mask 0) are zero unless exact_padding=True (sana_encode_params.exact_padding)."""
        texts = [prompts] if isinstance(prompts, str) else list(prompts)
        p = N.encode_params()
        N.lib.sana_encode_params_init(ctypes.byref(p))
        _set(p, complex_human_instruction=_flag(complex_human_instruction),
             max_sequence_length=max_sequence_length, nvlabs_compat=_flag(nvlabs_compat),
             exact_padding=_flag(exact_padding))
        arr = (ctypes.c_char_p * max(1, len(texts)))(*[cstr(t) for t in texts])
        emb, mask = N.tensor_p(), N.tensor_p()
        with _holding(self, model):
            status = N.lib.sana_encode_prompt(self._handle(), model._handle(), arr, len(texts),
                                              ctypes.byref(p), ctypes.byref(emb), ctypes.byref(mask))
            outs = (Tensor._own(emb), Tensor._own(mask))
            if status:
                for t in outs:
                    if t is not None:
                        t.close()
            check(status, "sana_encode_prompt", self._ptr)
        return outs  # type: ignore[return-value]

    def denoise(
        self,
        model: "Model",
        latents: Tensor,
        embeddings: Tensor,
        mask: Optional[Tensor] = None,
        *,
        uncond_embeddings: Optional[Tensor] = None,
        uncond_mask: Optional[Tensor] = None,
        sampler: "Optional[Sampler]" = None,
        guidance_scale: Optional[float] = None,
        pag_scale: Optional[float] = None,
        pag_layers: Sequence[int] = (),
        first_step: Optional[int] = None,
        seed: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
    ) -> Tensor:
        """Runs the sampler's steps on `latents` [B, C, H, W] (the initial noise, scaled by the
        sampler's initial sigma) in place and returns it. CFG runs when uncond_embeddings are
        given and guidance_scale > 1. `seed`: SCM (Sprint) only, the initial noise's seed.
        progress(step, steps) may return False to cancel (sana.CancelledError)."""
        p = N.denoise_params()
        N.lib.sana_denoise_params_init(ctypes.byref(p))
        _set(p, guidance_scale=guidance_scale, pag_scale=pag_scale, first_step=first_step, seed=seed)
        layers = (ctypes.c_int32 * max(1, len(pag_layers)))(*pag_layers)
        if pag_layers:
            p.pag_layers, p.n_pag_layers = layers, len(pag_layers)
        tensors = (embeddings, mask, uncond_embeddings, uncond_mask, latents)
        with _holding(self, model, sampler, *tensors):
            p.embeddings = embeddings._handle()
            for name, t in (("mask", mask), ("uncond_embeddings", uncond_embeddings),
                            ("uncond_mask", uncond_mask), ("sampler", sampler)):
                if t is not None:
                    setattr(p, name, t._handle())
            guard = CallbackGuard(self._handle())
            if progress is not None:
                p.progress = guard.progress(progress)
            status = N.lib.sana_denoise(self._handle(), model._handle(), ctypes.byref(p), latents._handle())
            guard.reraise()
            check(status, "sana_denoise", self._ptr)
        return latents

    def decode_latents(
        self,
        model: "Model",
        latents: Tensor,
        *,
        mode: Optional[DecodeMode] = None,
        memory_budget: Optional[int] = None,
        tile_size: Optional[int] = None,
        tile_stride: Optional[int] = None,
    ) -> List[Image]:
        """Latents [B, C, h, w] (as denoise leaves them) to B images of (h*f) x (w*f) pixels."""
        p = N.decode_params()
        N.lib.sana_decode_params_init(ctypes.byref(p))
        _set(p, mode=None if mode is None else int(mode), memory_budget=memory_budget,
             tile_size=tile_size, tile_stride=tile_stride)
        with _holding(self, model, latents):
            batch = max(1, int(N.lib.sana_tensor_dim(latents._handle(), 0)))
            out = (N.image_p * batch)()
            try:
                check(N.lib.sana_decode_latents(self._handle(), model._handle(), latents._handle(),
                                                ctypes.byref(p), out), "sana_decode_latents", self._ptr)
                return [Image._from_native(out[i]) for i in range(batch)]
            finally:
                for i in range(batch):
                    if out[i]:
                        N.lib.sana_image_free(out[i])

    def encode_image(self, model: "Model", image: Image) -> Tensor:
        """An RGB(A) image (sides multiples of the VAE's factor) to latents [1, C, H/f, W/f],
        times the VAE's scaling factor: what decode_latents takes back."""
        native = image._to_native()
        try:
            out = N.tensor_p()
            with _holding(self, model):
                status = N.lib.sana_encode_image(self._handle(), model._handle(), native, ctypes.byref(out))
                latents = Tensor._own(out)
                if status and latents is not None:
                    latents.close()
                check(status, "sana_encode_image", self._ptr)
            return latents  # type: ignore[return-value]
        finally:
            N.lib.sana_image_free(native)
