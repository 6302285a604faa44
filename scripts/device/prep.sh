#!/usr/bin/env bash
# Run HERE (a machine with package registries), from the repository root, before the device `run`
# calls of a GPU session (docs/cuda_status.md, "How the next GPU session runs it"). Fills the
# git-ignored folders those calls carry:
#   .devdeps/    libpng, zlib and cJSON .debs (../shared/tools/device-deps.sh); the H200 image has
#                no development files for them
#   .whl/        diffusers at the oracle's pin (tests/reference/requirements.txt) and those of its
#                requirements that the image lacks (/work/.library/device/KINDS.md); the image's
#                transformers 5.17 serves bench/python/bench_diffusers_gpu.py (checked on the CPU)
#   .devshared/  ../shared/data/gemma2-tokenizer: test_tokenizer* read ../shared, which does not
#                travel (SANA_SHARED_DIR points the tests here; SANA_PREP_NO_TOKENIZER=1 skips it);
#                files identical to the fixture's copy are relative links to it
# then prints what one call sends (tracked + untracked-not-ignored files + these folders) and
# fails if that is over the 64 MiB a call may send.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f scripts/device/run.sh ] || { echo "prep.sh: run it inside the libsana repository" >&2; exit 1; }

for d in .devdeps .whl .devshared .devresults; do
    git check-ignore -q "$d/x" || { echo "prep.sh: $d/ is not ignored by git (.gitignore)" >&2; exit 1; }
done

# --- .devdeps: the .debs ------------------------------------------------------------------------
rm -rf .devdeps
if [ -d .git ]; then
    ../shared/tools/device-deps.sh >/dev/null
else
    # a worktree: .git is a file, and device-deps.sh's write to .git/info/exclude fails there;
    # the same download (.devdeps/ is in .gitignore already)
    mkdir -p .devdeps /tmp/amd64-lists/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64-lists)
    apt-get "${o[@]}" update -qq
    (cd .devdeps && apt-get "${o[@]}" download libpng16-16 libpng-dev zlib1g-dev libcjson1 libcjson-dev) >/dev/null
fi
n=$(find .devdeps -name '*.deb' | wc -l)
[ "$n" -ge 5 ] || { echo "prep.sh: expected 5 .debs in .devdeps, got $n" >&2; exit 1; }

# --- .whl: diffusers and what the image lacks -----------------------------------------------------
pin() { # NAME -> its version in the oracle's pins
    local v
    v=$(grep -i "^$1==" tests/reference/requirements.txt | head -n 1 | cut -d= -f3)
    [ -n "$v" ] || { echo "prep.sh: no pin for $1 in tests/reference/requirements.txt" >&2; exit 1; }
    echo "$v"
}
# diffusers' requirements (no extras) missing from the image: importlib_metadata (imported only
# on Python < 3.8, the image has 3.12; carried because the wheel names it) and its lazy-importer.
wheels=("diffusers==$(pin diffusers)" "importlib_metadata==$(pin importlib_metadata)"
        "lazy-importer==$(pin lazy-importer)")
rm -rf .whl
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${wheels[@]}"

# every requirement of every carried wheel is carried or in the image's package list
kinds=/work/.library/device/KINDS.md
if [ -f "$kinds" ]; then
    python3 - "$kinds" .whl <<'EOF'
import pathlib, re, sys, zipfile
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
env = {"python_version": "3.12", "python_full_version": "3.12.3", "platform_machine": "x86_64",
       "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
       "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
text = pathlib.Path(sys.argv[1]).read_text()
m = re.search(r"Packages: (.*?)\.\n", text)
have = {norm(p.strip()) for p in m.group(1).split(",")} if m else set()
# versions where KINDS.md gives them (the "pip list" row: "name 1.2.3, ..."); the others unknown
known = {}
for line in text.splitlines():
    if line.startswith("| pip list"):
        known.update((norm(n), v) for n, v in re.findall(r"([A-Za-z][\w.-]*) (\d+(?:\.\w+)+)(?=,| \|)", line))
carried, needs = {}, []
for w in pathlib.Path(sys.argv[2]).glob("*.whl"):
    carried[norm(w.name.split("-")[0])] = w.name.split("-")[1]
    with zipfile.ZipFile(w) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        for line in z.read(meta).decode().splitlines():
            if line.startswith("Requires-Dist:"):
                r = Requirement(line.split(":", 1)[1].strip())
                if r.marker is None or r.marker.evaluate(env):  # the image: CPython 3.12, no extras
                    needs.append((w.name, r))
missing = sorted({norm(r.name) for _, r in needs} - have - set(carried))
# a requirement's version range against the version that will be imported there (carried first:
# PYTHONPATH puts the carried wheels before the image's packages)
bad, unchecked = [], set()
for whl, r in needs:
    n = norm(r.name)
    v = carried.get(n) or known.get(n)
    if not str(r.specifier):
        continue
    if v is None:
        unchecked.add(f"{r.name}{r.specifier}")
    elif not r.specifier.contains(v, prereleases=True):
        bad.append(f"{whl} needs {r.name}{r.specifier}, {'carried' if n in carried else 'the image has'} {v}")
if not have:
    print("prep.sh: could not read the image's package list in", sys.argv[1], "- check by hand")
elif missing or bad:
    sys.exit("prep.sh: " + "; ".join((["required by the wheels, not in the image, not carried: " + ", ".join(missing)]
                                     if missing else []) + bad))
else:
    print("prep.sh: every requirement of .whl/* (CPython 3.12, no extras) is in the image or carried;"
          " version ranges checked against KINDS.md's pip list and the carried wheels"
          + (f" (not listed there, unchecked: {', '.join(sorted(unchecked))})" if unchecked else ""))
EOF
fi

# --- .devshared: the tokenizer the tests read from ../shared ---------------------------------------
rm -rf .devshared
if [ "${SANA_PREP_NO_TOKENIZER:-0}" != 1 ]; then
    mkdir -p .devshared/data
    cp -r ../shared/data/gemma2-tokenizer .devshared/data/
    chmod -R u+w .devshared
    # a file the fixtures hold too (tokenizer.json, 10.9 MiB, is byte for byte the fixture's) goes
    # as a relative link into the tree, which travels anyway: the call sends it once, not twice
    for f in .devshared/data/gemma2-tokenizer/*; do
        fx=tests/fixtures/sana_tiny/tokenizer/$(basename "$f")
        if [ -f "$fx" ] && cmp -s "$f" "$fx"; then
            ln -sf "../../../$fx" "$f"
        fi
    done
fi
mkdir -p .devresults # fetched results.json of earlier calls go here (see docs/cuda_status.md)
# kept (a session copies its calls' results in between calls), but an earlier session's files
# would be merged into this session's report and, with SANA_SKIP_DONE=1, skip steps on new code
if compgen -G ".devresults/*.json" >/dev/null; then
    echo "prep.sh: WARNING .devresults/ already holds $(ls .devresults/*.json | tr '\n' ' ')- delete them unless this" \
        "session's calls wrote them" >&2
fi

# --- what one call sends ----------------------------------------------------------------------------
bytes_of() { { xargs -0 -r stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}'; }
tree=$(git ls-files -z --cached --others --exclude-standard | bytes_of)
carry=0
for d in .devdeps .whl .devshared .devresults; do
    b=$(find "$d" -type f -print0 | bytes_of)
    printf '  %-12s %6.1f MiB\n' "$d" "$(echo "$b" | awk '{print $1 / 1048576}')"
    carry=$((carry + b))
done
total=$((tree + carry))
printf '  %-12s %6.1f MiB\n' "tree" "$(echo "$tree" | awk '{print $1 / 1048576}')"
printf 'prep.sh: one call sends %.1f MiB of 64 MiB (carry: [".devdeps", ".whl", ".devshared", ".devresults"])\n' \
    "$(echo "$total" | awk '{print $1 / 1048576}')"
ls .whl
if [ ! -d .git ]; then
    # /work/.library/device/README.md, Notes: a call sends the checkout the session was started
    # in, also when a helper calls from its own worktree
    echo "prep.sh: NOTE this is a linked git worktree: the device tool sends the checkout its session was" \
        "started in, not this one (its own carried folders, its working tree): run prep.sh there, and land" \
        "the code a call should run there first" >&2
fi
[ "$total" -le $((64 * 1024 * 1024)) ] || {
    echo "prep.sh: over the 64 MiB limit: SANA_PREP_NO_TOKENIZER=1, or ignore big untracked files" >&2
    exit 1
}
