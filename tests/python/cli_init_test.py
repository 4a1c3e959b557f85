#!/usr/bin/env python3
"""`blueprint init` end to end: the JSON report has its keys, and its fingerprint is the library's.

Usage: cli_init_test.py BLUEPRINT_BINARY EXAMPLE_MATERIALIZE_TINY_BINARY

The library's fingerprint comes from examples/materialize_tiny.cpp (tiny-llama, bf16, the seed
given on its command line), a separate program that calls blueprint::materialize directly.
Checks: required keys and their types; the fingerprint does not depend on --threads or --poison;
it equals the example's; a different seed or dtype changes it; bad arguments fail with a message.
Exit status 0 on success.
"""
import json
import re
import subprocess
import sys

REQUIRED = {
    "model": str,
    "parameters": int,
    "bytes": int,
    "alloc_seconds": float,
    "init_seconds": float,
    "init_gb_per_s": float,
    "peak_rss_bytes": int,
    "fingerprint": str,
    "seed": int,
    "dtype": str,
    "threads": int,
}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def init_json(blueprint, *args):
    r = run([blueprint, "init", "tiny-llama", "--json", *args])
    if r.returncode != 0:
        raise AssertionError(f"blueprint init {' '.join(args)} failed: {r.stderr}")
    return json.loads(r.stdout)


def main():
    blueprint, example = sys.argv[1], sys.argv[2]
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)

    report = init_json(blueprint, "--seed", "1234", "--threads", "1")
    for key, kind in REQUIRED.items():
        check(key in report, f"key {key} missing")
        if key in report:
            value = report[key]
            ok = isinstance(value, (int, float)) if kind is float else isinstance(value, kind)
            check(ok, f"key {key} has type {type(value).__name__}, expected {kind.__name__}")
    check(re.fullmatch(r"[0-9a-f]{16}", report.get("fingerprint", "")) is not None,
          f"fingerprint is not 16 hex digits: {report.get('fingerprint')}")
    check(report.get("model") == "tiny-llama", "model name")
    check(report.get("dtype") == "bf16", "default dtype is bf16")
    check(report.get("seed") == 1234, "seed echoed")
    check(report.get("threads") == 1, "threads echoed")
    check(report.get("bytes", 0) >= 2 * report.get("parameters", 0), "bf16 arena holds the parameters")
    check(report.get("peak_rss_bytes", 0) > 0, "peak RSS reported")

    fp = report["fingerprint"]
    for extra in (["--threads", "3"], ["--threads", "2", "--poison"], ["--alignment", "4096"]):
        other = init_json(blueprint, "--seed", "1234", *extra)
        check(other["fingerprint"] == fp, f"fingerprint changes with {' '.join(extra)}")
    check(init_json(blueprint, "--seed", "1235")["fingerprint"] != fp, "seed changes the fingerprint")
    check(init_json(blueprint, "--seed", "1234", "--dtype", "f32")["fingerprint"] != fp,
          "dtype changes the fingerprint")

    # Init stream v2 (--init-stream): other normal values, the same for any thread count (any
    # mesh: tests/unit/test_init_stream.cpp), echoed in the JSON.
    v2 = init_json(blueprint, "--seed", "1234", "--init-stream", "v2")
    check(v2.get("init_stream") == "v2" and report.get("init_stream") == "v1",
          "init_stream echoed (v1 the default)")
    check(v2["fingerprint"] != fp, "init stream v2 changes the normal values")
    check(init_json(blueprint, "--seed", "1234", "--init-stream", "v2", "--threads", "3")
          ["fingerprint"] == v2["fingerprint"], "v2 does not depend on the thread count")
    # Init stream v3 (16-bit inverse CDF): a third set of normal values, thread-count free too.
    v3 = init_json(blueprint, "--seed", "1234", "--init-stream", "v3")
    check(v3.get("init_stream") == "v3", "init_stream v3 echoed")
    check(v3["fingerprint"] not in (fp, v2["fingerprint"]), "init stream v3 has its own values")
    check(init_json(blueprint, "--seed", "1234", "--init-stream", "v3", "--threads", "3")
          ["fingerprint"] == v3["fingerprint"], "v3 does not depend on the thread count")
    bad = run([blueprint, "init", "tiny-llama", "--init-stream", "v9"])
    check(bad.returncode != 0 and "v9" in bad.stderr, "an unknown init stream is named")

    r = run([example, "1234"])
    check(r.returncode == 0, f"example failed: {r.stderr}")
    m = re.search(r"fingerprint ([0-9a-f]{16})", r.stdout)
    check(m is not None and m.group(1) == fp,
          f"library fingerprint {m.group(1) if m else None} != blueprint init's {fp}")

    bad = run([blueprint, "init", "tiny-llama", "--dtype", "f12"])
    check(bad.returncode != 0 and "f12" in bad.stderr, "unknown dtype is reported")
    bad = run([blueprint, "init", "no-such-model"])
    check(bad.returncode != 0 and "no-such-model" in bad.stderr, "unknown model is reported")

    # The command line (CLI11): unknown options and extra arguments are errors, every subcommand
    # that takes --mesh takes the same plan options, and the library's parsers name bad values.
    bad = run([blueprint, "init", "tiny-llama", "--bogus"])
    check(bad.returncode != 0 and "--bogus" in bad.stderr, "an unknown option is rejected")
    bad = run([blueprint, "plan", "tiny-llama", "--mesh", "tp=2", "extra"])
    check(bad.returncode != 0 and "extra" in bad.stderr, "an extra argument is rejected")
    bad = run([blueprint, "init", "tiny-llama", "--threads", "5000"])
    check(bad.returncode != 0 and "5000" in bad.stderr, "--threads out of range is rejected")
    for sub in ("init", "plan", "load", "convert"):
        h = run([blueprint, sub, "--help"])
        for option in ("--mesh", "--strategy", "--pad-vocab", "--head-dim", "--stages", "--role"):
            check(h.returncode == 0 and option in h.stdout, f"{sub} --help lists {option}")
    no_pad = run([blueprint, "plan", "gpt2", "--mesh", "tp=2"])
    check(no_pad.returncode != 0 and "vocab padding" in no_pad.stderr,
          "a vocab tp does not divide is reported with the way out")
    padded = run([blueprint, "plan", "gpt2", "--mesh", "tp=2", "--pad-vocab", "--json"])
    check(padded.returncode == 0 and json.loads(padded.stdout)["world_size"] == 2,
          "--pad-vocab plans what it names")
    bad = run([blueprint, "plan", "tiny-llama", "--mesh", "pp=2", "--stages", "1,x"])
    check(bad.returncode != 0 and "stage boundary 'x'" in bad.stderr, "a bad stage list is named")
    bad = run([blueprint, "plan", "tiny-llama", "--mesh", "tp=2", "--role", "*.weight=diagonal"])
    check(bad.returncode != 0 and "role 'diagonal'" in bad.stderr, "a bad role is named")
    bad = run([blueprint, "init", "tiny-llama", "--alignment", "100"])
    check(bad.returncode != 0 and "alignment 100" in bad.stderr, "a bad alignment is named")
    bad = run([blueprint, "load", "tiny-llama", "nowhere", "--dtype", "bf16", "--missing", "maybe"])
    check(bad.returncode != 0 and "'maybe'" in bad.stderr, "a bad missing policy is named")

    for f in failures:
        print("FAIL:", f)
    print("cli_init_test:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
