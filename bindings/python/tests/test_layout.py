"""The ctypes structs match the C header byte for byte (the yzma#289 lesson): compile a C
program that prints sizeof/offsetof of every field, and compare."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest

from sana import _native as N
from conftest import INCLUDE_DIR


def test_structs_match_the_header(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.fail("no C compiler found to check the struct layouts (set CC)")
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <sana/sana.h>", "int main(void) {"]
    for cname, py in N.STRUCTS.items():
        lines.append(f'printf("{cname} size %zu\\n", sizeof({cname}));')
        for field, _ in py._fields_:
            lines.append(f'printf("{cname} {field} %zu\\n", offsetof({cname}, {field}));')
    lines += ["return 0;", "}"]
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", INCLUDE_DIR, str(src), "-o", str(exe)], check=True)
    got = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split("\n")
    want = []
    for cname, py in N.STRUCTS.items():
        want.append(f"{cname} size {ctypes.sizeof(py)}")
        for field, _ in py._fields_:
            want.append(f"{cname} {field} {getattr(py, field).offset}")
    assert [g for g in got if g] == want


def test_every_public_function_is_declared():
    # Each sana_* in the header that Python uses has a signature; the rest are listed here so a
    # new function in the header is a conscious decision for the binding.
    header = open(os.path.join(INCLUDE_DIR, "sana", "sana.h")).read()
    import re

    public = set(re.findall(r"SANA_API\s+[^;(]*?\b(sana_\w+)\s*\(", header))
    declared = set(N._SIGNATURES)
    not_bound = {"sana_image_pixels_const"}  # image pixels are read through sana_image_pixels
    assert declared <= public, declared - public
    assert public - declared == not_bound, sorted(public - declared ^ not_bound)
