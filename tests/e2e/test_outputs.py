#!/usr/bin/env python3
"""test_outputs.py — what the file and stdout outputs write, byte for byte.

A dummy input with a fixed record and a fixed time (Start_time_sec /
Start_time_nsec: 2023-11-14T22:13:20.5Z) feeds every format at once:
  file: out_file ("TAG: [time, {json}]"), plain, json_lines, ltsv, csv,
        msgpack (decoded here: [EventTime ext 0, map] per event);
  stdout: json_lines with each json_date_format, json (one array per
        flush), json_stream, msgpack, json_date_key false / renamed.
Expected texts are Fluent Bit's (docs.fluentbit.io, outputs/file and
outputs/stdout), including the csv quoting of strings and the Delimiter
names (tab, space, comma) a fluent-bit.conf may use.
"""
import json

from harness import check, check_eq, conf, main, service

SEC, NSEC = 1700000000, 500000000
from mpack import mp_decode, mp_map, mp_arr, mp_all  # noqa: F401 (others import them from here)

RECORD = {'a': 'x y', 'n': -1, 'b': True, 'f': 1.5, 'z': None, 'arr': [1, 's'], 'o': {'k': 'v'},
          'u': 'caf\u00e9 \u2603', 'q': 'say "hi"\\\n'}
RECORD_JSON = json.dumps(RECORD, separators=(',', ':'), ensure_ascii=False)


# ---- runs ----------------------------------------------------------------

def dummy_in(record=RECORD_JSON, samples=3, tag='my.tag', nsec=NSEC):
    return ('INPUT', [('Name', 'dummy'), ('Dummy', record), ('Samples', samples), ('Rate', 1000),
                      ('Start_time_sec', SEC), ('Start_time_nsec', nsec), ('Tag', tag)])


def run(t, sections, n_out, name='sluice', stdout=True):
    sl = t.sluice(conf(service(t, Stats_File=t.path(name + '.stats')), *sections), name=name,
                  stdout=stdout)
    sl.wait_stats(lambda st: st['totals']['out'] >= n_out, 15, '%d records out' % n_out)
    check_eq(sl.stop(), 0, '%s exits 0' % name)
    return sl


def fout(t, fmt, **kv):
    return ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'o.' + fmt),
                       ('Format', fmt)] + list(kv.items()))


def text(t, name):
    with open(t.path(name), 'rb') as f:
        return f.read().decode()


def test_file_formats(t):
    fmts = ['out_file', 'plain', 'json_lines', 'ltsv', 'msgpack']
    run(t, [dummy_in()] + [fout(t, f) for f in fmts], 3 * len(fmts))
    check_eq(text(t, 'o.out_file'), 'my.tag: [1700000000.500000000, %s]\n' % RECORD_JSON * 3,
             'out_file: "TAG: [time, {record}]"')
    check_eq([json.loads(x) for x in text(t, 'o.plain').splitlines()], [RECORD] * 3,
             'plain: the record as JSON')
    check_eq(text(t, 'o.plain'), (RECORD_JSON + '\n') * 3, 'plain: compact, keys in order, UTF-8 kept')
    want = dict({'date': 1700000000.5}, **RECORD)
    got = [json.loads(x) for x in text(t, 'o.json_lines').splitlines()]
    check(got == [want] * 3 and all(list(g) == list(want) for g in got),
          'json_lines: "date" first, then the record', repr(got[0]))
    lt = text(t, 'o.ltsv').splitlines()
    check_eq(lt[0].split('\t')[:4], ['time:1700000000.500000', 'a:x y', 'n:-1', 'b:true'],
             'ltsv: time:T<TAB>key:value...')
    with open(t.path('o.msgpack'), 'rb') as f:
        ev = mp_all(f.read())
    check_eq(ev, [[('time', SEC, NSEC), RECORD]] * 3, 'msgpack: [EventTime(sec, nsec), map] per event')


def test_csv_like_fluent_bit(t):
    rec = '{"a":"x y","b":"p,q","n":5,"t":true}'
    run(t, [dummy_in(rec, samples=1), fout(t, 'csv')], 1)
    line = text(t, 'o.csv')
    check(line.startswith('1700000000.5'), 'csv: the time first', line.strip())
    check_eq(line.split(',', 1)[1] if ',' in line else line, '"x y","p,q",5,true\n',
             'csv: strings quoted as Fluent Bit writes them (time,"value1","value2"), so a value '
             'holding the delimiter stays one field')


def test_csv_column_names(t):
    """csv_column_names true: a new file starts with "timestamp" and the
    first record's keys, quoted as Fluent Bit's msgpack_object_print writes
    strings; a file that already has lines gets none (out_file.c writes the
    header only at file position 0).
    https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/file
    (csv_column_names), fluent-bit plugins/out_file/file.c csv_output."""
    rec = '{"a":"x y","b\\"c":2}'
    for i in range(2):
        run(t, [dummy_in(rec, samples=1), fout(t, 'csv', csv_column_names='true',
                                                Delimiter='space')], 1, name='run%d' % i)
        lines = text(t, 'o.csv').splitlines()
        check_eq(lines[0], 'timestamp "a" "b""c"', 'run %d: the header: timestamp, then keys' % i)
        check_eq(len(lines), 2 + i, 'run %d: one header only, then the records' % i)
        check(lines[-1].endswith(' "x y" 2'), 'run %d: the record after it' % i, lines[-1])
    run(t, [dummy_in(rec, samples=1), ('OUTPUT', [('Name', 'file'), ('Match', '*'),
        ('Path', t.dir), ('File', 'plain.csv'), ('Format', 'csv')])], 1, name='off')
    check_eq(len(text(t, 'plain.csv').splitlines()), 1, 'without the key: no header')


def test_delimiter_names(t):
    """Fluent Bit's Delimiter / Label_Delimiter take tab (or \\t), space or
    comma; for ltsv, Delimiter separates the pairs."""
    rec = '{"a":1,"b":2}'
    outs = [('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'd.%s' % n),
                        ('Format', f), ('Delimiter', d)] + ([('Label_Delimiter', ld)] if ld else []))
            for n, f, d, ld in [('tab', 'csv', 'tab', None), ('bs_t', 'csv', '\\t', None),
                                ('space', 'csv', 'space', None), ('comma', 'csv', 'comma', None),
                                ('ltsv', 'ltsv', 'comma', 'space')]]
    run(t, [dummy_in(rec, samples=1)] + outs, len(outs))
    got = {n: text(t, 'd.' + n).rstrip('\n').split('1700000000.500000000', 1)[-1]
           for n in ('tab', 'bs_t', 'space', 'comma')}
    want = {'tab': '\t1\t2', 'bs_t': '\t1\t2', 'space': ' 1 2', 'comma': ',1,2'}
    check_eq(got, want, 'csv Delimiter tab, \\t, space, comma')
    check_eq(text(t, 'd.ltsv').rstrip('\n'), 'time 1700000000.500000,a 1,b 2',
             'ltsv Delimiter comma, Label_Delimiter space')


def test_stdout_formats(t):
    rec = '{"a":1}'
    cases = [('double', 1700000000.5), ('epoch', 1700000000), ('epoch_ms', 1700000000500),
             ('iso8601', '2023-11-14T22:13:20.500000Z'),
             ('java_sql_timestamp', '2023-11-14 22:13:20.500000')]
    for fmt, want in cases:
        sl = run(t, [dummy_in(rec, samples=1),
                     ('OUTPUT', [('Name', 'stdout'), ('Match', '*'), ('Format', 'json_lines'),
                                 ('json_date_format', fmt)])], 1, name='df_' + fmt)
        check_eq(json.loads(sl.stdout()), {'date': want, 'a': 1}, 'json_date_format %s' % fmt)
    sl = run(t, [dummy_in(rec, samples=3),
                 ('OUTPUT', [('Name', 'stdout'), ('Match', '*'), ('Format', 'json'),
                             ('json_date_key', 'ts')])], 3, name='json')
    arrays = [json.loads(x) for x in sl.stdout().splitlines() if x]
    check(all(isinstance(a, list) for a in arrays) and sum(arrays, []) ==
          [{'ts': 1700000000.5, 'a': 1}] * 3, 'json: one array per flush, date key renamed',
          sl.stdout().strip())
    sl = run(t, [dummy_in(rec, samples=3),
                 ('OUTPUT', [('Name', 'stdout'), ('Match', '*'), ('Format', 'json_stream'),
                             ('json_date_key', 'false')])], 3, name='stream')
    check_eq(sl.stdout(), '{"a":1}' * 3, 'json_stream without a date (json_date_key false)')
    sl = run(t, [dummy_in(rec, samples=2),
                 ('OUTPUT', [('Name', 'stdout'), ('Match', '*'), ('Format', 'msgpack')])], 2,
             name='mp')
    with open(sl.out_path, 'rb') as f:
        check_eq(mp_all(f.read()), [[('time', SEC, NSEC), {'a': 1}]] * 2, 'stdout msgpack events')


def test_nanoseconds(t):
    """A time with nanoseconds keeps all nine digits wherever Fluent Bit
    prints them: out_file "%"PRIu64".%09lu" and csv "%lld.%.09ld"
    (fluent-bit plugins/out_file/file.c, write_log_record / csv_output),
    the EventTime of msgpack. Where Fluent Bit prints a double (ltsv "%f",
    json date) it is the microsecond, rounded; iso8601 cuts to the
    microsecond (".%06" of tv_nsec / 1000, src/flb_pack.c)."""
    ns = 123456789
    rec = '{"a":1}'
    outs = [fout(t, f) for f in ('out_file', 'csv', 'ltsv', 'msgpack', 'json_lines')]
    run(t, [dummy_in(rec, samples=1, nsec=ns)] + outs, len(outs))
    check_eq(text(t, 'o.out_file'), 'my.tag: [1700000000.123456789, {"a":1}]\n',
             'out_file: nine digits')
    check_eq(text(t, 'o.csv'), '1700000000.123456789,1\n', 'csv: nine digits')
    check_eq(text(t, 'o.ltsv'), 'time:1700000000.123457\ta:1\n', 'ltsv: %f, rounded')
    with open(t.path('o.msgpack'), 'rb') as f:
        check_eq(mp_all(f.read()), [[('time', SEC, ns), {'a': 1}]], 'msgpack: EventTime nsec kept')
    check_eq(text(t, 'o.json_lines'), '{"date":1700000000.123457,"a":1}\n',
             'json_lines: the double date to the microsecond')
    sl = run(t, [dummy_in(rec, samples=1, nsec=ns),
                 ('OUTPUT', [('Name', 'stdout'), ('Match', '*'), ('Format', 'json_lines'),
                             ('json_date_format', 'iso8601')])], 1, name='iso')
    check_eq(json.loads(sl.stdout())['date'], '2023-11-14T22:13:20.123456Z',
             'iso8601: microseconds, cut')


if __name__ == '__main__':
    main([test_file_formats, test_csv_like_fluent_bit, test_csv_column_names, test_delimiter_names,
          test_stdout_formats, test_nanoseconds])
