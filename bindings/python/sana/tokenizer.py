"""Tokenizer: Gemma's tokenizer.json on its own (no model needed)."""
from __future__ import annotations

import ctypes
import os
from typing import List, Sequence, Union

from . import _native as N
from ._handle import Handle, check, cstr


class Tokenizer(Handle):
    _free = N.lib.sana_tokenizer_free

    def __init__(self, path: Union[str, "os.PathLike[str]"]) -> None:
        super().__init__()
        out = N.tokenizer_p()
        check(N.lib.sana_tokenizer_load(cstr(os.fspath(path)), ctypes.byref(out)), "sana_tokenizer_load")
        self._ptr = out

    @property
    def vocab_size(self) -> int:
        return int(N.lib.sana_tokenizer_vocab_size(self._handle()))

    def encode(self, text: Union[str, bytes], add_special: bool = True) -> List[int]:
        """Token ids of `text` (str, or UTF-8 bytes passed through as they are)."""
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        n = ctypes.c_size_t()
        check(N.lib.sana_tokenizer_encode(self._handle(), data, len(data), int(add_special), None, 0,
                                          ctypes.byref(n)), "sana_tokenizer_encode")
        ids = (ctypes.c_int32 * max(1, n.value))()
        check(N.lib.sana_tokenizer_encode(self._handle(), data, len(data), int(add_special), ids,
                                          n.value, ctypes.byref(n)), "sana_tokenizer_encode")
        return list(ids[: n.value])

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        arr = (ctypes.c_int32 * max(1, len(ids)))(*ids)
        n = ctypes.c_size_t()
        check(N.lib.sana_tokenizer_decode(self._handle(), arr, len(ids), int(skip_special), None, 0,
                                          ctypes.byref(n)), "sana_tokenizer_decode")
        buf = ctypes.create_string_buffer(n.value + 1)
        check(N.lib.sana_tokenizer_decode(self._handle(), arr, len(ids), int(skip_special), buf,
                                          n.value + 1, ctypes.byref(n)), "sana_tokenizer_decode")
        return buf.raw[: n.value].decode("utf-8", "replace")
