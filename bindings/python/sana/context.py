"""Context: where work runs (backend, threads, log sink, cancellation) and generate()."""
from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Union

try:
    import numpy as np
except ImportError:  # only previews (and images) need it
    np = None  # type: ignore[assignment]

from . import _native as N
from ._callbacks import CallbackGuard, ProgressCallback
from ._handle import check, cstr
from .enums import Backend, Component, LogLevel, Precision
from .image import Image
from .stages import Stages

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model
    from .sampler import Sampler

LogCallback = Callable[[LogLevel, str], None]
# preview(step, latents): latents is a float32 copy [batch, C, H, W].
PreviewCallback = Callable[[int, "np.ndarray"], None]


class Context(Stages):
    """One thread of work. Calls on one context run one at a time; use several contexts to run
    generations in parallel. cancel() may be called from any thread. The low-level stages
    (encode_prompt, denoise, decode_latents, encode_image) are methods too (stages.py)."""

    _free = N.lib.sana_context_free

    def __init__(
        self,
        backend: Backend = Backend.AUTO,
        *,
        device: int = 0,
        n_threads: int = 0,
        precision: Precision = Precision.AUTO,
        log: Optional[LogCallback] = None,
        log_level: LogLevel = LogLevel.WARN,
    ) -> None:
        super().__init__()
        p = N.context_params()
        N.lib.sana_context_params_init(ctypes.byref(p))
        p.backend, p.device, p.n_threads = int(backend), device, n_threads
        p.precision, p.log_level = int(precision), int(log_level)
        # The CFUNCTYPE object must outlive the context: the library keeps the pointer.
        self._log_cb = N.log_fn(self._log_trampoline(log)) if log else N.log_fn()
        p.log = self._log_cb
        out = N.ctx_p()
        check(N.lib.sana_context_create(ctypes.byref(p), ctypes.byref(out)), "sana_context_create")
        self._ptr = out

    @staticmethod
    def _log_trampoline(fn: LogCallback) -> Callable[[int, bytes, Any], None]:
        def call(level: int, message: bytes, _ud: Any) -> None:
            try:
                fn(LogLevel(level), N.text(message))
            except Exception:  # a log sink must never raise into C
                pass

        return call

    @property
    def backend(self) -> Backend:
        """The backend the context runs on (CPU or CUDA, never AUTO)."""
        return Backend(N.lib.sana_context_backend(self._handle()))

    @property
    def last_error(self) -> str:
        return N.text(N.lib.sana_context_last_error(self._handle()))

    def cancel(self) -> None:
        """Asks the call now running on this context to stop (it raises sana.CancelledError)."""
        ptr = self._ptr
        if ptr:
            N.lib.sana_context_cancel(ptr)

    def load_model(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        components: Component = Component.ALL,
        variant: Optional[str] = None,
        weights: Precision = Precision.AUTO,
    ) -> "Model":
        from .model import Model

        return Model(self, path, components=components, variant=variant, weights=weights)

    def generate(self, model: "Model", prompt: str, **kwargs: Any) -> Image:
        """Text to image; returns one Image (`.array` is (H, W, 3) uint8, `.pil` a PIL image).
        Keyword arguments as generate_batch(); those left out take the library's defaults."""
        return self.generate_batch(model, prompt, batch=1, **kwargs)[0]

    def generate_batch(
        self,
        model: "Model",
        prompt: str,
        *,
        batch: int = 1,
        negative_prompt: Optional[str] = None,
        width: Optional[int] = None,
        height: Optional[int] = None,
        resolution_binning: Optional[bool] = None,
        seed: Optional[int] = None,
        sampler: "Optional[Sampler]" = None,
        steps: Optional[int] = None,
        guidance_scale: Optional[float] = None,
        pag_scale: Optional[float] = None,
        pag_layers: Sequence[int] = (),
        complex_human_instruction: Optional[bool] = None,
        init_image: Optional[Image] = None,
        strength: Optional[float] = None,
        max_sequence_length: Optional[int] = None,
        decode_memory_budget: Optional[int] = None,
        progress: Optional[ProgressCallback] = None,
        preview: Optional[PreviewCallback] = None,
    ) -> List[Image]:
        """Generates `batch` images for one prompt. Raises sana.CancelledError when cancel() (or
        a progress callback returning False) stopped it; an exception raised by a callback
        cancels the run and is re-raised here."""
        p = N.generate_params()
        N.lib.sana_generate_params_init(ctypes.byref(p))
        p.prompt = cstr(prompt)
        p.negative_prompt = cstr(negative_prompt)
        p.batch = batch
        for name, value in (
            ("width", width),
            ("height", height),
            ("seed", seed),
            ("steps", steps),
            ("guidance_scale", guidance_scale),
            ("pag_scale", pag_scale),
            ("strength", strength),
            ("max_sequence_length", max_sequence_length),
            ("decode_memory_budget", decode_memory_budget),
        ):
            if value is not None:
                setattr(p, name, value)
        if resolution_binning is not None:
            p.resolution_binning = int(bool(resolution_binning))
        if complex_human_instruction is not None:
            p.complex_human_instruction = int(bool(complex_human_instruction))
        layers = (ctypes.c_int32 * max(1, len(pag_layers)))(*pag_layers)
        if pag_layers:
            p.pag_layers, p.n_pag_layers = layers, len(pag_layers)
        if sampler is not None:
            p.sampler = sampler._handle()

        guard = CallbackGuard(self._handle())
        if progress is not None:
            p.progress = guard.progress(progress)
        if preview is not None:

            def on_preview(step: int, lat: Any, b: int, c: int, h: int, w: int, _ud: Any) -> None:
                arr = np.ctypeslib.as_array(lat, shape=(b, c, h, w)).copy()
                preview(step, arr)

            p.preview = guard.native(N.preview_fn, on_preview)

        native_init = init_image._to_native() if init_image is not None else None
        if native_init is not None:
            p.init_image = native_init
        out = (N.image_p * max(1, batch))()
        try:
            with self._lock:
                status = N.lib.sana_generate(self._handle(), model._handle(), ctypes.byref(p), out)
                guard.reraise()
                check(status, "sana_generate", self._ptr)
            return [Image._from_native(out[i]) for i in range(batch)]
        finally:
            for i in range(batch):
                if out[i]:
                    N.lib.sana_image_free(out[i])
            if native_init is not None:
                N.lib.sana_image_free(native_init)
            del guard, layers
