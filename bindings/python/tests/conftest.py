"""Shared test helpers: where the fixtures are, a golden reader, and the "not implemented yet"
guard that turns into a real check as soon as the library implements the call."""
from __future__ import annotations

import contextlib
import json
import os
import struct
from typing import Dict, Iterator

import numpy as np
import pytest

import sana

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.environ.get("SANA_FIXTURES_DIR", os.path.join(REPO, "tests", "fixtures"))
SANA_TINY = os.path.join(FIXTURES, "sana_tiny")
INCLUDE_DIR = os.environ.get("SANA_INCLUDE_DIR", os.path.join(REPO, "include"))


def not_implemented(e: BaseException) -> bool:
    """True for the placeholder error of a call that has not landed yet."""
    return isinstance(e, sana.UnsupportedError) and "not implemented yet" in e.message


@contextlib.contextmanager
def unless_not_implemented(what: str) -> Iterator[None]:
    """Runs the block; if libsana says SANA_ERR_UNSUPPORTED "... not implemented yet", the test
    is reported as xfail (expected-unsupported, with the message), never silently skipped. Any
    other error fails the test. Once the call works, the block's assertions run for real."""
    try:
        yield
    except sana.SanaError as e:
        if not_implemented(e):
            assert e.status == sana.Status.UNSUPPORTED
            pytest.xfail(f"expected-unsupported ({what}): {e}")
        raise


def read_safetensors(path: str) -> Dict[str, np.ndarray]:
    """A minimal safetensors reader (F32/F64/I64/I32/U8), enough for the goldens."""
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] not in dtypes:
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return out


def fixture_case(name: str) -> dict:
    with open(os.path.join(FIXTURES, "index.json")) as f:
        index = json.load(f)
    for case in index["cases"]:
        if case["name"] == name:
            return case
    raise KeyError(f"{name} is not in {FIXTURES}/index.json")


@pytest.fixture
def ctx() -> Iterator[sana.Context]:
    with sana.Context(sana.Backend.CPU, n_threads=2) as c:
        yield c
