#!/usr/bin/env python3
"""test_fb_keys12.py — Fluent Bit keys brought by issue 12, each with
Fluent Bit's meaning (the page or source file is cited per test):

- [INPUT] dummy flush_on_startup: the first event at start-up, else one
  interval after it.
- every [INPUT] routable: off, the records reach the filters and the
  stream processor but no output; the SQL results are routed.
- [OUTPUT] file Format template, Template (edge cases in
  tests/unit/outputs/test_file_tmpl.c).
- [SERVICE] json.convert_nan_to_null: on (sluice's default) NaN and
  infinities are null in JSON output; off, nan / inf / -inf as Fluent Bit
  writes them.
- [SERVICE] sp.convert_from_str_to_num: true (default), aggregates read
  number strings as numbers; false, they are left out.
- Log_Suppress_Interval on every [INPUT], [FILTER] and [OUTPUT]: an
  instance's identical log lines within the interval are written once
  (the decision itself: tests/unit/dataplane/test_log_supp.c).
"""
import json
import os
import socket

from harness import check, check_eq, conf, file_out, free_port, main, service, tcp_in, wait_for
from mpack import mp_encode


def lines(t, name):
    try:
        with open(t.path(name)) as f:
            return [json.loads(x) for x in f.read().splitlines() if x.strip()]
    except FileNotFoundError:
        return []


def test_dummy_flush_on_startup(t):
    """docs.fluentbit.io/manual/data-pipeline/inputs/dummy: "flush_on_startup:
    If set to true, the first dummy event is generated at startup" (default
    false); plugins/in_dummy/in_dummy.c calls in_dummy_collect once in
    in_dummy_init when it is set, and its collector timer first fires one
    interval after start-up. Input c (Rate 1, default off) is the clock:
    when its first record is out (1 s in), a's (on, Interval_sec 30) is
    out and b's (off, Interval_sec 30) is not."""
    sl = t.sluice(conf(service(t),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'a'), ('Interval_sec', 30),
                                  ('Flush_On_Startup', 'true')]),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'b'), ('Interval_sec', 30)]),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'c'), ('Samples', 1)]),
                       file_out(t, 'a', 'json_lines', 'a'), file_out(t, 'b', 'json_lines', 'b'),
                       file_out(t, 'c', 'json_lines', 'c')))
    c = wait_for(lambda: lines(t, 'c'), 15, "c's first record", proc=sl)
    a = wait_for(lambda: lines(t, 'a'), 5, "a's record", proc=sl)
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(len(lines(t, 'a')), 1, 'a: one event (at start-up), the next is 30 s away')
    check_eq(lines(t, 'b'), [], 'b: none yet (its first is one interval after start-up)')
    check(c[0]['date'] - a[0]['date'] > 0.5, "c's first event one interval (1 s) after a's",
          '%.3f %.3f' % (a[0]['date'], c[0]['date']))


def test_routable_off(t):
    """src/flb_input.c (input_global_properties): "routable ... If set to
    'false', the data will be discarded" after the stream processor has
    seen it (src/flb_input_chunk.c, flb_input_chunk_append_raw: flb_sp_do
    runs, then a chunk of a non-routable input is destroyed). So with
    Routable off on d, an output matching 'd' gets nothing while a stream
    task reading TAG:'d' still emits its results (tag res), and a
    routable input beside it (tag e) is delivered as usual."""
    with open(t.path('streams.conf'), 'w') as f:
        f.write("[STREAM_TASK]\n    Name s\n    Exec CREATE STREAM s WITH (tag='res') AS "
                "SELECT n FROM TAG:'d';\n")
    sl = t.sluice(conf(service(t, Streams_File='streams.conf'),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'd'), ('Routable', 'off'),
                                  ('Dummy', '{"n":1}'), ('Samples', 3), ('Rate', 100),
                                  ('Flush_On_Startup', 'on')]),
                       ('INPUT', [('Name', 'dummy'), ('Tag', 'e'), ('Dummy', '{"n":2}'),
                                  ('Samples', 3), ('Rate', 100), ('Flush_On_Startup', 'on')]),
                       file_out(t, 'd', 'json_lines', 'd'), file_out(t, 'e', 'json_lines', 'e'),
                       file_out(t, 'res', 'json_lines', 'res')))
    wait_for(lambda: len(lines(t, 'res')) >= 3, 15, 'the 3 SQL results', proc=sl)
    wait_for(lambda: len(lines(t, 'e')) >= 3, 15, "e's 3 records", proc=sl)
    st = sl.wait_stats(lambda st: st['inputs']['dummy.0']['records'] >= 3, 15, 'd: 3 records in')
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq([r['n'] for r in lines(t, 'res')], [1, 1, 1], "the SQL task saw d's records")
    check_eq([r['n'] for r in lines(t, 'e')], [2, 2, 2], 'e (routable) delivered')
    check_eq(lines(t, 'd'), [], "d (Routable off): nothing in the output matching 'd'")
    check_eq(st['inputs']['dummy.0'].get('dropped', 0), 0, 'not counted as dropped')


def test_file_format_template(t):
    """docs.fluentbit.io/manual/data-pipeline/outputs/file, "template
    format": Template's default is '{time} {message}'; the example
    Template {time} used={Mem.used} free={Mem.free} total={Mem.total}
    gives 1564462620.000254 used=1045448 free=31760160 total=32805608
    (plugins/out_file/file.c, template_output)."""
    rec = '{"Mem.total":32805608,"Mem.used":1045448,"Mem.free":31760160,"message":"hello"}'
    sl = t.sluice(conf(service(t),
                       ('INPUT', [('Name', 'dummy'), ('Dummy', rec), ('Samples', 2), ('Rate', 100),
                                  ('Start_time_sec', 1564462620), ('Start_time_nsec', 254000)]),
                       file_out(t, 'doc.txt', 'template', Template='{time} used={Mem.used} '
                                'free={Mem.free} total={Mem.total}'),
                       file_out(t, 'default.txt', 'template')))

    def text(name):
        try:
            with open(t.path(name)) as f:
                return f.read()
        except FileNotFoundError:
            return ''
    wait_for(lambda: text('doc.txt').count('\n') >= 2 and text('default.txt').count('\n') >= 2, 15,
             'two lines in each file', proc=sl)
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(text('doc.txt'), '1564462620.000254 used=1045448 free=31760160 total=32805608\n' * 2,
             "the documented example's line")
    check_eq(text('default.txt'), '1564462620.000254 hello\n' * 2, "Template's default {time} {message}")


def text_of(t, name):
    try:
        with open(t.path(name)) as f:
            return f.read()
    except FileNotFoundError:
        return ''


def test_json_convert_nan_to_null(t):
    """docs.fluentbit.io/manual/administration/configuring-fluent-bit/
    classic-mode/configuration-file: json.convert_nan_to_null "If enabled,
    NaN is converted to null when Fluent Bit converts msgpack to json"
    (default false). src/flb_pack.c (msgpack2json, FLOAT64): with it NaN
    is "null", without it "%.16g" prints nan, inf and -inf. sluice's
    default is on, and on turns infinities into null too, so the output
    stays JSON. A forward client sends float64 NaN, +inf and -inf."""
    rec = {'x': float('nan'), 'y': float('inf'), 'z': float('-inf'), 'n': 1.5}
    for name, svc, want in (('default', {}, '{"x":null,"y":null,"z":null,"n":1.5}\n'),
                            ('on', {'json.convert_nan_to_null': 'on'},
                             '{"x":null,"y":null,"z":null,"n":1.5}\n'),
                            ('off', {'json.convert_nan_to_null': 'off'},
                             '{"x":nan,"y":inf,"z":-inf,"n":1.5}\n')):
        port = free_port()
        sl = t.sluice(conf(service(t, **svc),
                           ('INPUT', [('Name', 'forward'), ('Listen', '127.0.0.1'), ('Port', port)]),
                           file_out(t, name, 'plain')), name=name)
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(mp_encode(['f', 1700000000, rec]))
        wait_for(lambda: text_of(t, name).endswith('\n'), 15, name + ': the record written', proc=sl)
        s.close()
        check_eq(sl.stop(), 0, name + ': exit 0')
        check_eq(text_of(t, name), want, name + ': the JSON line')


def test_sp_convert_from_str_to_num(t):
    """docs.fluentbit.io/manual/administration/configuring-fluent-bit/
    classic-mode/configuration-file: sp.convert_from_str_to_num "If
    enabled, Stream processor converts from number string to number type"
    (default true). src/stream_processor/flb_sp.c: sp_process_data_aggr
    reads aggregated values through object_to_number, which takes a
    string only when the conversion is on. Records v="10", 5, "2.5",
    "abc": SUM(v) is 17.5 with it, 5 without; COUNT(*) is 4 either way."""
    with open(t.path('streams.conf'), 'w') as f:
        f.write("[STREAM_TASK]\n    Name s\n    Exec CREATE STREAM s WITH (tag='res') AS SELECT "
                "SUM(v) AS s, COUNT(*) AS n FROM TAG:'t' WINDOW TUMBLING (1 SECOND);\n")
    lines = b'{"v":"10"}\n{"v":5}\n{"v":"2.5"}\n{"v":"abc"}\n'
    for name, svc, want in (('default', {}, (17.5, 4)),
                            ('true', {'sp.convert_from_str_to_num': 'true'}, (17.5, 4)),
                            ('false', {'sp.convert_from_str_to_num': 'false'}, (5, 4))):
        port = free_port()
        sl = t.sluice(conf(service(t, Streams_File='streams.conf', **svc), tcp_in(port, Tag='t'),
                           file_out(t, name, 'plain', 'res')), name=name)
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(lines)
        s.close()
        # the 4 lines may straddle a window boundary: add up the results
        got = wait_for(lambda: sum(r['n'] for r in lines_of(t, name)) >= 4 and lines_of(t, name), 15,
                       name + ': the window results', proc=sl)
        check_eq(sl.stop(), 0, name + ': exit 0')
        check_eq((sum(r['s'] for r in got), sum(r['n'] for r in got)), want, name + ': SUM(v), COUNT(*)')


def test_log_suppress_interval(t):
    """src/flb_input.c (input_global_properties; flb_filter.c and
    flb_output.c alike): log_suppress_interval "Allows suppression of
    repetitive log messages plugins that appear similar within a specified
    time interval. It defaults to 0, which means no suppression."
    include/fluent-bit/flb_input_plugin.h (flb_plg_warn goes through
    flb_log_suppress_check), src/flb_log.c (flb_log_cache_check_suppress).
    An http output to a closed port fails every burst with the same line
    ("flush failed (Connection refused), retrying"), then "giving up on N
    records ...": with Log_Suppress_Interval 60 the first is written once
    while 10 bursts fail, and no "giving up" text twice; without, a line
    per burst."""
    for name, extra in (('off', []), ('on', [('Log_Suppress_Interval', '60')])):
        sl = t.sluice(conf(service(t, **{'scheduler.base': '0.01', 'scheduler.cap': '0.02'}),
                           ('INPUT', [('Name', 'dummy'), ('Rate', 20), ('Flush_On_Startup', 'on'),
                                      ('Log_Suppress_Interval', '60')]),
                           ('FILTER', [('Name', 'grep'), ('Match', '*'), ('Exclude', 'nope ^x$'),
                                       ('Log_Suppress_Interval', '5m')]),
                           ('OUTPUT', [('Name', 'http'), ('Match', '*'), ('Host', '127.0.0.1'),
                                       ('Port', free_closed_port())] + extra)), name=name)
        sl.wait_stats(lambda st: st['outputs']['http.0']['retries_failed'] >= 10, 20,
                      name + ': 10 bursts given up')
        check_eq(sl.stop(), 0, name + ': exit 0')
        err = sl.stderr()
        n_fail = err.count('[http.0] flush failed (Connection refused), retrying')
        gave = [ln.split('] ', 3)[-1] for ln in err.splitlines() if '[http.0] giving up on' in ln]
        if name == 'on':
            check_eq(n_fail, 1, 'Log_Suppress_Interval 60: the repeated line once')
            check_eq(len(gave), len(set(gave)), 'Log_Suppress_Interval 60: no giving-up text twice')
        else:
            check(n_fail >= 10 and len(gave) >= 10, 'no Log_Suppress_Interval: a line per burst',
                  '%d %d' % (n_fail, len(gave)))


def free_closed_port():
    """A port nothing listens on (connections are refused)."""
    return free_port()


def lines_of(t, name):
    return [json.loads(x) for x in text_of(t, name).splitlines() if x.strip()]


if __name__ == '__main__':
    main([test_dummy_flush_on_startup, test_routable_off, test_file_format_template,
          test_json_convert_nan_to_null, test_sp_convert_from_str_to_num, test_log_suppress_interval])
