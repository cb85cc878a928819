#!/usr/bin/env python3
"""test_sql.py — the stream processor end to end ([SERVICE] Streams_File).

JSON records over TCP (2 shards, 3 connections) feed
  CREATE STREAM errs ... SELECT app, COUNT(*), AVG(latency), MIN, MAX
    FROM TAG:'app.*' WINDOW TUMBLING (1 SECOND) WHERE level = 'ERROR'
    GROUP BY app
and its results feed a second query (FROM STREAM:errs) and a plain
CREATE STREAM that copies matching records. Per app, the counts summed
over the windows equal what was sent, the averages weighted by the counts
equal the mean computed here, MIN/MAX are the extremes; the second query
sees exactly the first one's results; the copy stream has every ERROR
record with the selected keys. A syntax error names the file, line,
statement and column.
"""
import json
import random
import socket

from harness import check, check_eq, conf, free_port, main, read_lines, service, tcp_in

STREAMS = """
[STREAM_TASK]
    Name errs
    Exec CREATE STREAM errs WITH (tag='sql.errs') AS SELECT app, COUNT(*) AS n, AVG(latency) AS avg_lat, MIN(latency) AS lo, MAX(latency) AS hi FROM TAG:'app.*' WINDOW TUMBLING (1 SECOND) WHERE level = 'ERROR' GROUP BY app;

[STREAM_TASK]
    Name hot
    Exec CREATE STREAM hot WITH (tag='sql.hot') AS SELECT app, n FROM STREAM:errs WHERE n >= 1;

[STREAM_TASK]
    Name copy
    Exec CREATE STREAM copy WITH (tag='sql.copy') AS SELECT app, latency FROM TAG:'app.*' WHERE level = 'ERROR' AND latency > 900;
"""


def out(t, name, match):
    return ('OUTPUT', [('Name', 'file'), ('Match', match), ('Path', t.dir), ('File', name),
                       ('Format', 'plain')])


def test_windows_and_streams(t):
    with open(t.path('streams.conf'), 'w') as f:
        f.write(STREAMS)
    port = free_port()
    sl = t.sluice(conf(service(t, Shards=2, Streams_File='streams.conf'),
                       tcp_in(port, Tag='app.web'),
                       out(t, 'errs.out', 'sql.errs'), out(t, 'hot.out', 'sql.hot'),
                       out(t, 'copy.out', 'sql.copy'), out(t, 'raw.out', 'app.*')))
    rnd = random.Random(5)
    sent = {}
    lines = [[], [], []]
    total = 3000
    for i in range(total):
        app = rnd.choice(['api', 'db', 'auth'])
        level = 'ERROR' if rnd.random() < 0.3 else 'INFO'
        lat = rnd.randint(1, 1000)
        if level == 'ERROR':
            sent.setdefault(app, []).append(lat)
        lines[i % 3].append(json.dumps({'app': app, 'level': level, 'latency': lat}))
    socks = []
    for part in lines:
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(('\n'.join(part) + '\n').encode())
        socks.append(s)
    sl.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= total, 20, 'all records in')
    n_err = sum(len(v) for v in sent.values())
    # windows close a second after their end; results then reach the file
    sl.wait_stats(lambda st: st['inputs'].get('stream_processor', {}).get('records', 0) >=
                  len(sent) + sum(1 for v in sent.values() for x in v if x > 900), 20,
                  'window results and copies emitted')
    for s in socks:
        s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    errs = [json.loads(x) for x in read_lines(t.path('errs.out'))]
    by_app = {}
    for r in errs:
        a = by_app.setdefault(r['app'], {'n': 0, 'sum': 0.0, 'lo': 10**9, 'hi': -1})
        a['n'] += r['n']
        a['sum'] += r['avg_lat'] * r['n']
        a['lo'] = min(a['lo'], r['lo'])
        a['hi'] = max(a['hi'], r['hi'])
    check_eq(sorted(by_app), sorted(sent), 'one group per app')
    check_eq({k: v['n'] for k, v in by_app.items()}, {k: len(v) for k, v in sent.items()},
             'COUNT(*) summed over the windows = ERROR records sent, per app (%d)' % n_err)
    check(all(abs(by_app[k]['sum'] / by_app[k]['n'] - sum(v) / len(v)) < 1e-6 for k, v in sent.items()),
          'AVG(latency) weighted by COUNT = the mean of what was sent')
    check_eq({k: (v['lo'], v['hi']) for k, v in by_app.items()},
             {k: (min(v), max(v)) for k, v in sent.items()}, 'MIN and MAX over the windows')
    hot = [json.loads(x) for x in read_lines(t.path('hot.out'))]
    check_eq(sorted((r['app'], r['n']) for r in hot), sorted((r['app'], r['n']) for r in errs),
             'the second query (FROM STREAM:errs) sees exactly the first one\'s results')
    copy = [json.loads(x) for x in read_lines(t.path('copy.out'))]
    check_eq(sorted((r['app'], r['latency']) for r in copy),
             sorted((k, x) for k, v in sent.items() for x in v if x > 900),
             'the non-aggregating stream copies every matching record with the selected keys')
    check_eq(len(read_lines(t.path('raw.out'))), total, 'the input records still reach their output')


def test_from_stream_input_alias(t):
    """FROM STREAM:<name> names an input by its Alias or instance name, as in
    Fluent Bit's stream processor (https://docs.fluentbit.io/manual/5.0/
    stream-processing/getting-started/fluent-bit-sql: "STREAM:name ... the
    name of the input plugin instance or its alias"; src/stream_processor/
    flb_sp.c compares flb_input_name()). Only that input's records are read:
    both inputs share a tag. (The instance name, e.g. tcp.1, is accepted
    too, but sluice's SQL lexer does not take a '.' in STREAM:name yet.)"""
    with open(t.path('streams.conf'), 'w') as f:
        f.write('[STREAM_TASK]\n    Name by_alias\n    Exec CREATE STREAM a WITH (tag=\'out.alias\') '
                'AS SELECT n FROM STREAM:web_logs;\n'
                '[STREAM_TASK]\n    Name by_name\n    Exec CREATE STREAM b WITH (tag=\'out.name\') '
                'AS SELECT n FROM STREAM:db_logs;\n')
    p1, p2 = free_port(), free_port()
    sl = t.sluice(conf(service(t, Streams_File='streams.conf'),
                       tcp_in(p1, Tag='app', Alias='web_logs'), tcp_in(p2, Tag='app', Alias='db_logs'),
                       out(t, 'alias.out', 'out.alias'), out(t, 'name.out', 'out.name')))
    for port, base in ((p1, 0), (p2, 100)):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(''.join(json.dumps({'n': base + i}) + '\n' for i in range(5)).encode())
        s.close()
    sl.wait_stats(lambda st: st['inputs'].get('stream_processor', {}).get('records', 0) >= 10, 20,
                  'both streams emitted')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(sorted(json.loads(x)['n'] for x in read_lines(t.path('alias.out'))), list(range(5)),
             'STREAM:web_logs reads the input whose Alias is web_logs, only it')
    check_eq(sorted(json.loads(x)['n'] for x in read_lines(t.path('name.out'))),
             list(range(100, 105)), 'STREAM:db_logs reads the second tcp input, only it')


def test_syntax_error(t):
    with open(t.path('streams.conf'), 'w') as f:
        f.write('[STREAM_TASK]\n    Name bad\n    Exec SELECT app FROM TAG:\'x\' WHERE;\n')
    port = free_port()
    sl = t.sluice(conf(service(t, Streams_File='streams.conf'), tcp_in(port),
                       out(t, 'o.out', '*')), wait=False)
    rc = sl.wait_exit(20)
    check(rc not in (None, 0), 'sluice refuses to start', 'rc=%r' % rc)
    err = sl.stderr()
    check('streams.conf:' in err and 'bad' in err and 'column' in err,
          'the error names the file, the statement and the column', err[-500:])


if __name__ == '__main__':
    main([test_windows_and_streams, test_from_stream_input_alias, test_syntax_error])
