#!/usr/bin/env python3
"""How the per-site rule classifies real code: every call site of a hooked
function in the ELF programs of a directory (default /usr/bin) and the
libraries they load, as `eintrfix check` finds them, each object counted
once. Prints the totals by verdict and by function, the objects with the
most sites that handle EINTR, and with --sample N a reproducible random
sample of sites (object, address, function, verdict) to check by hand
against the disassembly (objdump -d --start-address=ADDR-48).

Usage: bench/site_census.py [--dir DIR] [--sample N] [--seed S].
A measurement, not a test: it always exits 0.
"""

import argparse
import collections
import os
import random
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "target", "release", "eintrfix")
OBJECT = re.compile(r"^  (\S+): (\d+) call sites of hooked functions")
SITE = re.compile(r"^    site (0x[0-9a-f]+) (\S+) (handles|ignores|unknown)$")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/usr/bin")
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    if not os.path.exists(CLI):
        print(f"{CLI} missing: run make first", file=sys.stderr)
        return 0
    env = dict(os.environ, EINTRFIX_CHECK_SITES="list")
    sites = {}  # object -> [(address, function, verdict)]
    programs = 0
    for name in sorted(os.listdir(args.dir)):
        path = os.path.join(args.dir, name)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        with open(path, "rb") as f:
            if f.read(4) != b"\x7fELF":
                continue
        programs += 1
        try:
            out = subprocess.run([CLI, "check", path], env=env, capture_output=True,
                                 text=True, timeout=120).stdout
        except subprocess.TimeoutExpired:
            print(f"timed out: {path}", file=sys.stderr)
            continue
        current = None
        for line in out.splitlines():
            m = OBJECT.match(line)
            if m:
                current = os.path.realpath(m.group(1))
                if current in sites:
                    current = None
                else:
                    sites[current] = []
                continue
            m = SITE.match(line)
            if m and current:
                sites[current].append((m.group(1), m.group(2), m.group(3)))
            elif not line.startswith("    site"):
                current = None
    verdicts = collections.Counter()
    by_function = collections.defaultdict(collections.Counter)
    handling = collections.Counter()
    for obj, found in sites.items():
        for _, function, verdict in found:
            verdicts[verdict] += 1
            by_function[function][verdict] += 1
            if verdict == "handles":
                handling[obj] += 1
    total = sum(verdicts.values())
    print(f"{programs} ELF programs in {args.dir}; {len(sites)} objects with call sites of hooked functions")
    print(f"{total} call sites: " + ", ".join(
        f"{verdicts[v]} {v} ({100.0 * verdicts[v] / max(total, 1):.1f}%)" for v in ("handles", "ignores", "unknown")))
    print("\nby function (handles / ignores / unknown), the 15 most called:")
    for function, c in sorted(by_function.items(), key=lambda kv: -sum(kv[1].values()))[:15]:
        print(f"  {function:16s} {c['handles']:6d} {c['ignores']:7d} {c['unknown']:6d}")
    print("\nobjects with the most sites that handle EINTR:")
    for obj, n in handling.most_common(15):
        print(f"  {n:4d}  {obj}")
    if args.sample:
        rng = random.Random(args.seed)
        every = [(obj, a, f, v) for obj, found in sorted(sites.items()) for a, f, v in found]
        wanted = [s for s in every if s[3] == "handles"]
        rest = [s for s in every if s[3] != "handles"]
        picked = rng.sample(wanted, min(len(wanted), args.sample // 2))
        picked += rng.sample(rest, min(len(rest), args.sample - len(picked)))
        print(f"\nsample of {len(picked)} sites (seed {args.seed}):")
        for obj, address, function, verdict in picked:
            print(f"  {obj} {address} {function} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
