#!/usr/bin/env python3
"""test_filters.py — [FILTER] chains end to end, through the real binary.

- A chain parser -> multiline -> grep -> modify -> rewrite_tag: a Java
  stack trace sent in pieces over TCP becomes one record, lines are split
  into fields by a regex [PARSER] from a Parsers_File, DEBUG is excluded,
  fields are added and renamed, and ERROR records are copied under a new
  tag to a second output. Every record is checked field by field.
- multiline records as Fluent Bit makes them: java traces cut by another
  thread's line, back to back, and one still open when the flush_ms
  timer ends it, give exactly the records Fluent Bit's rules give (the
  same vectors as tests/unit/parsers/test_psr_ml.c: test_realistic).
- grep at volume (loadgen, ~20% ERROR): exactly the ERROR events arrive,
  every other one is counted as filtered, none is lost.
- Bad filter configurations stop sluice with the file, line and cause.
"""
import json
import socket

from harness import (check, check_eq, conf, file_out, free_port, main, read_lines, run_loadgen,
                     service, syslog_in, tcp_in, wait_for)

PARSERS = r"""
[PARSER]
    Name   lvl
    Format regex
    Regex  ^(?<level>[A-Z]+) (?<msg>[\s\S]*)$

[MULTILINE_PARSER]
    name          dashes
    type          regex
    flush_timeout 500
    rule "start_state" "/^[A-Z]+ /" "cont"
    rule "cont"        "/^-- /"     "cont"
"""

TRACE = ['ERROR java.lang.IllegalStateException: boom',
         '\tat com.example.App.run(App.java:10)',
         '\tat com.example.App.main(App.java:5)']


def records(path):
    return [json.loads(x) for x in read_lines(path)]


def test_chain(t):
    with open(t.path('parsers.conf'), 'w') as f:
        f.write(PARSERS)
    port = free_port()
    text = conf(service(t, Parsers_File='parsers.conf'),
                tcp_in(port, fmt='none', Tag='app'),
                ('FILTER', [('Name', 'multiline'), ('Match', 'app'),
                            ('multiline.key_content', 'log'), ('multiline.parser', 'java')]),
                ('FILTER', [('Name', 'parser'), ('Match', 'app'), ('Key_Name', 'log'),
                            ('Parser', 'lvl')]),
                ('FILTER', [('Name', 'grep'), ('Match', 'app'), ('Exclude', 'level ^DEBUG$')]),
                ('FILTER', [('Name', 'modify'), ('Match', 'app'), ('Add', 'env prod'),
                            ('Rename', 'msg message')]),
                ('FILTER', [('Name', 'rewrite_tag'), ('Match', 'app'),
                            ('Rule', '$level ^(ERROR)$ alerts.$TAG true')]),
                file_out(t, name='app.out', fmt='plain', match='app'),
                file_out(t, name='alerts.out', fmt='plain', match='alerts.*'))
    sl = t.sluice(text)
    s = socket.create_connection(('127.0.0.1', port))
    lines = ['INFO started', 'DEBUG noise'] + TRACE + ['INFO done']
    # The trace arrives in two writes, cut inside a line.
    data = ('\n'.join(lines) + '\n').encode()
    cut = data.index(b'App.run') + 3
    s.sendall(data[:cut])
    wait_for(lambda: (sl.stats() or {}).get('inputs') is not None, 10, 'stats')
    s.sendall(data[cut:])
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 4, 20, 'app and alert records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    want_err = {'level': 'ERROR', 'message': '\n'.join(TRACE)[len('ERROR '):], 'env': 'prod'}
    check_eq(records(t.path('app.out')),
             [{'level': 'INFO', 'message': 'started', 'env': 'prod'},
              want_err,
              {'level': 'INFO', 'message': 'done', 'env': 'prod'}],
             'app: trace joined, parsed, DEBUG excluded, env added, msg renamed, in order')
    check_eq(records(t.path('alerts.out')), [want_err],
             'alerts.app: the ERROR record copied under its new tag')
    st = sl.stats()
    check_eq(st['inputs']['tcp.0']['filtered'] >= 1, True, 'the excluded record is counted as filtered')
    # Per-filter counters with Fluent Bit's names (its /api/v1/metrics
    # "filter" section: drop_records, add_records; src/http_server/api/v1/metrics.c).
    check_eq(st['filters']['grep.0'], {'drop_records': 1, 'add_records': 0},
             'grep.0: the DEBUG record dropped')
    check_eq(st['filters']['rewrite_tag.0'], {'drop_records': 0, 'add_records': 1},
             'rewrite_tag.0: one record emitted under the new tag (Keep true: none dropped)')


# Lines and the records Fluent Bit's java rules make of them
# (src/multiline/flb_ml_parser_java.c, flb_ml_rule.c): a frame after a
# line that cut its trace begins a group of its own; a header while a
# trace is open begins the next; the last trace goes out on flush_ms.
ML_IN = ['INFO starting',
         'java.lang.IllegalStateException: boom',
         '\tat com.example.A.run(A.java:10)',
         'INFO other thread',
         '\tat com.example.B.run(B.java:20)',
         '\tat java.base/java.lang.Thread.run(Thread.java:829)',
         'Exception in thread "main" java.lang.RuntimeException: first',
         '\tat Main.main(Main.java:3)',
         'Exception in thread "worker" java.lang.Error: second',
         '\tat Worker.run(Worker.java:7)',
         '\t... 3 more']
ML_OUT = ['INFO starting',
          'java.lang.IllegalStateException: boom\n\tat com.example.A.run(A.java:10)',
          'INFO other thread',
          '\tat com.example.B.run(B.java:20)\n\tat java.base/java.lang.Thread.run(Thread.java:829)',
          'Exception in thread "main" java.lang.RuntimeException: first\n\tat Main.main(Main.java:3)',
          'Exception in thread "worker" java.lang.Error: second\n\tat Worker.run(Worker.java:7)\n'
          '\t... 3 more']


def test_multiline_records(t):
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, fmt='none', Tag='app'),
                       ('FILTER', [('Name', 'multiline'), ('Match', 'app'),
                                   ('multiline.key_content', 'log'), ('multiline.parser', 'java'),
                                   ('flush_ms', '300')]),
                       file_out(t, fmt='json_lines')))
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(('\n'.join(ML_IN) + '\n').encode())
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= len(ML_OUT), 20, 'every record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([r.get('log') for r in records(t.path('out.txt'))], ML_OUT,
             "the records (count, order, text) Fluent Bit's java rules make")


def test_multiline_partial_message(t):
    """mode partial_message (Fluent Bit's plugins/filter_multiline/ml.c,
    ml_filter_partial, and ml_concat.c; docs pipeline/filters/multiline-
    stacktrace): the pieces Docker's fluentd log driver cut a long line
    into (partial_message "true", partial_id, partial_ordinal,
    partial_last) are joined per partial_id into the first piece's record,
    without the partial_* keys and with "log" last; records that are not
    pieces pass unchanged, in their place; a message whose last piece
    never comes goes out after flush_ms."""
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, Tag='docker'),
                       ('FILTER', [('Name', 'multiline'), ('Match', 'docker'),
                                   ('multiline.key_content', 'log'), ('mode', 'partial_message'),
                                   ('flush_ms', '500')]),
                       file_out(t, fmt='json_lines')))
    big = 'x' * 16384

    def piece(pid, log, ordinal, last):
        return json.dumps({'container_id': 'c1', 'source': 'stdout', 'log': log,
                           'partial_message': 'true', 'partial_id': pid,
                           'partial_ordinal': str(ordinal), 'partial_last': last})
    lines = [piece('p1', big, 1, 'false'), json.dumps({'source': 'stdout', 'log': 'short line'}),
             piece('p1', big, 2, 'false'), piece('p1', 'tail of it', 3, 'true'),
             piece('p2', 'never finished', 1, 'false')]
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(('\n'.join(lines) + '\n').encode())
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 20, 'three records out (the last after flush_ms)')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    recs = records(t.path('out.txt'))
    for r in recs:
        r.pop('date', None)
    check_eq([list(r.items()) for r in recs],
             [[('source', 'stdout'), ('log', 'short line')],
              [('container_id', 'c1'), ('source', 'stdout'), ('log', big + big + 'tail of it')],
              [('container_id', 'c1'), ('source', 'stdout'), ('log', 'never finished')]],
             'pieces joined in order, partial_* gone, log last; the unfinished one after flush_ms')


def test_multiline_filter_bytes(t):
    """The filter joins a record's key_content, which its Fluent Bit
    instance always has (plugins/filter_multiline/ml.c sets key_content on
    every parser instance): src/multiline/flb_ml.c's breakline_prepare then
    adds nothing, so no final "\\n" and no separator between endswith
    pieces; regex lines get "\\n" only when the text so far does not end
    with one (flb_ml_rule.c, flb_ml_rule_process). Vectors: java_input /
    java_output of tests/internal/multiline.c (test_parser_java: "log"
    values ending with "\\n"), and the endswith pieces of its
    endswith_input as record values."""
    with open(t.path('parsers.conf'), 'w') as f:
        f.write('[MULTILINE_PARSER]\n    name bs\n    type endswith\n    match_string \\\n'
                '    negate on\n    flush_timeout 500\n')
    pa, pb = free_port(), free_port()
    flt = lambda tag, parser: ('FILTER', [('Name', 'multiline'), ('Match', tag),
                                          ('multiline.key_content', 'log'),
                                          ('multiline.parser', parser), ('flush_ms', '300')])
    sl = t.sluice(conf(service(t, Parsers_File=t.path('parsers.conf')),
                       tcp_in(pa, Tag='a'), tcp_in(pb, Tag='b'), flt('a', 'java'), flt('b', 'bs'),
                       file_out(t, name='a.txt', match='a', fmt='json_lines'),
                       file_out(t, name='b.txt', match='b', fmt='json_lines')))
    java_in = ['Exception in thread "main" java.lang.IllegalStateException: ..null property\n',
               '     at com.example.myproject.Author.getBookIds(xx.java:38)\n',
               '     at com.example.myproject.Bootstrap.main(Bootstrap.java:14)\n',
               'Caused by: java.lang.NullPointerException\n',
               '     at com.example.myproject.Book.getId(Book.java:22)\n',
               '     at com.example.myproject.Author.getBookIds(Author.java:35)\n',
               '     ... 1 more\n',
               'single line\n']
    bs_in = ['1a. some multiline log \\', '1b. some multiline log',
             '2a. another multiline log\\', '2b. another multiline log',
             '3a. non multiline 1']
    for port, lines in ((pa, java_in), (pb, bs_in)):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(''.join(json.dumps({'log': ln}) + '\n' for ln in lines).encode())
        s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 5, 20, 'every record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([r.get('log') for r in records(t.path('a.txt'))],
             [''.join(java_in[:7]), 'single line\n'],
             'java over "log" values ending with "\\n": no "\\n" added (test_parser_java)')
    check_eq([r.get('log') for r in records(t.path('b.txt'))],
             ['1a. some multiline log \\1b. some multiline log',
              '2a. another multiline log\\2b. another multiline log', '3a. non multiline 1'],
             'endswith over key_content: pieces joined without a separator, no final "\\n"')


def test_grep_volume(t):
    count = 50000
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port),
                       ('FILTER', [('Name', 'grep'), ('Match', '*'), ('Regex', 'message ERROR')]),
                       file_out(t, fmt='json_lines')))
    run_loadgen(['--port', port, '--count', count, '--seed', 7])
    st = sl.wait_stats(lambda st: st['inputs']['syslog.0']['records'] >= count and
                       st['totals']['out'] + st['inputs']['syslog.0']['filtered'] >= count,
                       60, 'every event delivered or filtered')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    recs = records(t.path('out.txt'))
    errors = [r for r in recs if 'ERROR' in r.get('message', '')]
    check_eq(len(errors), len(recs), 'only records whose message has ERROR are delivered')
    flt = sl.stats()['inputs']['syslog.0']['filtered']
    check_eq(len(recs) + flt, count, 'delivered + filtered = sent')
    check_eq(sl.stats()['filters']['grep.0']['drop_records'], flt, 'grep.0 drop_records')
    check(0.15 < len(recs) / count < 0.25, 'about 20% of loadgen events are ERROR',
          '%d of %d' % (len(recs), count))


def test_input_parser(t):
    """An input's Parser naming a [PARSER]: matched lines become fields,
    a line it cannot match is kept raw under "message" and counted."""
    with open(t.path('parsers.conf'), 'w') as f:
        f.write('[PARSER]\n    Name   hostmsg\n    Format regex\n'
                '    Regex  ^(?<host>[a-z0-9]+) (?<msg>.*)$\n')
    port = free_port()
    sl = t.sluice(conf(service(t, Parsers_File='parsers.conf'),
                       syslog_in(port, mode='udp', parser='hostmsg'), file_out(t)))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for d in (b'web1 hello there', b'NOSPACE', b'db2 ok'):
        s.sendto(d, ('127.0.0.1', port))
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 15, 'three records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(sorted(map(json.dumps, records(t.path('out.txt')))),
             sorted(map(json.dumps, [{'host': 'web1', 'msg': 'hello there'}, {'message': 'NOSPACE'},
                                     {'host': 'db2', 'msg': 'ok'}])),
             'parsed by the [PARSER]; the unmatched line kept raw')
    check_eq(sl.stats()['inputs']['syslog.0']['unparsed'], 1, 'one record counted as unparsed')


def bad(t, sections, want, extra_files=None):
    for name, body in (extra_files or {}).items():
        with open(t.path(name), 'w') as f:
            f.write(body)
    port = free_port()
    text = conf(service(t, **({'Parsers_File': 'p.conf'} if extra_files else {})),
                syslog_in(port), *sections, file_out(t))
    sl = t.sluice(text, wait=False)
    rc = sl.wait_exit(20)
    check(rc not in (None, 0), 'sluice refuses to start: %s' % want, 'rc=%r' % rc)
    err = sl.stderr()
    check(want in err, 'the error says %r' % want, err[-600:])


def test_bad_configs(t):
    bad(t, [('FILTER', [('Name', 'grepp'), ('Match', '*')])], "unknown filter plugin 'grepp'")
    bad(t, [('FILTER', [('Name', 'grep'), ('Match', '*'), ('Regex', 'log a(b')])], 'grep')
    bad(t, [('FILTER', [('Name', 'parser'), ('Match', '*'), ('Key_Name', 'log'),
                        ('Parser', 'nope')])], 'nope')
    bad(t, [('FILTER', [('Name', 'multiline'), ('Match', '*'),
                        ('multiline.parser', 'nope')])], 'nope')
    bad(t, [], 'start_state', extra_files={'p.conf': '[MULTILINE_PARSER]\n    name x\n    type regex\n'
                                           '    rule "cont" "/a/" "cont"\n'})
    bad(t, [], 'p.conf:4', extra_files={'p.conf': '[PARSER]\n    Name y\n    Format regex\n'
                                        '    Regex  a(b\n'})


if __name__ == '__main__':
    main([test_chain, test_multiline_records, test_multiline_partial_message,
          test_multiline_filter_bytes, test_grep_volume, test_input_parser, test_bad_configs])
