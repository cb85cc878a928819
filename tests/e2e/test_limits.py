#!/usr/bin/env python3
"""test_limits.py — running out of file descriptors. sluice starts with a
hard limit of 64 open files (prlimit), more clients connect than it can
hold: the extra ones are shed (closed at once) and counted as rejected, the
shard does not spin on its listener, the connections it holds keep
delivering, and once clients leave new ones are served again.
"""
import json
import os
import shutil
import socket

from harness import (check, check_eq, conf, file_out, free_port, main, read_lines, service, skip,
                     tcp_in, wait_for)

LIMIT = 64


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def test_out_of_descriptors(t):
    if not shutil.which('prlimit'):
        skip('prlimit (util-linux) is not installed')
    port = free_port()
    sl = t.sluice(conf(service(t, Shards=1), tcp_in(port), file_out(t)),
                  prefix=['prlimit', '--nofile=%d:%d' % (LIMIT, LIMIT), '--'])
    socks = []
    for i in range(LIMIT + 40):
        s = socket.create_connection(('127.0.0.1', port))
        socks.append(s)

    def rejected():
        st = sl.stats()
        return st['inputs']['tcp.0'].get('rejected', 0) if st else 0
    wait_for(lambda: rejected() > 0, 20, 'connections shed at the descriptor limit', proc=sl)
    # Every client that was not shed can still send: one record each.
    for i, s in enumerate(socks):
        try:
            s.sendall(json.dumps({'i': i}).encode() + b'\n')
        except OSError:
            pass   # a shed one: its peer closed
    def held_all_delivered():
        st = sl.stats()
        i = st['inputs']['tcp.0'] if st else None
        return i if i and i['connections'] > 0 and i['records'] == i['connections'] else None
    held = wait_for(held_all_delivered, 20, 'one record from every connection held', proc=sl)
    check(held['connections'] < len(socks), 'fewer connections held than clients',
          'held %d of %d, shed %d' % (held['connections'], len(socks), held['rejected']))
    # CPU over one second of sluice's own uptime (its Stats_File clock),
    # with the shed clients still connected: a spinning listener would
    # burn all of it.
    cpu0, up0 = cpu_seconds(sl.pid), sl.stats()['uptime_s']
    wait_for(lambda: sl.stats()['uptime_s'] >= up0 + 1.0, 10, 'one second of sluice uptime', proc=sl)
    spin = cpu_seconds(sl.pid) - cpu0
    check(spin < 0.5, 'no busy loop on the listener while shedding', '%.2f CPU-s in 1 s' % spin)
    for s in socks:
        s.close()
    # After the clients left, a new one is served.
    def served():
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(b'{"late":1}\n')
        s.close()
        out = t.path('out.txt')
        return os.path.exists(out) and any(b'"late"' in ln for ln in read_lines(out))
    wait_for(served, 20, 'a new connection served after the others left', proc=sl)
    st = sl.stats()
    check(st['inputs']['tcp.0']['rejected'] > 0, 'rejected connections counted',
          'rejected %d, accepted %d' % (st['inputs']['tcp.0']['rejected'],
                                        st['inputs']['tcp.0']['connections']))
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_out_of_descriptors])
