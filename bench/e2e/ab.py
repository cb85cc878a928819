#!/usr/bin/env python3
"""ab.py — the same scenarios through two sluice binaries, interleaved
(A, B, A, B, ...) so that both see the same machine: the before/after
measurement every data-path change needs. Prints each run's JSON line on
stderr as it comes and, at the end, one table (Markdown) of medians and
ranges of events per CPU-second of the sluice process and events/s.

    bench/e2e/ab.py --a /path/to/old/sluice --b build/sluice --pairs 3 \\
        --count 2000000 syslog-tcp-5424 syslog-tcp-grep syslog-tcp-sql json-tcp

Other options are passed to sluice_bench.py unchanged (after --).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(binary, scenario, count, extra):
    cmd = [sys.executable, os.path.join(HERE, 'sluice_bench.py'), '--sluice', binary,
           '--count', str(count)] + extra + [scenario]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False).stdout
    lines = [json.loads(x) for x in out.splitlines() if x.startswith('{')]
    return lines[-1] if lines else {'error': 'no result'}


def fmt_range(vals, unit=1e6):
    vals = sorted(v for v in vals if v)
    if not vals:
        return 'n/a'
    return '%.2fM (%.2f-%.2fM)' % (statistics.median(vals) / unit, vals[0] / unit, vals[-1] / unit)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--a', required=True, help='the "before" sluice binary')
    ap.add_argument('--b', required=True, help='the "after" sluice binary')
    ap.add_argument('--pairs', type=int, default=3)
    ap.add_argument('--count', type=int, default=2000000)
    ap.add_argument('scenarios', nargs='+')
    args, extra = ap.parse_known_args()
    args.a, args.b = os.path.abspath(args.a), os.path.abspath(args.b)
    extra = [x for x in extra if x != '--']
    res = {}
    for sc in args.scenarios:
        for i in range(args.pairs):
            for tag, binary in (('a', args.a), ('b', args.b)):
                r = run(binary, sc, args.count, extra)
                print(json.dumps(dict(r, ab=tag, pair=i)), file=sys.stderr, flush=True)
                res.setdefault((sc, tag), []).append(r)
    print('| scenario | events per CPU-s, before (median, range) | after | events/s before | after |')
    print('| --- | --- | --- | --- | --- |')
    for sc in args.scenarios:
        a, b = res[(sc, 'a')], res[(sc, 'b')]
        print('| %s | %s | %s | %s | %s |' % (
            sc, fmt_range([r.get('eps_per_cpu_s') for r in a]),
            fmt_range([r.get('eps_per_cpu_s') for r in b]),
            fmt_range([r.get('eps') for r in a]), fmt_range([r.get('eps') for r in b])))
    errors = [r for v in res.values() for r in v if r.get('error')]
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
