"""Python callbacks run from inside a C call: an exception must not unwind into C, so it cancels
the call through the context and is re-raised once the call returns."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

from . import _native as N

# progress(step, steps): step counts from 1. Return False to cancel the call.
ProgressCallback = Callable[[int, int], Optional[bool]]


class CallbackGuard:
    def __init__(self, ctx_ptr: Any) -> None:
        self._ctx = ctx_ptr
        self._failure: List[BaseException] = []
        self._keep: List[Any] = []  # the CFUNCTYPE objects, alive until the call returns

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if self._failure:
                return None
            try:
                return fn(*args)
            except BaseException as e:  # noqa: BLE001 - re-raised after the C call returns
                self._failure.append(e)
                N.lib.sana_context_cancel(self._ctx)
                return None

        return call

    def native(self, cfunctype: Any, fn: Callable[..., Any]) -> Any:
        """A C function pointer that runs fn guarded; valid while this guard lives."""
        self._keep.append(cfunctype(self.wrap(fn)))
        return self._keep[-1]

    def progress(self, fn: ProgressCallback) -> Any:
        def on_progress(step: int, steps: int, _ud: Any) -> None:
            if fn(step, steps) is False:
                N.lib.sana_context_cancel(self._ctx)

        return self.native(N.progress_fn, on_progress)

    def reraise(self) -> None:
        """Raises what a callback raised, if anything (call right after the C call)."""
        if self._failure:
            raise self._failure[0]
