#!/usr/bin/env python3
"""test_http_in.py — the `http` input end to end, with Python's
http.client and raw sockets, against the keys and behaviour of Fluent
Bit's in_http (https://docs.fluentbit.io/manual/pipeline/inputs/http;
plugins/in_http/http_prot.c for the answers and their texts, the tag from
the path, the order of the checks).

- The tag is the URL path without its '/' (characters other than letters,
  digits, '_' and '.' made '_'); POST / takes the input's Tag. Tag_Key
  takes a record's string value as its tag instead.
- Bodies: one JSON object, an array of objects, objects one per line
  (application/json as Fluent Bit, application/x-ndjson too), gzip
  (Content-Encoding: gzip, Fluent Bit 2.2.1+).
- application/x-www-form-urlencoded bodies; Add_Remote_Addr.
- HTTP/1.1 keep-alive: many requests on one connection, pipelined ones
  answered in order.
- Successful_Response_Code and Success_Header (repeated).
- A malformed body, a wrong Content-Type, a method other than POST: 400
  with Fluent Bit's text, nothing of it kept, and the next request on the
  same connection still served, also for a body bad far inside a batch of
  thousands of records. Past Buffer_Max_Size: 413 and the
  connection closed; a Transfer-Encoding other than chunked: 411 and
  closed. Chunked bodies (with extensions and trailers) are read.
- The 2xx comes only once the records are accepted: not while the output
  is blocked on a FIFO nobody reads, at once with storage.type filesystem.
- tls on.
"""
import gzip
import http.client
import json
import os
import socket
import threading
import time

from harness import check, check_eq, conf, free_port, main, service
from mpack import EventTime, mp_all, mp_encode

JSON = {'Content-Type': 'application/json'}


def http_in(port, **extra):
    kv = [('Name', 'http'), ('Listen', '127.0.0.1'), ('Port', str(port))]
    kv += [(k.replace('__', '.'), str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def outs(t, tags):
    """A file output per tag (Match tag, File tag), msgpack."""
    return [('OUTPUT', [('Name', 'file'), ('Match', tag), ('Path', t.dir), ('File', tag),
                        ('Format', 'msgpack')]) for tag in tags]


def records(t, tag):
    path = t.path(tag)
    if not os.path.exists(path):
        return []
    with open(path, 'rb') as f:
        return [ev[1] for ev in mp_all(f.read())]


def post(c, path, body, headers=JSON):
    """POST on http.client connection c: (status, headers dict, body)."""
    if isinstance(body, str):
        body = body.encode()
    c.request('POST', path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def raw_request(path, body, ctype='application/json', extra=''):
    return ('POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n'
            % (path, ctype, len(body), extra)).encode() + body


def read_responses(s, n, timeout=10):
    """n whole responses (status line, headers, Content-Length body) from
    socket s: [(status, body)]; fewer when the connection closes."""
    s.settimeout(timeout)
    buf, out = b'', []
    while len(out) < n:
        while b'\r\n\r\n' in buf:
            head, rest = buf.split(b'\r\n\r\n', 1)
            lines = head.decode().split('\r\n')
            hdr = {k.lower(): v.strip() for k, v in (ln.split(':', 1) for ln in lines[1:])}
            ln = int(hdr.get('content-length', 0))
            if len(rest) < ln:
                break
            out.append((int(lines[0].split()[1]), rest[:ln]))
            buf = rest[ln:]
            if len(out) == n:
                return out
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return out


def is_closed(s, timeout=10):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b''
    except ConnectionResetError:
        return True


def test_tags_and_bodies(t):
    port = free_port()
    tags = ['app.log', 'def', 'a_b_c', 'nd', 'gz', 'from.key', 'other']
    sl = t.sluice(conf(service(t), http_in(port, Tag='def', Tag_Key='tk'), *outs(t, tags)))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    check_eq(post(c, '/app.log', json.dumps({'msg': 'one', 'n': 1}))[0], 201,
             'POST /app.log: 201 Created (the default Successful_Response_Code)')
    check_eq(post(c, '/', json.dumps([{'n': 2}, {'n': 3, 'nested': {'a': [1, None]}}]))[0], 201,
             'an array of objects at /')
    check_eq(post(c, '/a%20b-c?query=ignored', '{"n":4}')[0], 201, 'a path to sanitize')
    check_eq(post(c, '/nd', b'{"n":5}\n{"n":6}\r\n{"n":7}{"n":8}\n',
                  {'Content-Type': 'application/x-ndjson'})[0], 201, 'NDJSON')
    check_eq(post(c, '/nd', b'{"n":9}\n[{"n":10}]\n')[0], 201,
             'objects one per line as application/json (Fluent Bit packs every value)')
    check_eq(post(c, '/gz', gzip.compress(b'[{"n":11},{"n":12}]'),
                  {'Content-Type': 'application/json', 'Content-Encoding': 'gzip'})[0], 201,
             'a gzip body')
    check_eq(post(c, '/other', '[{"tk":"from.key","n":13},{"n":14},{"tk":5,"n":15}]')[0], 201,
             'Tag_Key')
    c.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 15, 15, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(records(t, 'app.log'), [{'msg': 'one', 'n': 1}], 'tag from the path')
    check_eq(records(t, 'def'), [{'n': 2}, {'n': 3, 'nested': {'a': [1, None]}}],
             '/ takes the input\'s Tag; one record per element')
    check_eq(records(t, 'a_b_c'), [{'n': 4}], '%20 and - made _, the query string dropped')
    check_eq([r['n'] for r in records(t, 'nd')], [5, 6, 7, 8, 9, 10], 'NDJSON, in order')
    check_eq(records(t, 'gz'), [{'n': 11}, {'n': 12}], 'gunzipped')
    check_eq(records(t, 'from.key'), [{'tk': 'from.key', 'n': 13}],
             'Tag_Key: the value is the tag, the key stays in the record')
    check_eq(records(t, 'other'), [{'n': 14}, {'tk': 5, 'n': 15}],
             'without the key (or not a string): the path\'s tag')


def test_msgpack_bodies(t):
    """Content-Type application/msgpack (sluice's own, the ingest issue
    asks for it; Fluent Bit's in_http takes JSON and forms only): maps and
    [time, map] events one after another, each a record; an event's time
    (integer, EventTime) is the record's; a bad object refuses the whole
    body with 400, nothing of it kept; a JSON request after it on the
    connection is served."""
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port), *outs(t, ['mp', 'js'])))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    MP = {'Content-Type': 'application/msgpack'}
    body = (mp_encode({'n': 1, 'nested': {'a': [1, None, True]}}) +
            mp_encode([1700000000, {'n': 2}]) +
            mp_encode([EventTime(1700000001, 500), {'n': 3}]))
    check_eq(post(c, '/mp', body, MP)[0], 201, 'a map and two events')
    check_eq(post(c, '/mp', mp_encode({'n': 4}) + mp_encode('not a record'), MP)[0], 400,
             'a bad object: 400')
    check_eq(post(c, '/mp', mp_encode({'n': 5})[:-1], MP)[0], 400, 'a cut object: 400')
    check_eq(post(c, '/js', '{"n":6}')[0], 201, 'a JSON request after them on the connection')
    check_eq(post(c, '/mp', mp_encode({'n': 7}), {'Content-Type': 'application/x-msgpack'})[0], 201,
             'application/x-msgpack too')
    c.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 5, 15, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    with open(t.path('mp'), 'rb') as f:
        evs = mp_all(f.read())
    check_eq([ev[1] for ev in evs], [{'n': 1, 'nested': {'a': [1, None, True]}}, {'n': 2}, {'n': 3}, {'n': 7}],
             'the records, in order, nothing of the refused bodies')
    check_eq([(ev[0][1], ev[0][2]) for ev in evs[1:3]], [(1700000000, 0), (1700000001, 500)],
             "the events' times kept, nanoseconds included")
    check_eq(records(t, 'js'), [{'n': 6}], 'the JSON record')


def test_form_and_remote_addr(t):
    """application/x-www-form-urlencoded: one record of the pairs, values
    URL decoded (http_prot.c parse_payload_urlencoded); Add_Remote_Addr:
    REMOTE_ADDR from X-Forwarded-For (docs: add_remote_addr)."""
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, Add_Remote_Addr='on', Tag_Key='tk'),
                       *outs(t, ['form', 'ff', 'json'])))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    form = {'Content-Type': 'application/x-www-form-urlencoded'}
    check_eq(post(c, '/form', 'a=1&msg=hello+world%21&empty=&noeq&=x& k = v%20', form)[0],
             201, 'a form')
    check_eq(post(c, '/form', 'tk=ff&n=2', form)[0], 201, 'a form with the Tag_Key pair')
    check_eq(post(c, '/form', 'bad=%zz', form)[0], 400, 'a bad %-escape: 400')
    check_eq(post(c, '/form', 'nothing', form)[0], 400, 'no pair at all: 400')
    check_eq(post(c, '/json', '{"n":3,"REMOTE_ADDR":"spoofed"}',
                  {'Content-Type': 'application/json',
                   'X-Forwarded-For': '203.0.113.7, 10.0.0.1'})[0], 201, 'JSON with X-Forwarded-For')
    c.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 15, 'records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(records(t, 'form'), [{'a': '1', 'msg': 'hello world!', 'empty': '', 'k': 'v '}],
             'the pairs, trimmed then values decoded, pairs without a key or = skipped')
    check_eq(records(t, 'ff'), [{'tk': 'ff', 'n': '2'}], 'Tag_Key in a form')
    check_eq(records(t, 'json'), [{'n': 3, 'REMOTE_ADDR': '203.0.113.7'}],
             'REMOTE_ADDR: the first X-Forwarded-For address, in place of the record\'s own')


def test_keepalive_and_success_headers(t):
    port = free_port()
    inp = http_in(port, Successful_Response_Code=200)
    inp[1].extend([('Success_Header', 'X-Custom custom-answer'),
                   ('Success_Header', 'X-Other two words')])
    sl = t.sluice(conf(service(t), inp, *outs(t, ['k'])))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    for i in range(20):
        st, hdr, body = post(c, '/k', json.dumps({'i': i}))
        check_eq((st, hdr.get('X-Custom'), hdr.get('X-Other'), body),
                 (200, 'custom-answer', 'two words', b''),
                 'request %d: Successful_Response_Code 200 and both Success_Headers' % i)
    c.close()
    # pipelined: three requests in one write, three answers in order
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(raw_request('/k', b'{"i":20}') + raw_request('/k', b'{"i":21') +
              raw_request('/k', b'[{"i":22}]'))
    check_eq([r[0] for r in read_responses(s, 3)], [200, 400, 200],
             'pipelined requests answered in order, the bad one in its place')
    s.close()
    # HTTP/1.0, and 1.1 with Connection: close: closed after the answer
    for req in [raw_request('/k', b'{"i":23}').replace(b'HTTP/1.1', b'HTTP/1.0'),
                raw_request('/k', b'{"i":24}', extra='Connection: close\r\n')]:
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(req)
        check_eq([r[0] for r in read_responses(s, 1)], [200], 'answered')
        check(is_closed(s), 'then closed: %r' % req[:40])
        s.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 24, 15, 'all records out')
    check_eq(st['inputs']['http.0']['connections'], 4, '20 requests on one connection')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([r['i'] for r in records(t, 'k')], list(range(21)) + [22, 23, 24],
             'every record, in order')


def test_errors_keep_the_connection(t):
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port), *outs(t, ['e'])))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    # http_prot.c: send_response(conn, 400, "error: invalid payload\n") etc.
    cases = [
        ('{"a":1', JSON, b'error: invalid payload\n'),
        ('[{"a":1},2]', JSON, b'error: invalid payload\n'),
        ('{"a":1}', {'Content-Type': 'text/plain'}, b"error: invalid 'Content-Type'\n"),
        ('{"a":1}', {}, b"error: header 'Content-Type' is not set\n"),
        ('', JSON, b'error: no payload found\n'),
        (b'not gzip', {'Content-Type': 'application/json', 'Content-Encoding': 'gzip'},
         b'error: invalid gzip payload\n'),
    ]
    for body, hdr, text in cases:
        st, _, got = post(c, '/e', body, hdr)
        check_eq((st, got), (400, text), '400 for %r %r' % (body, hdr))
        check_eq(post(c, '/e', '{"ok":1}')[0], 201, 'the next request on the same connection')
    c.request('GET', '/e')
    r = c.getresponse()
    check_eq((r.status, r.read()), (400, b'error: invalid HTTP method\n'), 'GET: 400 as Fluent Bit')
    c.request('PUT', '/e', body=b'{"a":1}', headers=JSON)
    r = c.getresponse()
    check_eq((r.status, r.read()), (400, b'error: invalid HTTP method\n'), 'PUT: 400')
    check_eq(post(c, '/e', '{"ok":2}')[0], 201, 'still served')
    c.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 7, 15, 'records out')
    check_eq(st['inputs']['http.0']['malformed'], len(cases) + 1, 'each refused POST/PUT counted')
    check_eq(st['inputs']['http.0']['connections'], 1, 'all on one connection')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(records(t, 'e'), [{'ok': 1}] * len(cases) + [{'ok': 2}],
             'nothing of a refused body kept')


def test_too_large_and_chunked(t):
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, Buffer_Max_Size='64k', Buffer_Chunk_Size='16k'),
                       *outs(t, ['big'])))
    s = socket.create_connection(('127.0.0.1', port))
    body = json.dumps([{'pad': 'x' * 1000, 'i': i} for i in range(30)]).encode()
    s.sendall(raw_request('/big', body))
    check_eq([r[0] for r in read_responses(s, 1)], [201], 'a 30 KB request under 64k')
    # the head of a request past Buffer_Max_Size (its body never sent, so
    # that closing does not reset what is unread)
    s.sendall(b'POST /big HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
              b'Content-Length: 70000\r\n\r\n')
    got = read_responses(s, 1)
    check_eq([r[0] for r in got], [413], '413 past Buffer_Max_Size')
    check(is_closed(s), 'then the connection is closed')
    s.close()
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'POST /big HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
              b'Transfer-Encoding: gzip\r\n\r\n')
    check_eq([r[0] for r in read_responses(s, 1)], [411],
             'a Transfer-Encoding other than chunked: 411 Length Required')
    check(is_closed(s), 'and closed')
    s.close()
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'POST /big HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
              b'Transfer-Encoding: chunked\r\n\r\n' +
              (b'8000\r\n' + b' ' * 0x8000 + b'\r\n') * 2 + b'8000\r\n')
    check_eq([r[0] for r in read_responses(s, 1)], [413], 'chunks past Buffer_Max_Size: 413')
    check(is_closed(s), 'and closed')
    s.close()
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'NOT HTTP\r\n\r\n')
    check_eq([r[0] for r in read_responses(s, 1)], [400], 'an unreadable head: 400')
    check(is_closed(s), 'and closed (the framing is lost)')
    s.close()
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    check_eq(post(c, '/big', '{"after":1}')[0], 201, 'other connections unaffected')
    c.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 31, 15, 'records out')
    check_eq(st['inputs']['http.0']['oversize'], 2, 'the 413s counted oversize')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')


def test_chunked(t):
    """Transfer-Encoding: chunked bodies (RFC 9112 7.1), as curl sends a
    body of unknown length; Fluent Bit's in_http decodes them too
    (mk_http_parser_chunked_decode in http_prot.c)."""
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port), *outs(t, ['ch'])))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    pieces = [b'[{"n":1},', b'{"n":2,"s":"', b'x' * 5000, b'"},{"n":3}]']
    c.request('POST', '/ch', body=iter(pieces), headers=JSON, encode_chunked=True)
    r = c.getresponse()
    check_eq((r.status, r.read()), (201, b''), 'a chunked body of four chunks')
    gz = gzip.compress(b'{"n":4}\n{"n":5}\n')
    c.request('POST', '/ch', body=iter([gz[:10], gz[10:]]), encode_chunked=True,
              headers={'Content-Type': 'application/json', 'Content-Encoding': 'gzip'})
    r = c.getresponse()
    check_eq((r.status, r.read()), (201, b''), 'chunked and gzipped, on the same connection')
    c.close()
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'POST /ch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
              b'Transfer-Encoding: chunked\r\n\r\n7;ext=1\r\n{"n":6}\r\n0\r\nTrailer: x\r\n\r\n'
              b'POST /ch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
              b'Transfer-Encoding: chunked\r\n\r\n7\r\n{"n":7}XX0\r\n\r\n')
    check_eq([r[0] for r in read_responses(s, 2)], [201, 400],
             'an extension and a trailer are fine; a chunk without its CRLF: 400')
    check(is_closed(s), 'then closed (the framing is lost)')
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 6, 15, 'records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([r['n'] for r in records(t, 'ch')], [1, 2, 3, 4, 5, 6], 'every record, in order')
    check_eq(len(records(t, 'ch')[1]['s']), 5000, 'the chunks joined')


def test_answers_do_not_wait_for_flush(t):
    """A client waits for each answer: the chunk goes on at the end of the
    connection's burst, not at Flush (10 s here)."""
    port = free_port()
    sl = t.sluice(conf(service(t, Flush=10), http_in(port), *outs(t, ['q'])))
    s = socket.create_connection(('127.0.0.1', port))
    t0 = time.monotonic()
    for i in range(5):
        s.sendall(raw_request('/q', b'{"i":%d}' % i))
        check_eq([r[0] for r in read_responses(s, 1, timeout=3)], [201], 'request %d answered' % i)
    s.sendall(raw_request('/q', b'{"i":5}') + raw_request('/q', b'{bad'))
    check_eq([r[0] for r in read_responses(s, 2, timeout=3)], [201, 400],
             'a burst ending in a refused request')
    check(time.monotonic() - t0 < 5, 'all well before one Flush')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([r['i'] for r in records(t, 'q')], list(range(6)), 'every record')


def test_expect_continue(t):
    """Expect: 100-continue (RFC 9110, 10.1.1; curl sends it before a
    large body and waits up to a second for leave): the head alone is
    answered "100 Continue", the body then 201; a head that came with its
    body gets no 100; a body too large gets 413 without a 100."""
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, Buffer_Max_Size='1K', Buffer_Chunk_Size='1K'), *outs(t, ['e'])))
    s = socket.create_connection(('127.0.0.1', port))
    body = b'{"i":1}'
    req = raw_request('/e', body, extra='Expect: 100-continue\r\n')
    s.sendall(req[:-len(body)])
    check_eq(read_responses(s, 1, timeout=3), [(100, b'')], 'the head alone: 100 Continue')
    s.sendall(body)
    check_eq([r[0] for r in read_responses(s, 1, timeout=3)], [201], 'then the body: 201')
    s.sendall(raw_request('/e', b'{"i":2}', extra='Expect: 100-continue\r\n'))
    check_eq([r[0] for r in read_responses(s, 1, timeout=3)], [201], 'head and body at once: no 100')
    big = raw_request('/e', b'x' * 4096, extra='Expect: 100-continue\r\n')
    s.sendall(big[:-4096])
    check_eq([r[0] for r in read_responses(s, 1, timeout=3)], [413], 'too large: 413, no 100')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([r['i'] for r in records(t, 'e')], [1, 2], 'both records')


def blocked_output(t):
    fifo = t.path('held')
    os.mkfifo(fifo)
    return fifo, ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'held'),
                             ('Format', 'msgpack')])


def read_fifo(fifo, got):
    th = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    th.start()
    return th


def test_answer_waits_for_output(t):
    """The 2xx means the records are safe: not while the file output is
    blocked on a FIFO nobody reads."""
    port = free_port()
    fifo, out = blocked_output(t)
    sl = t.sluice(conf(service(t), http_in(port), out))
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(raw_request('/w', b'[{"n":1},{"n":2}]'))
    s.settimeout(1.5)
    try:
        early = s.recv(100)
    except socket.timeout:
        early = None
    check_eq(early, None, 'no answer while the output cannot write the records')
    got = []
    th = read_fifo(fifo, got)
    check_eq([r[0] for r in read_responses(s, 1)], [201], 'the answer once they are written')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    th.join(10)
    check_eq([ev[1] for ev in mp_all(got[0])] if got else None, [{'n': 1}, {'n': 2}],
             'the records came out of the FIFO')


def test_answer_filesystem_storage(t):
    """storage.type filesystem: the 2xx once the records are in the store,
    the output still blocked."""
    port = free_port()
    fifo, out = blocked_output(t)
    sl = t.sluice(conf(service(t, **{'storage.path': t.path('store')}),
                       http_in(port, storage__type='filesystem'), out))
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(raw_request('/f', b'{"n":1}'))
    check_eq([r[0] for r in read_responses(s, 1)], [201], 'answered once stored')
    got = []
    th = read_fifo(fifo, got)
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 1, 15, 'record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    th.join(10)
    check_eq([ev[1] for ev in mp_all(got[0])] if got else None, [{'n': 1}], 'then delivered')


def test_tls(t):
    import ssl
    from certs import certs
    c = certs()
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, tls='on', tls__crt_file=c.p('server.crt'),
                                           tls__key_file=c.p('server.key')), *outs(t, ['sec'])))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(c.p('ca.crt'))
    h = http.client.HTTPSConnection('localhost', port, context=ctx, timeout=20)
    for i in range(3):
        check_eq(post(h, '/sec', json.dumps({'i': i}))[0], 201, 'POST over TLS, keep-alive')
    h.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 15, 'records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(records(t, 'sec'), [{'i': 0}, {'i': 1}, {'i': 2}], 'the records over TLS')


def test_malformed_in_a_big_batch(t):
    """A body bad far inside a batch of thousands (its first records long
    written into chunks, in_http_json.c): 400 "invalid payload" as Fluent
    Bit answers a body it cannot pack (http_prot.c), none of its records
    delivered, not even those of its chunks already full; the records of
    the request before it, sharing its chunk, kept; the next request on
    the same keep-alive connection delivered whole. Sizes: one that fits
    the chunks a request may hold, one far past them (checked first)."""
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port), *outs(t, ['big'])))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)

    def recs(tag, n):
        return [{'b': tag, 'i': i, 'msg': 'record %d of a big batch, padded to a log line' % i,
                 'user': {'id': i, 'tags': ['x', 'y']}} for i in range(n)]

    def body(rs):
        return '[' + ','.join(json.dumps(r, separators=(',', ':')) for r in rs) + ']'

    want = recs('small', 3)
    check_eq(post(c, '/big', body(want))[0], 201, 'a small batch first (its chunk is shared)')
    bad = 0
    for n, at, flaw in [(3000, 2000, '{"i":01}'), (3000, 2999, '{"s":"a\x01b"}'),
                        (30000, 29999, '{"i":1'), (3000, 1500, '{"i":1}{"j":2}'),
                        (2500, 2499, None)]:
        rs = recs('bad', n)
        b = body(rs)
        if flaw is None:
            b = b[:-1]   # the closing ']' missing
        else:
            parts = [json.dumps(r, separators=(',', ':')) for r in rs]
            parts[at] = flaw
            b = '[' + ','.join(parts) + ']'
        st, _, got = post(c, '/big', b)
        bad += 1
        check_eq((st, got), (400, b'error: invalid payload\n'),
                 '400 for %d records, bad at %d (%r)' % (n, at, flaw))
        good = recs('good%d' % bad, n)
        check_eq(post(c, '/big', body(good))[0], 201, 'the next request on the same connection')
        want += good
    c.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= len(want), 60, 'records out')
    check_eq(st['inputs']['http.0']['malformed'], bad, 'each refused body counted once')
    check_eq(st['inputs']['http.0']['records'], len(want), 'the records kept counted, no more')
    check_eq(st['inputs']['http.0']['connections'], 1, 'all on one connection')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    got = records(t, 'big')
    check_eq(len(got), len(want), 'as many records delivered as the good requests held')
    check(got == want, 'exactly the good requests\' records, in order, none of a refused one',
          '' if got == want else 'first difference at %d' %
          next(i for i, (a, b) in enumerate(zip(got, want)) if a != b))


if __name__ == '__main__':
    main([test_tags_and_bodies, test_msgpack_bodies, test_form_and_remote_addr,
          test_keepalive_and_success_headers,
          test_errors_keep_the_connection, test_too_large_and_chunked, test_chunked,
          test_answers_do_not_wait_for_flush, test_expect_continue, test_answer_waits_for_output,
          test_answer_filesystem_storage, test_tls, test_malformed_in_a_big_batch])
