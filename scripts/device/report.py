#!/usr/bin/env python3
"""Results of scripts/device/run.sh: collect them into one file, and print the short table that
ends a device call (stdlib only: it also runs here, on the fetched files).

  report.py collect [--dryrun] RESULTS_DIR OUT_JSON [EARLIER.json...]
      every step run.sh recorded in RESULTS_DIR (TAG.meta, TAG.out, TAG.err) plus the records of
      earlier calls (results.json files fetched back and carried in .devresults/), the newest
      record of each tag winning, into OUT_JSON; earlier records of the other kind of run (a
      rehearsal's with --dryrun absent, a GPU call's with it) are left out with a warning, so
      that a rehearsal's file left in .devresults can neither fill a GPU report nor make
      SANA_SKIP_DONE=1 skip a step
  report.py done TAG RESULTS.json
      exit 0 when RESULTS.json holds an ok record of TAG (run.sh's SANA_SKIP_DONE=1)
  report.py report RESULTS.json...
      the table: step times, ctest summaries, the ceilings, stage medians of libsana and
      diffusers side by side, and the targets of issue 8 (ratios, loop vs FLOP floor, peaks)

A step's record: tag, kind (build, ctest, ceilings, libsana, diffusers, info), config, rc (an
int; 124/137 timed out; "skipped"), wall_s, time, cmd, note, plus json (the benchmark's JSON
object), ctest (summary), tail (the last lines of its output when it failed)."""
import glob
import json
import os
import re
import sys

STAGES = ["text_encode", "dit_step", "loop", "decode", "end_to_end"]
NOMINAL_TFLOPS = 790.0  # KINDS.md: 769-798 TFLOP/s measured on an 8192^3 bf16 product


def last_json(text):
    """The last line of text that parses as a JSON object (the benchmarks print one)."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    # sana-bench prints its object over a few lines
    start = text.rfind('{"bench"')
    if start >= 0:
        try:
            return json.loads(text[start:])
        except ValueError:
            pass
    return None


def ctest_summary(text):
    m = re.search(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", text)
    if not m:
        return None
    failed = re.findall(r"^\s*\d+ - (\S+) \((?!Skipped|Not Run)[^)]*\)", text.split("The following tests FAILED:")[-1],
                        re.M) if "The following tests FAILED:" in text else []
    skipped = re.findall(r"^\s*\d+ - (\S+) \((?:Skipped|Not Run)\)", text, re.M)
    # what passed without testing all it should (test_cuda_conv when cuDNN does not load)
    warnings = sorted({ln.strip() for ln in text.splitlines() if "NOT tested" in ln})
    return {"passed_pct": int(m.group(1)), "failed": int(m.group(2)), "total": int(m.group(3)),
            "failed_names": failed, "skipped_names": sorted(set(skipped)), "warnings": warnings}


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def collect(rdir, out_path, earlier, dryrun=False):
    records = {}
    for path in earlier:  # earlier calls first: this call's records of the same tag win
        try:
            with open(path) as f:
                recs = json.load(f).get("records", {})
            other = sorted(tag for tag, rec in recs.items() if bool(rec.get("dryrun")) != dryrun)
            if other and not os.path.exists(out_path):  # once per call: run.sh collects after every step
                print(f"report.py: {path}: {len(other)} records of a {'GPU call' if dryrun else 'dry run'} "
                      f"left out of this {'dry run' if dryrun else 'GPU call'} ({', '.join(other[:4])}"
                      f"{', ...' if len(other) > 4 else ''})", file=sys.stderr)
            for tag, rec in recs.items():
                if tag in other:
                    continue
                rec.setdefault("from", os.path.basename(path))
                if tag not in records or rec.get("time", 0) >= records[tag].get("time", 0):
                    records[tag] = rec
        except (OSError, ValueError) as e:
            print(f"report.py: {path}: {e}", file=sys.stderr)
    for meta in sorted(glob.glob(os.path.join(rdir, "*.meta"))):
        try:
            with open(meta) as f:
                rec = json.loads(f.read())
        except ValueError as e:
            print(f"report.py: {meta}: {e}", file=sys.stderr)
            continue
        base = meta[:-5]
        out, err = read(base + ".out"), read(base + ".err")
        if rec.get("kind") in ("libsana", "diffusers", "ceilings"):
            rec["json"] = last_json(out)
        if rec.get("kind") == "ctest":
            rec["ctest"] = ctest_summary(out)
        if rec.get("kind") == "info":
            rec["note"] = out.strip()[:400]
        ok = rec.get("rc") == 0 and (rec.get("kind") not in ("libsana", "diffusers", "ceilings") or rec["json"])
        if not ok and rec.get("rc") != "skipped":
            text = (err.strip() + "\n" + out.strip()) if rec.get("kind") in ("libsana", "diffusers") else out + err
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if rec.get("kind") == "build":  # the compiler's complaints, then the end
                errs = [ln for ln in lines if re.search(r"error|Error|FAILED", ln)][:20]
                lines = errs + [ln for ln in lines[-10:] if ln not in errs]
            if rec.get("kind") == "ctest":  # the failed checks (tests/harness.h) and the verdicts
                bad = [ln for ln in lines if re.search(
                    r"CHECK\(.*failed|(^|: )FAIL |passed, [1-9]\d* failed|\*\*\*(Failed|Timeout|Exception)|SKIP:"
                    r"|NOT tested|DIFFERENT", ln)]
                lines = bad[:24] + [ln for ln in lines[-6:] if ln not in bad]
            rec["tail"] = lines[-30:]
        if rec.get("tag") not in records or rec.get("time", 0) >= records[rec["tag"]].get("time", 0):
            records[rec["tag"]] = rec
    doc = {"records": records}
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, out_path)


# --- the table ------------------------------------------------------------------------------------

def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def rc_word(rec):
    rc = rec.get("rc")
    if rc == "skipped":
        return "SKIPPED"
    if rc in (124, 137):
        return "TIMEOUT"
    if rc != 0:
        return f"FAIL(rc {rc})"
    if rec.get("kind") in ("libsana", "diffusers", "ceilings") and not rec.get("json"):
        return "FAIL(no JSON)"
    if rec.get("kind") == "ctest" and rec.get("ctest") and rec["ctest"]["failed"]:
        return f"FAIL({rec['ctest']['failed']})"
    return "ok"


def run_name(rec):
    """libsana, libsana no-graph, diffusers eager, diffusers compile: the tag's head"""
    return rec["tag"].split("_")[0].replace("-", " ").replace("nograph", "no-graph")


def report(paths):
    records = {}
    for p in paths:
        with open(p) as f:
            for tag, rec in json.load(f).get("records", {}).items():
                if tag not in records or rec.get("time", 0) >= records[tag].get("time", 0):
                    records[tag] = rec
    if not records:
        print("report: no results")
        return 1
    recs = sorted(records.values(), key=lambda r: r.get("time", 0))
    dry = any(r.get("dryrun") for r in recs)
    dev = next((r["json"].get("device") for r in recs if r.get("kind") == "diffusers" and r.get("json")), None)
    cl = next((r["json"] for r in recs if r.get("kind") == "ceilings" and r.get("json") and "error" not in r["json"]),
              None)
    dev = (cl or {}).get("device", dev)
    gpu = records.get("gpu", {}).get("note")
    dev = dev or (gpu.split(",")[0] if gpu else None)
    print("=" * 100)
    print(f"libsana device run report{' (DRY RUN on the CPU: tiny shapes, numbers mean nothing)' if dry else ''}"
          f"  device: {dev or '?'}")
    print("steps: " + " | ".join(f"{r['tag']} {fmt(r.get('wall_s'), 0)}s {rc_word(r)}" for r in recs))
    for r in recs:
        if r.get("kind") == "ctest":
            c = r.get("ctest")
            if c:
                print(f"{r['tag']}: {c['passed_pct']}% passed, {c['failed']} failed of {c['total']}"
                      + (f"; FAILED: {' '.join(c['failed_names'])}" if c["failed_names"] else "")
                      + (f"; skipped: {' '.join(c['skipped_names'])}" if c["skipped_names"] else ""))
                for w in c.get("warnings", [])[:4]:
                    print(f"  WARNING {w[:150]}")
                if not r.get("dryrun") and any("cuda" in n for n in c["skipped_names"]):
                    print("  WARNING CUDA tests skipped on the GPU machine: no CUDA context (see the gpu: line)")
            else:
                print(f"{r['tag']}: no ctest summary ({rc_word(r)})")
        if r.get("kind") == "info" and r.get("note"):
            print(f"{r['tag']}: {r['note']}")
    # the last lines of failed steps first: the table and the targets end the output (a device
    # call brings back only its last 12,000 characters)
    failed = [r for r in recs if r.get("tail")]
    for r in failed[-6:]:
        print(f"--- {r['tag']} ({rc_word(r)}), last lines:")
        for ln in r["tail"][-(20 if r.get("kind") == "ctest" else 10):]:
            print("    " + ln[:160])
    rate, rate_src = NOMINAL_TFLOPS, "nominal (no ceilings measured)"
    if cl:
        rate, rate_src = cl["matmul_tflops_median"], "measured"
        print(f"ceilings: bf16 {cl['matmul_shape'][0]}^3 matmul {cl['matmul_tflops_median']:.0f} TFLOP/s median "
              f"(best {cl['matmul_tflops_best']:.0f}), device copy {cl['copy_tbps_median']:.2f} TB/s")

    # stage medians, side by side
    bench = [r for r in recs if r.get("kind") in ("libsana", "diffusers")]
    order = {"libsana": 0, "libsana no-graph": 1, "libsana gemmconv": 2, "diffusers eager": 3, "diffusers compile": 4}
    bench.sort(key=lambda r: (r.get("config") or "", order.get(run_name(r), 9), r["tag"]))
    print(f"\n{'config':<13}{'run':<20}{'text':>8}{'step':>8}{'loop':>9}{'decode':>9}{'e2e':>9}{'img/s':>7}"
          f"{'peak GB':>9}{'TFLOP/s':>9}  (ms; medians)")
    for r in bench:
        j = r.get("json")
        if not j:
            print(f"{r.get('config') or '?':<13}{run_name(r)[:19]:<20}{rc_word(r)}")
            continue
        t = j.get("times_ms") or {}
        peak = j.get("peak_device_bytes")
        print(f"{r.get('config') or '?':<13}{run_name(r)[:19]:<20}" + "".join(
            f"{fmt(t.get(s), 2 if s == 'dit_step' else 1):>{8 if s in ('text_encode', 'dit_step') else 9}}"
            for s in STAGES) + f"{fmt(j.get('images_per_second'), 2):>7}{fmt(peak / 1e9 if peak else None, 2):>9}"
            f"{fmt(j.get('dit_tflops_achieved'), 0):>9}")

    # the targets of issue 8
    def find(name, config):  # the JSON of one run (run_name) of one config
        for r in bench:
            if run_name(r) == name and r.get("config") == config and r.get("json"):
                return r["json"]
        return None

    def t(j, s):
        return (j or {}).get("times_ms", {}).get(s)

    print("\ntargets (issue 8):")
    lib, eager = find("libsana", "sana-0.6b"), find("diffusers eager", "sana-0.6b")
    comp = find("diffusers compile", "sana-0.6b")

    def line(name, value, target, ok, extra=""):
        verdict = "?" if ok is None else ("PASS" if ok else "MISS")
        print(f"  {name:<44}{value:>10}  {target:<9}{verdict:<6}{extra}")

    for peer, pname, need in ((eager, "eager", 3.0), (comp, "compile", 1.5)):
        a, b = t(lib, "end_to_end"), t(peer, "end_to_end")
        x = b / a if a and b else None
        line(f"sana-0.6b e2e speed-up vs diffusers {pname}", fmt(x, 2) + "x" if x else "-", f">= {need}x",
             None if x is None else x >= need, f"{fmt(a)} vs {fmt(b)} ms" if a and b else "")
    if lib and t(lib, "loop") and lib.get("dit_tflop_per_step"):
        flop = lib["dit_tflop_per_step"] * lib.get("steps", 20)
        floor_ms = flop / rate * 1e3
        x = t(lib, "loop") / floor_ms
        line("sana-0.6b loop / FLOP floor", f"{x:.2f}x", "<= 1.6x", x <= 1.6,
             f"loop {t(lib, 'loop'):.1f} ms, floor {floor_ms:.1f} ms = {flop:.1f} TFLOP at {rate:.0f} TFLOP/s ({rate_src})")
    else:
        line("sana-0.6b loop / FLOP floor", "-", "<= 1.6x", None)
    for peer, pname in ((eager, "eager"), (comp, "compile")):
        a, b = (lib or {}).get("peak_device_bytes"), (peer or {}).get("peak_device_bytes")
        x = a / b if a and b else None
        line(f"sana-0.6b peak / diffusers {pname}", f"{x * 100:.0f}%" if x else "-", "<= 60%",
             None if x is None else x <= 0.6, f"{a / 1e9:.2f} vs {b / 1e9:.2f} GB" if x else "")
    big = find("libsana", "sana-1.6b-4k")
    p = (big or {}).get("peak_device_bytes")
    done = big is not None and t(big, "end_to_end") is not None
    line("sana-1.6b-4k completes, peak", f"{p / 1e9:.2f} GB" if p else "-", "< 24 GB",
         None if not big or (done and p is None) else (done and p < 24e9),
         "" if done or not big else "did not complete: " + "; ".join(f"{k}: {v}" for k, v in big.get("errors", {}).items()))
    sp = t(find("libsana", "sprint-0.6b"), "end_to_end")
    line("sprint-0.6b e2e", f"{sp:.1f} ms" if sp else "-", "< 40 ms", None if sp is None else sp < 40)
    nog = find("libsana no-graph", "sana-0.6b")
    if nog and lib and t(nog, "loop") and t(lib, "loop"):
        print(f"  graph replay: loop {t(lib, 'loop'):.1f} ms vs {t(nog, 'loop'):.1f} ms without graphs")
    gc = find("libsana gemmconv", "sana-0.6b")
    if gc and lib and t(gc, "decode") and t(lib, "decode"):
        print(f"  convolutions: decode {t(lib, 'decode'):.1f} ms (default: cuDNN when it loads) vs "
              f"{t(gc, 'decode'):.1f} ms with SANA_CUDA_CONV=gemm")

    # the JSON keys the two programs share (report.c: the same keys)
    lk = next((set(r["json"]) for r in bench if r["kind"] == "libsana" and r.get("json")), None)
    dk = next((set(r["json"]) for r in bench if r["kind"] == "diffusers" and r.get("json")), None)
    if lk and dk:
        miss = sorted(lk - dk)
        print(f"JSON keys: diffusers lacks {miss}" if miss else
              f"JSON keys: the same ({len(lk)}); diffusers' extras: {sorted(dk - lk)}")

    errs = [(r["tag"], k, v) for r in bench for k, v in ((r.get("json") or {}).get("errors") or {}).items()]
    for tag, k, v in errs:
        print(f"error: {tag}: {k}: {v[:200]}")
    print("=" * 100)
    return 0


def is_done(tag, path):
    """0 when path (a results.json) holds an ok record of tag (SANA_SKIP_DONE=1 in run.sh)."""
    try:
        with open(path) as f:
            rec = json.load(f).get("records", {}).get(tag)
    except (OSError, ValueError):
        return 1
    return 0 if rec and rc_word(rec) == "ok" else 1


def main(argv):
    if len(argv) == 3 and argv[0] == "done":
        return is_done(argv[1], argv[2])
    if len(argv) >= 3 and argv[0] == "collect":
        dry = argv[1] == "--dryrun"
        args = argv[2:] if dry else argv[1:]
        if len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        collect(args[0], args[1], args[2:], dry)
        return 0
    if len(argv) >= 2 and argv[0] == "report":
        return report(argv[1:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
