#!/usr/bin/env python3
"""test_sql_windows.py — event-time and session windows end to end, with
1, 2 and 4 shards giving the same results.

JSON records over TCP (4 connections) carry their event time in `ts`
(epoch seconds, a float) and feed
  evt: SELECT app, COUNT(*), SUM(v), MIN(v), MAX(v) FROM TAG:'app.*'
       WINDOW TUMBLING (5 SECOND) ON ts LATENESS (3 SECOND) GROUP BY app
  ses: the same per app in WINDOW SESSION (4 SECOND) ON ts LATENESS (3 SECOND)
The event times run over 40 s, out of order by up to 1.5 s (within the
lateness), each app quiet now and then for 5 s or more (ending its
sessions). They are sent in rounds of one second of event time over every
connection, the next round once sluice has counted the last one in, so
no shard runs ahead of another by more than the lateness and nothing is
late. The windows and sessions close when input stops (the watermark
follows the wall clock after 2 s idle) and are checked against what is
computed here. Then records 30 s behind are sent: every one is counted as
late (Stats_File stream_tasks.<name>.late) and changes no result.
A processing-time session (WINDOW SESSION (1 SECOND)) on a second input
gets two bursts with a pause between them: two sessions.
"""
import json
import os
import random
import socket

from harness import check, check_eq, conf, free_port, main, read_lines, service, tcp_in

STREAMS = """
[STREAM_TASK]
    Name evt
    Exec CREATE STREAM evt WITH (tag='sql.evt') AS SELECT app, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo, MAX(v) AS hi FROM TAG:'app.*' WINDOW TUMBLING (5 SECOND) ON ts LATENESS (3 SECOND) GROUP BY app;

[STREAM_TASK]
    Name ses
    Exec CREATE STREAM ses WITH (tag='sql.ses') AS SELECT app, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo, MAX(v) AS hi FROM TAG:'app.*' WINDOW SESSION (4 SECOND) ON ts LATENESS (3 SECOND) GROUP BY app;

[STREAM_TASK]
    Name pt
    Exec CREATE STREAM pt WITH (tag='sql.pt') AS SELECT app, COUNT(*) AS n FROM TAG:'pt.*' WINDOW SESSION (1 SECOND) GROUP BY app;
"""

BASE = 1600000000          # a multiple of 5: windows start on it
APPS = ['api', 'db', 'auth']
ROUNDS = 40
GAP = 4.0


def out(t, name, match):
    return ('OUTPUT', [('Name', 'file'), ('Match', match), ('Path', t.dir), ('File', name),
                       ('Format', 'out_file')])


def quiet(app, sec):
    """App k sends nothing while (sec // (5 + k)) % 3 == 0: 5+ s, > GAP."""
    return (sec // (5 + APPS.index(app))) % 3 == 0


def make_rounds():
    rnd = random.Random(11)
    rounds = []
    for i in range(ROUNDS):
        recs = [[] for _ in range(4)]
        for c in range(4):
            for _ in range(25):
                ts = round(BASE + i + rnd.uniform(-1.5, 1.0), 3)
                app = rnd.choice(APPS)
                if quiet(app, int(ts - BASE)):
                    continue
                recs[c].append({'app': app, 'v': rnd.randint(-50, 500), 'ts': ts})
        rounds.append(recs)
    return rounds


def expected(rounds):
    wins, times = {}, {}
    for recs in rounds:
        for conn in recs:
            for r in conn:
                start = int(r['ts'] // 5 * 5)
                w = wins.setdefault((start + 5, r['app']), [])
                w.append(r['v'])
                times.setdefault(r['app'], []).append((r['ts'], r['v']))
    evt = sorted((end, app, len(v), sum(v), min(v), max(v)) for (end, app), v in wins.items())
    # sessions per app, as (app, n, sum, min, max)
    out_rows = []
    for app in APPS:
        tv = sorted(times.get(app, []))
        cur = []
        for i, (t, v) in enumerate(tv):
            if cur and t - tv[i - 1][0] > GAP:
                out_rows.append((app, len(cur), sum(cur), min(cur), max(cur)))
                cur = []
            cur.append(v)
        if cur:
            out_rows.append((app, len(cur), sum(cur), min(cur), max(cur)))
    return evt, sorted(out_rows)


def parse_out_file(path):
    """out_file lines: 'TAG: [time, {record}]'."""
    rows = []
    for line in read_lines(path):
        tag, rest = line.decode().split(': ', 1)
        t, rec = json.loads(rest)
        rows.append((tag, t, rec))
    return rows


def run(t, shards, rounds):
    with open(t.path('streams.conf'), 'w') as f:
        f.write(STREAMS)
    if os.path.exists(t.path('stats.json')):
        os.remove(t.path('stats.json'))   # the previous run's
    port, port2 = free_port(), free_port()
    sl = t.sluice(conf(service(t, Shards=shards, Streams_File='streams.conf'),
                       tcp_in(port, Tag='app.x'), tcp_in(port2, Tag='pt.x'),
                       out(t, 'evt%d.out' % shards, 'sql.evt'),
                       out(t, 'ses%d.out' % shards, 'sql.ses'),
                       out(t, 'pt%d.out' % shards, 'sql.pt')))
    socks = [socket.create_connection(('127.0.0.1', port)) for _ in range(4)]
    sent = 0
    for recs in rounds:
        for s, conn in zip(socks, recs):
            if conn:
                s.sendall(''.join(json.dumps(r) + '\n' for r in conn).encode())
            sent += len(conn)
        sl.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= sent, 20,
                      'round of %d records in' % sent)
    evt_want, ses_want = expected(rounds)

    def task(st, name):
        return st.get('stream_tasks', {}).get(name, {})
    # idle 2 s, then the watermark follows the wall clock: everything closes
    sl.wait_stats(lambda st: task(st, 'evt').get('emitted', 0) >= len(evt_want) and
                  task(st, 'ses').get('emitted', 0) >= len(ses_want), 40,
                  'every window and session emitted without shutting down')
    st = sl.stats()
    check_eq((task(st, 'evt')['late'], task(st, 'ses')['late']), (0, 0),
             'nothing late while every connection kept within the lateness')
    # 7 records 30 s behind: late for both tasks, counted, dropped
    late = [{'app': 'api', 'v': 1000, 'ts': BASE + 3.5 + i / 10} for i in range(7)]
    socks[0].sendall(''.join(json.dumps(r) + '\n' for r in late).encode())
    sl.wait_stats(lambda st: task(st, 'evt').get('late', 0) >= 7 and task(st, 'ses').get('late', 0) >= 7,
                  20, 'the late records counted')
    # processing-time sessions: two bursts 2.5 s apart (> 1 s gap)
    s2 = socket.create_connection(('127.0.0.1', port2))
    s2.sendall(''.join(json.dumps({'app': 'a', 'i': i}) + '\n' for i in range(10)).encode())
    sl.wait_stats(lambda st: task(st, 'pt').get('emitted', 0) >= 1, 20, 'first session')
    s2.sendall(''.join(json.dumps({'app': 'a', 'i': i}) + '\n' for i in range(7)).encode())
    sl.wait_stats(lambda st: task(st, 'pt').get('emitted', 0) >= 2, 20, 'second session')
    st = sl.stats()
    check_eq((task(st, 'evt')['late'], task(st, 'ses')['late']), (7, 7),
             'each late record counted once per task (%d shards)' % shards)
    for s in socks + [s2]:
        s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    evt = sorted((tm, r['app'], r['n'], r['s'], r['lo'], r['hi'])
                 for _, tm, r in parse_out_file(t.path('evt%d.out' % shards)))
    ses = sorted((r['app'], r['n'], r['s'], r['lo'], r['hi'])
                 for _, _, r in parse_out_file(t.path('ses%d.out' % shards)))
    pt = [(r['app'], r['n']) for _, _, r in parse_out_file(t.path('pt%d.out' % shards))]
    check_eq(evt, evt_want, 'event-time windows: end, COUNT, SUM, MIN, MAX per app (%d shards)' % shards)
    check_eq(ses, ses_want, 'sessions: COUNT, SUM, MIN, MAX per app (%d shards)' % shards)
    check_eq(pt, [('a', 10), ('a', 7)], 'processing-time sessions split by the pause')
    check(len(ses_want) >= 3 * len(APPS), 'quiet spells split the sessions', str(len(ses_want)))
    return evt, ses


def test_windows_1_2_4_shards(t):
    rounds = make_rounds()
    results = [run(t, n, rounds) for n in (1, 2, 4)]
    check(results[0] == results[1] == results[2], 'the same results with 1, 2 and 4 shards')


if __name__ == '__main__':
    main([test_windows_1_2_4_shards])
