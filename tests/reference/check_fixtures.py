#!/usr/bin/env python3
"""Verify tests/fixtures against tests/fixtures/index.json (stdlib only: no torch, no numpy).

Usage: python3 tests/reference/check_fixtures.py [fixtures_dir]

Checks that every file listed in index.json["files"] exists and matches its sha256, that every
case's golden (and model folder, if any) exists, and that no unlisted file sits in the fixtures
tree (except index.json itself), and that the symlinks listed in index.json["symlinks"] exist
with the recorded targets. Exits 0 when all is well, 1 otherwise; prints one summary line.
"""
import hashlib
import json
import os
import sys


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = argv[1] if len(argv) > 1 else os.path.join(here, "..", "fixtures")
    root = os.path.abspath(root)
    index_path = os.path.join(root, "index.json")
    errors = []
    try:
        with open(index_path, "r", encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print("check_fixtures: FAIL: cannot read %s: %s" % (index_path, e))
        return 1
    if index.get("format") != 1:
        errors.append("unknown index format %r" % index.get("format"))
    files = index.get("files", {})
    for rel, digest in sorted(files.items()):
        p = os.path.join(root, rel)
        if not os.path.isfile(p):
            errors.append("missing file: %s" % rel)
            continue
        got = sha256_of(p)
        if got != digest:
            errors.append("sha256 mismatch: %s (index %s, file %s)" % (rel, digest, got))
    for rel, target in sorted(index.get("symlinks", {}).items()):
        p = os.path.join(root, rel)
        if not os.path.islink(p):
            errors.append("missing symlink: %s -> %s" % (rel, target))
        elif os.readlink(p) != target:
            errors.append("symlink %s -> %s (index says %s)" % (rel, os.readlink(p), target))
        elif not os.path.exists(p):
            errors.append("dangling symlink: %s -> %s" % (rel, target))
    # Every regular file (following symlinked dirs/files) must be listed.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if rel == "index.json" or os.path.islink(full):
                continue
            if rel not in files:
                errors.append("file not in index: %s" % rel)
    cases = index.get("cases", [])
    names = set()
    for case in cases:
        name = case.get("name")
        if name in names:
            errors.append("duplicate case name: %s" % name)
        names.add(name)
        golden = case.get("golden")
        if golden:
            if not os.path.isfile(os.path.join(root, golden)):
                errors.append("case %s: missing golden %s" % (name, golden))
            elif golden not in files:
                errors.append("case %s: golden %s not in files" % (name, golden))
        model = case.get("model")
        if model and not os.path.isdir(os.path.join(root, model)):
            errors.append("case %s: missing model folder %s" % (name, model))
        if "tolerance" not in case:
            errors.append("case %s: no tolerance" % name)
    for e in errors:
        print("check_fixtures: " + e)
    status = "FAIL" if errors else "OK"
    print("check_fixtures: %s: %d files, %d cases, %d errors (%s)"
          % (status, len(files), len(cases), len(errors), root))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
