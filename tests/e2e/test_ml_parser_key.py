#!/usr/bin/env python3
"""test_ml_parser_key.py — a [MULTILINE_PARSER] with `parser` and
`key_group` on the tail input, against Fluent Bit:

- docs, administration/configuring-fluent-bit/multiline-parsing ("parser:
  Name of a pre-defined parser that must be applied to the incoming
  content before applying the regex rule. If no parser is defined, it's
  assumed that's a raw text and not a structured message"; "key_content:
  For an incoming structured message, specify the key that contains the
  data that should be processed by the regular expression and possibly
  concatenated"; key_group);
- src/multiline/flb_ml.c: ml_append_try_parser_type_text parses each raw
  line with the parser; process_append / package_content pick the stream
  group by key_group's value (each group keeps its own rule state) and
  test key_content; flb_ml_flush_stream_group emits the first line's map
  with key_content replaced by the joined text (its position kept), timed
  by the first line; flb_ml_append_text: a line that does not parse, or
  that no rule takes, flushes every group of the stream and goes out alone
  as {key_content: the raw line}; flb_ml_parsers_init: a `parser` naming
  no [PARSER] is a start-up error;
- tests/internal/multiline.c, test_issue_3817_1: CRI lines and the rules
  "/- $/" -> cont, "/^([1-9]).*$/" -> cont over their "log" give
  "[DEBUG] 1 start multiline - \\n1 cont A", "[DEBUG] 2 ...\\n2 cont B",
  "another isolated line" (Fluent Bit runs cri then the custom parser;
  here one [MULTILINE_PARSER] with `parser` set to a CRI regex does both).
"""
import json
import os
import subprocess

from harness import SLUICE, check, check_eq, conf, main, service, wait_for
from test_tail_ml_container import db_offset, events, out_mp, write

CRI_REGEX = r'^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$'


def json_parser():
    return ('PARSER', [('Name', 'js'), ('Format', 'json')])


def ml_parser(name, parser, rules, key_group=None):
    kv = [('name', name), ('type', 'regex'), ('parser', parser), ('key_content', 'log'),
          ('flush_timeout', '1000')]
    if key_group:
        kv.append(('key_group', key_group))
    kv += [('rule', r) for r in rules]
    return ('MULTILINE_PARSER', kv)


def tail_in(path, mp, **extra):
    kv = [('Name', 'tail'), ('Path', path), ('Read_from_Head', 'on'), ('multiline.parser', mp)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


# Fluent Bit's test_parser_elastic rules (tests/internal/multiline.c)
ELASTIC = ['"start_state" "/^\\[/" "elastic_cont"', '"elastic_cont" "/^\\s+/" "elastic_cont"']


def js(log, **kw):
    d = {'log': log}
    d.update(kw)
    return json.dumps(d)


def test_issue_3817_cri_regex(t):
    """Fluent Bit's issue_3817_1 input and output, with the CRI regex as
    the multiline parser's `parser`: the record is the first line's
    parsed map (time, stream, _p, log) with "log" joined; the last line
    does not parse and goes out alone as {"log": line}."""
    log = t.path('c.log')
    write(log, ['2021-05-17T17:35:01.184675702Z stdout F [DEBUG] 1 start multiline - ',
                '2021-05-17T17:35:01.184747208Z stdout F 1 cont A',
                '2021-05-17T17:35:01.184675702Z stdout F [DEBUG] 2 start multiline - ',
                '2021-05-17T17:35:01.184747208Z stdout F 2 cont B',
                'another isolated line'])
    sl = t.sluice(conf(service(t),
                       ('PARSER', [('Name', 'crire'), ('Format', 'regex'), ('Regex', CRI_REGEX)]),
                       ml_parser('parser_3817', 'crire',
                                 ['"start_state" "/- $/" "cont"', '"cont" "/^([1-9]).*$/" "cont"']),
                       tail_in(log, 'parser_3817'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 30, 'three records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([list(r.items()) for _, _, r in events(t)],
             [[('time', '2021-05-17T17:35:01.184675702Z'), ('stream', 'stdout'), ('_p', 'F'),
               ('log', '[DEBUG] 1 start multiline - \n1 cont A')],
              [('time', '2021-05-17T17:35:01.184675702Z'), ('stream', 'stdout'), ('_p', 'F'),
               ('log', '[DEBUG] 2 start multiline - \n2 cont B')],
              [('log', 'another isolated line')]],
             'issue_3817_1\'s three records, each group the first line\'s record')


def test_json_parser_elastic(t):
    """JSON lines through `parser` (a json [PARSER]) and Fluent Bit's
    elastic rules: the trace is one record, the first line's fields in
    their order with "log" joined, timed by the first line's "time"
    (the [PARSER]'s Time_Key); a parsed line no rule takes (not "[...",
    not indented) ends the group and goes out alone as its raw line."""
    log = t.path('c.log')
    raw = js('another separate log line', n=5)
    write(log, [js('[some weird test] IndexNotFoundException[no such index]', n=1,
                   time='2021-02-01T01:40:03.5Z'),
                js('    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver....', n=2),
                js('    at org.elasticsearch.action.admin.indices.delete.java:75)', n=3),
                raw])
    sl = t.sluice(conf(service(t),
                       ('PARSER', [('Name', 'js'), ('Format', 'json'), ('Time_Key', 'time'),
                                   ('Time_Format', '%Y-%m-%dT%H:%M:%S.%L'), ('Time_Keep', 'on')]),
                       ml_parser('elastic', 'js', ELASTIC),
                       tail_in(log, 'elastic', Path_Key='path'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, 'two records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    ev = events(t)
    check_eq([list(r.items()) for _, _, r in ev],
             [[('log', '[some weird test] IndexNotFoundException[no such index]\n'
                '    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver....\n'
                '    at org.elasticsearch.action.admin.indices.delete.java:75)'),
               ('n', 1), ('time', '2021-02-01T01:40:03.5Z'), ('path', log)],
              [('log', raw), ('path', log)]],
             'the trace joined into its first line\'s record; the other line raw')
    check_eq((ev[0][0], ev[0][1]), (1612143603, 500000000), 'timed by the first line\'s "time"')
    check_eq(sum(v.get('unparsed', 0) for v in sl.stats()['inputs'].values()), 1,
             'the line no rule takes counted unparsed')


def test_key_group_interleaved(t):
    """key_group stream: two traces whose lines interleave (stdout and
    stderr) are joined apart, each with its own rule state; a line that
    is not JSON flushes both groups (in the order they began) and goes out
    alone."""
    log = t.path('c.log')
    write(log, [js('[out] first trace', stream='stdout'),
                js('[err] second trace', stream='stderr'),
                js('  out frame 1', stream='stdout'),
                js('  err frame 1', stream='stderr'),
                js('  out frame 2', stream='stdout'),
                'not json',
                js('[out] third', stream='stdout'),
                js('  out frame 3', stream='stdout')])
    sl = t.sluice(conf(service(t), json_parser(), ml_parser('grp', 'js', ELASTIC, 'stream'),
                       tail_in(log, 'grp'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 4, 30, 'four records out (the last by timeout)')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r for _, _, r in events(t)],
             [{'log': '[out] first trace\n  out frame 1\n  out frame 2', 'stream': 'stdout'},
              {'log': '[err] second trace\n  err frame 1', 'stream': 'stderr'},
              {'log': 'not json'},
              {'log': '[out] third\n  out frame 3', 'stream': 'stdout'}],
             'interleaved traces joined apart per stream')


def test_filter_json_parser_elastic(t):
    """The same JSON lines read by a plain tail input ({"log": line}) and
    joined by the `multiline` filter with the same [MULTILINE_PARSER]
    (Fluent Bit's filter_multiline feeds each record to flb_ml_append_object,
    whose ml_append_try_parser_type_map parses key_content's value with
    the section's `parser`): the trace is one record, the first line's
    PARSED map with "log" joined and its "time"; the record whose "log"
    is not JSON ends the trace and goes on unchanged, Path_Key and all."""
    log = t.path('c.log')
    write(log, [js('[some weird test] IndexNotFoundException[no such index]', n=1,
                   time='2021-02-01T01:40:03.5Z'),
                js('    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver....', n=2),
                'plain text',
                js('[second] trace', n=4),
                js('    at frame', n=5)])
    sl = t.sluice(conf(service(t),
                       ('PARSER', [('Name', 'js'), ('Format', 'json'), ('Time_Key', 'time'),
                                   ('Time_Format', '%Y-%m-%dT%H:%M:%S.%L'), ('Time_Keep', 'on')]),
                       ml_parser('elastic', 'js', ELASTIC),
                       ('INPUT', [('Name', 'tail'), ('Path', log), ('Read_from_Head', 'on'),
                                  ('Path_Key', 'path')]),
                       ('FILTER', [('Name', 'multiline'), ('Match', '*'),
                                   ('multiline.key_content', 'log'),
                                   ('multiline.parser', 'elastic'), ('flush_ms', '500')]),
                       out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 30, 'three records out (the last by flush_ms)')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    ev = events(t)
    check_eq([list(r.items()) for _, _, r in ev],
             [[('log', '[some weird test] IndexNotFoundException[no such index]\n'
                '    at org.elasticsearch.cluster.metadata.IndexNameExpressionResolver....'),
               ('n', 1), ('time', '2021-02-01T01:40:03.5Z')],
              [('path', log), ('log', 'plain text')],
              [('log', '[second] trace\n    at frame'), ('n', 4)]],
             'each trace the first line\'s parsed map; the plain line unchanged')
    check_eq((ev[0][0], ev[0][1]), (1612143603, 500000000), 'timed by the first line\'s "time"')


def test_without_key_group_one_group(t):
    """Without key_group the same lines are one stream: the stderr start
    line ends the stdout trace (Fluent Bit: one stream group)."""
    log = t.path('c.log')
    write(log, [js('[out] first', stream='stdout'), js('[err] second', stream='stderr'),
                js('  frame', stream='stdout')])
    sl = t.sluice(conf(service(t), json_parser(), ml_parser('one', 'js', ELASTIC),
                       tail_in(log, 'one'), out_mp(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, 'two records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for _, _, r in events(t)], ['[out] first', '[err] second\n  frame'],
             'one group at a time')


def test_db_restart_mid_group(t):
    """With a DB the offset stays at the first line of an open group (the
    start line that flushed the previous group is not past it): a stop
    mid-trace and a restart read that trace again whole, nothing lost or
    repeated."""
    log, db = t.path('c.log'), t.path('tail.db')
    write(log, [js('[a] first'), js('  a1'), js('[b] second')])
    opened = os.path.getsize(log) - len(js('[b] second')) - 1
    write(log, [js('  b1')])
    cfg = conf(service(t), json_parser(), ml_parser('m', 'js', ELASTIC),
               tail_in(log, 'm', DB=db), out_mp(t))
    sl = t.sluice(cfg)
    sl.wait_stats(lambda st: st['totals']['out'] >= 1, 30, 'the first trace out')
    wait_for(lambda: os.path.exists(db) and db_offset(db) == [opened], 30,
             'DB offset at the open trace\'s first line')
    check_eq(sl.stop(), 0, 'sluice exits 0 with a trace open')
    check_eq(len(events(t)), 1, 'the open trace was not emitted at shutdown')
    write(log, [js('  b2'), 'end'])
    sl = t.sluice(cfg, name='sluice2')
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, 'the rest out')
    wait_for(lambda: db_offset(db) == [os.path.getsize(log)], 30, 'DB offset at the end')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for _, _, r in events(t)], ['[a] first\n  a1', '[b] second\n  b1\n  b2', 'end'],
             'every trace once, the open one whole after the restart')


def dry_run(t, text, name='t.conf'):
    path = t.path(name)
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True,
                       timeout=30)
    return path, p.returncode, p.stdout + p.stderr


def test_bad_config(t):
    """A `parser` naming no [PARSER] (classic and YAML) and a `parser`
    without key_content refuse to start with FILE:LINE and the key."""
    tail = ('[INPUT]\n    Name tail\n    Path %s\n    multiline.parser m\n'
            '[OUTPUT]\n    Name null\n    Match *\n' % t.path('*.log'))
    path, rc, out = dry_run(t, '[MULTILINE_PARSER]\n    name m\n    type regex\n'
                               '    key_content log\n    parser nosuch\n'
                               '    rule "start_state" "/^x/" "start_state"\n' + tail)
    check(rc == 1 and "%s:5:" % path in out and "'parser'" in out and 'nosuch' in out,
          'unknown parser: refused with file:line:key', out.strip())
    path, rc, out = dry_run(t, '[PARSER]\n    Name js\n    Format json\n'
                               '[MULTILINE_PARSER]\n    name m\n    type regex\n    parser js\n'
                               '    rule "start_state" "/^x/" "start_state"\n' + tail)
    check(rc == 1 and "%s:7:" % path in out and "'parser'" in out and 'key_content' in out,
          'parser without key_content: refused with file:line:key', out.strip())
    ok = ('[PARSER]\n    Name js\n    Format json\n[MULTILINE_PARSER]\n    name m\n'
          '    type regex\n    parser js\n    key_content log\n    key_group stream\n'
          '    rule "start_state" "/^x/" "start_state"\n' + tail)
    _, rc, out = dry_run(t, ok)
    check_eq(rc, 0, 'parser, key_content and key_group accepted: ' + out.strip())
    yaml = ('parsers:\n  - name: js\n    format: json\n'
            'multiline_parsers:\n  - name: m\n    type: regex\n    parser: %s\n'
            '    key_content: log\n    key_group: stream\n    rules:\n'
            '      - state: start_state\n        regex: "/^x/"\n        next_state: start_state\n'
            'pipeline:\n  inputs:\n    - name: tail\n      path: %s\n      multiline.parser: m\n'
            '  outputs:\n    - name: "null"\n      match: "*"\n')
    _, rc, out = dry_run(t, yaml % ('js', t.path('*.log')), 'ok.yaml')
    check_eq(rc, 0, 'YAML multiline_parsers with parser and key_group accepted: ' + out.strip())
    path, rc, out = dry_run(t, yaml % ('nosuch', t.path('*.log')), 'bad.yaml')
    check(rc == 1 and "%s:7:" % path in out and "'parser'" in out,
          'YAML: unknown parser refused with file:line:key', out.strip())


if __name__ == '__main__':
    main([test_issue_3817_cri_regex, test_json_parser_elastic, test_key_group_interleaved,
          test_filter_json_parser_elastic,
          test_without_key_group_one_group, test_db_restart_mid_group, test_bad_config])
