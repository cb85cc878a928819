#!/usr/bin/env python3
"""plugin_bench.py — events per CPU-second through a Go output plugin
(Fluent Bit's Go interface, issue 16) beside the built-in `null`, and
from a Go input plugin beside the built-in `dummy`.

Builds tests/e2e/plugins/out_gotest.go with `go build -buildmode=c-shared`
(no Out_File: it decodes every record of every chunk and counts them, as
a fluent-bit-go plugin's decoder loop does), then runs sluice_bench.py's
default-config scenario on two configurations that differ only in the
output: syslog over TCP (RFC 5424) into `null`, and into the Go plugin
loaded from a [PLUGINS] Path. Prints sluice_bench.py's JSON line of each,
with "output" added.

Then the input side (scenario "go-input"): tests/e2e/plugins/in_gotest.go
emits --count records in batches of --batch per FLBPluginInputCallback
(Collect_Interval 0: called again as soon as it returns), into `null`;
beside it `dummy` emitting the same count. One JSON line each: the CPU
seconds of the whole sluice process (every thread, the Go runtime's too)
from start to the last record counted, and events per CPU-second.

Python 3 standard library; needs go (golang-go).

  bench/e2e/plugin_bench.py [--count N] [--repeat N] [--shards N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from sluice_bench import CLK_TCK, cpu_ticks, free_port  # noqa: E402


def build_go(tmp, name='out_gotest'):
    go = shutil.which('go')
    if not go:
        sys.exit('plugin_bench: go is not installed (scripts/deps.sh installs golang-go)')
    so = os.path.join(tmp, name + '.so')
    env = dict(os.environ, GOCACHE=os.path.join(tmp, 'gocache'), GOPATH=os.path.join(tmp, 'gopath'),
               GO111MODULE='off', GOFLAGS='', CGO_ENABLED='1', GOTOOLCHAIN='local')
    subprocess.run([go, 'build', '-buildmode=c-shared', '-o', so,
                    os.path.join(REPO, 'tests', 'e2e', 'plugins', name + '.go')],
                   env=env, check=True)
    return so


def config(tmp, output, so, shards):
    port = free_port()
    text = ('[SERVICE]\n    Flush 0.2\n    Grace 5\n    Shards %d\n' % shards)
    if so:
        text += '[PLUGINS]\n    Path %s\n' % so
    text += ('[INPUT]\n    Name syslog\n    Mode tcp\n    Listen 127.0.0.1\n    Port %d\n'
             '    Parser syslog-rfc5424\n[OUTPUT]\n    Name %s\n    Match *\n' % (port, output))
    path = os.path.join(tmp, output + '.conf')
    with open(path, 'w') as f:
        f.write(text)
    return path


def input_run(tmp, sluice, kind, so, count, batch, shards):
    """sluice from start until null has counted every record: CPU and wall."""
    stats = os.path.join(tmp, 'stats-%s.json' % kind)
    text = ('[SERVICE]\n    Flush 0.2\n    Grace 5\n    Shards %d\n    Stats_File %s\n'
            '    Stats_Interval 0.1\n' % (shards, stats))
    if kind == 'go':
        text += ('[INPUT]\n    Name gotest_in\n    Records %d\n    Batch %d\n    Label bench\n'
                 '    Collect_Interval 0\n' % (count, batch))
    else:
        text += ('[INPUT]\n    Name dummy\n    Samples %d\n    Rate 10000000\n'
                 '    Dummy {"n":1,"msg":"m000001","label":"bench","late":"bench"}\n' % count)
    text += '[OUTPUT]\n    Name null\n    Match *\n'
    conf = os.path.join(tmp, 'in-%s.conf' % kind)
    with open(conf, 'w') as f:
        f.write(text)
    if os.path.exists(stats):
        os.unlink(stats)
    args = [sluice, '-c', conf] + (['-e', so] if so else [])
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        done = 0
        while time.monotonic() - t0 < 600:
            try:
                with open(stats) as f:
                    done = json.load(f)['outputs']['null.0']['records']
            except (OSError, ValueError, KeyError):
                pass
            if done >= count:
                break
            time.sleep(0.02)
        cpu = cpu_ticks(p.pid)
        wall = time.monotonic() - t0
    finally:
        p.terminate()
        p.wait()
    cpu_s = (cpu[0] + cpu[1]) / CLK_TCK
    return {'scenario': 'go-input', 'input': 'gotest_in' if kind == 'go' else 'dummy',
            'batch': batch if kind == 'go' else None, 'events': done, 'shards': shards,
            'wall_s': round(wall, 3), 'cpu_s': round(cpu_s, 3),
            'eps_per_cpu_s': round(done / cpu_s) if cpu_s > 0 else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--count', type=int, default=2000000)
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--shards', type=int, default=2)
    ap.add_argument('--batch', type=int, default=1000, help='records per Go input callback')
    ap.add_argument('--only', choices=('output', 'input'), help='one side only')
    ap.add_argument('--sluice', default=os.path.join(REPO, 'build', 'sluice'))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sluice-plugin-bench-')
    try:
        so = build_go(tmp) if args.only != 'input' else None
        ino = build_go(tmp, 'in_gotest') if args.only != 'output' else None
        for _ in range(args.repeat if so else 0):
            for output, obj in (('null', None), ('gotest', so)):
                conf = config(tmp, output, obj, args.shards)
                p = subprocess.run([sys.executable, os.path.join(HERE, 'sluice_bench.py'),
                                    '--sluice', args.sluice, '--config', conf, '--count', str(args.count),
                                    'default-config'], stdout=subprocess.PIPE, text=True)
                for line in p.stdout.splitlines():
                    r = json.loads(line)
                    r['output'] = output
                    print(json.dumps(r), flush=True)
        for _ in range(args.repeat if ino else 0):
            for kind, obj in (('dummy', None), ('go', ino)):
                print(json.dumps(input_run(tmp, args.sluice, kind, obj, args.count, args.batch,
                                           args.shards)), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
