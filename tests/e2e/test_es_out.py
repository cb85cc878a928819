#!/usr/bin/env python3
"""test_es_out.py — the es and opensearch outputs against a fake _bulk
server on loopback.

The server (Python's http.server, threaded, HTTP/1.1 keep-alive) parses
every bulk body strictly — an action line, then its document, each a JSON
object on one line, the action one of create/index/update with an _index
— and fails the test on anything else. It records requests and headers
and answers from a plan: whole-request statuses (500, 429, 400), per-item
statuses in a 200 with "errors": true (some 429 then accepted, some 400
for good), and it can close keep-alive connections. A document counts as
accepted only when the server answered its item 2xx, so "every record
exactly once" is checked against what a real cluster would hold.

What is pinned, and where Fluent Bit says so:
  - keys and defaults: Index fluent-bit, Type _doc, Time_Key @timestamp,
    Time_Key_Format %Y-%m-%dT%H:%M:%S plus .mmmZ (.nnnnnnnnnZ with
    Time_Key_Nanos), Logstash_Prefix logstash, Logstash_Prefix_Separator
    -, Logstash_DateFormat %Y.%m.%d, Tag_Key flb-key, Write_Operation
    create (plugins/out_opensearch/opensearch.c config_map and
    opensearch_format, opensearch.h; plugins/out_es/es.h;
    docs.fluentbit.io/manual/pipeline/outputs/elasticsearch and
    .../outputs/opensearch);
  - the action line {"create":{"_index":..,"_type":..,"_id":..}}, _type
    left out with Suppress_Type_Name, update/upsert as {"doc":..} and
    {"doc_as_upsert":true,"doc":..} (opensearch.h OS_BULK_*);
  - Content-Type application/x-ndjson, basic auth with HTTP_User,
    Content-Encoding gzip with compress gzip, Path + /_bulk and
    ?pipeline= (opensearch.c cb_opensearch_flush, os_conf.c);
  - a 409 to a create is not an error (es.c elasticsearch_error_check).
sluice's own rules (docs/OPERATIONS.md, "opensearch / es output"): only
items refused with 429/5xx are sent again; other refused items are
counted failed and never sent again; nothing refused is counted delivered.
"""
import base64
import gzip
import http.server
import json
import socket
import subprocess
import threading
import time
from datetime import datetime, timezone

from certs import certs, server_ctx
from harness import SLUICE, check, check_eq, conf, free_port, main, service, tcp_in
from test_http_out import send_json


# ---- the fake _bulk server -------------------------------------------------

class BulkError(Exception):
    pass


def parse_bulk(body):
    """[(op, meta, source)] of an NDJSON bulk body, or BulkError."""
    try:
        text = body.decode('utf-8')
    except UnicodeDecodeError as e:
        raise BulkError('not UTF-8: %s' % e)
    if not text.endswith('\n'):
        raise BulkError('the body does not end with a newline')
    lines = text[:-1].split('\n')
    if len(lines) % 2:
        raise BulkError('%d lines: an action without its document' % len(lines))
    items = []
    for i in range(0, len(lines), 2):
        try:
            a, d = json.loads(lines[i]), json.loads(lines[i + 1])
        except ValueError as e:
            raise BulkError('line %d is not JSON: %s: %r' % (i, e, lines[i][:200]))
        if not isinstance(a, dict) or len(a) != 1:
            raise BulkError('action line %d is not one member: %r' % (i, lines[i][:200]))
        (op, meta), = a.items()
        if op not in ('create', 'index', 'update'):
            raise BulkError('unknown action %r' % op)
        if not isinstance(meta, dict) or not isinstance(meta.get('_index'), str) or not meta['_index']:
            raise BulkError('action without _index: %r' % lines[i][:200])
        if set(meta) - {'_index', '_type', '_id'}:
            raise BulkError('unexpected action members: %r' % meta)
        if op == 'update' and ('_id' not in meta or not isinstance(d.get('doc'), dict)):
            raise BulkError('update without _id or doc: %r' % lines[i + 1][:200])
        if not isinstance(d, dict):
            raise BulkError('document %d is not an object' % i)
        items.append((op, meta, d))
    return items


def seq_of(op, src):
    return (src['doc'] if op == 'update' else src)['seq']


class FakeES:
    """plan: whole-request statuses to answer next, in order (then 200).
    item(seq, n) -> status for the n-th time (from 1) this seq is sent,
    in a 200 response; None: 201. close_every: drop the connection after
    every Nth response."""

    def __init__(self, tls_ctx=None):
        self.lock = threading.Lock()
        self.requests = []
        self.errors = []
        self.plan = []
        self.item = None
        self.close_every = 0
        self.served = 0
        self.sent = {}          # seq -> times it was sent
        self.kept = []          # (op, meta, source) answered 2xx
        fake = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def setup(self):
                super().setup()
                # headers and body are two writes: without this the second
                # waits for the client's delayed ACK, 40 ms per request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                if self.headers.get('Content-Encoding') == 'gzip':
                    body = gzip.decompress(body)
                try:
                    items = parse_bulk(body)
                except BulkError as e:
                    with fake.lock:
                        fake.errors.append(str(e))
                    items = None
                with fake.lock:
                    fake.served += 1
                    close = fake.close_every and fake.served % fake.close_every == 0
                    status = fake.plan.pop(0) if fake.plan else (200 if items is not None else 400)
                    statuses = []
                    if items is not None:
                        for op, meta, src in items:
                            s = seq_of(op, src)
                            fake.sent[s] = fake.sent.get(s, 0) + 1
                            st = fake.item(s, fake.sent[s]) if fake.item and status == 200 else None
                            statuses.append(st or 201)
                    fake.requests.append({'path': self.path, 'headers': self.headers, 'items': items or [],
                                          'status': status, 'statuses': statuses,
                                          'conn': self.client_address[1]})
                    if status == 200:
                        fake.kept += [it for it, st in zip(items, statuses) if 200 <= st < 300]
                if status == 200:
                    out = []
                    for (op, meta, src), st in zip(items, statuses):
                        r = {'_index': meta['_index'], 'status': st}
                        if st >= 300:
                            r['error'] = ({'type': 'es_rejected_execution_exception', 'reason': 'queue full'}
                                          if st == 429 else
                                          {'type': 'mapper_parsing_exception',
                                           'reason': 'failed to parse field [seq]'})
                        out.append({op: r})
                    rb = json.dumps({'took': 3, 'errors': any(s >= 300 for s in statuses),
                                     'items': out}).encode()
                else:
                    rb = json.dumps({'error': {'type': 'x', 'reason': 'status %d' % status},
                                     'status': status}).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(rb)))
                self.end_headers()
                self.wfile.write(rb)
                self.wfile.flush()
                if close:
                    self.close_connection = True

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
        check_eq(self.errors, [], 'every bulk body was well-formed')

    def docs(self, path=None):
        """Accepted (op, meta, source) whose request went to path."""
        with self.lock:
            if path is None:
                return list(self.kept)
            out = []
            for r in self.requests:
                if r['path'] == path and r['status'] == 200:
                    out += [it for it, st in zip(r['items'], r['statuses']) if 200 <= st < 300]
            return out

    def reqs(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r['path'] == path]


def es_out(fake, name='opensearch', alias=None, **extra):
    kv = [('Name', name), ('Match', '*'), ('Host', '127.0.0.1'), ('Port', str(fake.port))]
    if alias:
        kv.append(('Alias', alias))
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('OUTPUT', kv)


def out_stats(st, name):
    return st['outputs'][name]


def seqs(docs):
    return sorted(seq_of(op, src) for op, _, src in docs)


FAST = {'scheduler.base': '0.1', 'scheduler.cap': '0.2'}


# ---- tests -----------------------------------------------------------------

def test_documents(t):
    """Action lines, documents and request headers under the keys that
    shape them; every record once."""
    fake = FakeES()
    port = free_port()
    outs = [
        es_out(fake, 'opensearch', 'a', Path='/a', HTTP_User='alice', HTTP_Passwd='pw:1', compress='gzip',
               Include_Tag_Key='on', Pipeline='p1'),
        es_out(fake, 'es', 'b', Path='b/', Suppress_Type_Name='on', Time_Key='ts',
               Time_Key_Format='%Y%m%d %H%M%S', Time_Key_Nanos='on', Include_Tag_Key='on', Tag_Key='tg',
               Id_Key='$myid', Replace_Dots='on', Type='ignored'),
        es_out(fake, 'es', 'c', Path='/c', Index='idx-c', Type='t', Generate_ID='on', Write_Operation='upsert'),
    ]
    sl = t.sluice(conf(service(t), tcp_in(port, Tag='app.x'), *outs))
    n = 600
    # records with a dotted key, a nested map and an id

    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(''.join(json.dumps({'seq': i, 'myid': 'id-%d' % i, 'a.b': 1, 'n': {'x.y': [i]},
                                      'msg': 'r"%d' % i}) + '\n' for i in range(n)).encode())
    sl.wait_stats(lambda st: all(out_stats(st, x)['records'] >= n for x in 'abc'), 30, 'all delivered')
    a, b, c = fake.docs('/a/_bulk?pipeline=p1'), fake.docs('/b/_bulk'), fake.docs('/c/_bulk')
    for name, d in (('a', a), ('b', b), ('c', c)):
        check_eq(seqs(d), list(range(n)), name + ': every record once')
    op, meta, src = a[0]
    check_eq(op, 'create', 'Write_Operation create by default')
    check_eq(meta, {'_index': 'fluent-bit', '_type': '_doc'}, 'default Index and Type, no _id')
    ts = src['@timestamp']
    check(len(ts) == 24 and ts[10] == 'T' and ts[19] == '.' and ts.endswith('Z'),
          '@timestamp: %Y-%m-%dT%H:%M:%S.mmmZ', ts)
    dt = datetime.strptime(ts[:19], '%Y-%m-%dT%H:%M:%S').replace(tzinfo=timezone.utc)
    check(abs(dt.timestamp() - time.time()) < 120, '@timestamp is the record time (UTC)', ts)
    check_eq(src['flb-key'], 'app.x', 'Include_Tag_Key: the tag under flb-key')
    check_eq(src['a.b'], 1, 'dots kept without Replace_Dots')
    check_eq(src['msg'], 'r"0', 'a string with a quote survives')
    ra = fake.reqs('/a/_bulk?pipeline=p1')
    want = 'Basic ' + base64.b64encode(b'alice:pw:1').decode()
    check(all(r['headers']['Authorization'] == want for r in ra), 'basic auth on every request')
    check(all(r['headers']['Content-Encoding'] == 'gzip' for r in ra), 'compress gzip')
    check(all(r['headers']['Content-Type'] == 'application/x-ndjson' for r in ra), 'NDJSON content type')
    op, meta, src = b[0]
    check_eq(set(meta), {'_index', '_id'}, 'Suppress_Type_Name: no _type')
    check(all(m['_id'] == 'id-%d' % s['seq'] for _, m, s in b), 'Id_Key: _id from the record')
    check(len(src['ts']) == 15 + 11 and src['ts'][8] == ' ' and src['ts'][15] == '.',
          'Time_Key ts, Time_Key_Format, nanoseconds', src['ts'])
    check_eq(src['tg'], 'app.x', 'Tag_Key')
    check('a_b' in src and 'a.b' not in src and 'x_y' in src['n'], 'Replace_Dots at every depth', str(src))
    op, meta, src = c[0]
    check_eq(op, 'update', 'upsert is an update action')
    check(src.get('doc_as_upsert') is True and src['doc']['seq'] >= 0, 'upsert body')
    check_eq((meta['_index'], meta['_type']), ('idx-c', 't'), 'Index and Type')
    ids = [m['_id'] for _, m, _ in c]
    check(len(set(ids)) == n and all(len(x) == 36 and x.count('-') == 4 for x in ids),
          'Generate_ID: one 36-character id per record')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


PARSER = ('PARSER', [('Name', 'jt'), ('Format', 'json'), ('Time_Key', 'time'),
                     ('Time_Format', '%Y-%m-%dT%H:%M:%S')])


def test_logstash_index(t):
    """Logstash_Format: the index from the prefix (or Logstash_Prefix_Key's
    value), the separator and the record's date; Current_Time_Index."""
    fake = FakeES()
    port = free_port()
    outs = [es_out(fake, 'es', 'l', Path='/l', Logstash_Format='on'),
            es_out(fake, 'opensearch', 'm', Path='/m', Logstash_Format='on', Logstash_Prefix='app',
                   Logstash_Prefix_Separator='_', Logstash_DateFormat='%Y-%m', Logstash_Prefix_Key='pfx'),
            es_out(fake, 'es', 'n', Path='/n', Logstash_Format='on', Current_Time_Index='on')]
    sl = t.sluice(conf(service(t), PARSER, tcp_in(port, fmt='none', Parser='jt'), *outs))

    days = ['2021-03-04T05:06:07', '2022-12-31T23:59:59']
    with socket.create_connection(('127.0.0.1', port)) as s:
        lines = []
        for i in range(100):
            r = {'seq': i, 'time': days[i % 2]}
            if i % 4 == 0:
                r['pfx'] = 'custom'
            lines.append(json.dumps(r) + '\n')
        s.sendall(''.join(lines).encode())
    sl.wait_stats(lambda st: all(out_stats(st, x)['records'] >= 100 for x in 'lmn'), 30, 'all delivered')
    want_l = {'logstash-2021.03.04', 'logstash-2022.12.31'}
    got_l = {m['_index'] for _, m, _ in fake.docs('/l/_bulk')}
    check_eq(got_l, want_l, 'logstash-%Y.%m.%d of the record time')
    idx = {s['seq']: m['_index'] for _, m, s in fake.docs('/m/_bulk')}
    check_eq(idx[0], 'custom_2021-03', 'Logstash_Prefix_Key value, separator, date format')
    check_eq(idx[1], 'app_2022-12', 'Logstash_Prefix when the key is missing')
    check_eq(idx[2], 'app_2021-03', 'record time, not receive time')
    src = fake.docs('/l/_bulk')[0][2]
    check(src['@timestamp'].startswith('2021-03-04T05:06:07.000Z') or
          src['@timestamp'].startswith('2022-12-31T23:59:59.000Z'), '@timestamp of the record time',
          src['@timestamp'])
    today = datetime.now(timezone.utc).strftime('logstash-%Y.%m.%d')
    got_n = {m['_index'] for _, m, _ in fake.docs('/n/_bulk')}
    check(got_n <= {today, datetime.fromtimestamp(time.time() - 60, timezone.utc).strftime('logstash-%Y.%m.%d')},
          'Current_Time_Index: today\'s index', str(got_n))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def _whole_retry(t, status):
    fake = FakeES()
    fake.plan = [status] * 3
    port = free_port()
    sl = t.sluice(conf(service(t, **FAST), tcp_in(port),
                       es_out(fake, 'opensearch', 'o', Generate_ID='on', Retry_Limit='no_limits')))
    n = 400
    send_json(port, 0, n)
    st = sl.wait_stats(lambda st: out_stats(st, 'o')['records'] >= n, 30, 'all confirmed after the retries')
    check_eq(seqs(fake.docs()), list(range(n)), '%d then 200: every record once' % status)
    check(out_stats(st, 'o')['retries'] >= 3, 'retries counted', str(out_stats(st, 'o')['retries']))
    check_eq(out_stats(st, 'o')['errors'], 0, 'nothing failed')
    ids = {}
    for r in fake.reqs():
        for _, m, s in r['items']:
            ids.setdefault(s['seq'], set()).add(m['_id'])
    check(all(len(v) == 1 for v in ids.values()) and len(ids) == n, 'Generate_ID: the same _id on every retry')
    check('HTTP status=%d' % status in sl.stderr(), 'the status is logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def test_500_then_ok(t):
    _whole_retry(t, 500)


def test_429_then_ok(t):
    _whole_retry(t, 429)


def test_400_whole_request(t):
    """A 400 for the request: its records failed, never sent again."""
    fake = FakeES()
    fake.plan = [400] * 1000
    port = free_port()
    sl = t.sluice(conf(service(t, **FAST), tcp_in(port), es_out(fake, 'es', 'e', Retry_Limit='5')))
    n = 300
    send_json(port, 0, n, pause_every=100)
    st = sl.wait_stats(lambda st: out_stats(st, 'e')['errors'] >= n, 30, 'all counted failed')
    check_eq(out_stats(st, 'e')['records'], 0, 'nothing reported delivered')
    check_eq(out_stats(st, 'e')['retries'], 0, 'not retried')
    check_eq(sorted(fake.sent), list(range(n)), 'every record sent')
    check(all(v == 1 for v in fake.sent.values()), 'each exactly once')
    lines = [x for x in sl.stderr().splitlines() if 'HTTP status=400' in x]
    check_eq(len(lines), 1, 'logged once (rate-limited)')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def test_item_errors(t):
    """A 200 with "errors": true: 429 items retried alone (once each), 400
    items failed and never sent again, accepted ones never sent again."""
    fake = FakeES()
    # seq % 10 == 3: 429 the first two times; seq % 10 == 7: 400 always;
    # seq % 10 == 9: 409 to a create (the document is there)
    fake.item = lambda s, k: (429 if s % 10 == 3 and k <= 2 else 400 if s % 10 == 7 else
                              409 if s % 10 == 9 else None)
    port = free_port()
    sl = t.sluice(conf(service(t, **FAST), tcp_in(port),
                       es_out(fake, 'opensearch', 'o', Retry_Limit='no_limits', Trace_Error='on')))
    n = 1000
    send_json(port, 0, n, pause_every=250)
    bad = [s for s in range(n) if s % 10 == 7]
    ok = [s for s in range(n) if s % 10 not in (7, 9)]
    st = sl.wait_stats(lambda st: out_stats(st, 'o')['records'] + out_stats(st, 'o')['errors'] >= n, 30,
                       'every record settled')
    check_eq(seqs(fake.docs()), ok, 'the accepted documents: once each')
    check_eq(out_stats(st, 'o')['errors'], len(bad), 'the 400 items counted failed, nothing else')
    check_eq(out_stats(st, 'o')['records'], n - len(bad), 'accepted and 409 counted delivered')
    check(all(fake.sent[s] == 1 for s in bad), '400 items never sent again')
    check(all(fake.sent[s] == 3 for s in range(n) if s % 10 == 3), '429 items sent until accepted')
    check(all(fake.sent[s] == 1 for s in range(n) if s % 10 not in (3,)), 'the others sent once')
    retried = [r for r in fake.reqs() if all(seq_of(op, src) % 10 == 3 for op, _, src in r['items'])]
    check(len(retried) >= 2, 'retries carry only the refused items', str(len(retried)))
    err = sl.stderr()
    lines = [x for x in err.splitlines() if 'bulk items failed' in x]
    check(len(lines) >= 1 and 'mapper_parsing_exception' in lines[0] and 'failed to parse' in lines[0],
          'the first error type and reason are logged', lines[0][:300] if lines else err[-500:])
    check(len(lines) <= 2, 'rate-limited', str(len(lines)))
    check('bulk response: {' in err, 'Trace_Error: the whole response is logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def test_retry_limit_partial(t):
    """Items that keep getting 429 until Retry_Limit: counted failed; the
    accepted ones of the same burst counted delivered."""
    fake = FakeES()
    fake.item = lambda s, k: 429 if s % 5 == 0 else None
    port = free_port()
    sl = t.sluice(conf(service(t, **FAST), tcp_in(port), es_out(fake, 'es', 'e', Retry_Limit='2')))
    n = 200
    send_json(port, 0, n)
    st = sl.wait_stats(lambda st: out_stats(st, 'e')['records'] + out_stats(st, 'e')['errors'] >= n, 30,
                       'every record settled')
    check_eq(out_stats(st, 'e')['errors'], n // 5, 'the refused items failed after Retry_Limit')
    check_eq(out_stats(st, 'e')['records'], n - n // 5, 'the accepted ones delivered')
    check(all(fake.sent[s] == 3 for s in range(0, n, 5)), 'refused items sent 1 + Retry_Limit times')
    check(all(fake.sent[s] == 1 for s in range(n) if s % 5), 'accepted items sent once')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def test_keepalive_closed(t):
    """The server closes its keep-alive connections: nothing lost."""
    fake = FakeES()
    fake.close_every = 2
    port = free_port()
    sl = t.sluice(conf(service(t, **FAST), tcp_in(port), es_out(fake, 'es', 'e', Retry_Limit='no_limits')))
    n = 2000
    send_json(port, 0, n, pause_every=100)
    sl.wait_stats(lambda st: out_stats(st, 'e')['records'] >= n, 30, 'all confirmed')
    check_eq(seqs(fake.docs()), list(range(n)), 'every record once')
    check(len({r['conn'] for r in fake.reqs()}) >= 2, 'new connections were opened')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def _tls_fake(name):
    return FakeES(tls_ctx=server_ctx(name))


def test_tls(t):
    """tls.verify with the test CA works; a wrong CA, an expired
    certificate, and a name mismatch with tls.verify_hostname are refused
    (nothing delivered); the mismatch passes with verify_hostname off."""
    c = certs()
    ca = c.p('ca.crt')
    fakes = {'good': _tls_fake('server'), 'name': _tls_fake('wrongname'),
             'expired': _tls_fake('expired_server')}
    port = free_port()
    tlskv = lambda **k: dict({'tls': 'on', 'tls.verify': 'on', 'tls.ca_file': ca}, **k)
    outs = [es_out(fakes['good'], 'es', 'good', **tlskv(**{'tls.verify_hostname': 'on'})),
            es_out(fakes['good'], 'es', 'wrongca', Retry_Limit='no_retries',
                   **tlskv(**{'tls.ca_file': c.p('ca2.crt')})),
            es_out(fakes['name'], 'opensearch', 'name_on', Retry_Limit='no_retries',
                   **tlskv(**{'tls.verify_hostname': 'on'})),
            es_out(fakes['name'], 'opensearch', 'name_off', **tlskv(**{'tls.verify_hostname': 'off'}))]
    outs.append(es_out(fakes['expired'], 'es', 'expired', Retry_Limit='no_retries', **tlskv()))
    sl = t.sluice(conf(service(t), tcp_in(port), *outs))
    n = 200
    send_json(port, 0, n)
    refused = ['wrongca', 'name_on', 'expired']
    st = sl.wait_stats(lambda st: out_stats(st, 'good')['records'] >= n and
                       out_stats(st, 'name_off')['records'] >= n and
                       all(out_stats(st, x)['errors'] >= n for x in refused), 30,
                       'good ones delivered, refused ones failed')
    check_eq(seqs(fakes['good'].docs()), list(range(n)), 'verified TLS: every record once')
    check_eq(seqs(fakes['name'].docs()), list(range(n)), 'name mismatch with verify_hostname off: accepted')
    for x in refused:
        check_eq(out_stats(st, x)['records'], 0, x + ': nothing reported delivered')
    check_eq(fakes['expired'].reqs(), [], 'expired certificate: no request reached the server')
    # name_on and name_off share a server: only name_off's records arrived
    check_eq(len(fakes['name'].docs()), n, 'name mismatch with verify_hostname on: nothing arrived')
    err = sl.stderr()
    check('certificate has expired' in err, 'the expiry is logged', err[-600:])
    check_eq(sl.stop(), 0, 'sluice exits 0')
    for f in fakes.values():
        f.close()


def test_cloud_and_api_key(t):
    """es's HTTP_API_Key (Authorization: ApiKey, HTTP_User then unused),
    Cloud_ID (host.region and its port from the decoded id; Fluent Bit's
    es_conf_parse.c, extract_cloud_host) and Cloud_Auth (user:password for
    basic auth). docs.fluentbit.io/manual/pipeline/outputs/elasticsearch.
    The id's parts are chosen so that "host.region" is 127.0.0.1."""
    fake = FakeES()
    port = free_port()
    cid = 'my-deploy:' + base64.b64encode(('0.1$127.0:%d$kibana-host' % fake.port).encode()).decode()
    outs = [es_out(fake, 'es', 'k', Path='/k', HTTP_API_Key='a2V5OnNlY3JldA==', HTTP_User='ignored'),
            ('OUTPUT', [('Name', 'es'), ('Match', '*'), ('Alias', 'cl'), ('Path', '/cl'), ('Cloud_ID', cid),
                        ('Cloud_Auth', 'elastic:s3:cret')])]
    sl = t.sluice(conf(service(t), tcp_in(port, Tag='app.x'), *outs))
    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(''.join(json.dumps({'seq': i}) + '\n' for i in range(20)).encode())
    sl.wait_stats(lambda st: all(out_stats(st, x)['records'] >= 20 for x in ('k', 'cl')), 30, 'all delivered')
    check(all(r['headers']['Authorization'] == 'ApiKey a2V5OnNlY3JldA==' for r in fake.reqs('/k/_bulk')),
          'HTTP_API_Key: Authorization: ApiKey, not basic auth')
    want = 'Basic ' + base64.b64encode(b'elastic:s3:cret').decode()
    rc = fake.reqs('/cl/_bulk')
    check(rc and all(r['headers']['Authorization'] == want for r in rc),
          'Cloud_ID: host and port from the id; Cloud_Auth: basic auth')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    fake.close()


def test_bad_config(t):
    """Wrong values stop sluice at start-up with the key named."""
    for name, kv, want in [('es', {'Write_Operation': 'delete'}, 'Write_Operation'),
                           ('opensearch', {'Write_Operation': 'update'}, 'Generate_ID or Id_Key'),
                           ('es', {'compress': 'zstd'}, "'compress'"),
                           ('es', {'Buffer_Size': 'lots'}, 'Buffer_Size'),
                           ('opensearch', {'Id_Key': '$a[0]'}, 'Id_Key'),
                           ('es', {'Cloud_ID': 'x'}, 'Cloud_ID'),
                           ('es', {'Cloud_Auth': 'nopassword'}, 'Cloud_Auth'),
                           ('opensearch', {'HTTP_API_Key': 'k'}, 'HTTP_API_Key')]:
        text = conf(service(t), tcp_in(free_port()),
                    ('OUTPUT', [('Name', name), ('Match', '*'), ('Port', str(free_port()))] + list(kv.items())))
        path = t.path('bad.conf')
        with open(path, 'w') as f:
            f.write(text)
        p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True, timeout=30)
        check(p.returncode != 0 and want in p.stderr, 'refused: %s %s' % (name, kv), p.stderr.strip()[-200:])


if __name__ == '__main__':
    main([test_documents, test_logstash_index, test_500_then_ok, test_429_then_ok, test_400_whole_request,
          test_item_errors, test_retry_limit_partial, test_keepalive_closed, test_tls, test_cloud_and_api_key,
          test_bad_config])
