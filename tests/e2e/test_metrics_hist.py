#!/usr/bin/env python3
"""test_metrics_hist.py — sluice's own metrics of the data path, scraped
from the Prometheus endpoint and read by test_http_server.py's strict
parser (which checks every histogram: le ascending, buckets cumulative,
the last le="+Inf" and equal to _count, _sum present):

- synchronous outputs (file, null): sluice_output_batch_records counts
  one burst per flush and sums to the records sent; every burst has its
  latency, every chunk confirmed its input lag (as many as the chunks in
  Stats_File), all under the time the test ran;
- the pool and ring gauges: in use never over the pool, bytes = chunks in
  use x the bytes of a chunk, and both move while an output is stuck
  (http to a closed port, retrying): chunks stay out of the pool and
  later ones wait in the ring;
- kafka (asynchronous, against the mock cluster): a latency and a lag per
  chunk settled by the delivery reports, the batches summing to N.
"""
import json
import math
import time

from harness import Fail, check, check_eq, conf, free_port, main, tcp_in, wait_for, wait_stable
from test_http_server import get, http_conf, null_out, parse_prometheus, prom_hist, prom_value, send_lines


def scrape(hp):
    st, ct, body = get(hp, '/api/v1/metrics/prometheus')
    check_eq(st, 200, 'the scrape answers')
    return parse_prometheus(body)


def settle(sl):
    """Wait until the Stats_File counters hold still (a quiet pipeline)."""
    wait_stable(lambda: json.dumps([sl.stats()[k] for k in ('inputs', 'outputs')]), 0.3, 20,
                'the counters to settle', proc=sl)
    return sl.stats()


def check_output_hists(fams, st, name, n, elapsed, per_chunk_latency=False):
    """The three histograms of output `name` after n records went through
    it, all confirmed, in elapsed seconds."""
    out = st['outputs'][name]
    chunks = out['chunks']
    batch = prom_hist(fams, 'sluice_output_batch_records', name=name)
    lat = prom_hist(fams, 'sluice_output_latency_seconds', name=name)
    lag = prom_hist(fams, 'sluice_output_input_lag_seconds', name=name)
    check_eq(batch['sum'], n, '%s: the batches sum to the records sent' % name)
    # A burst is 1 to 32 (DP_BURST) chunks: as many bursts as flush calls.
    check(math.ceil(chunks / 32) <= batch['count'] <= chunks and batch['count'] > 0,
          '%s: one batch per burst (%d chunks)' % (name, chunks), str(batch))
    want_lat = chunks if per_chunk_latency else batch['count']
    check_eq(lat['count'], want_lat, '%s: a latency per %s confirmed' %
             (name, 'chunk' if per_chunk_latency else 'burst'))
    check_eq(lag['count'], chunks, '%s: an input lag per chunk confirmed' % name)
    for what, h in (('latency', lat), ('input lag', lag)):
        check(0 <= h['sum'] <= h['count'] * elapsed, '%s: %s within the test\'s %.1fs' % (name, what, elapsed),
              str(h))
        below60 = dict(h['buckets'])[60.0]
        check_eq(below60, h['count'], '%s: no %s over 60 s' % (name, what))
    # the records bucket bounds as documented: 1, 4, ..., 65536, +Inf
    check_eq([le for le, _ in batch['buckets']], [4.0 ** i for i in range(9)] + [math.inf],
             'batch_records buckets: powers of 4 up to 65536')


def check_gauges(fams, st, inp, outs):
    used = prom_value(fams, 'sluice_input_pool_chunks_in_use', name=inp)
    size = prom_value(fams, 'sluice_input_pool_chunks', name=inp)
    byts = prom_value(fams, 'sluice_input_pool_in_use_bytes', name=inp)
    check(0 < size and 0 <= used <= size, '%s: pool in use within the pool' % inp, '%r of %r' % (used, size))
    check_eq(byts, used * st['chunk_bytes'], '%s: bytes in use = chunks in use x chunk bytes' % inp)
    for o in outs:
        check(prom_value(fams, 'sluice_output_ring_depth', name=o) >= 0, '%s: ring depth >= 0' % o)
    check_eq(fams['sluice_output_ring_depth']['type'], 'gauge', 'ring depth is a gauge')
    check_eq(fams['sluice_input_pool_chunks_in_use']['type'], 'gauge', 'pool in use is a gauge')


def test_sync_outputs(t):
    """tcp -> file and null, N records in three sends (so several bursts)."""
    hp, ip = free_port(), free_port()
    t0 = time.monotonic()
    sl = t.sluice(conf(http_conf(t, hp, Shards=2), tcp_in(ip, fmt='none'),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'out.txt'),
                                   ('Format', 'plain')]),
                       null_out(Workers=2)))
    n = 0
    for k, count in enumerate((3000, 5000, 2000)):
        send_lines(ip, count, 'batch%d' % k)
        n += count
        sl.wait_stats(lambda s: all(s['outputs'][o]['records'] >= n for o in ('file.0', 'null.0')), 30,
                      'batch %d out' % k)
    st = settle(sl)
    fams = scrape(hp)
    elapsed = time.monotonic() - t0
    for o in ('file.0', 'null.0'):
        check_eq(st['outputs'][o]['records'], n, '%s: all records confirmed' % o)
        check_output_hists(fams, st, o, n, elapsed)
    check_gauges(fams, st, 'tcp.0', ('file.0', 'null.0'))
    check_eq(prom_value(fams, 'sluice_output_ring_depth', name='null.0'), 0, 'a quiet pipeline: rings empty')
    check_eq(st['inputs']['tcp.0']['pool_chunks'], prom_value(fams, 'sluice_input_pool_chunks', name='tcp.0'),
             'Stats_File has the pool size too')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_gauges_stuck_output(t):
    """An http output at a closed port retrying forever holds its burst:
    its chunks stay out of the pool, and chunks sent meanwhile wait in the
    shard -> worker ring, which the gauges show live."""
    hp, ip, dead = free_port(), free_port(), free_port()
    sl = t.sluice(conf(http_conf(t, hp, Grace=1), tcp_in(ip, fmt='none'),
                       ('OUTPUT', [('Name', 'http'), ('Match', '*'), ('Host', '127.0.0.1'),
                                   ('Port', str(dead)), ('Retry_Limit', 'no_limits')])))
    send_lines(ip, 100, 'first')
    sl.wait_stats(lambda s: s['outputs']['http.0']['retries'] >= 1, 30, 'the first burst retried')
    send_lines(ip, 100, 'second')
    wait_for(lambda: prom_value(scrape(hp), 'sluice_output_ring_depth', name='http.0') >= 1, 30,
             'the next chunk waits in the ring', proc=sl)
    fams = scrape(hp)
    st = sl.stats()
    used = prom_value(fams, 'sluice_input_pool_chunks_in_use', name='tcp.0')
    check(used >= 2, 'the held and the waiting chunk are out of the pool', '%r' % used)
    check_gauges(fams, st, 'tcp.0', ('http.0',))
    lat = prom_hist(fams, 'sluice_output_latency_seconds', name='http.0')
    check_eq(lat['count'], 0, 'nothing confirmed: no latency observed')
    check(prom_hist(fams, 'sluice_output_batch_records', name='http.0')['count'] >= 1,
          'the burst handed to flush is counted')
    sl.stop()


def test_kafka_async(t):
    """kafka (flush hands over, poll settles later): per chunk settled, a
    latency from its hand-over and an input lag."""
    from kafka_util import MockCluster, wait_consume
    mc = MockCluster(t, ['logs:2'])
    t.cleanups.append(mc.stop)
    hp, ip = free_port(), free_port()
    t0 = time.monotonic()
    sl = t.sluice(conf(http_conf(t, hp), tcp_in(ip, fmt='none'),
                       ('OUTPUT', [('Name', 'kafka'), ('Match', '*'), ('Brokers', mc.bootstrap),
                                   ('Topics', 'logs'), ('rdkafka.linger.ms', '5')])))
    n = 0
    for k, count in enumerate((2000, 3000)):
        send_lines(ip, count, 'k%d' % k)
        n += count
        sl.wait_stats(lambda s: s['outputs']['kafka.0']['records'] >= n, 60, 'batch %d acknowledged' % k)
    st = settle(sl)
    fams = scrape(hp)
    check_eq(st['outputs']['kafka.0']['errors'], 0, 'nothing failed')
    check_output_hists(fams, st, 'kafka.0', n, time.monotonic() - t0, per_chunk_latency=True)
    check_gauges(fams, st, 'tcp.0', ('kafka.0',))
    wait_consume(mc.bootstrap, 'logs', n, 60)
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_sync_outputs, test_gauges_stuck_output, test_kafka_async])
