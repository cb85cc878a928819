#!/usr/bin/env python3
"""http_in_bench.py — the http input's ingest rate: POST batches of JSON
records over keep-alive connections (one sender process per connection,
each waiting for every answer, as a client of Fluent Bit's in_http does)
into sluice with the null output. Prints one JSON line: records/s, records
per CPU-second of sluice, and the senders' CPU-seconds (a sender near 1
CPU-second per second of wall time is the bottleneck).

    bench/e2e/http_in_bench.py --sluice build/sluice --conns 4 --batch 1000 --seconds 10
"""
import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def body(batch):
    recs = [{'time': '2024-01-01T00:00:00.%06dZ' % i, 'level': 'info', 'host': 'web-%d' % (i % 16),
             'msg': 'GET /api/v1/items/%d 200 %d bytes in %d ms' % (i, 512 + i, i % 97),
             'user': {'id': i, 'name': 'u%d' % i}, 'n': i} for i in range(batch)]
    return json.dumps(recs).encode()


def sender(port, payload, seconds, q):
    head = ('POST /bench HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\n\r\n' % len(payload)).encode()
    req = head + payload
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n, buf = 0, b''
    t0 = time.monotonic()
    c0 = time.process_time()
    while time.monotonic() - t0 < seconds:
        s.sendall(req)
        while b'\r\n\r\n' not in buf:
            d = s.recv(4096)
            if not d:
                raise SystemExit('connection closed')
            buf += d
        resp, buf = buf.split(b'\r\n\r\n', 1)
        if not resp.startswith(b'HTTP/1.1 201'):
            raise SystemExit('answer: %r' % resp[:80])
        n += 1
    q.put((n, time.process_time() - c0))
    s.close()


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        v = f.read().rsplit(')', 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf('SC_CLK_TCK')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--sluice', default='build/sluice')
    ap.add_argument('--conns', type=int, default=4)
    ap.add_argument('--batch', type=int, default=1000)
    ap.add_argument('--seconds', type=float, default=10)
    a = ap.parse_args()
    port = free_port()
    d = tempfile.mkdtemp(prefix='http-in-bench-')
    conf = os.path.join(d, 'sluice.conf')
    with open(conf, 'w') as f:
        f.write('[SERVICE]\n    Flush 0.2\n[INPUT]\n    Name http\n    Listen 127.0.0.1\n'
                '    Port %d\n[OUTPUT]\n    Name null\n    Match *\n' % port)
    err = open(os.path.join(d, 'stderr'), 'w')
    sl = subprocess.Popen([a.sluice, '-c', conf], stderr=err, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while 'started:' not in open(os.path.join(d, 'stderr')).read():
            if time.monotonic() > deadline or sl.poll() is not None:
                raise SystemExit('sluice did not start')
            time.sleep(0.05)
        payload = body(a.batch)
        q = mp.Queue()
        ps = [mp.Process(target=sender, args=(port, payload, a.seconds, q)) for _ in range(a.conns)]
        c0, t0 = cpu_seconds(sl.pid), time.monotonic()
        for p in ps:
            p.start()
        res = [q.get(timeout=a.seconds + 60) for _ in ps]
        for p in ps:
            p.join()
        wall, cpu = time.monotonic() - t0, cpu_seconds(sl.pid) - c0
    finally:
        sl.terminate()
        sl.wait(30)
    reqs = sum(r[0] for r in res)
    recs = reqs * a.batch
    print(json.dumps({'scenario': 'http-in-null', 'conns': a.conns, 'batch': a.batch,
                      'body_bytes': len(payload), 'requests': reqs, 'records': recs,
                      'wall_s': round(wall, 2), 'records_per_s': round(recs / wall),
                      'sluice_cpu_s': round(cpu, 2),
                      'records_per_cpu_s': round(recs / cpu) if cpu else None,
                      'sender_cpu_s': [round(r[1], 2) for r in res]}))


if __name__ == '__main__':
    sys.exit(main())
