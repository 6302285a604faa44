"""Shared helpers for the libsana reference oracle (tests/reference).

Everything here runs on the CPU, single-threaded, in fp32 (fp64 only for measuring float noise).
"""
import contextlib
import hashlib
import json
import math
import os

import numpy as np
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FIX = os.environ.get("SANA_FIXTURES_DIR", os.path.join(REPO, "tests", "fixtures"))
TOKENIZER_SRC = os.environ.get(
    "SANA_GEMMA2_TOKENIZER", os.path.abspath(os.path.join(REPO, "..", "..", "shared", "data", "gemma2-tokenizer")))
if not os.path.isdir(TOKENIZER_SRC):
    TOKENIZER_SRC = "/work/shared/data/gemma2-tokenizer"

# Floor and ceiling for measured tolerances (see README, "Tolerances").
TOL_MULT = 10.0
TOL_FLOOR = 1e-6
TOL_CEIL = 1e-4


def setup_determinism():
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    np.random.seed(0)


def fpath(*parts):
    return os.path.join(FIX, *parts)


# --------------------------------------------------------------------------------------------
# Deterministic random initialisation of every parameter.

def init_params(model, seed, gemma_norms=False):
    """Fill every parameter from a seeded fp64 normal stream, in sorted name order.

    * >=2-D weights: N(0,1)/sqrt(fan_in) (fan_in = numel of one output row);
    * biases: 0.1*N(0,1);
    * 1-D norm weights: 1 + 0.1*N(0,1) for x*w norms, 0.1*N(0,1) for Gemma's (1+w) norms;
    * any other 1-D parameter: 0.1*N(0,1).
    Activations stay O(1) through the tiny networks, so every op matters numerically.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            r = torch.randn(tuple(p.shape), generator=g, dtype=torch.float64)
            if p.ndim >= 2:
                v = r / math.sqrt(p[0].numel())
            elif name.endswith("bias"):
                v = 0.1 * r
            elif "norm" in name:
                v = 0.1 * r if gemma_norms else 1.0 + 0.1 * r
            else:
                v = 0.1 * r
            p.copy_(v.to(p.dtype))
    return model


def round_params_(model, dtype):
    """Round fp32 parameters through `dtype` in place (what is stored on disk is then exact)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(p.dtype))
    return model


# --------------------------------------------------------------------------------------------
# fp64 measurement mode: the reference code upcasts to fp32 in places (`.float()`,
# `.to(torch.float32)`, softmax(dtype=float32)); for measuring fp32 noise against a true fp64
# evaluation those casts are made no-ops for fp64 tensors while this context is active.

@contextlib.contextmanager
def f64_mode():
    T = torch.Tensor
    orig_float, orig_to = T.float, T.to
    orig_softmax = torch.nn.functional.softmax

    def _float(self, *a, **k):
        if self.dtype == torch.float64:
            return self
        return orig_float(self, *a, **k)

    def _is_f32(x):
        return x is torch.float32

    def _to(self, *args, **kwargs):
        if self.dtype == torch.float64:
            if any(_is_f32(a) for a in args) or _is_f32(kwargs.get("dtype")):
                args = tuple(torch.float64 if _is_f32(a) else a for a in args)
                if _is_f32(kwargs.get("dtype")):
                    kwargs["dtype"] = torch.float64
        return orig_to(self, *args, **kwargs)

    def _softmax(input, dim=None, _stacklevel=3, dtype=None):
        if input.dtype == torch.float64 and dtype is torch.float32:
            dtype = None
        return orig_softmax(input, dim=dim, dtype=dtype)

    T.float, T.to = _float, _to
    torch.nn.functional.softmax = _softmax
    try:
        yield
    finally:
        T.float, T.to = orig_float, orig_to
        torch.nn.functional.softmax = orig_softmax


def rel_err(a, b):
    a = a.detach().to(torch.float64)
    b = b.detach().to(torch.float64)
    denom = b.abs().max().item()
    num = (a - b).abs().max().item()
    if denom == 0.0:
        return num
    return num / denom


def tolerance_from(measured):
    """tol = TOL_MULT * measured, floored at TOL_FLOOR, rounded up to one significant digit."""
    t = max(TOL_MULT * measured, TOL_FLOOR)
    e = math.floor(math.log10(t))
    m = math.ceil(t / 10 ** e - 1e-9)
    return float("%de%d" % (m, e))


# --------------------------------------------------------------------------------------------
# Golden files and the case list.

def _contig32(t):
    t = t.detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float32)
    elif t.dtype == torch.bool:
        t = t.to(torch.int64)
    return t.contiguous().clone()


class Registry:
    def __init__(self):
        self.cases = []
        self.names = set()

    def add(self, name, kind, tensors, inputs, outputs, golden, model=None, params=None,
            tolerance=None, tolerances=None, measured=None, note=None, extra=None):
        """Write `tensors` to goldens/<golden> and record the case."""
        assert name not in self.names, name
        self.names.add(name)
        for k in list(inputs) + list(outputs):
            assert k in tensors, (name, k)
        os.makedirs(fpath("goldens"), exist_ok=True)
        rel = "goldens/" + golden
        save_file({k: _contig32(v) for k, v in tensors.items()}, fpath(rel))
        case = {"name": name, "kind": kind}
        if model is not None:
            case["model"] = model
        case["golden"] = rel
        case["inputs"] = list(inputs)
        case["outputs"] = list(outputs)
        case["params"] = params or {}
        if tolerances is not None and tolerance is None:
            tolerance = max(tolerances.values()) if tolerances else 0.0
        case["tolerance"] = tolerance
        if tolerances is not None:
            case["tolerances"] = tolerances
        if measured is not None:
            case["measured_f32_vs_f64"] = measured
        if note:
            case["note"] = note
        if extra:
            case.update(extra)
        self.cases.append(case)
        return case


def tolerances_for(outputs32, outputs64, names, ceil=TOL_CEIL, row_masks=None):
    """Per-output tolerance from the measured fp32-vs-fp64 error.

    row_masks: {output: mask tensor (B, T)}: measure only rows where the mask is 1 (text rows).
    """
    measured, tols = {}, {}
    row_masks = row_masks or {}
    for n in names:
        a, b = outputs32[n], outputs64[n]
        if n in row_masks:
            keep = row_masks[n].bool()
            a, b = a[keep], b[keep]
        m = rel_err(a, b)
        measured[n] = float("%.3g" % m)
        t = tolerance_from(m)
        if ceil is not None and t > ceil:
            print("note: %s measured %.3g; tolerance clamped to the ceiling %.3g" % (n, m, ceil))
            t = ceil
        tols[n] = t
    return tols, measured


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_index(registry, versions, extra_top=None):
    files, links = {}, {}
    for dirpath, dirnames, filenames in os.walk(FIX, followlinks=False):
        dirnames.sort()
        for d in list(dirnames):
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                links[os.path.relpath(full, FIX)] = os.readlink(full)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, FIX).replace(os.sep, "/")
            if rel == "index.json":
                continue
            if os.path.islink(full):
                links[rel] = os.readlink(full)
                continue
            files[rel] = sha256_of(full)
    index = {"format": 1, "versions": versions}
    if extra_top:
        index.update(extra_top)
    index["files"] = dict(sorted(files.items()))
    index["symlinks"] = dict(sorted(links.items()))
    index["cases"] = registry.cases
    with open(fpath("index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1, ensure_ascii=False, sort_keys=False)
        f.write("\n")
