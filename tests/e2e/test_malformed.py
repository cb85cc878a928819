#!/usr/bin/env python3
"""test_malformed.py — bad input costs nothing but itself.

On one TCP connection, good lines interleaved with bad ones (bad PRI,
missing version, bad timestamp, too few fields, broken JSON, a line past
Buffer_Max_Size, a bad octet count), written in random pieces: every good
line is delivered, in order, exactly as sent, and the malformed and
oversize counters count the bad ones exactly. The same with loadgen's
--malformed-every at volume, for RFC 5424, RFC 3164 and JSON.
"""
import json
import random
import socket

from harness import (check, check_eq, check_sequences, conf, file_out, free_port,
                     loadgen_conn_counts, main, marks, read_lines, run_loadgen, service, syslog_in,
                     tcp_in)


def send_pieces(port, data, seed):
    """Write data on one connection in random pieces of 1..2000 bytes,
    then FIN."""
    rnd = random.Random(seed)
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    off = 0
    while off < len(data):
        k = rnd.randint(1, 2000)
        s.sendall(data[off:off + k])
        off += k
    s.shutdown(socket.SHUT_WR)
    return s


def good5424(i):
    return '<165>1 2024-05-06T07:08:09.%06dZ host%d app %d ID1 - good seq=%010d' % (i, i % 9, i, i)


# What sluice must refuse, one per kind; the comment says which counter.
BAD_5424 = [
    b'<abc>1 2024-05-06T07:08:09Z h a 1 ID - bad pri letters',            # malformed
    b'<>1 2024-05-06T07:08:09Z h a 1 ID - bad pri empty',                  # malformed
    b'<1a5>1 2024-05-06T07:08:09Z h a 1 ID - bad pri mixed',               # malformed
    b'<999>1 2024-05-06T07:08:09Z h a 1 ID - pri over 191',                # malformed
    b'<13> 2024-05-06T07:08:09Z h a 1 ID - no version',                    # malformed
    b'<13>2024-05-06T07:08:09Z h a 1 ID - no version no space',            # malformed
    b'<13>1 2024-13-45T99:08:09Z h a 1 ID - impossible timestamp',         # malformed
    b'<13>1 yesterday h a 1 ID - not a timestamp',                         # malformed
    b'<13>1 2024-05-06T07:08:09Z host-only',                               # malformed
    b'no pri at all',                                                      # malformed
]


def test_syslog_tcp_bad_lines_interleaved(t):
    rnd = random.Random(1)
    parts, good, nbad, nover = [], [], 0, 0
    n_good = 2000
    for i in range(n_good):
        parts.append(good5424(i).encode() + b'\n')
        good.append(good5424(i))
        r = rnd.random()
        if r < 0.15:
            parts.append(BAD_5424[nbad % len(BAD_5424)] + b'\n')
            nbad += 1
        elif r < 0.17:
            # longer than Buffer_Max_Size (8192): dropped, its neighbours kept
            parts.append(b'<13>1 2024-05-06T07:08:09Z h a 1 ID - ' + b'y' * rnd.randint(9000, 40000) + b'\n')
            nover += 1
        elif r < 0.18:
            # octet-counted frame declaring more than Buffer_Max_Size
            body = b'<13>1 2024-05-06T07:08:09Z h a 1 ID - ' + b'z' * 20000
            parts.append(b'%d ' % len(body) + body)
            nover += 1
        elif r < 0.19:
            # a bad octet count: dropped up to the next LF, counted oversize
            parts.append(b'12x <13>1 2024-05-06T07:08:09Z h a 1 ID - bad count\n')
            nover += 1
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port, Buffer_Chunk_Size='4096', Buffer_Max_Size='8192'),
                       file_out(t, fmt='plain')))
    s = send_pieces(port, b''.join(parts), 2)
    st = sl.wait_stats(lambda st: st['totals']['out'] >= n_good and
                       st['inputs']['syslog.0']['malformed'] + st['inputs']['syslog.0']['oversize']
                       >= nbad + nover, 30, 'every line accounted for')
    s.close()
    i = st['inputs']['syslog.0']
    check_eq((i['records'], i['malformed'], i['oversize']), (n_good, nbad, nover),
             'counters (records, malformed, oversize) for %d good, %d malformed, %d oversize lines'
             % (n_good, nbad, nover))
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    recs = [json.loads(x) for x in read_lines(t.path('out.txt'))]
    got = ['<%s>1 %s %s %s %s %s %s %s' % tuple(r[k] for k in ('pri', 'time', 'host', 'ident', 'pid',
                                                               'msgid', 'extradata', 'message'))
           for r in recs]
    check(got == good, 'every good line delivered exactly, in order, around the bad ones',
          'got %d, want %d; first difference at %s' % (
              len(got), len(good), next((k for k, (a, b) in enumerate(zip(got, good)) if a != b),
                                        min(len(got), len(good)))) if got != good else '%d lines' % len(got))


LINE_HEAD = '<13>1 2024-05-06T07:08:09Z h app 1 ID - '


def line_of(n, tag):
    """An RFC 5424 line of exactly n bytes whose message is 'tag xxx...'."""
    head = LINE_HEAD + tag + ' '
    return (head + 'x' * (n - len(head))).encode()


def test_size_limits_exact(t):
    """Buffer_Max_Size is the largest frame accepted, byte for byte: on TCP
    (LF-framed and octet-counted) and UDP; and a frame larger than a whole
    chunk (128 KiB of data) is counted as oversize, not crashed on, while a
    100 KB one just under it arrives intact."""
    tport, uport, bport = free_port(), free_port(), free_port()
    sl = t.sluice(conf(service(t),
                       syslog_in(tport, Buffer_Chunk_Size='4096', Buffer_Max_Size='8192'),
                       syslog_in(uport, mode='udp', Buffer_Max_Size='8192'),
                       syslog_in(bport, Buffer_Chunk_Size='64k', Buffer_Max_Size='1M'),
                       file_out(t, fmt='plain')))
    ok, over = line_of(8192, 'fits'), line_of(8193, 'over')
    data = (ok + b'\n' + over + b'\n' + b'8192 ' + ok + b'8193 ' + over + ok + b'\n')
    send_pieces(tport, data, 6).close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(ok, ('127.0.0.1', uport))
    u.sendto(over, ('127.0.0.1', uport))
    u.sendto(ok, ('127.0.0.1', uport))
    u.close()
    big_ok, too_big = line_of(100000, 'big'), line_of(200000, 'huge')
    send_pieces(bport, too_big + b'\n' + big_ok + b'\n' + too_big + b'\n', 7).close()
    want = {'syslog.0': (3, 2), 'syslog.1': (2, 1), 'syslog.2': (1, 2)}

    def done(st):
        return all(st['inputs'][k]['records'] >= r and st['inputs'][k]['oversize'] >= o
                   for k, (r, o) in want.items())
    st = sl.wait_stats(done, 20, 'every frame accounted for')
    got = {k: (st['inputs'][k]['records'], st['inputs'][k]['oversize']) for k in want}
    check_eq(got, want, '(records, oversize) per input: TCP 8192 x3 in, 8193 x2 out; UDP 8192 x2 '
             'in, 8193 out; 200 KB (> a chunk) x2 out, 100 KB in')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    recs = [json.loads(x) for x in read_lines(t.path('out.txt'))]
    msgs = sorted((len(r['message']), r['message'].split(' ')[0]) for r in recs)
    check_eq(msgs, sorted([(8192 - len(LINE_HEAD), 'fits')] * 5 + [(100000 - len(LINE_HEAD), 'big')]),
             'the accepted frames arrive whole')


BAD_JSON = [
    b'{"msg":"cut off inside the string',
    b'{"a":unquoted}',
    b'{"a":1} trailing',      # OBJECT_THEN_JUNK
    b'[1,2,3]',
    b'"just a string"',
    b'{',
    b'{"a":"bad escape \\q"}',
    b'{"a":01}',
    b'{"a":1,}',
    b'{"a" 1}',
]

OBJECT_THEN_JUNK = b'{"a":1} trailing'


def test_json_tcp_bad_lines_interleaved(t):
    rnd = random.Random(3)
    parts, want, nbad, nover = [], [], 0, 0
    n_good = 2000
    for i in range(n_good):
        rec = {'seq': i, 'msg': 'good \u00e9 "q" %d' % i, 'nested': {'a': [1, 2, {'b': None}]}, 'ok': True}
        parts.append(json.dumps(rec).encode() + b'\n')
        want.append(rec)
        r = rnd.random()
        if r < 0.15:
            bad = BAD_JSON[nbad % len(BAD_JSON)]
            parts.append(bad + b'\n')
            nbad += 1
            if bad == OBJECT_THEN_JUNK:
                # the object is whole and delivered; what follows it on
                # the line is the malformed frame
                want.append({'a': 1})
        elif r < 0.17:
            # past Buffer_Size 8 (KiB)
            parts.append(b'{"big":"' + b'x' * rnd.randint(9000, 30000) + b'"}\n')
            nover += 1
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, Chunk_Size='4', Buffer_Size='8'),
                       file_out(t, fmt='plain')))
    s = send_pieces(port, b''.join(parts), 4)
    n_good = len(want)
    st = sl.wait_stats(lambda st: st['totals']['out'] >= n_good and
                       st['inputs']['tcp.0']['malformed'] + st['inputs']['tcp.0']['oversize']
                       >= nbad + nover, 30, 'every line accounted for')
    s.close()
    i = st['inputs']['tcp.0']
    check_eq((i['records'], i['malformed'], i['oversize']), (n_good, nbad, nover),
             'counters (records, malformed, oversize) for %d good, %d malformed, %d oversize lines'
             % (n_good, nbad, nover))
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    got = [json.loads(x) for x in read_lines(t.path('out.txt'))]
    check(got == want, 'every good JSON line delivered exactly, in order, around the bad ones',
          'got %d, want %d; first difference at %s' % (
              len(got), len(want), next((k for k, (a, b) in enumerate(zip(got, want)) if a != b),
                                        min(len(got), len(want)))) if got != want else '%d lines' % len(got))


def loadgen_malformed(t, fmt, count, conns, every):
    port = free_port()
    if fmt == 'json':
        inp, name = tcp_in(port), 'tcp.0'
    else:
        inp, name = syslog_in(port, parser='syslog-' + fmt), 'syslog.0'
    sl = t.sluice(conf(service(t), inp, file_out(t)))
    lg = run_loadgen(['--port', port, '--format', fmt, '--count', count, '--conns', conns,
                      '--malformed-every', every, '--mark'])
    nbad = lg['malformed']
    check_eq(nbad, sum(n // every for n in loadgen_conn_counts(count, conns)),
             'loadgen made every %dth event of each connection malformed' % every)
    st = sl.wait_stats(lambda st: st['totals']['out'] + st['inputs'][name]['malformed'] >= count,
                       60, 'every event accounted for')
    i = st['inputs'][name]
    check_eq((i['records'], i['malformed'], i['oversize']), (count - nbad, nbad, 0),
             '%s: counters (records, malformed, oversize)' % fmt)
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    expect = {c: [s for s in range(n) if (s + 1) % every] for c, n in
              enumerate(loadgen_conn_counts(count, conns))}
    check_sequences(marks(read_lines(t.path('out.txt'))), expect,
                    '%s: exactly the good events, in order per connection' % fmt)


def test_loadgen_rfc5424_malformed_every(t):
    loadgen_malformed(t, 'rfc5424', 100000, 2, 10)


def test_loadgen_rfc3164_malformed_every(t):
    loadgen_malformed(t, 'rfc3164', 30000, 2, 7)


def test_loadgen_json_malformed_every(t):
    loadgen_malformed(t, 'json', 50000, 2, 9)


if __name__ == '__main__':
    main([test_syslog_tcp_bad_lines_interleaved, test_size_limits_exact, test_json_tcp_bad_lines_interleaved,
          test_loadgen_rfc5424_malformed_every, test_loadgen_rfc3164_malformed_every,
          test_loadgen_json_malformed_every])
