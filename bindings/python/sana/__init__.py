"""libsana for Python: NVIDIA SANA text-to-image models through ctypes.

    import sana
    with sana.Context() as ctx, ctx.load_model("Sana_600M_1024px_diffusers") as model:
        image = ctx.generate(model, "a cat in a hat", width=512, height=512, seed=42)
        image.array      # numpy uint8 (512, 512, 3)
        image.pil        # PIL.Image (None without Pillow)
        image.save_png("cat.png")

The library is found through $SANA_LIBRARY (a file or a folder), then the package folder, then
the system's library path.
"""
from __future__ import annotations

from . import _native
from .context import Context, LogCallback, PreviewCallback, ProgressCallback
from .enums import (
    Backend, Component, DecodeMode, LogLevel, ModelKind, Noise, Precision, Solver, Status,
)
from .errors import (
    CancelledError,
    InvalidArgumentError,
    NotFoundError,
    OutOfMemoryError,
    SanaError,
    UnsupportedError,
)
from .image import Image
from .model import Model, ModelInfo
from .sampler import Sampler
from .tensor import Tensor, noise_fill
from .tokenizer import Tokenizer

__version__ = "0.1.0"

library = _native.lib


def version() -> str:
    """The version of the libsana actually loaded, e.g. "0.1.0"."""
    return _native.text(_native.lib.sana_version())


def version_number() -> int:
    return int(_native.lib.sana_version_number())


def status_string(status: int) -> str:
    return _native.text(_native.lib.sana_status_string(int(status)))


__all__ = [
    "Backend", "CancelledError", "Component", "Context", "DecodeMode", "Image",
    "InvalidArgumentError", "LogCallback", "LogLevel", "Model", "ModelInfo", "ModelKind", "Noise",
    "NotFoundError", "OutOfMemoryError", "Precision", "PreviewCallback", "ProgressCallback",
    "Sampler", "SanaError", "Solver", "Status", "Tensor", "Tokenizer", "UnsupportedError",
    "library", "noise_fill", "status_string", "version", "version_number",
]
