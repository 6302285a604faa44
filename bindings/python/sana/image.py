"""Images: pixels copied out of libsana into numpy (the library's copy is freed at once)."""
from __future__ import annotations

import ctypes
import os
from typing import TYPE_CHECKING, Any, Optional, Union

try:
    import numpy as np
except ImportError:  # images need numpy; tensors, the tokenizer and the stages before decode do not
    np = None  # type: ignore[assignment]

from . import _native as N
from ._handle import check, cstr

if TYPE_CHECKING:  # pragma: no cover
    import PIL.Image

PathLike = Union[str, "os.PathLike[str]"]


def _need_numpy() -> None:
    if np is None:
        raise ImportError("sana.Image holds its pixels in a numpy array: install numpy")


class Image:
    """An 8-bit RGB or RGBA image: `array` is a numpy uint8 array (height, width, channels)."""

    def __init__(self, array: np.ndarray, parameters: str = "") -> None:
        _need_numpy()
        a = np.asarray(array)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] not in (3, 4):
            raise ValueError(f"image array must be uint8 (H, W, 3|4), not {a.dtype} {a.shape}")
        self.array: np.ndarray = np.ascontiguousarray(a)
        self.parameters: str = parameters

    @property
    def width(self) -> int:
        return int(self.array.shape[1])

    @property
    def height(self) -> int:
        return int(self.array.shape[0])

    @property
    def channels(self) -> int:
        return int(self.array.shape[2])

    @property
    def pil(self) -> "Optional[PIL.Image.Image]":
        """The image as a PIL image, or None when Pillow is not installed."""
        try:
            from PIL import Image as PILImage
        except ImportError:
            return None
        img = PILImage.fromarray(self.array, "RGB" if self.channels == 3 else "RGBA")
        if self.parameters:
            img.info["parameters"] = self.parameters
        return img

    @classmethod
    def from_pil(cls, img: Any) -> "Image":
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGB")
        _need_numpy()
        return cls(np.asarray(img, dtype=np.uint8), img.info.get("parameters", ""))

    @classmethod
    def _from_native(cls, ptr: Any) -> "Image":
        _need_numpy()
        lib = N.lib
        w, h = lib.sana_image_width(ptr), lib.sana_image_height(ptr)
        c, stride = lib.sana_image_channels(ptr), lib.sana_image_stride(ptr)
        raw = ctypes.string_at(lib.sana_image_pixels(ptr), stride * h)
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(h, stride)[:, : w * c]
        return cls(rows.reshape(h, w, c).copy(), N.text(lib.sana_image_parameters(ptr)))

    def _to_native(self) -> Any:
        """A new sana_image holding a copy of the pixels; the caller frees it."""
        out = N.image_p()
        check(N.lib.sana_image_create(self.width, self.height, self.channels, ctypes.byref(out)),
              "sana_image_create")
        stride = N.lib.sana_image_stride(out)
        dst = np.ctypeslib.as_array(N.lib.sana_image_pixels(out), shape=(self.height * stride,))
        dst.reshape(self.height, stride)[:, : self.width * self.channels] = self.array.reshape(
            self.height, -1)
        return out

    @classmethod
    def load_png(cls, path: PathLike) -> "Image":
        """Reads a PNG with libsana (any PNG; 8-bit RGB, or RGBA when it has alpha)."""
        out = N.image_p()
        check(N.lib.sana_image_load_png(cstr(os.fspath(path)), ctypes.byref(out)), "sana_image_load_png")
        try:
            return cls._from_native(out)
        finally:
            N.lib.sana_image_free(out)

    def save_png(self, path: PathLike, parameters: Optional[str] = None) -> None:
        """Writes a PNG with libsana; `parameters` (default: the image's own) goes into a tEXt
        chunk named "parameters"."""
        native = self._to_native()
        try:
            text = self.parameters if parameters is None else parameters
            check(N.lib.sana_image_save_png(native, cstr(os.fspath(path)), cstr(text)),
                  "sana_image_save_png")
        finally:
            N.lib.sana_image_free(native)

    def __repr__(self) -> str:
        return f"sana.Image({self.width}x{self.height}x{self.channels})"
