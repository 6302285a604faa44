"""Tensor: the float32 host arrays the low-level stages pass around (sana_tensor).

numpy is optional here: read() gives an array.array('f') (a buffer of floats), numpy() and
np.asarray(tensor) give a shaped ndarray when numpy is installed."""
from __future__ import annotations

import array
import ctypes
from typing import Any, Optional, Sequence, Tuple

from . import _native as N
from ._handle import Handle, check
from .enums import Noise, Status
from .errors import InvalidArgumentError


def _floats(data: Any, numel: int) -> Any:
    """`data` as a ctypes float array of exactly `numel` values (a copy; the library copies too)."""
    if hasattr(data, "__array__") and not isinstance(data, (array.array, memoryview)):
        import numpy as np  # an array-like object means numpy is there

        data = np.ascontiguousarray(data, dtype=np.float32).reshape(-1)
    try:
        view: Optional[memoryview] = memoryview(data)
    except TypeError:
        view = None
    if view is not None:
        if view.format != "f" or not view.c_contiguous:
            raise InvalidArgumentError(Status.INVALID_ARGUMENT, "data is a buffer of format "
                                       f"{view.format!r}; a contiguous float32 ('f') buffer, a numpy "
                                       "array or a sequence of numbers is expected", "sana_tensor_create")
        n = view.nbytes // 4
    else:
        values = [float(v) for v in data]
        n = len(values)
    # Checked here because the library cannot know how long the caller's buffer is.
    if n != numel:
        raise InvalidArgumentError(Status.INVALID_ARGUMENT,
                                   f"data holds {n} floats; the shape needs {numel}", "sana_tensor_create")
    if view is not None:
        return (ctypes.c_float * n).from_buffer_copy(view)
    return (ctypes.c_float * n)(*values)


class Tensor(Handle):
    """A float32 array of 1 to 4 dimensions, row-major, owned by libsana.

    Tensor((1, 32, 2, 3)) is zeros; Tensor(shape, data) copies `data`: a float32 buffer
    (array.array('f'), a float32 numpy array, a memoryview), any numpy array (converted), or a
    flat sequence of numbers. close() (or `with`) frees it at once; the GC frees it otherwise."""

    _free = N.lib.sana_tensor_free

    def __init__(self, shape: Sequence[int], data: Any = None) -> None:
        super().__init__()
        dims = [int(d) for d in shape]
        c_dims = (ctypes.c_int64 * max(1, len(dims)))(*dims)
        buf = None
        if data is not None:
            numel = 1
            for d in dims:
                numel *= d
            buf = _floats(data, max(0, numel))
        out = N.tensor_p()
        check(N.lib.sana_tensor_create(len(dims), c_dims, buf, ctypes.byref(out)), "sana_tensor_create")
        self._ptr = out

    @classmethod
    def from_array(cls, a: Any) -> "Tensor":
        """A copy of a numpy array (or anything with .shape and the buffer protocol)."""
        return cls(a.shape, a)

    @classmethod
    def _own(cls, ptr: Any) -> "Optional[Tensor]":
        """Wraps a tensor the library made for us (None for NULL)."""
        if not ptr:
            return None
        t = cls.__new__(cls)
        Handle.__init__(t)
        t._ptr = ptr
        return t

    # Each accessor holds the lock: a close() from another thread waits for it.
    @property
    def ndim(self) -> int:
        with self._lock:
            return int(N.lib.sana_tensor_ndim(self._handle()))

    @property
    def shape(self) -> Tuple[int, ...]:
        with self._lock:
            ptr = self._handle()
            return tuple(int(N.lib.sana_tensor_dim(ptr, i)) for i in range(N.lib.sana_tensor_ndim(ptr)))

    @property
    def numel(self) -> int:
        with self._lock:
            return int(N.lib.sana_tensor_numel(self._handle()))

    def read(self) -> "array.array[float]":
        """A flat copy of the values, row-major, as array.array('f')."""
        with self._lock:
            ptr = self._handle()
            n = int(N.lib.sana_tensor_numel(ptr))
            out = array.array("f", bytes(4 * n))
            addr = out.buffer_info()[0]
            check(N.lib.sana_tensor_read(ptr, ctypes.cast(addr, ctypes.POINTER(ctypes.c_float)), n),
                  "sana_tensor_read")
        return out

    def tolist(self) -> list:
        """The values as a flat list of floats."""
        return self.read().tolist()

    def numpy(self) -> Any:
        """A float32 numpy copy of this shape (needs numpy)."""
        import numpy as np

        return np.frombuffer(self.read(), dtype=np.float32).reshape(self.shape)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self) -> str:
        return "sana.Tensor(closed)" if self.closed else f"sana.Tensor(shape={self.shape})"


def noise_fill(latents: Tensor, seed: int, kind: Noise = Noise.TORCH_CPU) -> Tensor:
    """Fills `latents` [B, C, H, W] in place with the noise torch.randn gives for `seed` (a CPU
    torch.Generator), as sana_generate draws it; returns `latents`."""
    with latents._lock:
        check(N.lib.sana_noise_fill(int(kind), seed, latents._handle()), "sana_noise_fill")
    return latents
