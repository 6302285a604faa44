#!/usr/bin/env python3
"""Rewrites one CUDA source (.cu) into C++ the host compiler builds against tests/cuemu/cuemu.h.

Only two constructs change, everything else is copied byte for byte:
  name<<<grid, block[, smem[, stream]]>>>(args);
      -> cuemu::launch(grid, block, smem, stream,
                       [=, cuemu_args = std::make_tuple(args)]() {
                           std::apply([&](auto &...cuemu_a) { name(cuemu_a...); }, cuemu_args); },
                       "name");
         (on one line, or on the lines the launch took)
  extern __shared__ [__align__(n)] T name[];
      -> T *name = (T *)cuemu::dyn_smem();
Newlines inside a rewritten construct are kept and a #line directive leads the output, so the
compiler's line numbers are those of the .cu file.

usage: cuemu_prep.py IN.cu OUT.cc
"""
import os
import re
import sys

SHARED = re.compile(r"extern\s+__shared__\s+(?P<decl>[^;\[\]]+?)\s*\[\s*\]\s*;")
ALIGN = re.compile(r"__align__\s*\(\s*\d+\s*\)")


def code_mask(src):
    """True for each character of code, False inside comments, string and char literals."""
    mask = [True] * len(src)
    i, n = 0, len(src)
    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif src[i] in "\"'":
            q, j = src[i], i + 1
            while j < n and src[j] != q:
                j += 2 if src[j] == "\\" else 1
            j += 1
        else:
            i += 1
            continue
        for k in range(i, min(j, n)):
            mask[k] = False
        i = j
    return mask


def fail(src, pos, path, why):
    line = src.count("\n", 0, pos) + 1
    sys.exit(f"{path}:{line}: cuemu_prep: {why}")


def match_forward(src, mask, i, path):
    """i at an opening '('; returns the index after its matching ')'."""
    depth = 0
    for j in range(i, len(src)):
        if not mask[j]:
            continue
        if src[j] in "([{":
            depth += 1
        elif src[j] in ")]}":
            depth -= 1
            if depth == 0:
                return j + 1
    fail(src, i, path, "unbalanced parentheses in a launch")


def kernel_start(src, mask, end, path):
    """The start of the kernel expression ending at `end` (an identifier, maybe qualified, maybe
    with template arguments: name, ns::name, name<T, 4>)."""
    i = end
    while i > 0 and src[i - 1].isspace():
        i -= 1
    if src[i - 1] == ">":  # template arguments: walk back to the matching '<'
        depth = 0
        while i > 0:
            i -= 1
            if not mask[i]:
                continue
            if src[i] == ">":
                depth += 1
            elif src[i] == "<":
                depth -= 1
                if depth == 0:
                    break
        while i > 0 and src[i - 1].isspace():
            i -= 1
    j = i
    while j > 0 and (src[j - 1].isalnum() or src[j - 1] in "_:"):
        j -= 1
    if j == i:
        fail(src, end, path, "no kernel name before <<<")
    return j


def split_top(text):
    """Splits at commas outside parentheses, brackets, braces and template angle brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def rewrite_launches(src, path):
    out, pos = [], 0
    mask = code_mask(src)
    while True:
        k = src.find("<<<", pos)
        while k >= 0 and not mask[k]:
            k = src.find("<<<", k + 3)
        if k < 0:
            out.append(src[pos:])
            return "".join(out)
        start = kernel_start(src, mask, k, path)
        e = src.find(">>>", k + 3)
        if e < 0:
            fail(src, k, path, "<<< without >>>")
        config = split_top(src[k + 3:e])
        if not 2 <= len(config) <= 4:
            fail(src, k, path, "a launch takes 2 to 4 configuration arguments")
        config += ["0", "0"][: 4 - len(config)]
        a = e + 3
        while a < len(src) and src[a].isspace():
            a += 1
        if src[a:a + 1] != "(":
            fail(src, e, path, "no argument list after >>>")
        close = match_forward(src, mask, a, path)
        name = src[start:k].rstrip()
        gap = src[e + 3:a]  # whitespace between >>> and '(' (newlines kept)
        out.append(src[pos:start])
        label = " ".join(name.split())
        # the arguments are evaluated once, at the launch, into a tuple each thread passes on
        # (as CUDA copies them at the launch); `name` itself may be a local function pointer
        out.append(f"::cuemu::launch({','.join(config)},{gap}[=, cuemu_args = ::std::make_tuple"
                   f"{src[a + 1:close - 1].join('()')}]() {{ ::std::apply([&](auto &...cuemu_a) "
                   f'{{ {name}(cuemu_a...); }}, cuemu_args); }}, "{label}")')
        pos = close


def rewrite_shared(src):
    def one(m):
        decl = ALIGN.sub(" ", m.group("decl")).split()
        typ, name = " ".join(decl[:-1]), decl[-1]
        nl = "\n" * m.group(0).count("\n")
        return f"{typ} *{name} = ({typ} *)::cuemu::dyn_smem();{nl}"
    return SHARED.sub(one, src)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src_path, out_path = sys.argv[1], sys.argv[2]
    with open(src_path, encoding="utf-8") as f:
        src = f.read()
    body = rewrite_shared(rewrite_launches(src, src_path))
    escaped = src_path.replace("\\", "\\\\").replace('"', '\\"')
    text = f'#line 1 "{escaped}"\n' + body
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
