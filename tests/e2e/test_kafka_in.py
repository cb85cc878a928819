#!/usr/bin/env python3
"""test_kafka_in.py — the `kafka` input against librdkafka's mock cluster.

- N messages produced with kcat into a topic of 4 partitions, consumed by
  sluice (2 shards, one consumer each, same group) into a file output:
  every message exactly once with its topic/partition/offset/key, the JSON
  payload parsed (Format json); afterwards the group's committed offsets
  are the end of every partition (stored only once the file output had
  written the records).
- Format none: the payload as a string.
"""
import json

from harness import check, check_eq, conf, file_out, main, read_lines, service, wait_for
from kafka_util import MockCluster, committed, produce


def kafka_in(bootstrap, topic, **extra):
    kv = [('Name', 'kafka'), ('Tag', 'k'), ('Brokers', bootstrap), ('Topics', topic),
          ('Poll_Ms', '20'), ('rdkafka.auto.offset.reset', 'earliest'),
          ('rdkafka.auto.commit.interval.ms', '100')]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def test_group_json(t):
    mc = MockCluster(t, ['src:4'])
    t.cleanups.append(mc.stop)
    n = 4000
    produce(mc.bootstrap, 'src', [json.dumps({'i': i, 's': 'x%d' % i}) for i in range(n)],
            key_of=lambda i, ln: 'k%d' % (i % 16))
    sl = t.sluice(conf(service(t, Shards=2),
                       kafka_in(mc.bootstrap, 'src', Format='json', Group_Id='g1'),
                       file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= n, 60, 'all messages written')
    # Two shards join the group one after the other: a partition the first
    # consumed before the rebalance may be consumed again by the second
    # from the last commit (at least once), so wait for every message and
    # bound the copies rather than expect none.
    recs = []

    def complete():
        recs[:] = [json.loads(ln) for ln in read_lines(t.path('out.txt'))]
        return len({r['payload']['i'] for r in recs}) >= n
    wait_for(complete, 30, 'every message written', proc=sl)
    check_eq(sorted({r['payload']['i'] for r in recs}), list(range(n)), 'every message, none lost')
    dups = len(recs) - n
    check(dups <= n // 2, 'copies only from the first rebalance', '%d copies' % dups)
    r = recs[0]
    check_eq(sorted(r), ['error', 'key', 'offset', 'partition', 'payload', 'topic'],
             'Fluent Bit\'s record layout')
    check(r['topic'] == 'src' and r['key'] == 'k%d' % (r['payload']['i'] % 16)
          and r['payload']['s'] == 'x%d' % r['payload']['i'], 'topic, key and parsed payload', str(r))
    ends = {}
    for r in recs:
        ends[r['partition']] = max(ends.get(r['partition'], -1), r['offset'] + 1)
    check_eq(len(ends), 4, 'all 4 partitions consumed')
    got = wait_for(lambda: (lambda c: c if c == ends else None)(committed(mc.bootstrap, 'g1', 'src', 4)),
                   30, 'committed offsets reach the end of every partition', interval=0.2)
    check_eq(got, ends, 'committed offsets = last delivered + 1')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_format_none(t):
    mc = MockCluster(t, ['raw:1'])
    t.cleanups.append(mc.stop)
    produce(mc.bootstrap, 'raw', ['line %d' % i for i in range(10)])
    sl = t.sluice(conf(service(t), kafka_in(mc.bootstrap, 'raw', Group_Id='g2'), file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 10, 60, 'all messages written')
    recs = [json.loads(ln) for ln in read_lines(t.path('out.txt'))]
    check_eq([r['payload'] for r in recs], ['line %d' % i for i in range(10)],
             'payload as a string, in partition order')
    check_eq(recs[0]['key'], None, 'no key: null')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_commit_keys(t):
    """enable_auto_commit false (Fluent Bit's default,
    https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/kafka): offsets
    are committed without librdkafka's auto-commit (its interval is set to 10
    minutes here, so only sluice's own commits can reach the broker in
    time); buffer_max_size 1 (one message per tick) still takes everything."""
    mc = MockCluster(t, ['src:2'])
    t.cleanups.append(mc.stop)
    n = 300
    produce(mc.bootstrap, 'src', ['m%d' % i for i in range(n)], key_of=lambda i, ln: 'k%d' % (i % 4))
    # One shard: this test is about commits, not rebalances (test_group_json
    # has two consumers). Two consumers joining the mock cluster's group at
    # once left both without partitions for 60 s once in CI.
    sl = t.sluice(conf(service(t, Shards=1),
                       ('INPUT', [('Name', 'kafka'), ('Tag', 'k'), ('Brokers', mc.bootstrap),
                                  ('Topics', 'src'), ('Poll_Ms', '20'), ('Group_Id', 'g3'),
                                  ('rdkafka.auto.offset.reset', 'earliest'),
                                  ('rdkafka.auto.commit.interval.ms', '600000'),
                                  ('enable_auto_commit', 'false'), ('buffer_max_size', '1'),
                                  ('poll_timeout_ms', '5')]),
                       file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= n, 60, 'all messages written')
    recs = [json.loads(ln) for ln in read_lines(t.path('out.txt'))]
    check_eq(sorted(r['payload'] for r in recs), sorted('m%d' % i for i in range(n)),
             'every message exactly once')
    ends = {}
    for r in recs:
        ends[r['partition']] = max(ends.get(r['partition'], -1), r['offset'] + 1)
    # partitions no message went to stay uncommitted (-1001)
    got = wait_for(lambda: (lambda c: c if all(c.get(p) == o for p, o in ends.items()) else None)(
        committed(mc.bootstrap, 'g3', 'src', 2)), 30, 'committed offsets reach the end while running',
        interval=0.2)
    got = {p: o for p, o in got.items() if p in ends}
    check_eq(got, ends, 'committed by sluice after delivery, not by the 10-minute auto-commit')
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_group_json, test_format_none, test_commit_keys])
