#!/usr/bin/env python3
"""plugin_bench.py — events per CPU-second through a Go output plugin
(Fluent Bit's Go interface, issue 16) beside the built-in `null`.

Builds tests/e2e/plugins/out_gotest.go with `go build -buildmode=c-shared`
(no Out_File: it decodes every record of every chunk and counts them, as
a fluent-bit-go plugin's decoder loop does), then runs sluice_bench.py's
default-config scenario on two configurations that differ only in the
output: syslog over TCP (RFC 5424) into `null`, and into the Go plugin
loaded from a [PLUGINS] Path. Prints sluice_bench.py's JSON line of each,
with "output" added. Python 3 standard library; needs go (golang-go).

  bench/e2e/plugin_bench.py [--count N] [--repeat N] [--shards N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, HERE)
from sluice_bench import free_port  # noqa: E402


def build_go(tmp):
    go = shutil.which('go')
    if not go:
        sys.exit('plugin_bench: go is not installed (scripts/deps.sh installs golang-go)')
    so = os.path.join(tmp, 'out_gotest.so')
    env = dict(os.environ, GOCACHE=os.path.join(tmp, 'gocache'), GOPATH=os.path.join(tmp, 'gopath'),
               GO111MODULE='off', GOFLAGS='', CGO_ENABLED='1', GOTOOLCHAIN='local')
    subprocess.run([go, 'build', '-buildmode=c-shared', '-o', so,
                    os.path.join(REPO, 'tests', 'e2e', 'plugins', 'out_gotest.go')],
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--count', type=int, default=2000000)
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--shards', type=int, default=2)
    ap.add_argument('--sluice', default=os.path.join(REPO, 'build', 'sluice'))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sluice-plugin-bench-')
    try:
        so = build_go(tmp)
        for _ in range(args.repeat):
            for output, obj in (('null', None), ('gotest', so)):
                conf = config(tmp, output, obj, args.shards)
                p = subprocess.run([sys.executable, os.path.join(HERE, 'sluice_bench.py'),
                                    '--sluice', args.sluice, '--config', conf, '--count', str(args.count),
                                    'default-config'], stdout=subprocess.PIPE, text=True)
                for line in p.stdout.splitlines():
                    r = json.loads(line)
                    r['output'] = output
                    print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
