#!/usr/bin/env python3
"""test_routing.py — records reach exactly the outputs whose Match or
Match_Regex selects their input's tag.

Four inputs tagged a.x, b.y, ab.z and c.q; outputs
    Match a.*                      -> a.x        (not ab.z)
    Match_Regex ^b                 -> b.y        (not ab.z)
    Match *.z                      -> ab.z
    Match_Regex ^(a\\.x|c\\.q)$      -> a.x, c.q
    Match *                        -> all four
    Match * with no File           -> one file per tag, named by the tag
    Match nothing.here (null)      -> none
Each file holds exactly its records, each once, in order per input, and
the per-output counters agree. A second configuration checks that an input
no output selects is warned about at start and counted as dropped.
"""
import json
import os
import socket

from harness import check, check_eq, conf, free_port, main, read_lines, service, tcp_in

COUNTS = {'a.x': 100, 'b.y': 200, 'ab.z': 300, 'c.q': 400}

OUTPUTS = [
    ('a_star', [('Match', 'a.*')], ['a.x']),
    ('regex_b', [('Match_Regex', '^b')], ['b.y']),
    ('star_z', [('Match', '*.z')], ['ab.z']),
    ('regex_alt', [('Match_Regex', r'^(a\.x|c\.q)$')], ['a.x', 'c.q']),
    ('all', [('Match', '*')], list(COUNTS)),
]


def send_json(port, tag, n):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b''.join(json.dumps({'src': tag, 'i': i}).encode() + b'\n' for i in range(n)))
    s.close()


def check_file(path, tags, what):
    got = {}
    for ln in read_lines(path) if os.path.exists(path) else []:
        r = json.loads(ln)
        got.setdefault(r['src'], []).append(r['i'])
    want = {tag: list(range(COUNTS[tag])) for tag in tags}
    check(got == want, what, 'got %s' % {k: len(v) for k, v in got.items()} if got != want else
          ', '.join('%s x%d' % (k, len(v)) for k, v in sorted(got.items())))


def test_match_and_match_regex(t):
    ports = {tag: free_port() for tag in COUNTS}
    inputs = [tcp_in(ports[tag], Tag=tag) for tag in COUNTS]
    os.mkdir(t.path('bytag'))
    outputs = [('OUTPUT', [('Name', 'file')] + m + [('Path', t.dir), ('File', name),
                                                   ('Format', 'plain')]) for name, m, _ in OUTPUTS]
    outputs.append(('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.path('bytag')),
                               ('Format', 'plain')]))
    outputs.append(('OUTPUT', [('Name', 'null'), ('Match', 'nothing.here'), ('Alias', 'nobody')]))
    sl = t.sluice(conf(service(t), *inputs, *outputs))
    for tag, n in COUNTS.items():
        send_json(ports[tag], tag, n)
    want_out = {'file.%d' % i: sum(COUNTS[x] for x in tags) for i, (_, _, tags) in enumerate(OUTPUTS)}
    want_out['file.%d' % len(OUTPUTS)] = sum(COUNTS.values())
    want_out['nobody'] = 0
    st = sl.wait_stats(lambda st: st['totals']['out'] >= sum(want_out.values()), 30,
                       'every routed record out')
    got_out = {k: v['records'] for k, v in st['outputs'].items()}
    check_eq(got_out, want_out, 'records per output')
    check_eq(st['totals']['in'], sum(COUNTS.values()), 'records in')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    for name, m, tags in OUTPUTS:
        check_file(t.path(name), tags, '%s=%s holds exactly %s' % (m[0][0], m[0][1], tags))
    for tag in COUNTS:
        check_file(t.path('bytag', tag), [tag], 'File unset: records of tag %s in the file named %s'
                   % (tag, tag))
    check_eq(sorted(os.listdir(t.path('bytag'))), sorted(COUNTS), 'one file per tag, no other')


def test_unrouted_input(t):
    p1, p2 = free_port(), free_port()
    sl = t.sluice(conf(service(t), tcp_in(p1, Tag='kept'), tcp_in(p2, Tag='lost'),
                       ('OUTPUT', [('Name', 'file'), ('Match', 'kept'), ('Path', t.dir),
                                   ('File', 'out.txt'), ('Format', 'plain')])))
    err = sl.stderr()
    check("no output matches tag 'lost'" in err, 'start-up warns about the tag no output matches')
    send_json(p1, 'kept', 10)
    send_json(p2, 'lost', 20)
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 10 and st['inputs']['tcp.1']['dropped'] >= 20,
                       30, 'kept delivered, lost dropped')
    check_eq((st['inputs']['tcp.0']['records'], st['inputs']['tcp.1']['records'],
              st['inputs']['tcp.1']['dropped'], st['totals']['out'], st['totals']['dropped']),
             (10, 20, 20, 10, 20), 'counters (kept in, lost in, lost dropped, out, total dropped)')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    COUNTS['kept'] = 10
    check_file(t.path('out.txt'), ['kept'], 'only the routed input reaches the file')


if __name__ == '__main__':
    main([test_match_and_match_regex, test_unrouted_input])
