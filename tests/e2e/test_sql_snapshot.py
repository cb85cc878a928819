#!/usr/bin/env python3
"""test_sql_snapshot.py — CREATE SNAPSHOT / FLUSH SNAPSHOT end to end.

JSON records over TCP (tag app.web) go into
  CREATE SNAPSHOT snap WITH (tag='snap.out') AS SELECT * FROM TAG:'app.*' LIMIT n
and a record on a second TCP input (tag ctl) matching
  FLUSH SNAPSHOT snap AS SELECT * FROM TAG:'ctl' WHERE cmd = 'flush'
flushes it: the file output for snap.out receives exactly the snapshot's
records, whole, and nothing else; a second flush emits only what came
after the first. With 2 shards the records arrive on both shards (several
connections) and the trigger on one: every shard's part is flushed (the
flush epoch). LIMIT keeps the last n records (one connection, so one
shard: the same with 1 and 2 shards). A snapshot without a tag stops
sluice at start-up with the file, the statement and the reason.
"""
import json
import socket

from harness import (check, check_eq, conf, file_out, free_port, main, read_lines, service, tcp_in,
                     wait_for, wait_stable)


def streams(limit):
    return """
[STREAM_TASK]
    Name snap
    Exec CREATE SNAPSHOT snap WITH (tag='snap.out') AS SELECT * FROM TAG:'app.*' LIMIT %d;

[STREAM_TASK]
    Name flush
    Exec FLUSH SNAPSHOT snap AS SELECT * FROM TAG:'ctl' WHERE cmd = 'flush';
""" % limit


def lines_of(t, name):
    try:
        return [json.loads(x) for x in read_lines(t.path(name))]
    except FileNotFoundError:
        return []


def count_of(t, name):
    try:
        return len(read_lines(t.path(name)))
    except FileNotFoundError:
        return 0


def start(t, shards, limit):
    with open(t.path('streams.conf'), 'w') as f:
        f.write(streams(limit))
    app, ctl = free_port(), free_port()
    sl = t.sluice(conf(service(t, Shards=shards, Streams_File='streams.conf'),
                       tcp_in(app, Tag='app.web'), tcp_in(ctl, Tag='ctl'),
                       file_out(t, 'snap.out', match='snap.out'),
                       file_out(t, 'raw.out', match='app.*')))
    return sl, app, ctl


def send(port, recs):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(''.join(json.dumps(r) + '\n' for r in recs).encode())
    return s


def flush_all(t, shards):
    sl, app, ctl = start(t, shards, 100000)
    socks = []
    sent = []
    # phase 1: 400 records over 8 connections (both shards with 2)
    batches = [[{'seq': i, 'app': 'a%d' % (i % 8), 'msg': 'x' * (i % 50)}
                for i in range(c, 400, 8)] for c in range(8)]
    for b in batches:
        socks.append(send(app, b))
        sent += b
    # a record is in the snapshot before its chunk reaches an output
    wait_for(lambda: count_of(t, 'raw.out') >= 400, 20, 'the records reach raw.out')
    check_eq(count_of(t, 'snap.out'), 0, 'a snapshot emits nothing by itself')
    c = send(ctl, [{'cmd': 'noop'}, {'cmd': 'flush'}])
    wait_for(lambda: count_of(t, 'snap.out') >= 400, 20, 'the flush reaches snap.out')
    got = wait_stable(lambda: count_of(t, 'snap.out'), 0.5, 10, 'snap.out settles')
    check_eq(got, 400, 'one flush: exactly the records of the snapshot')
    out = lines_of(t, 'snap.out')
    check_eq(sorted(r['seq'] for r in out), list(range(400)), 'every record once')
    check(sorted(out, key=lambda r: r['seq']) == sorted(sent, key=lambda r: r['seq']),
          'the records whole, as they came')

    # phase 2: the snapshot was emptied; the next flush emits only the new ones
    more = [{'seq': i, 'app': 'b', 'msg': ''} for i in range(400, 460)]
    socks.append(send(app, more[:30]))
    socks.append(send(app, more[30:]))
    wait_for(lambda: count_of(t, 'raw.out') >= 460, 20, 'the new records reach raw.out')
    c.sendall(b'{"cmd": "flush"}\n')
    wait_for(lambda: count_of(t, 'snap.out') >= 460, 20, 'the second flush reaches snap.out')
    got = wait_stable(lambda: count_of(t, 'snap.out'), 0.5, 10, 'snap.out settles')
    check_eq(got, 460, 'the second flush: exactly the 60 records that came after the first')
    check_eq(sorted(r['seq'] for r in lines_of(t, 'snap.out')[400:]), list(range(400, 460)),
             'the second flush holds the new records only')
    for s in socks + [c]:
        s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')


def test_flush_1_shard(t):
    flush_all(t, 1)


def test_flush_2_shards(t):
    flush_all(t, 2)


def last_n(t, shards):
    sl, app, ctl = start(t, shards, 5)
    s = send(app, [{'seq': i} for i in range(50)])
    wait_for(lambda: count_of(t, 'raw.out') >= 50, 20, 'the records reach raw.out')
    c = send(ctl, [{'cmd': 'flush'}])
    wait_for(lambda: count_of(t, 'snap.out') >= 5, 20, 'the flush reaches snap.out')
    wait_stable(lambda: count_of(t, 'snap.out'), 0.5, 10, 'snap.out settles')
    check_eq([r['seq'] for r in lines_of(t, 'snap.out')], [45, 46, 47, 48, 49],
             'LIMIT 5: the last 5 records, oldest first')
    s.close()
    c.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')


def test_limit_1_shard(t):
    last_n(t, 1)


def test_limit_2_shards(t):
    last_n(t, 2)


def test_limit_per_shard(t):
    """2 shards, 16 connections (the kernel spreads them over both shards;
    all on one has odds 2^-15): LIMIT 3 bounds each shard's part, so one
    flush emits 3 records from each shard, 6 in all, proving the trigger
    on one shard flushed the other."""
    sl, app, ctl = start(t, 2, 3)
    socks = [send(app, [{'seq': c * 100 + i} for i in range(10)]) for c in range(16)]
    wait_for(lambda: count_of(t, 'raw.out') >= 160, 20, 'the records reach raw.out')
    c = send(ctl, [{'cmd': 'flush'}])
    wait_for(lambda: count_of(t, 'snap.out') >= 6, 20, 'both shards flush')
    got = wait_stable(lambda: count_of(t, 'snap.out'), 0.5, 10, 'snap.out settles')
    check_eq(got, 6, 'LIMIT 3 per shard: 3 records from each of the 2 shards')
    per_conn = {}
    for r in lines_of(t, 'snap.out'):
        per_conn.setdefault(r['seq'] // 100, []).append(r['seq'] % 100)
    check(all(v == sorted(v) and v[-1] == 9 for v in per_conn.values()),
          'a shard keeps the latest records of its connections, in order', repr(per_conn))
    for s in socks + [c]:
        s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')


def test_no_tag(t):
    with open(t.path('streams.conf'), 'w') as f:
        f.write('[STREAM_TASK]\n    Name snap\n'
                '    Exec CREATE SNAPSHOT snap AS SELECT * FROM TAG:\'a\' LIMIT 5;\n')
    sl = t.sluice(conf(service(t, Streams_File='streams.conf'), tcp_in(free_port()),
                       file_out(t)), wait=False)
    rc = sl.wait_exit(20)
    check(rc not in (None, 0), 'sluice refuses to start', 'rc=%r' % rc)
    err = sl.stderr()
    check('streams.conf:3' in err and 'statement snap' in err and 'needs a tag' in err,
          'the error names the file, the statement and the missing tag', err[-500:])


if __name__ == '__main__':
    main([test_flush_1_shard, test_flush_2_shards, test_limit_1_shard, test_limit_2_shards,
          test_limit_per_shard, test_no_tag])
