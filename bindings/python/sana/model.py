"""Model: a SANA pipeline folder (diffusers layout) loaded through a context."""
from __future__ import annotations

import ctypes
import dataclasses
import os
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _native as N
from ._handle import Handle, check, cstr
from .enums import Component, ModelKind, Precision, Solver
from .image import Image

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context
    from .sampler import Sampler


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    kind: ModelKind
    components: Component
    latent_channels: int
    vae_scale_factor: int
    sample_size: int
    text_hidden_size: int
    transformer_params: int
    text_encoder_params: int
    vae_params: int


class Model(Handle):
    """Read-only after load; may be used from any context of the same backend. The model keeps
    its loading context alive, and closing that context closes the model."""

    _free = N.lib.sana_model_free

    def __init__(
        self,
        ctx: "Context",
        path: Union[str, "os.PathLike[str]"],
        *,
        components: Component = Component.ALL,
        variant: Optional[str] = None,
        weights: Precision = Precision.AUTO,
    ) -> None:
        super().__init__()
        self.context = ctx
        self.path = os.fspath(path)
        p = N.model_params()
        N.lib.sana_model_params_init(ctypes.byref(p))
        p.components, p.variant, p.weights = int(components), cstr(variant), int(weights)
        out = N.model_p()
        with ctx._lock:
            check(N.lib.sana_model_load(ctx._handle(), cstr(self.path), ctypes.byref(p), ctypes.byref(out)),
                  "sana_model_load", ctx._ptr)
            self._ptr = out
            ctx._adopt(self)

    @property
    def info(self) -> ModelInfo:
        i = N.model_info()
        N.lib.sana_model_info_init(ctypes.byref(i))
        check(N.lib.sana_model_get_info(self._handle(), ctypes.byref(i)), "sana_model_get_info")
        return ModelInfo(
            kind=ModelKind(i.kind),
            components=Component(i.components),
            latent_channels=i.latent_channels,
            vae_scale_factor=i.vae_scale_factor,
            sample_size=i.sample_size,
            text_hidden_size=i.text_hidden_size,
            transformer_params=i.transformer_params,
            text_encoder_params=i.text_encoder_params,
            vae_params=i.vae_params,
        )

    def release_text_encoder(self) -> None:
        check(N.lib.sana_model_release_text_encoder(self._handle()), "sana_model_release_text_encoder")

    def sampler(self, solver: Solver = Solver.DEFAULT, **kwargs: Any) -> "Sampler":
        from .sampler import Sampler

        return Sampler(self, solver, **kwargs)

    def generate(self, prompt: str, **kwargs: Any) -> Image:
        """Shorthand for self.context.generate(self, prompt, ...)."""
        return self.context.generate(self, prompt, **kwargs)
