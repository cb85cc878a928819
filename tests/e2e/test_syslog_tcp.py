#!/usr/bin/env python3
"""test_syslog_tcp.py — syslog over TCP end to end: loadgen (or our own
sender) -> sluice's syslog input -> file output, checked from the file.

- RFC 5424, LF-framed and octet-counted, 2 connections, --mark: every seq
  of every connection arrives exactly once and in order per connection;
  every record's fields equal what a reference parser (written here, per
  RFC 5424) reads from the bytes loadgen really sent (captured by running
  loadgen, same seed, into a sink of ours first); the record time ("date")
  is the TIMESTAMP.
- RFC 3164 the same way, against Fluent Bit's syslog-rfc3164 regex.
- One connection mixing octet-counted, LF, CRLF and NUL frames (and an LF
  inside a counted frame), cut at random points, the last line without a
  terminator: every message exact and in order.
"""
import datetime
import json
import random
import re
import socket

from harness import (capture_loadgen, check, check_eq, check_sequences, conf, file_out,
                     free_port, full_sequences, loadgen_conn_counts, log, main, marks,
                     read_lines, run_loadgen, service, split_lf, split_octet, syslog_in)

FIELDS_5424 = ['pri', 'time', 'host', 'ident', 'pid', 'msgid', 'extradata', 'message']
FIELDS_3164 = ['pri', 'time', 'host', 'ident', 'pid', 'message']
BOM = b'\xef\xbb\xbf'


def ref_5424(raw):
    """RFC 5424 by the book: header tokens split on single spaces, then the
    structured data element by element (quoted values with \\" \\\\ \\]
    escapes), then one space and the message (BOM stripped)."""
    m = re.match(rb'<(\d{1,3})>1 ', raw)
    if not m:
        return None
    parts = raw[m.end():].split(b' ', 5)
    if len(parts) < 6:
        return None
    time_, host, ident, pid, msgid, tail = parts
    if tail.startswith(b'-'):
        sd, rest = b'-', tail[1:]
    else:
        i = 0
        while tail[i:i + 1] == b'[':
            j, inq = i + 1, False
            while True:
                ch = tail[j:j + 1]
                if not ch:
                    return None
                if inq and ch == b'\\':
                    j += 2
                    continue
                if ch == b'"':
                    inq = not inq
                elif ch == b']' and not inq:
                    break
                j += 1
            i = j + 1
        sd, rest = tail[:i], tail[i:]
    rec = {'pri': m.group(1), 'time': time_, 'host': host, 'ident': ident, 'pid': pid,
           'msgid': msgid, 'extradata': sd}
    if rest.startswith(b' '):
        msg = rest[1:]
        if msg.startswith(BOM):
            msg = msg[3:]
        if msg:
            rec['message'] = msg
    elif rest:
        return None
    return {k: v.decode('utf-8', 'replace') for k, v in rec.items()}


# Fluent Bit's parsers.conf syslog-rfc3164, which sluice reproduces.
RE_3164 = re.compile(rb'^<(?P<pri>[0-9]+)>(?P<time>[^ ]* {1,2}[^ ]* [^ ]*) (?P<host>[^ ]*) '
                     rb'(?P<ident>[a-zA-Z0-9_/.\-]*)(?:\[(?P<pid>[0-9]+)\])?(?:[^:]*:)? *'
                     rb'(?P<message>.*)$', re.S)


def ref_3164(raw):
    m = RE_3164.match(raw)
    if not m:
        return None
    # Skip_Empty_Values: empty captures are left out
    return {k: v.decode('utf-8', 'replace') for k, v in m.groupdict().items() if v}


def ts_5424(s):
    """Epoch seconds of an RFC 3339 TIMESTAMP (microsecond precision)."""
    return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()


def ts_3164(s, year):
    d = datetime.datetime.strptime('%d %s' % (year, ' '.join(s.split())), '%Y %b %d %H:%M:%S')
    return d.replace(tzinfo=datetime.timezone.utc).timestamp()


def frames_by_mark(datas, octet):
    """{(conn, seq): raw message} from what each captured connection sent."""
    ref = {}
    for data in datas:
        frames = split_octet(data) if octet else split_lf(data)
        for fr, (c, s) in zip(frames, marks(frames)):
            ref[(c, s)] = fr
    return ref


def run_loadgen_case(t, fmt, octet, count, conns, out_fmt):
    parser = 'syslog-rfc5424' if fmt == 'rfc5424' else 'syslog-rfc3164'
    args = ['--format', fmt, '--count', count, '--conns', conns, '--mark', '--seed', 11]
    if fmt == 'rfc5424':
        args.append('--sd')
    if octet:
        args.append('--octet-counting')
    # 1. what loadgen puts on the wire for these options (content is a
    #    function of the seed; only the timestamps differ between runs)
    ref = frames_by_mark(capture_loadgen(args, conns), octet)
    check_eq(len(ref), count, 'reference capture: one frame per event')

    # 2. the same through sluice
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port, parser=parser), file_out(t, fmt=out_fmt)))
    lg = run_loadgen(['--port', port] + args)
    check_eq(lg['sent'], count, 'loadgen sent every event')
    sl.wait_stats(lambda s: s['totals']['out'] >= count, 60, 'all %d records out' % count)
    st = sl.stats()['inputs']['syslog.0']
    check_eq((st['records'], st['malformed'], st['oversize'], st['connections']),
             (count, 0, 0, conns), 'input counters (records, malformed, oversize, connections)')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')

    lines = read_lines(t.path('out.txt'))
    check_eq(len(lines), count, 'output file holds exactly one line per event')
    check_sequences(marks(lines), full_sequences(loadgen_conn_counts(count, conns)),
                    '%s %s: every seq of every connection' % (fmt, 'octet-counted' if octet else 'LF'))

    # 3. every record against the reference parse of the bytes sent
    names = FIELDS_5424 if fmt == 'rfc5424' else FIELDS_3164
    refp = ref_5424 if fmt == 'rfc5424' else ref_3164
    year = datetime.datetime.now(datetime.timezone.utc).year
    bad, badtime, now = [], [], datetime.datetime.now().timestamp()
    for ln, (c, s) in zip(lines, marks(lines)):
        rec = json.loads(ln)
        date = rec.pop('date', None)
        want = refp(ref[(c, s)])
        got_keys = [k for k in rec]
        want_keys = [k for k in names if k in want]
        if got_keys != want_keys or any(rec[k] != want[k] for k in want if k != 'time'):
            bad.append((c, s, rec, want))
            continue
        if fmt == 'rfc5424':
            ok_t = re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z', rec['time'])
            t_sec = ts_5424(rec['time']) if ok_t else None
        else:
            ok_t = re.fullmatch(r'[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d', rec['time'])
            t_sec = ts_3164(rec['time'], year) if ok_t else None
        # the TIMESTAMP is the record time; loadgen stamps "now"
        if t_sec is None or abs(t_sec - now) > 600 or (date is not None and abs(date - t_sec) > 2e-6):
            badtime.append((c, s, rec.get('time'), date))
    check(not bad, 'every record has the fields %s in order, equal to the bytes sent' % names,
          'first mismatch conn %s seq %s:\n  got  %r\n  want %r' % bad[0] if bad else
          '%d records compared' % len(lines))
    check(not badtime, 'time fields well formed, recent%s' % (', and equal to the record time (date)'
                                                                if out_fmt == 'json_lines' else ''),
          '%d bad, first %r' % (len(badtime), badtime[0]) if badtime else '')
    log('  sample: %s' % lines[len(lines) // 2].decode()[:300])


def test_rfc5424_lf(t):
    run_loadgen_case(t, 'rfc5424', False, 200000, 2, 'plain')


def test_rfc5424_octet_counted(t):
    run_loadgen_case(t, 'rfc5424', True, 100000, 2, 'json_lines')


def test_rfc3164_lf(t):
    run_loadgen_case(t, 'rfc3164', False, 100000, 2, 'json_lines')


def test_rfc3164_octet_counted(t):
    run_loadgen_case(t, 'rfc3164', True, 50000, 2, 'plain')


def test_two_workers_keep_order(t):
    """Workers 2 on the file output: a shard always feeds the same worker,
    so each connection's records still come out in order, none torn."""
    count, conns = 200000, 4
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port), file_out(t, Workers=2)))
    run_loadgen(['--port', port, '--count', count, '--conns', conns, '--mark'])
    st = sl.wait_stats(lambda s: s['totals']['out'] >= count, 60, 'all %d records out' % count)
    check_eq(st['totals']['out'], count, 'records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    check_sequences(marks(lines), full_sequences(loadgen_conn_counts(count, conns)),
                    '2 workers: every seq of every connection, in order')
    torn = [x for x in lines if not (x.startswith(b'{"pri":') and x.endswith(b'"}'))]
    check(not torn, 'no line torn or interleaved by the two writers', '%d, first %r' % (
        len(torn), torn[0][:200]) if torn else '')


def test_many_connections(t):
    """100 connections at once, spread over the shards by SO_REUSEPORT."""
    count, conns = 50000, 100
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port), file_out(t)))
    run_loadgen(['--port', port, '--count', count, '--conns', conns, '--mark', '--octet-counting'])
    st = sl.wait_stats(lambda s: s['totals']['out'] >= count, 60, 'all %d records out' % count)
    check_eq(st['inputs']['syslog.0']['connections'], conns, 'connections counted')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_sequences(marks(read_lines(t.path('out.txt'))),
                    full_sequences(loadgen_conn_counts(count, conns)),
                    '%d connections: every seq of every connection, in order' % conns)


def test_mixed_framing_one_connection(t):
    """Octet-counted, LF, CRLF and NUL frames interleaved on one connection,
    written in random pieces; the last line has no terminator at all."""
    rnd = random.Random(5)
    n = 3000
    stream, want = [], []
    for i in range(n):
        kind = rnd.randrange(6)
        host = 'h%d' % rnd.randrange(100)
        sd = '-'
        if i % 7 == 0:
            sd = '[x@1 a="q\\"uo\\]te" b="c d"][y@2 e="f"]'
        text = 'mixed kind=%d seq=%010d' % (kind, i)
        if kind == 5:
            text = 'first line\nsecond line ' + text   # LF inside a counted frame
        bom = BOM if i % 11 == 0 else b''
        raw = ('<%d>1 2024-05-06T07:08:09.%06dZ %s app %d ID%d %s ' % (
            i % 192, i, host, 100 + i, i % 10, sd)).encode() + bom + text.encode()
        if i == n - 1:
            frame = raw                         # ended by the FIN alone
        elif kind == 0:
            frame = raw + b'\n'
        elif kind == 1:
            frame = raw + b'\r\n'
        elif kind == 2 or kind == 5:
            frame = b'%d ' % len(raw) + raw
        elif kind == 3:
            frame = b'%d ' % len(raw) + raw + b'\n'
        else:
            frame = raw + b'\0'
        stream.append(frame)
        want.append({'pri': str(i % 192), 'time': '2024-05-06T07:08:09.%06dZ' % i, 'host': host,
                     'ident': 'app', 'pid': str(100 + i), 'msgid': 'ID%d' % (i % 10),
                     'extradata': sd, 'message': text})
    data = b''.join(stream)

    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port), file_out(t, fmt='json_lines')))
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    off, pieces = 0, 0
    while off < len(data):
        k = rnd.randint(1, 700)
        s.sendall(data[off:off + k])
        off += k
        pieces += 1
    s.shutdown(socket.SHUT_WR)
    sl.wait_stats(lambda st: st['totals']['out'] >= n, 30, 'all %d records out' % n)
    s.close()
    st = sl.stats()['inputs']['syslog.0']
    check_eq((st['records'], st['malformed'], st['oversize']), (n, 0, 0),
             'input counters (records, malformed, oversize) after %d pieces' % pieces)
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    check_eq(len(lines), n, 'one record per frame')
    bad = []
    for i, ln in enumerate(lines):
        rec = json.loads(ln)
        date = rec.pop('date')
        if rec != want[i] or abs(date - ts_5424(want[i]['time'])) > 2e-6:
            bad.append((i, rec, want[i]))
    check(not bad, 'every message exact and in order (LF kept inside a counted frame, CR and BOM '
          'stripped, SD escapes kept, unterminated last line delivered)',
          'first mismatch at %d:\n  got  %r\n  want %r' % bad[0] if bad else '')


def test_raw_message_key(t):
    """Raw_Message_Key: the message as received, without its framing, is
    added under that key after the parsed fields.
    https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/syslog
    (raw_message_key); fluent-bit plugins/in_syslog/syslog_prot.c."""
    msgs = [b'<34>1 2024-05-06T07:08:09.000001Z host1 app 100 ID1 - hello one',
            b'<13>1 2024-05-06T07:08:10.000002Z host2 app 101 ID2 [x@1 a="b"] hello two']
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port, Raw_Message_Key='raw'),
                       file_out(t, fmt='plain')))
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(msgs[0] + b'\n' + b'%d ' % len(msgs[1]) + msgs[1])
    s.shutdown(socket.SHUT_WR)
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 30, '2 records out')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    recs = [json.loads(ln) for ln in read_lines(t.path('out.txt'))]
    check_eq([r.get('raw') for r in recs], [m.decode() for m in msgs],
             'raw: each message as sent, LF and octet count left out')
    check_eq([list(r)[-1] for r in recs], ['raw', 'raw'], 'raw comes after the parsed fields')
    check_eq([r['message'] for r in recs], ['hello one', 'hello two'], 'parsed fields kept')


if __name__ == '__main__':
    main([test_rfc5424_lf, test_rfc5424_octet_counted, test_rfc3164_lf, test_rfc3164_octet_counted,
          test_two_workers_keep_order, test_many_connections, test_mixed_framing_one_connection,
          test_raw_message_key])
