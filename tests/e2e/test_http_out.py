#!/usr/bin/env python3
"""test_http_out.py — the http output against a real HTTP server on loopback.

The sink is Python's http.server (threaded, HTTP/1.1 keep-alive), started
by the test: it records every request (method, path, headers, body, the
connection it came on), answers from a plan (500, 429, 400 on demand,
else 200) and can drop a keep-alive connection after a response. A body
is counted as accepted only when the sink answered it 2xx, so "delivered
once, in order" is checked against what a real server kept.

What is pinned, and where Fluent Bit says so:
  - Format json: one JSON array per request; json_lines: one object per
    line; json_stream: objects back to back; msgpack: the events
    (Fluent Bit src/flb_pack.c flb_pack_msgpack_to_json_format;
    plugins/out_http/http.c compose_payload).
  - Content-Type per format: application/json, application/x-ndjson,
    application/msgpack (http.c http_post).
  - Header repeats, Allow_Duplicated_Headers false keeps the last
    (docs.fluentbit.io/manual/data-pipeline/outputs/http: "If a duplicated
    header is found, the latest key/value set is preserved").
  - http_User/http_Passwd: Authorization: Basic (http.c flb_http_basic_auth).
  - compress gzip: Content-Encoding gzip, the body gunzips (http.c).
  - 5xx and 429 are retried; a 4xx other than 408/429 is not ("chunk will
    not be retried", http.c http_post).
  - tls, tls.verify, tls.ca_file: a self-signed CA made here with
    `openssl req`; the wrong CA fails and is counted.
  - body_key / headers_key: one request per record, the body_key string as
    the body, the headers_key map's string:string pairs as headers (no
    Content-Type of the Format), non-string pairs left out; a record
    without a string body or a map of headers gives no request; both keys
    or neither (plugins/out_http/http.c post_all_requests and
    extract_headers; http_conf.c "when setting body_key, headers_key is
    also required"; docs.fluentbit.io/manual/data-pipeline/outputs/http).
"""
import base64
import gzip
import http.server
import json
import socket
import subprocess
import threading
import time

from certs import certs, server_ctx
from harness import SLUICE, check, check_eq, conf, free_port, main, service, tcp_in
from test_outputs import mp_decode


# ---- the sink --------------------------------------------------------------

class Sink:
    """A threaded HTTP/1.1 server recording requests. plan: statuses to
    answer next, in order (then 200). close_every: drop the connection
    (no Connection: close header, just a close) after every Nth response."""

    def __init__(self, tls_ctx=None):
        self.lock = threading.Lock()
        self.requests = []     # dicts: method, path, headers, body, status, conn
        self.plan = []
        self.reject_body = b''
        self.close_every = 0
        self.served = 0
        sink = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def setup(self):
                super().setup()
                # headers and body are two writes: without this the second
                # waits for the client's delayed ACK, 40 ms per request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *a):
                pass

            def _handle(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                if self.headers.get('Content-Encoding') == 'gzip':
                    body = gzip.decompress(body)
                with sink.lock:
                    status = sink.plan.pop(0) if sink.plan else 200
                    sink.served += 1
                    close = sink.close_every and sink.served % sink.close_every == 0
                    sink.requests.append({'method': self.command, 'path': self.path,
                                          'headers': self.headers, 'body': body,
                                          'status': status, 'conn': self.client_address[1]})
                    rb = sink.reject_body if status != 200 else b'ok'
                self.send_response(status)
                self.send_header('Content-Length', str(len(rb)))
                self.end_headers()
                self.wfile.write(rb)
                self.wfile.flush()
                if close:
                    self.close_connection = True

            do_POST = _handle
            do_PUT = _handle

        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.srv.daemon_threads = True
        if tls_ctx:
            self.srv.socket = tls_ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()

    def accepted(self, path=None):
        with self.lock:
            return [r for r in self.requests if 200 <= r['status'] < 300 and
                    (path is None or r['path'] == path)]

    def all(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r['path'] == path]


def records_of(req, fmt):
    """The records of one request body in Format fmt, as dicts."""
    b = req['body']
    if fmt == 'json':
        v = json.loads(b)
        assert isinstance(v, list), 'json is one array per request'
        return v
    if fmt in ('json_lines', 'gelf'):
        text = b.decode()
        assert text.endswith('\n'), 'each line ends with a newline'
        return [json.loads(ln) for ln in text.split('\n')[:-1]]
    if fmt == 'json_stream':
        dec, text, i, out = json.JSONDecoder(), b.decode(), 0, []
        while i < len(text):
            v, i = dec.raw_decode(text, i)
            out.append(v)
        return out
    if fmt == 'msgpack':
        out, i = [], 0
        while i < len(b):
            ev, i = mp_decode(b, i)
            out.append(ev[1])
        return out
    raise ValueError(fmt)


def seqs(sink, fmt, path=None):
    key = '_seq' if fmt == 'gelf' else 'seq'   # GELF prefixes additional fields with '_'
    return [r[key] for req in sink.accepted(path) for r in records_of(req, fmt)]


def send_json(port, first, count, pause_every=0):
    """count records {"seq": i, ...} to sluice's tcp input, one connection."""
    with socket.create_connection(('127.0.0.1', port)) as s:
        buf = []
        for i in range(first, first + count):
            buf.append(json.dumps({'seq': i, 'msg': 'record %d' % i, 'level': 'info',
                                   'short_message': 'm%d' % i}) + '\n')
            if pause_every and (i - first + 1) % pause_every == 0:
                s.sendall(''.join(buf).encode())
                buf = []
                time.sleep(0.15)   # pacing the sender only: separate bursts
        s.sendall(''.join(buf).encode())


def http_out(sink, uri='/', fmt='json', match='*', **extra):
    kv = [('Name', 'http'), ('Match', match), ('Host', '127.0.0.1'), ('Port', str(sink.port)),
          ('URI', uri), ('Format', fmt)]
    for k, v in extra.items():
        if isinstance(v, (list, tuple)):
            kv += [(k, x) for x in v]
        else:
            kv.append((k, str(v)))
    return ('OUTPUT', kv)


def out_stats(st, name='http.0'):
    return st['outputs'][name]


# ---- tests -----------------------------------------------------------------

def test_formats(t):
    """Every record once, in order, in each format; Content-Type per format."""
    sink = Sink()
    port = free_port()
    fmts = ['json', 'json_lines', 'json_stream', 'msgpack', 'gelf']
    outs = [http_out(sink, '/' + f, f) for f in fmts]
    sl = t.sluice(conf(service(t), tcp_in(port), *outs))
    n = 3000
    send_json(port, 0, n, pause_every=1000)
    sl.wait_stats(lambda st: all(o['records'] >= n for o in st['outputs'].values()), 30,
                  'every output confirmed %d records' % n)
    types = {'json': 'application/json', 'json_lines': 'application/x-ndjson',
             'json_stream': 'application/json', 'msgpack': 'application/msgpack',
             'gelf': 'application/json'}
    for f in fmts:
        check_eq(seqs(sink, f, '/' + f), list(range(n)), f + ': every record once, in order')
        reqs = sink.accepted('/' + f)
        check(len(reqs) < n / 10, f + ': records are batched', '%d requests' % len(reqs))
        check(all(r['headers']['Content-Type'] == types[f] for r in reqs),
              f + ': Content-Type ' + types[f])
        check(all(r['method'] == 'POST' for r in reqs), f + ': POST')
    one = records_of(sink.accepted('/json')[0], 'json')[0]
    check('date' in one and isinstance(one['date'], float), 'json: date key, a double')
    g = records_of(sink.accepted('/gelf')[0], 'gelf')[0]
    check(g.get('version') == '1.1' and g.get('short_message') == 'm0', 'gelf: GELF 1.1 objects')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_headers_auth_gzip(t):
    """Repeated Header, Allow_Duplicated_Headers, basic auth, gzip, Header_Tag,
    json_date_key / json_date_format, http_method PUT."""
    sink = Sink()
    port = free_port()
    hdrs = ['X-Dup one', 'X-Dup two', 'Authorization-Extra  Bearer abc def ']
    sl = t.sluice(conf(service(t), tcp_in(port, Tag='app.logs'),
                       http_out(sink, '/a', 'json_lines', Header=hdrs, HTTP_User='alice',
                                HTTP_Passwd='s3cret:x', compress='gzip', Header_Tag='X-Tag',
                                json_date_key='ts', json_date_format='iso8601'),
                       http_out(sink, 'b', 'json', Header=hdrs, Allow_Duplicated_Headers='false',
                                http_method='PUT', json_date_key='false')))
    n = 500
    send_json(port, 0, n)
    sl.wait_stats(lambda st: all(o['records'] >= n for o in st['outputs'].values()), 30,
                  'both outputs confirmed')
    a, b = sink.accepted('/a'), sink.accepted('/b')
    check_eq(seqs(sink, 'json_lines', '/a'), list(range(n)), 'gzip: bodies decode, all records')
    h = a[0]['headers']
    check_eq(h.get_all('X-Dup'), ['one', 'two'], 'repeated Header: both sent in order')
    check_eq(h['Authorization-Extra'], 'Bearer abc def', 'Header value is the rest of the line')
    want = 'Basic ' + base64.b64encode(b'alice:s3cret:x').decode()
    check(all(r['headers']['Authorization'] == want for r in a), 'Authorization: Basic on every request')
    check(all(r['headers']['Content-Encoding'] == 'gzip' for r in a), 'Content-Encoding: gzip')
    check(all(r['headers']['X-Tag'] == 'app.logs' for r in a), 'Header_Tag carries the tag')
    r0 = records_of(a[0], 'json_lines')[0]
    check(r0['ts'].endswith('Z') and 'T' in r0['ts'], 'json_date_format iso8601 under json_date_key',
          r0['ts'])
    check_eq(seqs(sink, 'json', '/b'), list(range(n)), 'URI without / gets one; json')
    check_eq(b[0]['headers'].get_all('X-Dup'), ['two'],
             'Allow_Duplicated_Headers false: the last one only')
    check('Authorization' not in b[0]['headers'], 'no Authorization without HTTP_User')
    check(all(r['method'] == 'PUT' for r in b), 'http_method PUT')
    check('date' not in records_of(b[0], 'json')[0], 'json_date_key false: no date')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def _retry_then_recover(t, status):
    sink = Sink()
    sink.plan = [status] * 3
    sink.reject_body = b'try later'
    port = free_port()
    sl = t.sluice(conf(service(t, **{'scheduler.base': '0.1', 'scheduler.cap': '0.2'}), tcp_in(port),
                       http_out(sink, '/r', 'json', Retry_Limit='no_limits')))
    n = 400
    send_json(port, 0, n)
    st = sl.wait_stats(lambda st: out_stats(st)['records'] >= n, 30, 'all confirmed after the retries')
    check_eq(seqs(sink, 'json'), list(range(n)), '%d then 200: every record once, in order' % status)
    check(out_stats(st)['retries'] >= 3, 'retries counted', str(out_stats(st)['retries']))
    check_eq(out_stats(st)['errors'], 0, 'nothing failed')
    check(len(sink.all()) >= 4, 'the refused bodies were sent again', str(len(sink.all())))
    check('HTTP status=%d' % status in sl.stderr(), 'the status is logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_500_then_recovery(t):
    _retry_then_recover(t, 500)


def test_429_retried(t):
    _retry_then_recover(t, 429)


def test_400_permanent(t):
    """A 400 is counted failed, logged with the status and the body's first
    bytes, and never retried, whatever Retry_Limit says."""
    sink = Sink()
    sink.plan = [400] * 1000
    sink.reject_body = b'{"error":"mapper_parsing_exception: field [seq] is bad"}' + b'x' * 2000
    port = free_port()
    sl = t.sluice(conf(service(t, **{'scheduler.base': '0.1', 'scheduler.cap': '0.2'}), tcp_in(port),
                       http_out(sink, '/p', 'json', Retry_Limit='5')))
    n = 300
    send_json(port, 0, n, pause_every=100)
    st = sl.wait_stats(lambda st: out_stats(st)['errors'] >= n, 30, 'all counted failed')
    check_eq(out_stats(st)['records'], 0, 'nothing reported delivered')
    check_eq(out_stats(st)['retries'], 0, 'not retried')
    got = [r['seq'] for req in sink.all() for r in records_of(req, 'json')]
    check_eq(sorted(got), list(range(n)), 'each record sent exactly once')
    err = sl.stderr()
    lines = [ln for ln in err.splitlines() if 'HTTP status=400' in ln]
    check_eq(len(lines), 1, 'logged once for the cause (rate-limited)')
    check('mapper_parsing_exception' in lines[0], 'with the body\'s first bytes', lines[0][:200])
    check('x' * 300 not in lines[0], 'only a prefix of the body')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_keepalive_closed_by_server(t):
    """A server that drops its keep-alive connection after every other
    response: nothing is lost."""
    sink = Sink()
    sink.close_every = 2
    port = free_port()
    sl = t.sluice(conf(service(t, **{'scheduler.base': '0.1', 'scheduler.cap': '0.2'}), tcp_in(port),
                       http_out(sink, '/k', 'json_lines', Retry_Limit='no_limits')))
    n = 2000
    send_json(port, 0, n, pause_every=100)
    sl.wait_stats(lambda st: out_stats(st)['records'] >= n, 30, 'all confirmed')
    got = seqs(sink, 'json_lines')
    check_eq(sorted(set(got)), list(range(n)), 'nothing lost')
    check_eq(got, list(range(n)), 'once each, in order')
    # The server closed its connections and sluice opened new ones (how
    # many requests a connection carried depends on timing: a request sent
    # as the server closes is retried on a new one, and not recorded).
    conns = len({r['conn'] for r in sink.all()})
    check(conns >= 2, 'new connections after the server closed them',
          '%d requests on %d connections' % (len(sink.all()), conns))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_keepalive_reused(t):
    """net.keepalive on (the default): requests share one connection."""
    sink = Sink()
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port), http_out(sink, '/k', 'json_lines')))
    send_json(port, 0, 1000, pause_every=100)
    sl.wait_stats(lambda st: out_stats(st)['records'] >= 1000, 30, 'all confirmed')
    reqs = sink.all()
    check(len(reqs) >= 5, 'several requests', str(len(reqs)))
    check_eq(len({r['conn'] for r in reqs}), 1, 'one connection for all of them')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_tls(t):
    """tls.verify on with tls.ca_file: works; another CA: refused, counted."""
    crt, other = certs().p('ca.crt'), certs().p('ca2.crt')
    sink = Sink(tls_ctx=server_ctx('server'))
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       http_out(sink, '/good', 'json', tls='on', **{'tls.verify': 'on',
                                'tls.ca_file': crt, 'tls.verify_hostname': 'on'}),
                       http_out(sink, '/bad', 'json', Retry_Limit='no_retries', tls='on',
                                **{'tls.verify': 'on', 'tls.ca_file': other})))
    n = 300
    send_json(port, 0, n)
    st = sl.wait_stats(lambda st: out_stats(st, 'http.0')['records'] >= n and
                       out_stats(st, 'http.1')['errors'] >= n, 30, 'good delivered, bad failed')
    check_eq(seqs(sink, 'json', '/good'), list(range(n)), 'over TLS: every record once, in order')
    check_eq(sink.all('/bad'), [], 'wrong CA: no request reached the server')
    check_eq(out_stats(st, 'http.1')['records'], 0, 'wrong CA: nothing reported delivered')
    check('request failed' in sl.stderr(), 'the TLS failure is logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_split_large_burst(t):
    """Body_Max_Size: a burst larger than the limit goes in several
    requests, each within it, nothing lost or doubled."""
    sink = Sink()
    # A retriable answer in the middle of a split burst: the retry starts
    # at the refused request, so the accepted ones are not sent twice.
    sink.plan = [200, 200, 500, 503]
    port = free_port()
    sl = t.sluice(conf(service(t, Flush='1', **{'scheduler.base': '0.1', 'scheduler.cap': '0.2'}),
                       tcp_in(port),
                       http_out(sink, '/s', 'json', Body_Max_Size='4k', Retry_Limit='no_limits')))
    n = 1000
    send_json(port, 0, n)
    sl.wait_stats(lambda st: out_stats(st)['records'] >= n, 30, 'all confirmed')
    check_eq(seqs(sink, 'json'), list(range(n)), 'every record once, in order (through the retries)')
    check(all(len(r['body']) <= 4000 for r in sink.all()), 'every body within Body_Max_Size')
    check(len(sink.accepted()) > 10, 'split into many requests', str(len(sink.accepted())))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def send_lines(port, objs):
    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(''.join(json.dumps(o) + '\n' for o in objs).encode())


def test_body_key(t):
    """body_key / headers_key: a request per record with its body and
    headers; records without them give none and are counted failed."""
    sink = Sink()
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, Tag='app.x'),
                       http_out(sink, '/a', 'json', body_key='$payload', headers_key='$hdrs',
                                Header='X-Conf fixed', Header_Tag='X-Tag'),
                       http_out(sink, '/b', 'json', body_key="$req['body']", headers_key="$req['h']",
                                compress='gzip', Allow_Duplicated_Headers='false', Header='X-Over conf')))
    n, objs, good = 50, [], []
    for i in range(n):
        o = {'seq': i, 'hdrs': {'Content-Type': 'text/plain; seq=%d' % i, 'X-Seq': str(i), 'X-Num': 5},
             'req': {'body': 'nested %d' % i, 'h': {'Content-Type': 'application/x-test', 'X-Over': 'rec'}}}
        if i % 10 == 3:
            pass                        # no body key: no request (http.c post_all_requests)
        elif i % 10 == 7:
            o['payload'] = i            # not a string: no request
        elif i % 10 == 9:
            o['payload'] = 'body %d' % i
            o['hdrs'] = 'not a map'     # headers not a map: no request
        else:
            o['payload'] = 'body %d' % i
            good.append(i)
        objs.append(o)
    send_lines(port, objs)
    st = sl.wait_stats(lambda st: out_stats(st, 'http.0')['records'] + out_stats(st, 'http.0')['errors'] >= n
                       and out_stats(st, 'http.1')['records'] >= n, 30, 'both outputs settled')
    a = sink.accepted('/a')
    check_eq([r['body'].decode() for r in a], ['body %d' % i for i in good],
             'one request per record with a string body and a map of headers, in order')
    check_eq([r['headers']['Content-Type'] for r in a], ['text/plain; seq=%d' % i for i in good],
             'Content-Type from the record, not the Format')
    check(all(r['headers']['X-Seq'] == str(i) for r, i in zip(a, good)), 'record headers on their request')
    check(all('X-Num' not in r['headers'] for r in a), 'a non-string header value is left out')
    check(all(r['headers']['X-Conf'] == 'fixed' and r['headers']['X-Tag'] == 'app.x' for r in a),
          'Header and Header_Tag are added')
    check_eq(out_stats(st, 'http.0')['records'], len(good), 'the requests accepted count delivered')
    check_eq(out_stats(st, 'http.0')['errors'], n - len(good), 'records giving no request count failed')
    check('without a string or binary $payload' in sl.stderr(), 'the skipped records are logged')
    b = sink.accepted('/b')
    check_eq([r['body'].decode() for r in b], ['nested %d' % i for i in range(n)],
             "nested accessors $req['body'], compress gzip")
    check(all(r['headers']['Content-Type'] == 'application/x-test' and
              r['headers']['Content-Encoding'] == 'gzip' for r in b), 'Content-Type and gzip')
    check_eq(b[0]['headers'].get_all('X-Over'), ['conf'],
             'Allow_Duplicated_Headers false: the Header line replaces the record\'s')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_body_key_retry(t):
    """A 500 on one record's request retries from that request (the ones
    accepted are not sent again); a 400 fails that record alone."""
    sink = Sink()
    sink.plan = [200, 500, 503, 200, 400]
    port = free_port()
    sl = t.sluice(conf(service(t, **{'scheduler.base': '0.1', 'scheduler.cap': '0.2'}), tcp_in(port),
                       http_out(sink, '/r', 'json', body_key='$m', headers_key='$h', Retry_Limit='no_limits')))
    n = 20
    send_lines(port, [{'m': 'b%d' % i, 'h': {'Content-Type': 'text/plain'}} for i in range(n)])
    st = sl.wait_stats(lambda st: out_stats(st)['records'] + out_stats(st)['errors'] >= n, 30, 'all settled')
    sent = [r['body'].decode() for r in sink.all()]
    check_eq(sent, ['b0', 'b1', 'b1', 'b1'] + ['b%d' % i for i in range(2, n)],
             'retried from the refused request on, nothing accepted sent twice')
    check_eq([r['body'].decode() for r in sink.accepted()], ['b%d' % i for i in range(n) if i != 2],
             'accepted once each, in order; the 400 one not retried')
    check_eq(out_stats(st)['errors'], 1, 'the 400 record counted failed')
    check_eq(out_stats(st)['records'], n - 1, 'the others delivered')
    check(out_stats(st)['retries'] >= 2, 'retries counted', str(out_stats(st)['retries']))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    sink.close()


def test_bad_config(t):
    """Wrong values stop sluice at start-up with the key named."""
    for kv, want in [({'compress': 'zstd'}, "'compress'"),
                     ({'Header': 'Bad:Name: x'}, 'Header'),
                     ({'json_date_format': 'nope'}, 'json_date_format'),
                     ({'body_key': '$log'}, 'headers_key is also required'),
                     ({'headers_key': '$h'}, 'body_key is also required'),
                     ({'body_key': 'log', 'headers_key': '$h'}, "body_key 'log' must be a record accessor"),
                     ({'body_key': '$log', 'headers_key': "$h['x'"}, 'headers_key')]:
        sink_port = free_port()
        text = conf(service(t), tcp_in(free_port()),
                    ('OUTPUT', [('Name', 'http'), ('Match', '*'), ('Port', str(sink_port))] +
                     list(kv.items())))
        path = t.path('bad.conf')
        with open(path, 'w') as f:
            f.write(text)
        p = subprocess.run([SLUICE, '--dry-run', '-c', path],
                           capture_output=True, text=True, timeout=30)
        check(p.returncode != 0 and want in p.stderr and 'bad.conf:' in p.stderr, 'refused: %s' % kv,
              p.stderr.strip()[-200:])


if __name__ == '__main__':
    main([test_formats, test_headers_auth_gzip, test_500_then_recovery, test_429_retried,
          test_400_permanent, test_keepalive_closed_by_server, test_keepalive_reused, test_tls,
          test_split_large_burst, test_body_key, test_body_key_retry, test_bad_config])
