"""Owning wrapper for one native handle: close(), context manager, and children closed first."""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Optional

from . import _native as N
from .errors import error_for


def check(status: int, call: str, ctx: "Optional[Any]" = None) -> None:
    """Raises the SanaError for a failed call, with the context's (or the thread's) error text."""
    if status == 0:
        return
    message = N.text(N.lib.sana_context_last_error(ctx)) if ctx else N.text(N.lib.sana_last_error())
    if not message:
        message = N.text(N.lib.sana_status_string(status))
    raise error_for(status, message, call)


class Handle:
    """Base of Context, Model, Sampler, Tokenizer. Thread-safe close(); objects made from this
    one (a context's models, a model's samplers) are closed before it."""

    _free: Callable[[Any], None]

    def __init__(self) -> None:
        self._ptr: Any = None
        self._lock = threading.RLock()
        self._children: "weakref.WeakSet[Handle]" = weakref.WeakSet()

    def _adopt(self, child: "Handle") -> None:
        self._children.add(child)

    @property
    def closed(self) -> bool:
        return not self._ptr

    def _handle(self) -> Any:
        ptr = self._ptr
        if not ptr:
            raise ValueError(f"{type(self).__name__} is closed")
        return ptr

    def close(self) -> None:
        """Frees the native object (and the objects made from it). Safe to call twice."""
        with self._lock:
            for child in list(self._children):
                child.close()
            ptr, self._ptr = self._ptr, None
            if ptr:
                type(self)._free(ptr)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass


def cstr(s: "Optional[str]") -> "Optional[bytes]":
    return None if s is None else s.encode("utf-8")


