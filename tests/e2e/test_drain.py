#!/usr/bin/env python3
"""test_drain.py — graceful drain on SIGTERM / SIGINT.

- TCP: 300k events from 2 connections; SIGTERM the moment loadgen has
  written everything to its sockets (most of it is still in kernel buffers
  or in sluice's chunks): sluice exits 0 and the file holds exactly every
  event, in order per connection; the counters logged at exit agree.
- The same with SIGINT.
- UDP at a low rate, SIGTERM as soon as loadgen returns: every datagram.
- SIGTERM while loadgen is still sending: exit 0, and per connection the
  file holds a gap-free prefix (seq 0..k-1), k summing to the input
  counter: whatever was read was delivered, nothing torn.
"""
import json
import signal
import time

from harness import (Fail, check, check_eq, check_sequences, conf, exit_log_counters, file_out,
                     free_port, full_sequences, loadgen_conn_counts, loadgen_finish, loadgen_start,
                     log, main, marks, read_lines, run_loadgen, service, syslog_in,
                     udp_kernel_drops, wait_for)


def drain_tcp(t, sig, count, conns):
    port = free_port()
    sl = t.sluice(conf(service(t, Grace=30), syslog_in(port), file_out(t)))
    lg = run_loadgen(['--port', port, '--count', count, '--conns', conns, '--mark', '--sd'])
    before = sl.stats()    # at most one Stats_Interval old: what the drain had left to do
    rc = sl.stop(sig, timeout=60)
    log('  at the signal: %d of %d records read, %d delivered' % (
        before['totals']['in'] if before else 0, count, before['totals']['out'] if before else 0))
    check_eq(lg['sent'], count, 'loadgen wrote every event before the signal')
    check_eq(rc, 0, 'sluice exits 0 after draining (signal %d)' % sig)
    lines = read_lines(t.path('out.txt'))
    check_eq(len(lines), count, 'the file holds exactly every event')
    check_sequences(marks(lines), full_sequences(loadgen_conn_counts(count, conns)),
                    'every seq of every connection after the drain')
    err = sl.stderr()
    check_eq(exit_log_counters(err, 'syslog.0')['records'], count, 'input records logged at exit')
    check_eq(exit_log_counters(err, 'file.0')['records'], count, 'output records logged at exit')
    st = sl.stats()
    check_eq((st['totals']['in'], st['totals']['out'], st['totals']['failed']), (count, count, 0),
             'final Stats_File totals (in, out, failed)')


def test_sigterm_tcp(t):
    drain_tcp(t, signal.SIGTERM, 300000, 2)


def test_sigint_tcp(t):
    drain_tcp(t, signal.SIGINT, 100000, 1)


def test_sigterm_udp(t):
    count = 10000
    port = free_port()
    sl = t.sluice(conf(service(t, Grace=30), syslog_in(port, mode='udp', Receive_Buffer_Size='4M'),
                       file_out(t)))
    lg = run_loadgen(['--port', port, '--proto', 'udp', '--count', count, '--rate', 20000, '--mark'])
    kdrops = udp_kernel_drops(port, sl.pid)
    check_eq(sl.stop(timeout=60), 0, 'sluice exits 0 after draining')
    check_eq(lg['sent'], count, 'loadgen sent every datagram before the signal')
    lines = read_lines(t.path('out.txt'))
    st = sl.stats()['inputs']['syslog.0']
    check(len(lines) == count, 'the file holds every datagram',
          '%d of %d; sluice records=%d dropped=%d; kernel drops on its sockets before the signal=%d'
          % (len(lines), count, st['records'], st['dropped'], kdrops))
    check_sequences(marks(lines), full_sequences([count]), 'every seq exactly once', ordered=False)


def stop_loadgen(lg):
    """With sluice gone, loadgen's sends fail (reset / broken pipe) and it
    exits; if it has not within 10s, stop it (our own PID)."""
    try:
        wait_for(lambda: lg.poll() is not None, 10, 'loadgen to notice')
    except Fail:
        lg.terminate()
    return loadgen_finish(lg, expect_rc=None)


def test_sigterm_mid_stream(t):
    """SIGTERM while loadgen is still sending (at 200k/s): whatever sluice
    read, it delivered, and nothing more."""
    count, conns = 100000000, 2
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port), file_out(t)))
    lg = loadgen_start(['--port', port, '--count', count, '--conns', conns, '--mark',
                        '--rate', 200000])
    sl.wait_stats(lambda st: st['totals']['in'] >= 100000, 30, 'traffic under way')
    check_eq(sl.stop(timeout=60), 0, 'sluice exits 0 on SIGTERM under load')
    res = stop_loadgen(lg)
    log('  loadgen: exit %d, sent %d' % (lg.returncode, res['sent']))
    check(res['sent'] < count, 'the signal came while loadgen was still sending')
    lines = read_lines(t.path('out.txt'))
    ms = marks(lines)
    per = {}
    for c, s in ms:
        per[c] = per.get(c, 0) + 1
    check_sequences(ms, {c: list(range(n)) for c, n in per.items()},
                    'per connection a gap-free prefix 0..k-1 arrived, in order')
    st = sl.stats()
    check_eq((st['totals']['in'], st['totals']['out']), (len(lines), len(lines)),
             'final counters (in, out) equal the records in the file')
    torn = sum(1 for x in lines if not x.endswith(b'"}'))
    for x in lines[-10:]:
        json.loads(x)
    check_eq(torn, 0, 'no torn record')


def test_sigterm_endless_full_speed(t):
    """loadgen sends without end as fast as it can; SIGTERM must still
    finish in bounded time: the shards' drain and the workers' join each
    take at most Grace."""
    grace = 2
    port = free_port()
    sl = t.sluice(conf(service(t, Grace=grace), syslog_in(port),
                       ('OUTPUT', [('Name', 'null'), ('Match', '*')])))
    lg = loadgen_start(['--port', port, '--count', 10 ** 12, '--conns', 2])
    sl.wait_stats(lambda st: st['totals']['in'] >= 500000, 30, 'traffic under way')
    t0 = time.monotonic()
    rc = sl.stop(timeout=2 * grace + 20)
    took = time.monotonic() - t0
    check_eq(rc, 0, 'sluice exits 0 on SIGTERM under endless load')
    check(took <= 2 * grace + 3, 'it stops within 2 x Grace + 3s', '%.1fs, Grace %ds' % (took, grace))
    res = stop_loadgen(lg)
    st = sl.stats()
    check_eq(st['totals']['in'], st['totals']['out'],
             'everything read was delivered (%d records; loadgen sent %d)' % (st['totals']['in'],
                                                                             res['sent']))


if __name__ == '__main__':
    main([test_sigterm_tcp, test_sigint_tcp, test_sigterm_udp, test_sigterm_mid_stream,
          test_sigterm_endless_full_speed])
