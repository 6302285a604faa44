"""Finds and opens libsana: $SANA_LIBRARY, then the package folder, then the system."""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
from typing import List

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


def _names() -> List[str]:
    if sys.platform == "win32":
        return ["sana.dll", "libsana.dll"]
    if sys.platform == "darwin":
        return ["libsana.dylib", "libsana.0.dylib"]
    return ["libsana.so", "libsana.so.0"]


def _in_dir(folder: str) -> List[str]:
    found = [os.path.join(folder, n) for n in _names()]
    # A versioned file alone (libsana.so.0.1.0) also counts, e.g. copied into a wheel.
    found += sorted(glob.glob(os.path.join(folder, "libsana.so.*")))
    return [f for f in found if os.path.isfile(f)]


def candidates() -> List[str]:
    """Where the library is looked for, in order."""
    out: List[str] = []
    env = os.environ.get("SANA_LIBRARY")
    if env:
        # An explicit override is the only candidate: a wrong path must not fall back silently.
        return _in_dir(env) if os.path.isdir(env) else [env]
    out += _in_dir(_PKG_DIR)
    out += _in_dir(os.path.join(_PKG_DIR, "lib"))
    system = ctypes.util.find_library("sana")
    if system:
        out.append(system)
    out += _names()  # let the dynamic loader search LD_LIBRARY_PATH and its cache
    return out


def load() -> ctypes.CDLL:
    tried = []
    for path in candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise OSError(
        "libsana not found; set SANA_LIBRARY to the library file, put it in the package folder "
        "or install it on the system. Tried:\n  " + "\n  ".join(tried or ["(nothing)"])
    )
