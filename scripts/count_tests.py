#!/usr/bin/env python3
"""count_tests.py TESTLOG LABEL — count cmocka test cases in a meson testlog.

Each meson test is a cmocka executable; its stdout/stderr hold lines like
"[       OK ] test_name" and "[  FAILED  ] test_name". An executable that
crashed or timed out without reporting its cases counts as one failure, so
nothing broken can hide as "no tests".
Prints PASS/FAIL lines per case and "TOTAL passed failed"."""
import json
import re
import sys

ok_re = re.compile(r"^\[\s+OK\s+\] (\S+)", re.M)
fail_re = re.compile(r"^\[\s+(?:FAILED|ERROR)\s+\] (\S+)", re.M)

passed = failed = 0
label = sys.argv[2] if len(sys.argv) > 2 else "unit"
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        oks = ok_re.findall(out)
        fails = [n for n in fail_re.findall(out) if not n.isdigit()]
        fails = sorted(set(fails))
        for n in oks:
            print(f"PASS: {label}/{t['name']}/{n}")
        for n in fails:
            print(f"FAIL: {label}/{t['name']}/{n}")
        passed += len(oks)
        failed += len(fails)
        if t.get("result") != "OK" and not fails:
            print(f"FAIL: {label}/{t['name']}: {t.get('result')} (exit {t.get('returncode')})")
            failed += 1
        elif t.get("result") == "OK" and not oks:
            print(f"FAIL: {label}/{t['name']}: ran no test case")
            failed += 1
print(f"TOTAL {passed} {failed}")
