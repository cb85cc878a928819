#!/usr/bin/env python3
"""reload_bench.py — how long a hot reload takes with many connections
open, and that it loses nothing while they send.

sluice runs a tcp input (JSON lines) into a null output, with the HTTP
server and Hot_Reload on. This script opens --conns connections (1,000 by
default) and, from one thread, sends a line on every connection every
--interval seconds (1,000 connections every 0.1 s: 10,000 events/s, so
that each connection has something in flight at any time). Meanwhile it
reloads --reloads times through POST /api/v2/reload, alternating between
two configurations that differ in a filter (--vary filter, the default),
or in an input: a udp input added before the tcp one and removed again
(--vary input: the tcp input is kept, moved to index 1 and back), and
reports per reload:
  post_ms    the POST's round trip (the reload is done when it answers)
  check_ms   reading and checking the new configuration (Hyperscan and
             PCRE2 compiles among it), while the old one runs on
  drain_ms   shards parked until every record in flight was delivered
  switch_ms  shards rebound to the new pipeline
(the last two from sluice's log line "reloaded: ... drain X ms, switch Y
ms"). At the end it stops sending and checks that the null output counted
every line sent (lost must be 0) and that no connection was reset.

    python3 bench/e2e/reload_bench.py [--sluice build/sluice] [--conns 1000]

Prints one JSON line. Python 3 standard library only.
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def config(d, port, hport, with_filter, with_udp=0):
    text = ('[SERVICE]\n    Flush 0.2\n    Grace 10\n    Log_Level info\n    HTTP_Server On\n'
            '    HTTP_Listen 127.0.0.1\n    HTTP_Port %d\n    Hot_Reload On\n'
            '    Stats_File %s\n    Stats_Interval 0.2\n'
            % (hport, os.path.join(d, 'stats.json')))
    if with_udp:
        text += '[INPUT]\n    Name udp\n    Listen 127.0.0.1\n    Port %d\n    Format json\n' % with_udp
    text += ('[INPUT]\n    Name tcp\n    Listen 127.0.0.1\n    Port %d\n    Format json\n'
             % port)
    if with_filter:
        text += '[FILTER]\n    Name record_modifier\n    Match *\n    Record reloaded yes\n'
    text += '[OUTPUT]\n    Name null\n    Match *\n'
    with open(os.path.join(d, 'sluice.conf'), 'w') as f:
        f.write(text)


def stats(d):
    try:
        with open(os.path.join(d, 'stats.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Senders(threading.Thread):
    def __init__(self, port, n, interval):
        super().__init__(daemon=True)
        self.socks = [socket.create_connection(('127.0.0.1', port)) for _ in range(n)]
        self.interval = interval
        self.sent = 0
        self.errors = 0
        self.running = True

    def run(self):
        line = b'{"k":"v","n":1}\n'
        while self.running:
            t0 = time.monotonic()
            for s in self.socks:
                try:
                    s.sendall(line)
                    self.sent += 1
                except OSError:
                    self.errors += 1
            time.sleep(max(0.0, self.interval - (time.monotonic() - t0)))

    def stop(self):
        self.running = False
        self.join(30)
        for s in self.socks:
            s.close()


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', default=os.path.join(REPO, 'build', 'sluice'))
    ap.add_argument('--conns', type=int, default=1000)
    ap.add_argument('--interval', type=float, default=0.1)
    ap.add_argument('--reloads', type=int, default=10)
    ap.add_argument('--vary', choices=('filter', 'input'), default='filter')
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.conns + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.conns + 1000), hard))
    d = tempfile.mkdtemp(prefix='sluice-reload-bench-')
    port, hport, uport = free_port(), free_port(), free_port()
    config(d, port, hport, False)
    err = open(os.path.join(d, 'stderr'), 'w')
    p = subprocess.Popen([args.sluice, '-c', os.path.join(d, 'sluice.conf')], stderr=err, cwd=d)
    try:
        deadline = time.monotonic() + 20
        while 'started:' not in open(os.path.join(d, 'stderr')).read():
            if time.monotonic() > deadline or p.poll() is not None:
                sys.exit('sluice did not start')
            time.sleep(0.05)
        snd = Senders(port, args.conns, args.interval)
        snd.start()
        time.sleep(1)
        post = []
        for i in range(args.reloads):
            odd = i % 2 == 0
            config(d, port, hport, odd and args.vary == 'filter', odd and args.vary == 'input' and uport)
            req = urllib.request.Request('http://127.0.0.1:%d/api/v2/reload' % hport, data=b'{}',
                                         method='POST')
            t0 = time.monotonic()
            with urllib.request.urlopen(req, timeout=60) as r:
                body = json.loads(r.read())
            post.append((time.monotonic() - t0) * 1000)
            if body.get('status') != 0:
                sys.exit('reload failed: %s' % body)
            time.sleep(0.5)
        snd.stop()
        deadline = time.monotonic() + 30
        out = 0
        while time.monotonic() < deadline:
            st = stats(d)
            out = st['outputs']['null.0']['records'] if st else 0
            if out >= snd.sent:
                break
            time.sleep(0.1)
        log = open(os.path.join(d, 'stderr')).read()
        times = re.findall(r'reloaded: .*drain ([0-9.]+) ms, switch ([0-9.]+) ms', log)
        check = [float(x) for x in re.findall(r'configuration read and checked in ([0-9.]+) ms', log)]
        drain = [float(a) for a, _ in times]
        switch = [float(b) for _, b in times]
        st = stats(d)
        conns = st['inputs']['tcp.0']['connections'] if st else None
        print(json.dumps({
            'vary': args.vary, 'connections': args.conns, 'events_per_s': round(args.conns / args.interval),
            'reloads': len(post), 'post_ms_p50': round(statistics.median(post), 1),
            'post_ms_max': round(max(post), 1),
            'check_ms_p50': pct(check, 0.5),
            'drain_ms_p50': pct(drain, 0.5), 'drain_ms_max': max(drain) if drain else None,
            'switch_ms_p50': pct(switch, 0.5), 'switch_ms_max': max(switch) if switch else None,
            'sent': snd.sent, 'out': out, 'lost': snd.sent - out, 'send_errors': snd.errors,
            'connections_accepted': conns}))
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(60)
        err.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    main()
