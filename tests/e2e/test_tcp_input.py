#!/usr/bin/env python3
"""test_tcp_input.py — the `tcp` input end to end.

- Format json at volume (loadgen --format json, 2 connections, --mark):
  every record equals, as JSON, the line loadgen really sent (captured
  into a sink of ours with the same seed), exactly once, in order.
- Format none: each line becomes {"log": line}; with Separator "||" and
  "\\r\\n" the stream is cut there (the separator itself dropped), and the
  last piece, unterminated at the FIN, is delivered too.
"""
import json
import os
import socket

from harness import (capture_loadgen, check, check_eq, check_sequences, conf, file_out, free_port,
                     full_sequences, loadgen_conn_counts, main, marks, read_lines, run_loadgen,
                     service, split_lf, syslog_in, tcp_in, wait_for)


def test_json_volume_exact(t):
    count, conns = 100000, 2
    args = ['--format', 'json', '--count', count, '--conns', conns, '--mark', '--seed', 3]
    ref = {}
    for data in capture_loadgen(args, conns):
        lines = split_lf(data)
        for ln, key in zip(lines, marks(lines)):
            ref[key] = ln
    check_eq(len(ref), count, 'reference capture: one line per event')
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port), file_out(t)))
    run_loadgen(['--port', port] + args)
    sl.wait_stats(lambda st: st['totals']['out'] >= count, 60, 'all out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    ms = marks(lines)
    check_sequences(ms, full_sequences(loadgen_conn_counts(count, conns)),
                    'every JSON event exactly once, in order per connection')
    bad = []
    for ln, key in zip(lines, ms):
        got, want = json.loads(ln), json.loads(ref[key])
        # "time" is loadgen's clock, the one thing that differs between runs
        got.pop('time', None)
        want.pop('time', None)
        if got != want or list(got) != list(want):
            bad.append((key, got, want))
    check(not bad, 'every record equals the JSON object sent (keys in order, types kept)',
          'first mismatch %r:\n  got  %r\n  want %r' % bad[0] if bad else '%d compared' % len(lines))


def send_raw(port, data):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    return s


def test_format_none_separators(t):
    p1, p2, p3 = free_port(), free_port(), free_port()
    sl = t.sluice(conf(service(t),
                       tcp_in(p1, fmt='none', Tag='lf'),
                       tcp_in(p2, fmt='none', Separator='||', Tag='pipes'),
                       tcp_in(p3, fmt='none', Separator='\\r\\n', Tag='crlf'),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir),
                                   ('Format', 'plain')])))
    socks = [send_raw(p1, b'plain line\n{"not":"parsed"}\n  spaces kept  \nlast, no LF'),
             send_raw(p2, b'a||b c||||d\ne||tail'),
             send_raw(p3, b'one\r\ntwo\nstill two\r\nthree')]
    sl.wait_stats(lambda st: st['totals']['out'] >= 4 + 4 + 3, 15, 'all records out')
    for s in socks:
        s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')

    def logs(tag):
        return [json.loads(x) for x in read_lines(t.path(tag))]
    check_eq(logs('lf'), [{'log': 'plain line'}, {'log': '{"not":"parsed"}'},
                          {'log': '  spaces kept  '}, {'log': 'last, no LF'}],
             'Format none: {"log": line}, JSON left as text, unterminated last line kept')
    check_eq([r['log'] for r in logs('pipes')], ['a', 'b c', 'd\ne', 'tail'],
             'Separator "||": cut at each "||", the empty record skipped, LF kept inside a record')
    check_eq([r['log'] for r in logs('crlf')], ['one', 'two\nstill two', 'three'],
             'Separator "\\r\\n": a bare LF stays inside the record')


def test_source_address_key(t):
    """Source_Address_Key adds the sender as Fluent Bit writes it:
    tcp://ip:port, udp://ip:port, unix://path (unnamed client: empty)."""
    tport, uport = free_port(), free_port()
    upath = t.path('log.sock')
    sl = t.sluice(conf(service(t), tcp_in(tport, Source_Address_Key='src', Tag='tcp'),
                       syslog_in(uport, mode='udp', Source_Address_Key='from', Tag='udp'),
                       ('INPUT', [('Name', 'syslog'), ('Mode', 'unix_udp'), ('Path', upath),
                                  ('Source_Address_Key', 'from'), ('Tag', 'unix')]),
                       ('INPUT', [('Name', 'tcp'), ('Listen', '127.0.0.1'), ('Port', free_port()),
                                  ('Tag', 'plain')]),
                       file_out(t)))
    c = socket.create_connection(('127.0.0.1', tport))
    cport = c.getsockname()[1]
    c.sendall(b'{"k":1}\n{"src":"forged","k":2,"z":0}\n')
    c.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(('127.0.0.1', 0))
    uport_src = u.getsockname()[1]
    u.sendto(b'<13>1 2026-11-21T10:00:00Z h a 1 - - over udp', ('127.0.0.1', uport))
    u.close()
    x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    x.sendto(b'<13>Nov 21 10:00:00 app: over unix', upath)
    x.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 4, 20, 'four records', proc=sl)
    recs = [json.loads(x) for x in read_lines(out)]
    by = {('tcp' if 'k' in r else 'udp' if r.get('message') == 'over udp' else 'unix'): r
          for r in recs if r.get('k') != 2}
    own = [x for x in read_lines(out) if b'"k":2' in x]
    check_eq(own, [b'{"k":2,"z":0,"src":"tcp://127.0.0.1:%d"}' % cport],
             'a record with the key already: the address replaces it (never a key twice)')
    check_eq(by['tcp'].get('src'), 'tcp://127.0.0.1:%d' % cport, 'tcp input: src = tcp://ip:port')
    check_eq(list(by['tcp'])[-1], 'src', 'the address is the last key, after the record')
    check_eq(by['udp'].get('from'), 'udp://127.0.0.1:%d' % uport_src, 'syslog udp: from = udp://ip:port')
    check_eq(by['unix'].get('from'), 'unix://', 'syslog unix_udp from an unnamed socket: unix://')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_pretty_printed_json(t):
    """Objects spread over lines (as json.dumps(indent=2) or jq write
    them) arrive whole, mixed with one-per-line objects, split across
    reads at every few bytes."""
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port), file_out(t)))
    recs = [{'i': i, 'nested': {'list': [1, {'deep': '}{'}], 's': 'a\\"b'}, 'ok': i % 2 == 0}
            for i in range(300)]
    data = b''.join((json.dumps(r, indent=2) if r['i'] % 3 else json.dumps(r)).encode() + b'\n'
                    for r in recs)
    c = socket.create_connection(('127.0.0.1', port))
    for k in range(0, len(data), 7):
        c.sendall(data[k:k + 7])
    c.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= len(recs), 20,
             'every object', proc=sl)
    got = [json.loads(x) for x in read_lines(out)]
    check_eq(got, recs, 'pretty-printed and one-line objects, each whole, in order')
    st = sl.stats()
    check_eq(st['inputs']['tcp.0']['malformed'], 0, 'nothing counted malformed')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_concatenated_json(t):
    """Objects back to back on one line ("{..}{..}", "{..} {..}") are a
    record each, as Fluent Bit's tcp input reads a JSON stream
    (docs.fluentbit.io/manual/data-pipeline/inputs/tcp, Format json;
    plugins/in_tcp/tcp_conn.c packs each complete object), also when an
    object is split across reads or goes on over the next line, or the
    last objects have no line end after them."""
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port), file_out(t)))
    recs = [{'i': i, 's': '}{ } {', 'n': {'m': [i, {}]}} for i in range(203)]
    parts = []
    for r in recs:
        j = json.dumps(r, separators=(',', ':'))
        if r['i'] % 10 == 9:
            parts.append(j + '\n')
        elif r['i'] % 10 == 5:
            parts.append(j.replace(',"n"', ',\n"n"'))
        else:
            parts.append(j + ('' if r['i'] % 2 else ' '))
    # No line end after the last objects: the connection's close ends them.
    data = ''.join(parts).encode()
    c = socket.create_connection(('127.0.0.1', port))
    for k in range(0, len(data), 5):
        c.sendall(data[k:k + 5])
    c.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= len(recs), 20,
             'every object', proc=sl)
    got = [json.loads(x) for x in read_lines(out)]
    check_eq(got, recs, 'every object of the stream a record, in order')
    check_eq(sl.stats()['inputs']['tcp.0']['malformed'], 0, 'nothing counted malformed')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_parser(t):
    """Parser with Format none: each line goes through the [PARSER]
    (Fluent Bit's in_tcp config map: "Optional parser for line-delimited
    records", plugins/in_tcp/tcp.c). Fluent Bit's logfmt documentation
    example (https://docs.fluentbit.io/manual/5.0/data-pipeline/parsers/logfmt)
    gives key1=val1, key2=val2, key3=true; a line the parser does not match
    is kept as {"log": line} and counted unparsed (sluice, as its syslog
    input does). Parser with Format json is refused at start-up."""
    with open(t.path('parsers.conf'), 'w') as f:
        f.write('[PARSER]\n    Name lf\n    Format logfmt\n    Logfmt_No_Bare_Keys on\n')
    port = free_port()
    sl = t.sluice(conf(service(t, Parsers_File='parsers.conf'),
                       tcp_in(port, fmt='none', Parser='lf'),
                       file_out(t, fmt='plain')))
    s = send_raw(port, b'key1=val1 key2=val2 key3=true\nkey1=val1 key2=val2 key3\n')
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 15, '2 records out')
    s.close()
    check_eq(sl.stats()['inputs']['tcp.0']['unparsed'], 1, 'the bare-key line counted unparsed')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([json.loads(x) for x in read_lines(t.path('out.txt'))],
             [{'key1': 'val1', 'key2': 'val2', 'key3': 'true'},
              {'log': 'key1=val1 key2=val2 key3'}],
             'parsed fields; the unmatched line kept under log')
    bad = t.sluice(conf(service(t, Parsers_File='parsers.conf'), tcp_in(free_port(), Parser='lf'),
                        file_out(t)), name='bad', wait=False)
    check(bad.wait_exit(10) != 0 and 'set Format none' in bad.stderr(),
          'Parser with Format json: a start-up error naming the fix', bad.stderr()[-300:])


if __name__ == '__main__':
    main([test_json_volume_exact, test_format_none_separators, test_source_address_key,
          test_pretty_printed_json, test_concatenated_json, test_parser])
