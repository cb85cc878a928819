#!/usr/bin/env python3
"""test_tail_ml_container.py — the tail input's `multiline.parser docker`,
`cri` and `docker, cri` (Fluent Bit's docs, pipeline/inputs/tail.md,
"Multiline and Containers (v1.8+)": `path /var/log/containers/*.log`,
`multiline.parser docker, cri`), against Fluent Bit's source:

- src/multiline/flb_ml_parser_docker.c: each line is JSON ("time" read
  with %Y-%m-%dT%H:%M:%S.%L and kept); a "log" that does not end with "\n"
  is continued (its comment's example: "one, ", "two, ", "three\n");
- src/multiline/flb_ml_parser_cri.c: the regex
  ^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$, time
  %Y-%m-%dT%H:%M:%S.%L%z kept; "_p" P is continued, F ends it;
- src/multiline/flb_ml.c: pieces are joined per key_group "stream"
  (package_content: flb_ml_stream_group_get), the record is the first
  piece's map with key_content "log" replaced and the first piece's time
  (flb_ml_register_context, flb_ml_flush_stream_group), so a cri record
  keeps the first piece's "_p"; flb_ml_append_text tries the last parser
  used, then the others in order; a line none takes flushes every open
  group of the file and goes out alone as {"log": line};
- plugins/in_tail/tail_file.c (ml_flush_callback): Path_Key and
  Offset_Key appended to the record.
And sluice's delivery rules: the DB offset stays before an open group
(a restart mid-group loses and repeats nothing), an open group goes out
after the built-in's flush timeout (FLB_ML_FLUSH_TIMEOUT, 4 s).
"""
import calendar
import json
import os
import sqlite3
import subprocess
import time

from harness import SLUICE, check, check_eq, conf, file_out, main, service, wait_for
from mpack import mp_all


def tail_in(path, mp, **extra):
    kv = [('Name', 'tail'), ('Path', path), ('Refresh_Interval', '1'),
          ('Read_from_Head', 'on'), ('multiline.parser', mp)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def events(t, name='out.mp'):
    """[(sec, nsec, record)] in order; the record's keys keep their order."""
    p = t.path(name)
    if not os.path.exists(p):
        return []
    with open(p, 'rb') as f:
        return [(ev[0][1], ev[0][2], ev[1]) for ev in mp_all(f.read())]


def out_mp(t, name='out.mp', match='*'):
    return file_out(t, name=name, fmt='msgpack', match=match)


def write(path, lines, mode='ab'):
    with open(path, mode) as f:
        f.write(b''.join(ln.encode() + b'\n' for ln in lines))


def docker(log, stream='stdout', ts='2021-02-01T01:40:03.53413Z'):
    return json.dumps({'log': log, 'stream': stream, 'time': ts})


def cri(log, p='F', stream='stdout', ts='2019-05-07T18:57:50.904275087+00:00'):
    return '%s %s %s %s' % (ts, stream, p, log)


def epoch(s, frac):
    return calendar.timegm(time.strptime(s, '%Y-%m-%dT%H:%M:%S')), frac


def db_offset(path):
    c = sqlite3.connect(path)
    try:
        return [r[0] for r in c.execute('SELECT offset FROM in_tail_files')]
    finally:
        c.close()


def test_docker_split_joined(t):
    """The example of flb_ml_parser_docker.c: "one, " "two, " "three\\n" is
    one record, the first piece's {log, stream, time} (keys in the line's
    order, "time" kept) with the joined text, timed by the first piece;
    Offset_Key the first piece's offset; whole lines around it as they
    are."""
    log = t.path('c.log')
    lines = [docker('before\n', ts='2021-02-01T01:40:03.1Z'),
             docker('one, ', ts='2021-02-01T01:40:03.53413Z'),
             docker('two, ', ts='2021-02-01T01:40:03.53414Z'),
             docker('three\n', ts='2021-02-01T01:40:03.53415Z'),
             docker('after\n', ts='2021-02-01T01:40:04.5Z')]
    write(log, lines)
    sl = t.sluice(conf(service(t), tail_in(log, 'docker', Path_Key='path', Offset_Key='off'),
                       out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 30, 'three records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    ev = events(t)
    off1 = len(lines[0]) + 1
    check_eq([list(r.items()) for _, _, r in ev],
             [[('log', 'before\n'), ('stream', 'stdout'), ('time', '2021-02-01T01:40:03.1Z'),
               ('path', log), ('off', 0)],
              [('log', 'one, two, three\n'), ('stream', 'stdout'),
               ('time', '2021-02-01T01:40:03.53413Z'), ('path', log), ('off', off1)],
              [('log', 'after\n'), ('stream', 'stdout'), ('time', '2021-02-01T01:40:04.5Z'),
               ('path', log), ('off', off1 + sum(len(x) + 1 for x in lines[1:4]))]],
             'the split line joined into the first piece\'s record')
    check_eq([(s, n) for s, n, _ in ev],
             [epoch('2021-02-01T01:40:03', 100000000), epoch('2021-02-01T01:40:03', 534130000),
              epoch('2021-02-01T01:40:04', 500000000)],
             'record times: each record\'s (first piece\'s) "time"')


def test_cri_partial_joined(t):
    """cri: P, P, F is one record; it keeps the first piece's "_p" ("P")
    and "time" (flb_ml_flush_stream_group repacks the first piece's map);
    time read with %z."""
    log = t.path('c.log')
    write(log, [cri('whole', ts='2019-05-07T18:57:50.1+00:00'),
                cri('1a. some ', 'P', ts='2019-05-07T18:57:51.904275087+02:00'),
                cri('1b. multiline ', 'P', ts='2019-05-07T18:57:52Z'),
                cri('1c. log', 'F', ts='2019-05-07T18:57:53Z')])
    sl = t.sluice(conf(service(t), tail_in(log, 'cri'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, 'two records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    ev = events(t)
    check_eq([list(r.items()) for _, _, r in ev],
             [[('time', '2019-05-07T18:57:50.1+00:00'), ('stream', 'stdout'), ('_p', 'F'),
               ('log', 'whole')],
              [('time', '2019-05-07T18:57:51.904275087+02:00'), ('stream', 'stdout'),
               ('_p', 'P'), ('log', '1a. some 1b. multiline 1c. log')]],
             'P P F joined, the first piece\'s fields kept')
    s, _ = epoch('2019-05-07T18:57:51', 0)
    check_eq([(x, n) for x, n, _ in ev][1], (s - 7200, 904275087),
             'the joined record\'s time: its first piece\'s, with its zone')


def test_interleaved_streams(t):
    """stdout and stderr pieces interleave and join apart (key_group
    "stream"); each record goes out when its own stream completes."""
    log = t.path('c.log')
    write(log, [docker('out-a ', 'stdout'), docker('err-a ', 'stderr'),
                docker('out-b\n', 'stdout'), docker('err-b ', 'stderr'),
                docker('err-c\n', 'stderr'), docker('out-whole\n', 'stdout')])
    sl = t.sluice(conf(service(t), tail_in(log, 'docker'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 30, 'three records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([(r['stream'], r['log']) for _, _, r in events(t)],
             [('stdout', 'out-a out-b\n'), ('stderr', 'err-a err-b err-c\n'),
              ('stdout', 'out-whole\n')],
             'each stream joined on its own, in the order they complete')


def test_docker_cri_both(t):
    """`multiline.parser docker, cri` (the docs' Kubernetes example) over a
    docker file and a cri file of one Path glob: each file's lines go to
    the parser that takes them."""
    d, c = t.path('a-docker.log'), t.path('b-cri.log')
    write(d, [docker('d1 ', 'stdout'), docker('d2\n', 'stdout'), docker('d3\n', 'stderr')])
    write(c, [cri('c1 ', 'P'), cri('c2', 'F'), cri('c3', 'F', 'stderr')])
    sl = t.sluice(conf(service(t), tail_in(t.path('*.log'), 'docker, cri', Path_Key='path'),
                       out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 4, 30, 'four records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = sorted((r['path'], r['stream'], r['log'], r.get('_p')) for _, _, r in events(t))
    check_eq(got, [(d, 'stderr', 'd3\n', None), (d, 'stdout', 'd1 d2\n', None),
                   (c, 'stderr', 'c3', 'F'), (c, 'stdout', 'c1 c2', 'P')],
             'docker lines joined by docker, cri lines by cri')
    check_eq(sum(v.get('unparsed', 0) for v in sl.stats()['inputs'].values()), 0,
             'no line unparsed')


def test_malformed_line(t):
    """A line that neither parser takes (not JSON, not CRI; JSON without a
    string "log") ends the open group, which goes out first, and goes out
    alone as {"log": line} (flb_ml_append_text), counted as unparsed; its
    neighbours are delivered."""
    log = t.path('c.log')
    write(log, [docker('w1\n'), docker('open '), 'garbage, not a container line',
                '{"msg": "json without log"}', docker('w2\n')])
    sl = t.sluice(conf(service(t), tail_in(log, 'docker, cri', Path_Key='path'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 5, 30, 'five records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r for _, _, r in events(t)],
             [{'log': 'w1\n', 'stream': 'stdout', 'time': '2021-02-01T01:40:03.53413Z', 'path': log},
              {'log': 'open ', 'stream': 'stdout', 'time': '2021-02-01T01:40:03.53413Z',
               'path': log},
              {'log': 'garbage, not a container line', 'path': log},
              {'log': '{"msg": "json without log"}', 'path': log},
              {'log': 'w2\n', 'stream': 'stdout', 'time': '2021-02-01T01:40:03.53413Z', 'path': log}],
             'the open group flushed, the bad lines alone, the neighbours whole')
    check_eq(sum(v.get('unparsed', 0) for v in sl.stats()['inputs'].values()), 2,
             'two lines counted unparsed')


def test_db_restart_mid_group(t):
    """With a DB, the offset stays at the first piece of an open group: a
    stop mid-group (open groups are not emitted at shutdown) and a restart
    read the group again whole: the joined record once, nothing repeated."""
    log, db = t.path('c.log'), t.path('tail.db')
    first = [docker('w1\n'), docker('w2\n')]
    write(log, first + [cri('not docker: unparsed')])
    opened = os.path.getsize(log)
    write(log, [docker('part-1 '), docker('part-2 ')])
    cfg = conf(service(t), tail_in(log, 'docker', DB=db), out_mp(t))
    sl = t.sluice(cfg)
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 30, 'whole lines out')
    wait_for(lambda: os.path.exists(db) and db_offset(db) == [opened], 30,
             'DB offset at the open group\'s first piece')
    check_eq(sl.stop(), 0, 'sluice exits 0 with a group open')
    check_eq(db_offset(db), [opened], 'DB offset still at the open group\'s first piece')
    check_eq(len(events(t)), 3, 'the open group was not emitted at shutdown')
    write(log, [docker('part-3\n'), docker('w3\n')])
    sl = t.sluice(cfg, name='sluice2')
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, 'the rest out')
    wait_for(lambda: db_offset(db) == [os.path.getsize(log)], 30, 'DB offset at the end')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for _, _, r in events(t)],
             ['w1\n', 'w2\n', cri('not docker: unparsed'), 'part-1 part-2 part-3\n', 'w3\n'],
             'every record once: the group whole after the restart')


def test_flush_timeout(t):
    """A group no piece completes goes out after the built-in's flush
    timeout (FLB_ML_FLUSH_TIMEOUT, 4000 ms) as it stands; a cri P alone
    too; not before it (the files are read at start)."""
    d, c = t.path('d.log'), t.path('c.log')
    write(d, [docker('dangling ', 'stderr')])
    write(c, [cri('partial', 'P')])
    t0 = time.monotonic()
    sl = t.sluice(conf(service(t), tail_in(t.path('*.log'), 'docker, cri'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, 'open groups out after the timeout')
    check(time.monotonic() - t0 >= 3.5, 'emitted after the 4 s timeout, not before',
          '%.1f s after start' % (time.monotonic() - t0))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = sorted(r['log'] for _, _, r in events(t))
    check_eq(got, ['dangling ', 'partial'], 'the open groups as they stood')


def test_backpressure(t):
    """Groups that complete while the input's memory is out wait in the
    file's pending slot and go first when it is back; whole lines and
    pieces are read again: every record once, in the order each completes."""
    log = t.path('c.log')
    want, lines = [], []
    for i in range(20000):
        if i % 3 == 0:
            lines += [docker('split %d a ' % i), docker('%d b ' % i, 'stderr'),
                      docker('%d c\n' % i), docker('%d d\n' % i, 'stderr')]
            want += [('stdout', 'split %d a %d c\n' % (i, i)), ('stderr', '%d b %d d\n' % (i, i))]
        else:
            lines.append(docker('whole %d\n' % i))
            want.append(('stdout', 'whole %d\n' % i))
    write(log, lines)
    sl = t.sluice(conf(service(t), tail_in(log, 'docker', Mem_Buf_Limit='300k'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= len(want), 60, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = [(r['stream'], r['log']) for _, _, r in events(t)]
    check(got == want, 'every record once, in order, through the pauses',
          'got %d records, first difference at %s' % (
              len(got), next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), None)))


def test_mixed_with_text_parsers_refused(t):
    """docker / cri next to a text parser (java) on one tail: refused at
    start with FILE:LINE and the key (join traces with a multiline filter
    after the input, as Fluent Bit's docs advise); docker, cri itself is
    accepted."""
    for mp, ok in (('docker, java', False), ('docker, cri', True), ('cri', True)):
        path = t.path('t.conf')
        with open(path, 'w') as f:
            f.write('[INPUT]\n    Name tail\n    Path %s\n    multiline.parser %s\n'
                    '[OUTPUT]\n    Name null\n    Match *\n' % (t.path('*.log'), mp))
        p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True,
                           timeout=30)
        out = p.stdout + p.stderr
        if ok:
            check_eq(p.returncode, 0, '%s: accepted' % mp)
        else:
            check(p.returncode == 1 and '%s:4:' % path in out and 'multiline.parser' in out
                  and 'cannot be combined' in out, '%s: refused with file:line' % mp, out.strip())


if __name__ == '__main__':
    main([test_docker_split_joined, test_cri_partial_joined, test_interleaved_streams,
          test_docker_cri_both, test_malformed_line, test_db_restart_mid_group, test_flush_timeout,
          test_backpressure, test_mixed_with_text_parsers_refused])
