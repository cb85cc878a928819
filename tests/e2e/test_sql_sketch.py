#!/usr/bin/env python3
"""test_sql_sketch.py — COUNT(DISTINCT), PERCENTILE and numeric strings end
to end, over syslog records (RFC 5424 over TCP, 2 shards, 2 connections),
where every field is a string:

  SELECT ident, COUNT(*), COUNT(DISTINCT host), PERCENTILE(pid, 0.5),
         PERCENTILE(pid, 0.9), SUM(pid), MAX(pid)
    FROM TAG:'syslog.*' WINDOW TUMBLING (10 SECOND) GROUP BY ident

Records are sent right after a 10 s boundary so that they all fall in one
window (windows are aligned on the wall clock). Checked against values
computed here: the distinct count is exact below 384 hosts and within
3 x 1.04/sqrt(4096) above; the percentiles are within 1% of the exact
percentile_disc; SUM and MAX of the pid strings are exact integers and
records whose pid is "-" (no number) are left out of them.
A PERCENTILE with p out of 0..1 stops sluice at start-up.
"""
import json
import math
import random
import socket
import time

from harness import (check, check_eq, conf, file_out, free_port, log, main, read_lines,
                     service, syslog_in, wait_for)

STREAMS = """
[STREAM_TASK]
    Name sk
    Exec CREATE STREAM sk WITH (tag='sql.sk') AS SELECT ident, COUNT(*) AS n, COUNT(DISTINCT host) AS hosts, PERCENTILE(pid, 0.5) AS p50, PERCENTILE(pid, 0.9) AS p90, SUM(pid) AS total, MAX(pid) AS hi FROM TAG:'syslog.*' WINDOW TUMBLING (10 SECOND) GROUP BY ident;
"""

HOSTS = {'api': 200, 'db': 1500}   # distinct hosts per ident
PER_IDENT = 4000


def pct_disc(sorted_vals, q):
    rank = max(1, math.ceil(q * len(sorted_vals)))
    return sorted_vals[min(rank, len(sorted_vals)) - 1]


def test_sketches(t):
    with open(t.path('streams.conf'), 'w') as f:
        f.write(STREAMS)
    port = free_port()
    sl = t.sluice(conf(service(t, Shards=2, Streams_File='streams.conf'),
                       syslog_in(port, Tag='syslog.in'),
                       file_out(t, 'sk.out', match='sql.sk')))
    rnd = random.Random(11)
    pids = {k: [] for k in HOSTS}
    lines = [[], []]
    i = 0
    for ident, nhost in HOSTS.items():
        for k in range(PER_IDENT):
            # every host appears at least once
            host = 'h%04d' % (k if k < nhost else rnd.randrange(nhost))
            if rnd.random() < 0.1:
                pid = '-'
            else:
                pid = str(rnd.randint(1, 30000))
                pids[ident].append(int(pid))
            msg = '<14>1 2024-05-01T10:00:00Z %s %s %s - - hello %d' % (host, ident, pid, k)
            lines[i % 2].append(msg)
            i += 1
    total = i
    # start right after a 10 s boundary, so the burst stays in one window
    wait_for(lambda: time.time() % 10 < 1.0, 12, 'a 10 s window boundary')
    socks = []
    for part in lines:
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(('\n'.join(part) + '\n').encode())
        socks.append(s)
    sl.wait_stats(lambda st: sum(v.get('records', 0) for k, v in st['inputs'].items()
                                 if k.startswith('syslog')) >= total, 20, 'all records in')
    sl.wait_stats(lambda st: st['inputs'].get('stream_processor', {}).get('records', 0) >= 2,
                  30, 'the window closed and its results were emitted')
    for s in socks:
        s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    res = [json.loads(x) for x in read_lines(t.path('sk.out'))]
    log('results: %s' % res)
    check_eq(sorted(r['ident'] for r in res), sorted(HOSTS), 'one result per ident: one window')
    se = 1.04 / math.sqrt(4096)
    for r in res:
        ident = r['ident']
        vals = sorted(pids[ident])
        check_eq(r['n'], PER_IDENT, '%s: COUNT(*)' % ident)
        if HOSTS[ident] <= 384:
            check_eq(r['hosts'], HOSTS[ident], '%s: COUNT(DISTINCT host) exact below 384' % ident)
        else:
            check(abs(r['hosts'] - HOSTS[ident]) <= 3 * se * HOSTS[ident],
                  '%s: COUNT(DISTINCT host) within 3 standard errors' % ident,
                  'got %d want %d' % (r['hosts'], HOSTS[ident]))
        for key, q in (('p50', 0.5), ('p90', 0.9)):
            want = pct_disc(vals, q)
            check(abs(r[key] - want) <= 0.01 * want,
                  '%s: PERCENTILE(pid, %g) within 1%% of the exact one' % (ident, q),
                  'got %r want %r' % (r[key], want))
        check_eq((r['total'], r['hi']), (sum(vals), max(vals)),
                 '%s: SUM and MAX of the pid strings, "-" left out' % ident)
        check(isinstance(r['total'], int), '%s: SUM of integer strings is an integer' % ident)


def test_bad_percentile(t):
    with open(t.path('streams.conf'), 'w') as f:
        f.write('[STREAM_TASK]\n    Name bad\n'
                '    Exec SELECT PERCENTILE(pid, 95) FROM TAG:\'syslog.*\';\n')
    port = free_port()
    sl = t.sluice(conf(service(t, Streams_File='streams.conf'), syslog_in(port),
                       file_out(t, 'o.out')), wait=False)
    rc = sl.wait_exit(20)
    check(rc not in (None, 0), 'sluice refuses to start', 'rc=%r' % rc)
    err = sl.stderr()
    check('streams.conf:' in err and 'bad' in err and 'fraction from 0 to 1' in err,
          'the error names the file, the statement and the expected range', err[-500:])


if __name__ == '__main__':
    main([test_sketches, test_bad_percentile])
