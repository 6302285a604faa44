"""Exceptions: every failed libsana call raises SanaError carrying the status and the text."""
from __future__ import annotations

from typing import Dict, Type

from .enums import Status


class SanaError(Exception):
    """A libsana call failed. `status` is the sana.Status code, `message` the library's text."""

    def __init__(self, status: int, message: str, call: str = "") -> None:
        try:
            self.status = Status(status)
        except ValueError:  # a code from a newer library
            self.status = status  # type: ignore[assignment]
        self.message = message
        self.call = call
        name = getattr(self.status, "name", str(status))
        where = f"{call}: " if call else ""
        super().__init__(f"{where}SANA_ERR_{name}: {message}")


class InvalidArgumentError(SanaError, ValueError):
    pass


class NotFoundError(SanaError, LookupError):
    pass


class UnsupportedError(SanaError, NotImplementedError):
    pass


class CancelledError(SanaError):
    pass


class OutOfMemoryError(SanaError, MemoryError):
    pass


_BY_STATUS: Dict[int, Type[SanaError]] = {
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.NOT_FOUND: NotFoundError,
    Status.UNSUPPORTED: UnsupportedError,
    Status.CANCELLED: CancelledError,
    Status.OUT_OF_MEMORY: OutOfMemoryError,
}


def error_for(status: int, message: str, call: str = "") -> SanaError:
    return _BY_STATUS.get(status, SanaError)(status, message, call)
