#!/usr/bin/env python3
"""The public header passes no struct by value: every parameter and return type naming a
sana_* struct type (or any struct) is a pointer, and every params struct begins with
uint32_t struct_size and has an *_init function."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
code = re.sub(r"//[^\n]*", "", code)

structs = set(re.findall(r"typedef struct (\w+)\s*\{", code)) | set(re.findall(r"typedef struct \w+ (\w+);", code))
failures = []
decls = re.findall(r"SANA_API\s+([^;{]+?)\s*\(([^;]*?)\)\s*;", code, flags=re.S)
for ret, params in decls:
    name = ret.split()[-1].lstrip("*")
    rtype = " ".join(ret.split()[:-1]) + ("*" if ret.split()[-1].startswith("*") else "")
    for s in structs:
        if re.search(r"\b%s\b" % s, rtype) and "*" not in rtype:
            failures.append(f"{name}: returns struct {s} by value")
    for p in filter(None, (x.strip() for x in params.split(","))):
        for s in structs:
            if re.search(r"\b%s\b" % s, p) and "*" not in p:
                failures.append(f"{name}: parameter '{p}' passes a struct by value")

for body_name, body in re.findall(r"typedef struct (\w+)\s*\{(.*?)\}", code, flags=re.S):
    first = body.strip().split(";")[0].split()
    if body_name.endswith("_params") or body_name.endswith("_info"):
        if first != ["uint32_t", "struct_size"]:
            failures.append(f"{body_name}: does not begin with uint32_t struct_size")
        init = body_name + "_init"
        if not re.search(r"\b%s\s*\(" % init, code):
            failures.append(f"{body_name}: no {init}()")

print(f"check_header: {len(decls)} functions, {len(structs)} struct types checked")
for f in failures:
    print("check_header: " + f)
print(f"check_header: {0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
