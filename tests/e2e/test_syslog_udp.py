#!/usr/bin/env python3
"""test_syslog_udp.py — syslog over UDP end to end.

- RFC 5424 datagrams from loadgen at a modest rate (20k events at 20k/s,
  2 sockets): every one arrives exactly once. If any is missing the test
  says where it went: sluice's own counters (records, dropped, oversize,
  malformed) and the kernel's drop count of sluice's sockets.
- RFC 3164 over UDP, fields checked on a handful of datagrams we send.
- A datagram larger than Buffer_Max_Size is counted as oversize, and the
  ones around it are delivered.
"""
import json
import socket

from harness import (check, check_eq, check_sequences, conf, file_out, free_port, full_sequences,
                     loadgen_conn_counts, main, marks, read_lines, run_loadgen, service, syslog_in,
                     udp_kernel_drops, wait_stable)


def test_rfc5424_udp_rate(t):
    count, conns, rate = 20000, 2, 20000
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port, mode='udp', Receive_Buffer_Size='4M'),
                       file_out(t)))
    lg = run_loadgen(['--port', port, '--proto', 'udp', '--count', count, '--conns', conns,
                      '--rate', rate, '--mark', '--sd'])
    check_eq(lg['sent'], count, 'loadgen sent every datagram')

    def seen():
        st = sl.stats()
        i = st['inputs']['syslog.0'] if st else {}
        return (i.get('records'), i.get('dropped'), i.get('oversize'), i.get('malformed'),
                st['totals']['out'] if st else None, udp_kernel_drops(port, sl.pid))
    # UDP has no end of stream: wait until everything is in, or until
    # the counters stop moving (then report where the rest went).
    wait_stable(seen, 0.5, 30, 'the counters to settle', proc=sl)
    rec, dropped, oversize, malformed, out, kdrops = seen()
    check(rec == count and out == count, 'every datagram received and delivered',
          'sent %d: sluice records=%s delivered=%s dropped(sluice)=%s oversize=%s malformed=%s '
          'kernel drops on its sockets=%s; unaccounted=%s' % (
              count, rec, out, dropped, oversize, malformed, kdrops,
              count - (rec or 0) - (dropped or 0) - (oversize or 0) - (malformed or 0) - kdrops))
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    # one socket each: loopback keeps a flow in order, but UDP promises
    # nothing, so only exactly-once is asserted
    check_sequences(marks(lines), full_sequences(loadgen_conn_counts(count, conns)),
                    'UDP: every seq of every socket', ordered=False)


def test_rfc3164_udp_fields_and_oversize(t):
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port, mode='udp', parser='syslog-rfc3164',
                                             Buffer_Max_Size='2048'),
                       file_out(t, fmt='json_lines')))
    msgs = [
        (b'<34>Oct 11 22:14:15 mymachine su: \'su root\' failed for lonvick on /dev/pts/8',
         {'pri': '34', 'time': 'Oct 11 22:14:15', 'host': 'mymachine', 'ident': 'su',
          'message': "'su root' failed for lonvick on /dev/pts/8"}),
        (b'<13>Feb  5 17:32:18 10.0.0.99 sshd[4123]: Accepted publickey for bob\n',
         {'pri': '13', 'time': 'Feb  5 17:32:18', 'host': '10.0.0.99', 'ident': 'sshd',
          'pid': '4123', 'message': 'Accepted publickey for bob'}),
        (b'<0>Jan 31 00:00:00 h a b: c', {'pri': '0', 'time': 'Jan 31 00:00:00', 'host': 'h',
                                          'ident': 'a', 'message': 'c'}),
    ]
    big = b'<13>Feb  5 17:32:18 host big: ' + b'x' * 4000
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(msgs[0][0], ('127.0.0.1', port))
    s.sendto(big, ('127.0.0.1', port))
    s.sendto(msgs[1][0], ('127.0.0.1', port))
    s.sendto(msgs[2][0], ('127.0.0.1', port))
    s.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 3 and st['inputs']['syslog.0']['oversize'] >= 1,
                       10, '3 records out and 1 oversize')
    i = st['inputs']['syslog.0']
    check_eq((i['records'], i['oversize'], i['malformed'], i['dropped']), (3, 1, 0, 0),
             'counters (records, oversize, malformed, dropped) for 3 good + 1 datagram over 2048 bytes')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    got = [json.loads(x) for x in read_lines(t.path('out.txt'))]
    for g in got:
        g.pop('date')
    check_eq(got, [m[1] for m in msgs], 'RFC 3164 fields of each datagram, in order')


if __name__ == '__main__':
    main([test_rfc5424_udp_rate, test_rfc3164_udp_fields_and_oversize])
