#!/usr/bin/env python3
"""test_http_ingest_limits.py — the http input's ingest limits, sluice's
own keys (shards/in_http_limit.c; Fluent Bit's in_http has none:
https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/http):

- Max_Batch_Records: a larger batch is answered 413 with a JSON error,
  nothing of it kept; the next request on the keep-alive connection is
  served.
- Rate_Limit per tenant (a bearer token's): a batch past the bucket gets
  429 with Retry-After and is accepted once that has passed; another
  tenant is not held back; a batch larger than a minute's worth is 413.
- Dedupe_Window: the same path, tenant and body again is answered as
  accepted ("duplicate": true) and not kept twice, counted deduplicated;
  a copy arriving while the first is still being delivered gets 503
  Retry-After: 1, and after the first is delivered, the 2xx.
- Accepted_Response json: {"status":"accepted","received_count":N}.
- The 2xx means stored: with storage.type filesystem, kill -9 right after
  the answer, restart, and the batch is delivered.
- A batch held back by backpressure is charged its tokens once.
- Without Accepted_Response the 2xx is Fluent Bit's byte for byte; bad
  bodies among good ones on a keep-alive connection: a 400 each, the
  good ones kept.
"""
import http.client
import json
import os
import socket
import threading
import time

from harness import check, check_eq, conf, free_port, main, service, wait_for
from mpack import mp_all
from test_http_in import read_responses


def http_in(port, **extra):
    kv = [('Name', 'http'), ('Listen', '127.0.0.1'), ('Port', str(port))]
    return ('INPUT', kv + [(k, str(v)) for k, v in extra.items()])


def out(t, name='a', match='*'):
    return ('OUTPUT', [('Name', 'file'), ('Match', match), ('Path', t.dir), ('File', name),
                       ('Format', 'msgpack')])


def records(t, name='a'):
    path = t.path(name)
    if not os.path.exists(path):
        return []
    with open(path, 'rb') as f:
        return [ev[1] for ev in mp_all(f.read())]


def batch(n, base=0, tag='i'):
    return json.dumps([{tag: base + i} for i in range(n)])


def post(c, body, token=None, path='/a'):
    h = {'Content-Type': 'application/json'}
    if token:
        h['Authorization'] = 'Bearer ' + token
    c.request('POST', path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def conn(port):
    return http.client.HTTPConnection('127.0.0.1', port, timeout=30)


def test_max_batch_records(t):
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, Max_Batch_Records=10, Accepted_Response='json'), out(t)))
    c = conn(port)
    st, h, body = post(c, batch(11))
    check_eq((st, h.get('content-type')), (413, 'application/json'), '11 records: 413, JSON')
    check_eq(json.loads(body)['error'], 'batch of 11 records exceeds Max_Batch_Records 10', 'the error says why')
    st, h, body = post(c, batch(10, 100))
    check_eq((st, json.loads(body)), (201, {'status': 'accepted', 'received_count': 10}),
             'the next request on the connection: accepted, its count')
    sl.wait_stats(lambda s: s['totals']['out'] >= 10, 15, 'records out')
    check_eq(sl.stats()['inputs']['http.0']['limited'], 1, 'counted limited')
    check_eq(sl.stop(), 0, 'exit status')
    check_eq(sorted(r['i'] for r in records(t)), list(range(100, 110)), 'only the accepted batch kept')


def test_rate_limit(t):
    port = free_port()
    tokens = t.path('tokens')
    with open(tokens, 'w') as f:
        f.write('tok-one one\ntok-two two\n')
    # 6,000 a minute: 100 a second, a bucket of 6,000
    sl = t.sluice(conf(service(t), http_in(port, Rate_Limit=6000, Auth_Tokens_File=tokens,
                                           Tenant_Key='tenant'), out(t)))
    c = conn(port)
    st, _, _ = post(c, batch(5000), 'tok-one')
    check_eq(st, 201, 'a batch within the bucket')
    st, h, body = post(c, batch(1200, 5000), 'tok-one')
    check_eq(st, 429, 'past the bucket: 429')
    wait = int(h.get('retry-after', '0'))
    check(1 <= wait <= 3, 'Retry-After: the seconds until 200 more records fit (2 at 100/s)', str(wait))
    check_eq(json.loads(body)['status'], 'error', 'a JSON error')
    st, _, _ = post(c, batch(1200, 20000), 'tok-two')
    check_eq(st, 201, 'another tenant has its own bucket')
    st, _, body = post(c, batch(7000, 30000), 'tok-two')
    check_eq(st, 413, 'more than a minute\'s worth never fits: 413')
    # the client retries until accepted; a 429 takes no tokens
    t0 = time.monotonic()
    tries = [0]

    def accepted():
        tries[0] += 1
        return post(c, batch(1200, 5000), 'tok-one')[0] == 201
    wait_for(accepted, wait + 5, 'the batch accepted once Retry-After has passed', interval=0.2)
    took = time.monotonic() - t0
    check(took <= wait + 1, 'accepted within Retry-After (%d s)' % wait, '%.1f s' % took)
    sl.wait_stats(lambda s: s['totals']['out'] >= 7400, 20, 'records out')
    check_eq(sl.stats()['inputs']['http.0']['limited'], 1 + tries[0], 'each 429 and the 413 counted')
    check_eq(sl.stop(), 0, 'exit status')
    got = sorted(r['i'] for r in records(t))
    check_eq(got, list(range(6200)) + list(range(20000, 21200)), 'every accepted record once, no refused one')


def test_dedupe(t):
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, Dedupe_Window=60, Accepted_Response='json'),
                       out(t, 'a', 'a'), out(t, 'b', 'b')))
    c = conn(port)
    a = batch(3)
    st, _, body = post(c, a)
    check_eq((st, json.loads(body)), (201, {'status': 'accepted', 'received_count': 3}), 'first copy')
    st, _, body = post(c, a)
    check_eq((st, json.loads(body)), (201, {'status': 'accepted', 'received_count': 3, 'duplicate': True}),
             'the same batch again: accepted as a duplicate')
    st, _, _ = post(c, batch(3, 10))
    check_eq(st, 201, 'another body: taken')
    st, _, body = post(c, a, path='/b')
    check_eq(st, 201, 'the same body to another path (tag) is another batch')
    st, _, _ = post(c, a)
    check_eq(st, 201, 'a third copy: accepted')
    sl.wait_stats(lambda s: s['totals']['out'] >= 9, 15, 'records out')
    check_eq(sl.stats()['inputs']['http.0']['deduplicated'], 2, 'two copies counted deduplicated')
    check_eq(sl.stop(), 0, 'exit status')
    check_eq(sorted(r['i'] for r in records(t, 'a')), [0, 1, 2, 10, 11, 12], 'one copy of each batch')
    check_eq(sorted(r['i'] for r in records(t, 'b')), [0, 1, 2], 'the /b batch its own')


def raw_post(port, body, path='/held'):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(('POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
               'Content-Length: %d\r\n\r\n%s' % (path, len(body), body)).encode())
    return s


def test_dedupe_in_flight(t):
    """A copy arriving while the first is still being delivered (its
    output blocked on a FIFO): on the first's shard its answer waits for
    the first's and is the duplicate 2xx; on another shard, 503 with
    Retry-After: 1. Connections are spread over the 2 shards by the
    kernel (SO_REUSEPORT): copies are sent on new connections until one
    lands on the other shard."""
    port = free_port()
    fifo = t.path('held')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t, Shards=2), http_in(port, Dedupe_Window=60, Accepted_Response='json'),
                       out(t, 'held', 'held')))
    h = batch(2, 50)
    first = raw_post(port, h)
    wait_for(lambda: sl.stats() and sl.stats()['inputs']['http.0']['records'] >= 2, 15, 'the first copy read')
    owed, other = [], None
    for _ in range(16):
        s = raw_post(port, h)
        s.settimeout(1.5)
        try:
            got = read_responses(s, 1, timeout=1.5)
        except socket.timeout:
            got = []
        if got:
            other = got[0]
            s.close()
            break
        owed.append(s)   # its shard is the first's: answered later
    check(other is not None, 'a copy landed on the other shard')
    check_eq(other[0], 503, 'there: 503 (Retry-After: 1), the first not safe yet')
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    reader.start()
    check_eq([r[0] for r in read_responses(first, 1, timeout=15)], [201], 'the first answered once delivered')
    for s in owed:
        r = read_responses(s, 1, timeout=15)
        check_eq((r[0][0], json.loads(r[0][1]).get('duplicate')), (201, True),
                 'a copy on the first\'s shard: the duplicate 2xx, after the first\'s')
        s.close()
    c = conn(port)
    st, _, body = post(c, h, path='/held')
    check_eq((st, json.loads(body).get('duplicate')), (201, True), 'the 503\'s retry: accepted as a duplicate')
    first.close()
    sl.wait_stats(lambda s: s['totals']['out'] >= 2, 15, 'records out')
    check_eq(sl.stop(), 0, 'exit status')
    reader.join(10)
    held = [ev[1]['i'] for ev in mp_all(got[0])] if got else []
    check_eq(sorted(held), [50, 51], 'the batch delivered once')


def test_two_xx_means_stored(t):
    """kill -9 right after the 2xx: the batch is in the store and is
    delivered after the restart (storage.type filesystem)."""
    port = free_port()
    fifo = t.path('blocked')
    os.mkfifo(fifo)   # a FIFO nobody reads: the output holds everything
    svc = service(t, **{'storage.path': t.path('store'), 'storage.sync': 'full'})
    sl = t.sluice(conf(svc, http_in(port, **{'storage.type': 'filesystem'}),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'blocked'),
                                   ('Format', 'msgpack')])))
    c = conn(port)
    st, _, _ = post(c, batch(500))
    check_eq(st, 201, 'answered once stored (the output is still blocked)')
    sl.proc.kill()
    sl.wait_exit(30)
    os.unlink(fifo)
    sl = t.sluice(conf(svc, http_in(port, **{'storage.type': 'filesystem'}),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'out'),
                                   ('Format', 'msgpack')])), name='again')
    sl.wait_stats(lambda s: s['totals']['out'] >= 500, 30, 'the stored batch delivered after the restart')
    check_eq(sl.stop(), 0, 'exit status')
    check_eq(sorted(r['i'] for r in records(t, 'out')), list(range(500)), 'the whole batch, once')


def test_rate_limit_under_backpressure(t):
    """A batch held back by backpressure takes its tokens once. The
    output is blocked on a FIFO; the input's pool is 3 chunks of 1,024
    records (Mem_Buf_Limit 100k, 1 shard). A first request of 3,072
    records fills it exactly, so the second, pipelined behind it, runs out
    of memory at its first record and comes again once chunks are back:
    the limits must not be checked again (a batch already admitted would
    be charged twice, and answered 429)."""
    port = free_port()
    fifo = t.path('held')
    os.mkfifo(fifo)
    # a bucket of 4,272: both batches (3,072 + 1,000) and 200 more, not
    # the second twice (the refill, 71 a second, needs 11 s for that)
    sl = t.sluice(conf(service(t, Shards=1), http_in(port, Rate_Limit=4272, Mem_Buf_Limit='100k'),
                       out(t, 'held', 'held')))
    one, two = batch(3072), batch(1000, 10000)
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b''.join(('POST /held HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n'
                        'Content-Length: %d\r\n\r\n%s' % (len(b), b)).encode() for b in (one, two)))
    st = sl.wait_stats(lambda st: st['inputs']['http.0']['records'] >= 3072 and
                       st['inputs']['http.0']['pool_chunks_in_use'] >= 3, 15, 'the pool full')
    check_eq(st['inputs']['http.0']['records'], 3072, 'the second batch waits for memory')
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    reader.start()
    check_eq([r[0] for r in read_responses(s, 2, timeout=30)], [201, 201],
             'both accepted: the second\'s tokens taken once, however often it came again')
    s.close()
    sl.wait_stats(lambda s: s['totals']['out'] >= 4072, 30, 'records out')
    check_eq(sl.stats()['inputs']['http.0']['limited'], 0, 'nothing refused')
    check_eq(sl.stop(), 0, 'exit status')
    reader.join(10)
    held = [ev[1]['i'] for ev in mp_all(got[0])] if got else []
    check_eq(sorted(held), list(range(3072)) + list(range(10000, 11000)), 'both batches, once')


def test_fluent_bit_answer_unchanged(t):
    """Without Accepted_Response the 2xx is Fluent Bit's byte for byte
    (plugins/in_http/http_prot.c send_response: 201, empty body), the
    limits on or off."""
    want = b'HTTP/1.1 201 Created\r\nServer: sluice\r\nContent-Length: 0\r\n\r\n'
    for kv in ({}, dict(Max_Batch_Records=100, Rate_Limit=6000, Dedupe_Window=60)):
        port = free_port()
        sl = t.sluice(conf(service(t), http_in(port, **kv), out(t)), name='fb%d' % len(kv))
        s = raw_post(port, batch(2), path='/a')
        s.settimeout(10)
        got = b''
        while len(got) < len(want) and not got.endswith(b'\r\n\r\n'):
            d = s.recv(4096)
            if not d:
                break
            got += d
        check_eq(got, want, 'the answer, byte for byte, with %r' % kv)
        s.close()
        check_eq(sl.stop(), 0, 'exit status')


def test_malformed_neighbours(t):
    """With every limit on: bad bodies pipelined among good ones on one
    keep-alive connection each get a 400 saying why; every good batch is
    answered in its place and kept, in order."""
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port, Max_Batch_Records=100, Rate_Limit=6000,
                                           Dedupe_Window=60, Accepted_Response='json'), out(t)))
    reqs = [('{"i":0}', 'application/json'), ('{"i":', 'application/json'),
            ('[{"i":1},{"i":2}]', 'application/json'), ('[1,2]', 'application/json'),
            ('{"i":3}', 'application/json'), ('{"i":4}', 'text/plain'),
            ('{"i":5}\n{"i":6}', 'application/x-ndjson'), ('{"a":1}}', 'application/json'),
            ('{"i":7}', 'application/json')]
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b''.join(('POST /a HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\nContent-Length: %d'
                        '\r\n\r\n%s' % (ct, len(b), b)).encode() for b, ct in reqs))
    got = read_responses(s, len(reqs))
    check_eq([g[0] for g in got], [201, 400, 201, 400, 201, 400, 201, 400, 201],
             'answered in order, a 400 for each bad body')
    for g in got:
        if g[0] == 400:
            check(g[1].startswith(b'error: '), 'the 400 says why', repr(g[1]))
    check_eq([json.loads(g[1])['received_count'] for g in got if g[0] == 201], [1, 2, 1, 2, 1],
             'each accepted request\'s count')
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 7, 15, 'records out')
    check_eq(sl.stats()['inputs']['http.0']['malformed'], 4, 'the bad ones counted malformed')
    check_eq(sl.stop(), 0, 'exit status')
    check_eq([r['i'] for r in records(t)], [0, 1, 2, 3, 5, 6, 7], 'every good record, in order')


def test_config_errors(t):
    import subprocess
    from harness import SLUICE
    for kv, want in ((dict(Accepted_Response='json', Successful_Response_Code=204), 'Accepted_Response'),
                     (dict(Max_Batch_Records=-1), 'Max_Batch_Records'),
                     (dict(Accepted_Response='xml'), 'Accepted_Response')):
        path = t.path('bad.conf')
        with open(path, 'w') as f:
            f.write(conf(service(t), http_in(free_port(), **kv), out(t)))
        p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True, timeout=30)
        check(p.returncode != 0 and want in p.stderr and 'bad.conf:' in p.stderr,
              '%r refused naming file:line and %s' % (kv, want), p.stderr.strip())


if __name__ == '__main__':
    main([test_max_batch_records, test_rate_limit, test_dedupe, test_dedupe_in_flight, test_two_xx_means_stored, test_rate_limit_under_backpressure, test_fluent_bit_answer_unchanged, test_malformed_neighbours,
          test_config_errors])
