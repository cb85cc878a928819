#!/usr/bin/env python3
"""test_syslog_unix.py — the syslog input on Unix sockets, Fluent Bit's
default mode: unix_udp (what syslog(3) and logger write to) and unix_tcp.

- Records from both arrive with the syslog-rfc3164-local fields (no host),
  the socket file gets Unix_Perm, and sluice removes it at exit.
- A stale socket file (left by a process that died) is replaced; one a live
  process serves is an error, and that process keeps its socket.
- A missing Path is a configuration error naming the Mode line.
"""
import json
import os
import socket
import stat
import subprocess

from harness import SLUICE, check, check_eq, conf, file_out, main, read_lines, service, wait_for


def unix_in(path, mode, **extra):
    kv = [('Name', 'syslog'), ('Mode', mode), ('Path', path)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def test_unix_udp_and_tcp(t):
    du, st = t.path('dgram.sock'), t.path('stream.sock')
    sl = t.sluice(conf(service(t), unix_in(du, 'unix_udp', Unix_Perm='0600', Tag='u'),
                       unix_in(st, 'unix_tcp', Tag='t'), file_out(t)))
    check_eq(oct(stat.S_IMODE(os.stat(du).st_mode)), '0o600', 'Unix_Perm applied to the socket file')
    check_eq(oct(stat.S_IMODE(os.stat(st).st_mode)), '0o644', 'default Unix_Perm 0644')
    n = 200
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for i in range(n):
        d.sendto(b'<13>Nov 21 10:00:00 app[%d]: dgram %d' % (i, i), du)
    d.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(st)
    s.sendall(b''.join(b'<14>Nov 21 10:00:01 svc: stream %d\n' % i for i in range(n)))
    s.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 2 * n, 20,
             'both sockets\' records in the file', proc=sl)
    recs = [json.loads(x) for x in read_lines(out)]
    dg = [r for r in recs if r.get('ident') == 'app']
    sm = [r for r in recs if r.get('ident') == 'svc']
    check_eq([r['message'] for r in dg], ['dgram %d' % i for i in range(n)],
             'unix_udp: every datagram, in order')
    check_eq([r['message'] for r in sm], ['stream %d' % i for i in range(n)],
             'unix_tcp: every line, in order')
    check_eq(sorted(dg[0]), ['ident', 'message', 'pid', 'pri', 'time'],
             'default parser syslog-rfc3164-local: no host field')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check(not os.path.exists(du) and not os.path.exists(st), 'socket files removed at exit')


def test_stale_and_live_sockets(t):
    path = t.path('log.sock')
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(path)
    stale.close()          # the file stays: what a crashed daemon leaves
    sl = t.sluice(conf(service(t), unix_in(path, 'unix_udp'), file_out(t)))
    check(stat.S_ISSOCK(os.stat(path).st_mode), 'a stale socket file is replaced')
    second = subprocess.run([SLUICE, '-c', sl.conf_path], capture_output=True, text=True, timeout=30)
    check(second.returncode != 0 and 'in use by another process' in second.stderr,
          'a second sluice on a served path fails clearly', second.stderr.strip()[-300:])
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    d.sendto(b'<13>Nov 21 10:00:00 app: still mine', path)
    d.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 1, 20,
             'the first sluice still receives', proc=sl)
    check_eq(json.loads(read_lines(out)[0])['message'], 'still mine',
             'the first sluice kept its socket')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_missing_path(t):
    cfg = t.path('bad.conf')
    with open(cfg, 'w') as f:
        f.write('[INPUT]\n    Name syslog\n    Mode unix_tcp\n[OUTPUT]\n    Name null\n    Match *\n')
    r = subprocess.run([SLUICE, '-c', cfg, '--dry-run'], capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and '%s:3:' % cfg in r.stderr and "'Path'" in r.stderr,
          'Mode unix_tcp without Path: an error at the Mode line', r.stderr.strip())


if __name__ == '__main__':
    main([test_unix_udp_and_tcp, test_stale_and_live_sockets, test_missing_path])
