#!/usr/bin/env python3
"""test_kafka_out.py — the `kafka` output against librdkafka's mock cluster
(3 brokers, tests/kafka/mock_cluster.c), read back with kcat.

- keyed volume: N JSON records with K keys over several TCP connections:
  every record exactly once, per key in the order sent, each key on one
  partition, the one Java's murmur2 partitioner picks; the JSON fields and
  the @timestamp member as sent;
- the cluster down mid-run, then up: nothing lost, nothing reordered per
  key, delivery resumes, the stats show records waiting meanwhile;
- retriable produce errors mid-stream: retried by the idempotent producer,
  nothing lost, duplicated or reordered;
- part of the stream timed out in librdkafka (one slow broker): produced
  again by sluice after its backoff, with the later records of the same
  keys taken back, so the last copies keep per-key order; nothing lost;
- librdkafka's queue full with the cluster down: the worker stops taking
  chunks, the input stops reading, nothing dropped, memory bounded;
- Retry_Limit after message timeouts, a permanent broker error: counted
  failed, logged once per topic and error; stop with records held: exit 1
  after Grace;
- 2 shards x 2 workers keep per-key order;
- Workers 2: a key picks its worker (murmur2), counted per worker;
- Topic_Key + Dynamic_Topic routing, and an invalid topic name falling
  back to the default topic;
- Format msgpack decoded back (the event [time, {record}]);
- Format avro (Schema_Str, Schema_Id) decoded back with libavro
  (tests/kafka/avro_decode.c): the Confluent header, the fields, a record
  that does not fit the schema counted failed and logged once while its
  neighbours are delivered; Schema_Id 0 when not set;
- Queue_Full_Retries: a stalled full queue is warned about after that
  many seconds, and its end said, nothing dropped;
- Timestamp_Format iso8601 / iso8601_ns;
- bad configuration: an unknown rdkafka property, Format avro without or
  with an invalid Schema_Str, a bad Format value: exit status 1 and a message naming the output and key;
- a broker that cannot be reached at start-up is not fatal: sluice starts,
  holds the records and delivers them once a cluster listens there.
"""
import json
import os
import socket
import struct
import subprocess
import time

from harness import (Fail, check, check_eq, check_sequences, conf, free_port, full_sequences,
                     loadgen_conn_counts, loadgen_finish, loadgen_start, log, main, marks, proc_status_kb, sanitized,
                     service, tcp_in, wait_for, wait_stable)
from kafka_util import MOCK_CLUSTER, MockCluster, consume, need_kafka, wait_consume


def kafka_out(bootstrap, topics='logs', **extra):
    kv = [('Name', 'kafka'), ('Match', '*'), ('Brokers', bootstrap), ('Topics', topics)]
    kv += [(k.replace('__', '.'), str(v)) for k, v in extra.items()]
    return ('OUTPUT', kv)


def send_lines(port, lines):
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(''.join(ln + '\n' for ln in lines).encode())
    s.close()


def murmur2(data):
    """Kafka's murmur2 (the Java client's DefaultPartitioner)."""
    m, r, seed = 0x5bd1e995, 24, 0x9747b28c
    n = len(data)
    h = (seed ^ n) & 0xffffffff
    for i in range(0, n - n % 4, 4):
        k = struct.unpack_from('<I', data, i)[0]
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    tail = n % 4
    base = n - tail
    if tail == 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def java_partition(key, nparts):
    return (murmur2(key.encode()) & 0x7fffffff) % nparts


def keyed_lines(conn, per_conn, keys):
    return [json.dumps({'key': 'c%d-k%d' % (conn, i % keys), 'conn': conn, 'seq': i,
                        'msg': 'hello "world" %d' % i}) for i in range(per_conn)]


def check_keyed(msgs, conns, per_conn, keys, nparts):
    check_eq(len(msgs), conns * per_conn, 'every record consumed back, none twice')
    last, part, bad_order, bad_part, bad_java = {}, {}, [], [], []
    for m in msgs:
        v = json.loads(m['v'])
        k = v['key']
        if m['k'] != k:
            raise Fail('message key %r is not the record\'s key %r' % (m['k'], k))
        if k in last and v['seq'] <= last[k]:
            bad_order.append((k, last[k], v['seq']))
        last[k] = v['seq']
        if part.setdefault(k, m['p']) != m['p']:
            bad_part.append((k, part[k], m['p']))
        if java_partition(k, nparts) != m['p']:
            bad_java.append((k, m['p'], java_partition(k, nparts)))
    check(not bad_order, 'per key, records in the order sent', str(bad_order[:3]))
    check(not bad_part, 'each key on one partition', str(bad_part[:3]))
    check(not bad_java, 'the partition Java\'s murmur2 partitioner picks', str(bad_java[:3]))
    check_eq(len(last), conns * keys, 'every key seen')


def test_keyed_volume(t, shards=1, workers=1):
    mc = MockCluster(t, ['logs:4'])
    t.cleanups.append(mc.stop)
    port = free_port()
    conns, per_conn, keys = 4, 5000, 8
    t0 = time.time()
    sl = t.sluice(conf(service(t, Shards=shards), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key', Workers=workers,
                                 rdkafka__linger__ms='5')))
    for c in range(conns):
        send_lines(port, keyed_lines(c, per_conn, keys))
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= conns * per_conn, 60,
                  'all records delivered (acknowledged)')
    st = sl.stats()['outputs']['kafka.0']
    check_eq(st['errors'], 0, 'no record failed')
    check(st['produced'] >= conns * per_conn, 'produced counted', str(st))
    msgs = wait_consume(mc.bootstrap, 'logs', conns * per_conn, 60)
    check_keyed(msgs, conns, per_conn, keys, 4)
    v = json.loads(msgs[0]['v'])
    check_eq(list(v)[0], '@timestamp', '@timestamp is the first member')
    check(isinstance(v['@timestamp'], float) and t0 - 5 <= v['@timestamp'] <= time.time() + 5,
          '@timestamp is the receive time as a double', str(v['@timestamp']))
    want = json.loads(keyed_lines(v['conn'], per_conn, keys)[v['seq']])
    v.pop('@timestamp')
    check_eq(v, want, 'the JSON fields as sent (escapes kept)')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_keyed_two_workers(t):
    """2 shards feeding 2 workers (2 producers): a connection stays on one
    shard and a shard feeds one worker, so per-key order holds as well."""
    test_keyed_volume(t, shards=2, workers=2)


def test_key_picks_worker(t):
    """Workers 2 with Message_Key_Field, keys shared by every connection:
    each worker produces exactly the records whose key hashes to it
    (murmur2 mod 2), and per connection and key the order holds."""
    mc = MockCluster(t, ['logs:4'])
    t.cleanups.append(mc.stop)
    port = free_port()
    conns, per_conn, keys = 4, 3000, 12
    sl = t.sluice(conf(service(t, Shards=2), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key', Workers=2)))
    lines = {c: [json.dumps({'key': 'k%d' % (i % keys), 'conn': c, 'seq': i}) for i in range(per_conn)]
             for c in range(conns)}
    for c in range(conns):
        send_lines(port, lines[c])
    total = conns * per_conn
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= total, 60,
                       'all records delivered')['outputs']['kafka.0']
    want = [0, 0]
    for i in range(per_conn):
        want[(murmur2(('k%d' % (i % keys)).encode()) & 0x7fffffff) % 2] += conns
    check_eq(st['worker_records'], want, 'records per worker: those whose key hashes to it')
    check_eq(st['errors'], 0, 'no record failed')
    msgs = wait_consume(mc.bootstrap, 'logs', total, 60)
    check_eq(len(msgs), total, 'every record consumed back, none twice')
    last, part, bad = {}, {}, []
    for m in msgs:
        v = json.loads(m['v'])
        k = (v['conn'], v['key'])
        if k in last and v['seq'] <= last[k]:
            bad.append((k, last[k], v['seq']))
        last[k] = v['seq']
        if part.setdefault(v['key'], m['p']) != m['p']:
            bad.append((v['key'], 'partition', part[v['key']], m['p']))
    check(not bad, 'per connection and key in order, each key on one partition', str(bad[:3]))
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_cluster_down_then_up(t):
    mc = MockCluster(t, ['logs:3'])
    t.cleanups.append(mc.stop)
    port = free_port()
    conns, per_conn, keys = 3, 2000, 5
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key', Retry_Limit='no_limits')))
    first = {c: keyed_lines(c, per_conn, keys) for c in range(conns)}
    for c in range(conns):
        send_lines(port, first[c][:per_conn // 2])
    half = conns * (per_conn // 2)
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= half, 60, 'first half delivered')
    mc.down()
    for c in range(conns):
        send_lines(port, first[c][per_conn // 2:])
    total = conns * per_conn
    st = sl.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= total, 30, 'second half read')
    # held, not delivered, while every broker is down
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['produced'] >= total, 30,
                       'second half handed to librdkafka')
    check(st['outputs']['kafka.0']['records'] < total,
          'not counted delivered while the cluster is down', str(st['outputs']['kafka.0']))
    check_eq(sl.poll(), None, 'sluice keeps running with the cluster down')
    mc.up()
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= total, 120,
                  'delivery resumes once the cluster is back')
    msgs = wait_consume(mc.bootstrap, 'logs', total, 60)
    check_keyed(msgs, conns, per_conn, keys, 3)
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_retriable_request_errors(t):
    """Produce requests refused with retriable errors (NOT_LEADER_FOR_PARTITION,
    REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS) mid-stream: the idempotent
    producer retries them; nothing lost, nothing duplicated or reordered."""
    mc = MockCluster(t, ['logs:2'])
    t.cleanups.append(mc.stop)
    port = free_port()
    conns, per_conn, keys = 2, 3000, 4
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key')))
    lines = {c: keyed_lines(c, per_conn, keys) for c in range(conns)}
    for c in range(conns):
        send_lines(port, lines[c][:1000])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 2000, 30, 'first part delivered')
    for code in (6, 7, 19):
        mc.command('error 3 %d' % code)
    for c in range(conns):
        send_lines(port, lines[c][1000:])
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= conns * per_conn, 60,
                       'all delivered')
    check_eq(st['outputs']['kafka.0']['errors'], 0, 'none failed')
    check_keyed(wait_consume(mc.bootstrap, 'logs', conns * per_conn, 60), conns, per_conn, keys, 2)
    check_eq(sl.stop(), 0, 'sluice exits 0')


def check_keyed_last(t, msgs, conns, per_conn, keys, nparts):
    """Through sluice's retries a record may be in the topic more than
    once (at least once); order is judged on the last copy of each record,
    the one a reader keeping the latest value per key ends with: per key,
    the last copies in the order sent. Nothing lost; each key on one
    partition. Returns the number of duplicate copies."""
    last_at, part = {}, {}
    for i, m in enumerate(msgs):
        v = json.loads(m['v'])
        k = v['key']
        if m['k'] != k:
            raise Fail('message key %r is not the record\'s key %r' % (m['k'], k))
        last_at[(v['conn'], v['seq'])] = (i, k)
        if part.setdefault(k, m['p']) != m['p']:
            raise Fail('key %s on partitions %d and %d' % (k, part[k], m['p']))
    missing = [(c, i) for c in range(conns) for i in range(per_conn) if (c, i) not in last_at]
    check(not missing, 'every record in the topic (none lost)', str(missing[:5]))
    by_key = {}
    for (c, seq), (i, k) in last_at.items():
        by_key.setdefault(k, []).append((i, seq))
    bad = []
    for k, occ in by_key.items():
        occ.sort()
        seqs = [s for _, s in occ]
        bad += [(k, a, b) for a, b in zip(seqs, seqs[1:]) if b <= a][:1]
    check(not bad, 'per key, the last copies in the order sent', str(bad[:3]))
    check_eq(len(by_key), conns * keys, 'every key seen')
    return len(msgs) - len(last_at)


def test_timeouts_keep_key_order(t):
    """Part of the stream times out in librdkafka (message.timeout.ms 1000,
    one broker answering after 2.5 s, so only the partitions it leads
    fail, while later records of those partitions may still be written):
    sluice produces the failed records again after Fluent Bit's backoff
    (scheduler.base 0.2, cap 1) and takes back the later records of their
    keys, so that per key the records end in the order sent; nothing is
    lost; the retries are counted and the copies reported."""
    mc = MockCluster(t, ['logs:3'])
    t.cleanups.append(mc.stop)
    for p in range(3):   # broker 1 leads partition 0 only
        mc.command('leader logs %d %d' % (p, p + 1))
    port = free_port()
    conns, per_conn, keys = 3, 3000, 6
    sl = t.sluice(conf(service(t, **{'scheduler.base': '0.2', 'scheduler.cap': '1'}), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key', Retry_Limit='no_limits',
                                 rdkafka__message__timeout__ms='1000')))
    lines = {c: keyed_lines(c, per_conn, keys) for c in range(conns)}
    third = per_conn // 3
    for c in range(conns):
        send_lines(port, lines[c][:third])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= conns * third, 30,
                  'first third delivered')
    mc.command('rtt 2500 1')
    # the middle third in small pieces, so that batches straddle the
    # moment the slow broker's requests time out
    for piece in range(10):
        for c in range(conns):
            a = third + piece * third // 10
            send_lines(port, lines[c][a:a + third // 10])
        time.sleep(0.1)   # pacing the sender, not waiting on a result
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['retries'] > 0, 30, 'some records timed out')
    mc.command('rtt 0 1')
    for c in range(conns):
        send_lines(port, lines[c][2 * third:])
    total = conns * per_conn
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= total, 90, 'all delivered')
    o = st['outputs']['kafka.0']
    check_eq((o['records'], o['errors']), (total, 0), 'each record counted delivered once, none failed')
    got = []

    def all_in():
        got[:] = consume(mc.bootstrap, 'logs', timeout=10)
        seen = {(json.loads(m['v'])['conn'], json.loads(m['v'])['seq']) for m in got}
        return len(seen) >= total

    wait_for(all_in, 60, 'every record in the topic', interval=0.5)
    dups = check_keyed_last(t, got, conns, per_conn, keys, 3)
    print('    %d records retried, %d copies in the topic beyond one per record' % (o['retries'], dups))
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_topic_key_dynamic(t):
    mc = MockCluster(t, ['main:1', 'alpha:1', 'beta:2'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, topics='main, alpha', Topic_Key='route',
                                 Dynamic_Topic='on')))
    lines = [json.dumps({'route': r, 'i': i}) for i, r in
             enumerate(['alpha', 'beta', 'main', 'bad topic!', 'alpha', 'beta'])]
    lines.append(json.dumps({'i': 6}))
    send_lines(port, lines)
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= len(lines), 30, 'all delivered')
    got = {}
    for topic, n in (('alpha', 2), ('beta', 2), ('main', 3)):
        got[topic] = sorted(json.loads(m['v'])['i'] for m in wait_consume(mc.bootstrap, topic, n, 30))
    check_eq(got, {'alpha': [0, 4], 'beta': [1, 5], 'main': [2, 3, 6]},
             'Topic_Key routes, Dynamic_Topic adds beta, an invalid name and no key go to the default')
    check('not a valid Kafka topic name' in sl.stderr(), 'the invalid topic name is logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_topic_key_static(t):
    mc = MockCluster(t, ['main:1', 'beta:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, topics='main', Topic_Key='route')))
    send_lines(port, [json.dumps({'route': 'beta', 'i': 0})])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 1, 30, 'delivered')
    check_eq([json.loads(m['v'])['i'] for m in wait_consume(mc.bootstrap, 'main', 1, 30)], [0],
             'without Dynamic_Topic a topic not in Topics goes to the default')
    check_eq(consume(mc.bootstrap, 'beta', timeout=10), [], 'nothing in beta')
    sl.stop()


def test_msgpack_format(t):
    from test_outputs import mp_decode
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Format='msgpack', Message_Key='fixed')))
    recs = [{'a': 'x', 'n': i, 'f': 1.5, 'arr': [1, 's'], 'o': {'k': 'v'}} for i in range(10)]
    send_lines(port, [json.dumps(r) for r in recs])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 10, 30, 'all delivered')
    msgs = wait_consume(mc.bootstrap, 'logs', 10, 30)
    dec = [mp_decode(m['v']) for m in msgs]
    check(all(end == len(m['v']) for (_, end), m in zip(dec, msgs)),
          'one event per message, nothing after it')
    dec = [v for v, _ in dec]
    check(all(isinstance(v, list) and len(v) == 2 and v[0][0] == 'time' for v in dec),
          'each message is [EventTime, map]')
    check_eq([v[1] for v in dec], recs, 'the records decoded back, in order')
    check_eq({m['k'] for m in msgs}, {'fixed'}, 'Message_Key is every message\'s key')
    sl.stop()


def test_raw_format(t):
    """Format raw with raw_log_key: the message is that key's string as it
    is (https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/kafka,
    raw_log_key; fluent-bit plugins/out_kafka/kafka.c); a record without
    the key, or where it is not a string, is not sent and counted failed
    (Fluent Bit: "missing raw_log_key", FLB_ERROR)."""
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Format='raw', raw_log_key='log')))
    send_lines(port, [json.dumps({'log': 'line one {"not": "json"}', 'x': 1}),
                      json.dumps({'other': 'no log key'}),
                      json.dumps({'log': 5}),
                      json.dumps({'x': 2, 'log': 'caf\u00e9 two'})])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 2 and
                  st['outputs']['kafka.0']['errors'] >= 2, 30, '2 delivered, 2 failed')
    msgs = wait_consume(mc.bootstrap, 'logs', 2, 30)
    check_eq([m['v'] for m in msgs], [b'line one {"not": "json"}', 'caf\u00e9 two'.encode()],
             'each message is raw_log_key\'s string, nothing added')
    check_eq(sl.stats()['outputs']['kafka.0']['errors'], 2,
             'records without a string raw_log_key counted failed')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_gelf_format(t):
    """Format gelf with gelf_*_key (https://docs.fluentbit.io/manual/5.0/
    data-pipeline/outputs/kafka; the encoding of fluent-bit
    src/flb_pack_gelf.c): version 1.1 first, the named keys as GELF fields,
    others as "_key", "id" and nil members left out, booleans as strings,
    floats with six decimals, a syslog level keyword as its number, the
    record time with milliseconds when there is no timestamp key; a record
    without short_message is not sent (counted failed), ", " between
    members and a nested map flattened into "_o_a" members, as Fluent Bit
    writes them (outputs/out_gelf.h)."""
    import re
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Format='gelf', gelf_short_message_key='log',
                                 gelf_host_key='hostname', gelf_level_key='severity')))
    send_lines(port, [json.dumps({'log': 'hello "x"', 'hostname': 'web1', 'severity': 'err',
                                  'n': 5, 'neg': -2, 'b': True, 'f': 1.5, 'id': 7, 'z': None,
                                  'o': {'a': 1}}),
                      json.dumps({'msg': 'no short message'}),
                      json.dumps({'log': 'two', 'severity': 6, 'timestamp': 1700000000.25})])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 2 and
                  st['outputs']['kafka.0']['errors'] >= 1, 30, '2 delivered, 1 failed')
    msgs = [m['v'].decode() for m in wait_consume(mc.bootstrap, 'logs', 2, 30)]
    check(re.fullmatch(r'\{"version":"1\.1", "short_message":"hello \\"x\\"", "host":"web1", '
                       r'"level":3, "_n":5, "_neg":-2, "_b":"true", "_f":1\.500000, '
                       r'"_o_a":1, "timestamp":\d+\.\d{3}\}', msgs[0]) is not None,
          'GELF fields, custom "_" members, id and nil left out, time added', msgs[0])
    check_eq(json.loads(msgs[1]), {'version': '1.1', 'short_message': 'two', 'level': 6,
                                   'timestamp': 1700000000.25},
             'a level number kept, the record\'s own timestamp used')
    check_eq(sl.stats()['outputs']['kafka.0']['errors'], 1, 'no short_message: counted failed')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_timestamp_formats(t):
    mc = MockCluster(t, ['a:1', 'b:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, topics='a', Timestamp_Format='iso8601'),
                       ('OUTPUT', [('Name', 'kafka'), ('Match', '*'), ('Brokers', mc.bootstrap),
                                   ('Topics', 'b'), ('Timestamp_Format', 'iso8601_ns'),
                                   ('Timestamp_Key', 'ts')])))
    send_lines(port, [json.dumps({'x': 1}), '{}'])
    sl.wait_stats(lambda st: st['outputs']['kafka.1']['records'] >= 2 and
                  st['outputs']['kafka.0']['records'] >= 2, 30, 'delivered')
    import re
    a = [json.loads(m['v']) for m in wait_consume(mc.bootstrap, 'a', 2, 30)]
    b = [json.loads(m['v']) for m in wait_consume(mc.bootstrap, 'b', 2, 30)]
    check(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z', a[0]['@timestamp']) and a[0]['x'] == 1,
          'iso8601: microseconds, Z', str(a[0]))
    check(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z', b[0]['ts']) and b[0]['x'] == 1
          and list(b[0]) == ['ts', 'x'], 'iso8601_ns under Timestamp_Key ts, first', str(b[0]))
    check_eq(list(b[1]), ['ts'], 'an empty record gets only the timestamp')
    sl.stop()


def bad_config(t, extra, want):
    sl = t.sluice(conf(service(t), tcp_in(free_port()),
                       kafka_out('127.0.0.1:1', **extra)), wait=False)
    rc = sl.wait_exit(20)
    check_eq(rc, 1, 'sluice refuses to start (%s)' % want)
    err = sl.stderr()
    check(want in err and '[OUTPUT] kafka' in err and 'sluice.conf:' in err,
          'the message names the file:line, the output and the cause', err.strip()[-300:])


def test_bad_config(t):
    need_kafka()
    bad_config(t, {'rdkafka__no__such__property': '1'}, 'rdkafka.no.such.property')
    bad_config(t, {'rdkafka__acks': 'maybe'}, 'rdkafka.acks')
    bad_config(t, {'Format': 'avro'}, 'Format avro needs Schema_Str')
    bad_config(t, {'Format': 'avro', 'Schema_Str': '{"type":"record"}'}, 'Schema_Str: invalid Avro schema')
    bad_config(t, {'Format': 'xml'}, "'Format'")
    bad_config(t, {'Topics': 'bad topic'}, 'not a valid Kafka topic name')


def test_unreachable_at_start(t):
    mc = MockCluster(t, ['logs:2'])
    t.cleanups.append(mc.stop)
    mc.down()
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key')))
    send_lines(port, keyed_lines(0, 500, 3))
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['produced'] >= 500, 30,
                       'records handed to librdkafka with no broker reachable')
    check_eq(st['outputs']['kafka.0']['records'], 0, 'none counted delivered')
    mc.up()
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 500, 90,
                  'delivered once the cluster is reachable')
    check_keyed(wait_consume(mc.bootstrap, 'logs', 500, 30), 1, 500, 3, 2)
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_queue_full_backpressure(t):
    """librdkafka's queue capped at 500 messages and every broker down: the
    worker stops taking chunks, the shards' memory fills, then the input
    stops reading (the rest waits in TCP); nothing dropped; all of it
    delivered in order once up."""
    mc = MockCluster(t, ['logs:3'])
    t.cleanups.append(mc.stop)
    mc.down()
    port = free_port()
    count, conns = 30000, 2
    sl = t.sluice(conf(service(t), tcp_in(port, Mem_Buf_Limit='1M'),
                       kafka_out(mc.bootstrap, Message_Key_Field='host',
                                 rdkafka__queue__buffering__max__messages='500',
                                 rdkafka__compression__codec='lz4')))
    lg = loadgen_start(['--port', port, '--format', 'json', '--count', count, '--conns', conns,
                        '--mark'])
    out = lambda: sl.stats()['outputs']['kafka.0']
    wait_stable(lambda: (sl.stats() or {}).get('inputs', {}).get('tcp.0', {}).get('records'), 1.0, 30,
                'the input to stop reading', proc=sl)
    st = sl.stats()
    check(st['inputs']['tcp.0']['records'] < count, 'the input stopped reading before the end',
          str(st['inputs']['tcp.0']))
    # The rest waits in the sockets' buffers (or in a blocked loadgen,
    # depending on how much the kernel buffers): TCP's own backpressure.
    check(out()['queued'] <= 500 and out()['produced'] <= 500,
          'no more than the queue holds was handed to librdkafka', str(out()))
    check_eq(out()['records'], 0, 'nothing counted delivered')
    check_eq(st['inputs']['tcp.0']['dropped'], 0, 'nothing dropped')
    rss = proc_status_kb(sl.pid, 'VmRSS')
    mc.up()
    loadgen_finish(lg, timeout=120)
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= count, 120,
                  'everything delivered once the cluster is back')
    msgs = wait_consume(mc.bootstrap, 'logs', count, 60)
    vals = [json.loads(m['v']) for m in msgs]
    ms = marks([v['msg'].encode() for v in vals])
    check_sequences(ms, full_sequences(loadgen_conn_counts(count, conns)),
                    'every record exactly once', ordered=False)
    last, bad = {}, []
    for (c, sq), v in zip(ms, vals):
        k = (c, v['host'])
        if k in last and sq <= last[k]:
            bad.append((k, last[k], sq))
        last[k] = sq
    check(not bad, 'per connection and key, in the order sent', str(bad[:3]))
    if sanitized():
        log('  (memory bound not checked: a sanitizer build, shadow memory and quarantine)')
    else:
        check(rss < 200 * 1024, 'memory bounded while blocked', '%d kB' % rss)
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_retry_limit_then_failed(t):
    """Every broker down, message.timeout.ms 300: each record times out in
    librdkafka, sluice produces it once more (Retry_Limit 1), then counts it
    failed and releases the chunk; one log line for the cause."""
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    mc.down()
    port = free_port()
    sl = t.sluice(conf(service(t, **{'storage.path': t.path('store'), 'storage.keep.rejected': 'on'}),
                       tcp_in(port),
                       kafka_out(mc.bootstrap, Retry_Limit='1', rdkafka__message__timeout__ms='300')))
    send_lines(port, [json.dumps({'i': i}) for i in range(50)])
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['errors'] >= 50, 30, 'all 50 failed')
    o = st['outputs']['kafka.0']
    check_eq((o['records'], o['errors'], o['retries'], o['produced']), (0, 50, 50, 100),
             'each produced twice (one retry), then failed')
    err = sl.stderr()
    check_eq(err.count('records not delivered'), 1, 'the cause logged once')
    check('topic logs: Local: Message timed out' in err, 'naming the topic and the error')
    check_eq(sl.stop(), 0, 'sluice exits 0 (nothing left held)')
    # storage.keep.rejected: the 50 records are in the dead-letter queue
    from test_outputs import mp_all
    d = t.path('store/rejected')
    got = []
    for f in sorted(os.listdir(d)):
        check(f.startswith('tcp.0_retries_kafka.0_') and f.endswith('.msgpack'), 'dead-letter file name', f)
        with open(os.path.join(d, f), 'rb') as fh:
            got += [ev[1]['i'] for ev in mp_all(fh.read())]
    check_eq(sorted(got), list(range(50)), 'the failed records kept in the dead-letter queue')


def test_permanent_broker_error(t):
    """The broker refuses produce requests with a non-retriable error
    (MESSAGE_TOO_LARGE): the records are counted failed at once, without
    retries, logged once; later records are delivered."""
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Retry_Limit='no_limits')))
    send_lines(port, [json.dumps({'warm': 1})])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 1, 30, 'connected')
    mc.command('error 1 10')
    send_lines(port, [json.dumps({'i': 0})])
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['errors'] >= 1, 30, 'the record failed')
    send_lines(port, [json.dumps({'i': 1})])
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 2, 30, 'the next delivered')
    check_eq(st['outputs']['kafka.0']['errors'], 1, 'one failed')
    check_eq(sl.stderr().count('records not delivered'), 1, 'logged once')
    check([json.loads(m['v']).get('i') for m in wait_consume(mc.bootstrap, 'logs', 2, 30)] == [None, 1],
          'the failed record is not in the topic, the next one is')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_stop_with_cluster_down(t):
    """SIGTERM while every broker is down and records are held: sluice
    waits Grace for delivery reports, then gives up (exit 1, as for any
    output that cannot finish), without hanging or crashing."""
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    mc.down()
    port = free_port()
    sl = t.sluice(conf(service(t, Grace=2), tcp_in(port), kafka_out(mc.bootstrap)))
    send_lines(port, [json.dumps({'i': i}) for i in range(100)])
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['produced'] >= 100, 30, 'produced')
    t0 = time.monotonic()
    check_eq(sl.stop(timeout=30), 1, 'exit 1: records not delivered')
    check(time.monotonic() - t0 < 10, 'within Grace and a little more')
    check('did not finish delivering within Grace' in sl.stderr(), 'said why')


AVRO_SCHEMA = json.dumps({
    'type': 'record', 'name': 'event', 'namespace': 'sluice.test', 'fields': [
        {'name': 'key', 'type': 'string'},
        {'name': 'seq', 'type': 'long'},
        {'name': 'lvl', 'type': {'type': 'enum', 'name': 'level', 'symbols': ['info', 'warn']}},
        {'name': 'ratio', 'type': 'double'},
        {'name': 'ok', 'type': 'boolean'},
        {'name': 'host', 'type': ['null', 'string']},
        {'name': 'tags', 'type': {'type': 'array', 'items': 'string'}},
        {'name': 'src', 'type': ['null', {'type': 'record', 'name': 'source', 'fields': [
            {'name': 'ip', 'type': 'string'}, {'name': 'port', 'type': 'int'}]}]},
    ]})


def avro_decode(t, schema, values):
    """Decode Format avro messages with libavro (tests/kafka/avro_decode):
    a list of {'id': schema id, 'value': record as libavro renders it}
    or {'error': ...}."""
    exe = os.path.join(os.path.dirname(MOCK_CLUSTER), 'avro_decode')
    if not os.access(exe, os.X_OK):
        raise Fail('no avro_decode helper at %s (ninja -C build)' % exe)
    path = t.path('schema.avsc')
    with open(path, 'w') as f:
        f.write(schema)
    r = subprocess.run([exe, path], input=''.join(v.hex() + '\n' for v in values).encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if r.returncode:
        raise Fail('avro_decode: ' + r.stderr.decode(errors='replace'))
    return [json.loads(ln) for ln in r.stdout.decode().splitlines()]


def test_avro_format(t):
    """Format avro with Schema_Str and Schema_Id: every message is byte 0,
    the id big-endian, then the record under the schema (libavro reads it
    to its last byte); records that do not fit the schema are counted
    failed, logged once per field and cause, and their neighbours
    delivered in order; a second output without Schema_Id writes id 0.
    Those log lines follow each output's Log_Level (as Fluent Bit's
    flb_plg_* check ins->log_level): kafka.0 at error logs them, kafka.1
    at off does not, while the service is at info."""
    mc = MockCluster(t, ['logs:1', 'plain:1'])
    t.cleanups.append(mc.stop)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Format='avro', Schema_Str=AVRO_SCHEMA, Schema_Id=4242,
                                 Message_Key_Field='key', Log_Level='error'),
                       ('OUTPUT', [('Name', 'kafka'), ('Match', '*'), ('Brokers', mc.bootstrap),
                                   ('Topics', 'plain'), ('Format', 'avro'), ('Schema_Str', AVRO_SCHEMA),
                                   ('Log_Level', 'off')])))
    good = []
    lines = []
    for i in range(40):
        rec = {'key': 'k%d' % (i % 3), 'seq': i, 'lvl': 'warn' if i % 5 == 0 else 'info',
               'ratio': i / 4, 'ok': i % 2 == 0, 'tags': ['t%d' % j for j in range(i % 3)],
               'extra': {'not': 'in the schema'}}
        if i % 4 == 0:
            rec['host'] = 'web-%d' % i
        if i % 7 == 0:
            rec['src'] = {'ip': '10.0.0.%d' % i, 'port': 514}
        if i in (10, 20):
            rec['lvl'] = 'debug'          # not a symbol of the enum
        elif i == 30:
            rec['seq'] = 'thirty'         # a string where the schema has a long
        else:
            good.append(rec)
        lines.append(json.dumps(rec))
    send_lines(port, lines)
    st = sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] + st['outputs']['kafka.0']['errors'] >= 40
                       and st['outputs']['kafka.1']['records'] + st['outputs']['kafka.1']['errors'] >= 40,
                       30, 'every record delivered or failed')
    for o in ('kafka.0', 'kafka.1'):
        check_eq((st['outputs'][o]['records'], st['outputs'][o]['errors']), (37, 3),
                 '%s: 37 delivered, the 3 that do not fit the schema failed' % o)
    msgs = wait_consume(mc.bootstrap, 'logs', 37, 30)
    dec = avro_decode(t, AVRO_SCHEMA, [m['v'] for m in msgs])
    check(all('error' not in d for d in dec), 'every message decodes under the schema, nothing left over',
          str([d for d in dec if 'error' in d][:3]))
    check_eq({d['id'] for d in dec}, {4242}, 'the Confluent header carries Schema_Id')
    check(all(m['v'][:5] == b'\0\0\0\x10\x92' for m in msgs), 'header bytes 00 00 00 10 92')

    def avro_json(rec):
        return {'key': rec['key'], 'seq': rec['seq'], 'lvl': rec['lvl'], 'ratio': rec['ratio'], 'ok': rec['ok'],
                'host': {'string': rec['host']} if 'host' in rec else None, 'tags': rec['tags'],
                'src': {'source': rec['src']} if 'src' in rec else None}
    check_eq([d['value'] for d in dec], [avro_json(r) for r in good],
             'the records as sent, in order; absent optional fields null, extra members left out')
    check_eq([m['k'] for m in msgs], [r['key'] for r in good], 'Message_Key_Field still keys the messages')
    plain = avro_decode(t, AVRO_SCHEMA, [m['v'] for m in wait_consume(mc.bootstrap, 'plain', 37, 30)])
    check_eq({d.get('id') for d in plain}, {0}, 'without Schema_Id the header carries 0')
    err = sl.stderr()
    check_eq(err.count("[kafka.0] avro: field 'lvl': not a symbol of the enum"), 1,
             'the enum cause logged once for two records')
    check_eq(err.count("[kafka.0] avro: field 'seq': expected long, got str"), 1, 'the type cause logged once')
    check_eq([ln for ln in err.splitlines() if '[kafka.1]' in ln], [],
             'kafka.1 at Log_Level off: its avro failures not logged (still counted)')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_queue_full_retries(t):
    """Queue_Full_Retries 1 with every broker down and a queue of 100: the
    worker is held back, a warning says so once after about a second (not
    per poll), the end of the stall is said once the cluster is back, and
    nothing is lost."""
    mc = MockCluster(t, ['logs:1'])
    t.cleanups.append(mc.stop)
    mc.down()
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Queue_Full_Retries=1,
                                 rdkafka__queue__buffering__max__messages='100')))
    send_lines(port, [json.dumps({'i': i}) for i in range(300)])
    wait_for(lambda: 'queue has been full for' in sl.stderr(), 20, 'the stall warned about', proc=sl)
    err = sl.stderr()
    check('Queue_Full_Retries 1' in err and 'nothing is dropped' in err, 'the warning names the key and says '
          'nothing is dropped', err.strip()[-300:])
    check_eq(sl.stats()['outputs']['kafka.0']['records'], 0, 'nothing delivered while down')
    mc.up()
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= 300, 90, 'all delivered once up')
    wait_for(lambda: 'queue has room again' in sl.stderr(), 20, 'the end of the stall said', proc=sl)
    check_eq(sl.stderr().count('queue has been full for'), 1, 'warned once for the stall')
    check_eq(sorted(json.loads(m['v'])['i'] for m in wait_consume(mc.bootstrap, 'logs', 300, 30)),
             list(range(300)), 'every record delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_store_outlasts_cluster_down(t):
    """storage.type filesystem in front of Kafka: with every broker down for
    DOWN seconds (60 by default, SLUICE_DOWN_S to change), the input keeps
    reading (no backpressure), the backlog waits on disk within
    storage.total_limit_size, memory stays bounded; sluice is then killed
    (-9) while the cluster is still down, restarted on the same store, and
    once the cluster is back every record arrives, once, in order per key,
    on Java's partition (docs/STORAGE.md)."""
    down_s = float(os.environ.get('SLUICE_DOWN_S', '60'))
    mc = MockCluster(t, ['logs:3'])
    t.cleanups.append(mc.stop)
    port = free_port()
    conns, per_conn, keys, steps = 3, 20000, 5, 20
    text = conf(service(t, **{'storage.path': t.path('store')}),
                tcp_in(port, **{'storage.type': 'filesystem', 'Mem_Buf_Limit': '1M'}),
                kafka_out(mc.bootstrap, Message_Key_Field='key', Retry_Limit='no_limits',
                          **{'storage.total_limit_size': '200M'}))
    sl = t.sluice(text)
    sl.wait_stats(lambda st: True, 10, 'the first stats')
    idle = sl.rss_kb()
    mc.down()
    lines = {c: keyed_lines(c, per_conn, keys) for c in range(conns)}
    socks = [socket.create_connection(('127.0.0.1', port)) for _ in range(conns)]
    t0 = time.monotonic()
    for i in range(steps):
        for c in range(conns):
            part = lines[c][i * per_conn // steps:(i + 1) * per_conn // steps]
            socks[c].sendall(''.join(ln + '\n' for ln in part).encode())
        # pace the sends over the outage (a rate, not a wait for a condition)
        time.sleep(max(0.0, t0 + (i + 1) * down_s / steps - time.monotonic()))
    for s in socks:
        s.close()
    total = conns * per_conn
    st = sl.wait_stats(lambda st: st['inputs']['tcp.0']['stored'] >= total, 60,
                       'every record read and stored while the cluster is down')
    s = st['storage']
    check(s['spilled_chunks'] > 0 and s['backlog_bytes'] > 0, 'the backlog waits on disk', str(s))
    check(s['backlog_bytes'] <= 200000000, 'within storage.total_limit_size', str(s))
    check_eq(st['outputs']['kafka.0']['records'], 0, 'nothing counted delivered while down')
    hwm = proc_status_kb(sl.pid, 'VmHWM')
    if not sanitized():
        check(hwm - idle < 60 << 10, 'memory bounded while the disk grows',
              'VmHWM %d KiB, idle %d KiB' % (hwm, idle))
    sl.proc.kill()
    sl.wait_exit(30)
    sl = t.sluice(text, name='again')
    mc.up()
    sl.wait_stats(lambda st: st['outputs']['kafka.0']['records'] >= total, 180,
                  'the backlog delivered once the cluster is back')
    msgs = wait_consume(mc.bootstrap, 'logs', total, 60)
    check_keyed(msgs, conns, per_conn, keys, 3)
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_keyed_volume, test_keyed_two_workers, test_key_picks_worker, test_cluster_down_then_up, test_retriable_request_errors,
          test_timeouts_keep_key_order,
          test_topic_key_dynamic, test_topic_key_static,
          test_msgpack_format, test_raw_format, test_gelf_format, test_timestamp_formats, test_bad_config, test_unreachable_at_start,
          test_queue_full_backpressure, test_retry_limit_then_failed, test_permanent_broker_error,
          test_stop_with_cluster_down, test_avro_format, test_queue_full_retries,
          test_store_outlasts_cluster_down])
