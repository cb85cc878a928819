#!/usr/bin/env python3
"""ingest_bench.py — the ingest inputs' rate: batches of records over
keep-alive connections (one sender process per connection, each waiting
for every answer, as an agent does) into sluice with the null output.

  --proto http     POST of a JSON array per batch to the http input;
                   the answer is its 2xx (sent once the batch is delivered)
  --proto forward  a PackedForward message per batch to the forward input
                   (Fluentd's Forward protocol v1), with the `chunk` option
                   and the sender waiting for its ack (--no-ack: no chunk
                   option, the sender does not wait); --gzip:
                   CompressedPackedForward

--in-key 'Key Value' (repeatable) adds keys to the input's section (the
http input's Rate_Limit, Dedupe_Window, Accepted_Response ...); --distinct
makes every request's body differ (its first record numbered), as a
dedupe table sees real traffic.

Prints one JSON line: records/s, records per CPU-second of sluice, and the
senders' CPU-seconds (a sender near 1 CPU-second per second of wall time is
the bottleneck).

    bench/e2e/ingest_bench.py --proto forward --conns 4 --batch 1000 --seconds 10
"""
import argparse
import gzip
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'e2e'))
from mpack import mp_decode, mp_encode  # noqa: E402  (the tests' own msgpack codec)

T0 = 1700000000


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def records(batch):
    return [{'time': '2024-01-01T00:00:00.%06dZ' % i, 'level': 'info', 'host': 'web-%d' % (i % 16),
             'msg': 'GET /api/v1/items/%d 200 %d bytes in %d ms' % (i, 512 + i, i % 97),
             'user': {'id': i, 'name': 'u%d' % i}, 'n': i} for i in range(batch)]


def http_request(batch, extra_headers='', seq=None):
    recs = records(batch)
    if seq is not None:
        recs[0]['seq'] = '%012d' % seq   # fixed width: every body the same length
    payload = json.dumps(recs).encode()
    head = ('POST /bench HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n%s'
            'Content-Length: %d\r\n\r\n' % (extra_headers, len(payload))).encode()
    return head + payload


def forward_message(batch, ack, gz, seq):
    entries = b''.join(mp_encode([T0 + i, r]) for i, r in enumerate(records(batch)))
    if gz:
        entries = gzip.compress(entries)
    opt = {'size': batch}
    if ack:
        opt['chunk'] = 'bench-%d' % seq
    if gz:
        opt['compressed'] = 'gzip'
    return mp_encode(['bench', entries, opt])


def http_answer(s, buf):
    while b'\r\n\r\n' not in buf:
        d = s.recv(4096)
        if not d:
            raise SystemExit('connection closed')
        buf += d
    resp, buf = buf.split(b'\r\n\r\n', 1)
    if not resp.startswith(b'HTTP/1.1 2'):
        raise SystemExit('answer: %r' % resp[:80])
    length = 0
    for line in resp.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            length = int(v)
    while len(buf) < length:
        buf += s.recv(4096)
    return buf[length:]


def forward_ack(s, buf, want):
    while True:
        if buf:
            try:
                v, i = mp_decode(buf, 0)
            except (IndexError, ValueError):
                v = None
            if v is not None:
                if v.get('ack') != want:
                    raise SystemExit('ack %r, want %r' % (v, want))
                return buf[i:]
        d = s.recv(4096)
        if not d:
            raise SystemExit('connection closed')
        buf += d


def sender(a, port, seconds, q):
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ack = a.proto == 'forward' and not a.no_ack
    # the same batch each time; a forward chunk id is per message, so a
    # few are prepared and used in turn
    msgs = [http_request(a.batch, seq=0 if a.distinct else None)] if a.proto == 'http' else \
        [forward_message(a.batch, ack, a.gzip, i) for i in range(8)]
    if a.distinct and a.proto == 'http':
        base = os.getpid() * 10 ** 7
        at = msgs[0].index(b'"seq": "') + 8   # the number, rewritten in place
    n, buf = 0, b''
    t0 = time.monotonic()
    c0 = time.process_time()
    while time.monotonic() - t0 < seconds:
        m = msgs[n % len(msgs)]
        if a.distinct and a.proto == 'http':
            m = m[:at] + b'%012d' % (base + n) + m[at + 12:]
        s.sendall(m)
        if a.proto == 'http':
            buf = http_answer(s, buf)
        elif ack:
            buf = forward_ack(s, buf, 'bench-%d' % (n % len(msgs)))
        n += 1
    q.put((n, time.process_time() - c0))
    s.close()


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        v = f.read().rsplit(')', 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf('SC_CLK_TCK')


def stats_records(path):
    try:
        with open(path) as f:
            return sum(i['records'] for i in json.load(f)['inputs'].values())
    except (OSError, ValueError, KeyError):
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--sluice', default='build/sluice')
    ap.add_argument('--proto', choices=('http', 'forward'), default='forward')
    ap.add_argument('--conns', type=int, default=4)
    ap.add_argument('--batch', type=int, default=1000)
    ap.add_argument('--seconds', type=float, default=10)
    ap.add_argument('--no-ack', action='store_true', help='forward: no chunk option, no waiting')
    ap.add_argument('--gzip', action='store_true', help='forward: CompressedPackedForward')
    ap.add_argument('--in-key', action='append', default=[], help="'Key Value' for the input")
    ap.add_argument('--distinct', action='store_true', help='http: every body differs')
    a = ap.parse_args()
    port = free_port()
    d = tempfile.mkdtemp(prefix='ingest-bench-')
    conf = os.path.join(d, 'sluice.conf')
    stats = os.path.join(d, 'stats.json')
    with open(conf, 'w') as f:
        f.write('[SERVICE]\n    Flush 0.2\n    Stats_File %s\n    Stats_Interval 0.2\n'
                '[INPUT]\n    Name %s\n    Listen 127.0.0.1\n    Port %d\n%s'
                '[OUTPUT]\n    Name null\n    Match *\n'
                % (stats, a.proto, port, ''.join('    %s\n' % kv for kv in a.in_key)))
    err = open(os.path.join(d, 'stderr'), 'w')
    sl = subprocess.Popen([a.sluice, '-c', conf], stderr=err, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while 'started:' not in open(os.path.join(d, 'stderr')).read():
            if time.monotonic() > deadline or sl.poll() is not None:
                raise SystemExit('sluice did not start')
            time.sleep(0.05)
        q = mp.Queue()
        ps = [mp.Process(target=sender, args=(a, port, a.seconds, q)) for _ in range(a.conns)]
        c0, t0 = cpu_seconds(sl.pid), time.monotonic()
        for p in ps:
            p.start()
        res = [q.get(timeout=a.seconds + 60) for _ in ps]
        for p in ps:
            p.join()
        sent = sum(r[0] for r in res) * a.batch
        # without acks the senders finish before sluice has read it all
        deadline = time.monotonic() + 60
        while stats_records(stats) < sent and time.monotonic() < deadline:
            time.sleep(0.05)
        wall, cpu = time.monotonic() - t0, cpu_seconds(sl.pid) - c0
        got = stats_records(stats)
    finally:
        sl.terminate()
        sl.wait(30)
    print(json.dumps({'scenario': '%s-in-null' % a.proto, 'in_keys': a.in_key, 'conns': a.conns,
                      'batch': a.batch, 'distinct': a.distinct,
                      'ack': a.proto == 'http' or not a.no_ack, 'gzip': a.gzip,
                      'records_sent': sent, 'records_in': got,
                      'wall_s': round(wall, 2), 'records_per_s': round(got / wall),
                      'sluice_cpu_s': round(cpu, 2),
                      'records_per_cpu_s': round(got / cpu) if cpu else None,
                      'sender_cpu_s': [round(r[1], 2) for r in res]}))


if __name__ == '__main__':
    sys.exit(main())
