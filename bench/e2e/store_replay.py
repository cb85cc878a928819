#!/usr/bin/env python3
"""store_replay.py — replay speed of the filesystem store after a crash.

1. sluice with a syslog TCP input (storage.type filesystem) and a file
   output into a FIFO nobody reads: every record waits in the store.
2. loadgen sends --count RFC 5424 events (~260 bytes each in the store, so
   4,000,000 make ~1 GB); once all are `stored`, sluice is killed (-9).
3. sluice starts again on the same storage.path with the null output: the
   time from its start to every record out, and the CPU it used, give the
   replay rate in events/s and events per CPU-second. With --cold the page
   cache is dropped first, so the store is read from the disk.

Prints one JSON line. Usage:
    bench/e2e/store_replay.py [--count 4000000] [--shards 2]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid):
    with open('/proc/%d/stat' % pid) as f:
        v = f.read().rsplit(')', 1)[1].split()
    return (int(v[11]) + int(v[12])) / CLK_TCK


def stats(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def wait(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.02)
    sys.exit('store_replay: timed out waiting for ' + what)


def config(tmp, port, shards, out):
    return ('[SERVICE]\n    Flush 0.05\n    Grace 5\n    Shards %d\n    Stats_File %s/stats.json\n'
            '    Stats_Interval 0.05\n    storage.path %s/store\n'
            '[INPUT]\n    Name syslog\n    Mode tcp\n    Listen 127.0.0.1\n    Port %d\n'
            '    Parser syslog-rfc5424\n    storage.type filesystem\n%s'
            % (shards, tmp, tmp, port, out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--count', type=int, default=4000000)
    ap.add_argument('--shards', type=int, default=2)
    ap.add_argument('--sluice', default=os.path.join(REPO, 'build', 'sluice'))
    ap.add_argument('--loadgen', default=os.path.join(REPO, 'build', 'bench', 'loadgen', 'loadgen'))
    ap.add_argument('--cold', action='store_true',
                    help='drop the page cache before the replay (root: /proc/sys/vm/drop_caches), so '
                    'the store is read from the disk')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sluice-replay-')
    try:
        port = free_port()
        fifo = os.path.join(tmp, 'fifo')
        os.mkfifo(fifo)
        conf = os.path.join(tmp, 'fill.conf')
        with open(conf, 'w') as f:
            f.write(config(tmp, port, args.shards, '[OUTPUT]\n    Name file\n    Match *\n    Path %s\n'
                           '    File fifo\n' % tmp))
        sp = os.path.join(tmp, 'stats.json')
        p = subprocess.Popen([args.sluice, '-c', conf], stderr=open(os.path.join(tmp, 'fill.err'), 'w'))
        wait(lambda: stats(sp), 20, 'sluice to start')
        lg = subprocess.run([args.loadgen, '--port', str(port), '--count', str(args.count), '--conns', '2',
                             '--sd'], capture_output=True, text=True)
        if lg.returncode:
            sys.exit('store_replay: loadgen: ' + lg.stderr)
        wait(lambda: (stats(sp) or {}).get('inputs', {}).get('syslog.0', {}).get('stored', 0) >= args.count,
             600, 'every record stored')
        backlog = stats(sp)['storage']['backlog_bytes']
        p.send_signal(signal.SIGKILL)
        p.wait()
        os.unlink(sp)
        if args.cold:
            subprocess.run(['sync'])
            with open('/proc/sys/vm/drop_caches', 'w') as f:
                f.write('1\n')
        conf = os.path.join(tmp, 'replay.conf')
        with open(conf, 'w') as f:
            f.write(config(tmp, free_port(), args.shards, '[OUTPUT]\n    Name null\n    Match *\n'))
        t0 = time.monotonic()
        p = subprocess.Popen([args.sluice, '-c', conf], stderr=open(os.path.join(tmp, 'replay.err'), 'w'))
        st = wait(lambda: (lambda s: s if s and s['totals']['out'] >= args.count else None)(stats(sp)),
                  600, 'the replay')
        secs = time.monotonic() - t0
        cpu = cpu_s(p.pid)
        p.send_signal(signal.SIGTERM)
        p.wait()
        print(json.dumps({'bench': 'store-replay', 'cold': args.cold, 'records': args.count, 'backlog_bytes': backlog,
                          'shards': args.shards, 'seconds': round(secs, 3), 'cpu_s': round(cpu, 2),
                          'eps': int(args.count / secs), 'eps_per_cpu_s': int(args.count / cpu),
                          'mb_per_s': round(backlog / secs / 1e6, 1),
                          'replayed_records': st['storage']['replayed_records']}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
