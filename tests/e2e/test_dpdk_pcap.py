#!/usr/bin/env python3
"""test_dpdk_pcap.py — the DPDK receive backend (Rx_Backend dpdk) end to end.

- A pcap made by bench/pcap/pcapgen (RFC 5424 over UDP, some IPv6, some
  VLAN/QinQ tagged, mixed with noise: ARP, another UDP port, TCP,
  truncated frames, IPv4 fragments, bad IPv4 checksums) replayed through
  net_pcap with 2 queues (one rx_pcap per queue) and 2 shards into the
  file output: every syslog datagram delivered exactly once (or counted),
  every noise frame counted under its reason.
- net_af_packet (2 queue pairs, 2 shards) on a veth pair into a network namespace the test creates
  and removes: loadgen in the namespace sends syslog over UDP, all arrive.
- AF_XDP (Rx_Backend af_xdp) on the same kind of veth, 1 shard: copy
  mode (veth refuses zero-copy), said in the log; all arrive.
- Dpdk_Exception_Port: net_pcap with noise and a net_tap exception port:
  the kernel's tap interface receives exactly the frames not for sluice
  (its rx_packets counter), the syslog datagrams still all arrive; and on
  a veth (net_af_packet) with the tap moved into a namespace of its own
  holding the address, a ping from the peer namespace is answered: ARP
  and ICMP go to the kernel through the tap and its replies back out of
  the port.
- A port that does not exist, bad EAL arguments, Rx_Backend on Mode tcp:
  sluice refuses to start and says why.

DPDK needs root here (--no-huge still maps memory and probes vdevs); a
test that cannot get what it needs is SKIPPED (exit 77), never passed.
"""
import json
import os
import subprocess
import sys

from harness import (LOADGEN, check, check_eq, check_sequences, conf, file_out, main, marks,
                     read_lines, service, skip, syslog_in, wait_for, wait_stable)

PCAPGEN = os.environ.get('PCAPGEN') or os.path.join(os.path.dirname(LOADGEN), '..', 'pcap',
                                                     'pcapgen')


def eal_args(t):
    # --no-shconf and a file prefix of our own: tests run in parallel.
    return ('--no-huge --no-pci --no-shconf -m 256 -l 0 --no-telemetry --log-level=*:warning '
            '--file-prefix=sl%d' % os.getpid())


def need_dpdk():
    if os.geteuid() != 0:
        skip('DPDK on virtual devices needs root here')
    if not os.access(PCAPGEN, os.X_OK):
        skip('pcapgen not built at %s' % PCAPGEN)


def start_or_skip(t, text):
    """Start sluice; when EAL itself cannot come up on this host, skip."""
    sl = t.sluice(text, wait=False)
    wait_for(lambda: 'started:' in sl.stderr() or sl.poll() is not None, 30, 'sluice to start or exit')
    if sl.poll() is not None:
        err = sl.stderr()
        if 'EAL init failed' in err:
            skip('DPDK EAL cannot initialise here: ' + err.strip().splitlines()[-1])
        check(False, 'sluice started', sl.stderr_tail())
    return sl


def dpdk_in(port, dpdk_port, t, **extra):
    return syslog_in(port, mode='udp', Listen='0.0.0.0', Rx_Backend='dpdk', Dpdk_Port=dpdk_port,
                     Dpdk_Eal_Args=eal_args(t), **extra)


def test_pcap_two_queues_with_noise(t):
    need_dpdk()
    count = 20000
    base = t.path('replay.pcap')
    gen = json.loads(subprocess.check_output([PCAPGEN, '--out', base, '--count', str(count),
                                              '--files', '2', '--noise', '12', '--ipv6', '10',
                                              '--vlan', '10', '--flows', '300']))
    check(gen['noise'] and all(v > 0 for v in gen['noise'].values()), 'pcapgen wrote noise of every kind',
          json.dumps(gen['noise']))
    port = 'net_pcap0,rx_pcap=%s.0,rx_pcap=%s.1' % (base, base)
    # Memory for the whole replay: net_pcap sends as fast as the shard
    # polls, faster than the file output writes on a loaded machine, and
    # UDP past the memory limit is dropped by design (counted, tested
    # elsewhere). Here nothing may be lost.
    sl = start_or_skip(t, conf(service(t, Shards=2), dpdk_in(514, port, t, Mem_Buf_Limit='64M'),
                               file_out(t)))

    def seen():
        st = sl.stats()
        i = st['inputs']['syslog.0'] if st else {}
        rx = i.get('rx', {})
        return (i.get('records'), i.get('dropped'), i.get('oversize'), i.get('malformed'),
                rx.get('packets'), st['totals']['out'] if st else None)
    wait_stable(seen, 0.5, 60, 'the counters to settle', proc=sl)
    st = sl.stats()['inputs']['syslog.0']
    rx = st['rx']
    check_eq(rx['packets'], gen['frames'], 'every frame of both files received')
    drops = rx['drops']
    # fragments and truncated frames of syslog are pcapgen's noise: it
    # counts them apart from the datagrams it calls syslog
    check_eq({k: drops[k] for k in gen['noise']}, gen['noise'], 'each kind of noise counted under its reason')
    check_eq(rx['not_for_us'], gen['noise']['not_ip'] + gen['noise']['other_port'] + gen['noise']['not_udp'],
             'ARP, other ports and TCP counted as not for us')
    accounted = st['records'] + st['dropped'] + st['oversize'] + st['malformed']
    check_eq(accounted, count, 'every syslog datagram accounted for (records + dropped + oversize + '
             'malformed)')
    check_eq(st['dropped'] + st['malformed'] + st['oversize'], 0, 'none of them lost')
    check('polls' in rx and rx['idle_sleeps'] > 0, 'idle shards sleep (idle_sleeps counted)',
          'polls=%d idle_sleeps=%d' % (rx['polls'], rx['idle_sleeps']))
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    check_sequences(marks(lines), {0: list(range(count))}, 'every seq exactly once', ordered=False)


def test_source_address_key(t):
    need_dpdk()
    base = t.path('one.pcap')
    # datagrams 0..49 of each 100 are IPv6 (--ipv6 50), flow k % 4
    subprocess.check_output([PCAPGEN, '--out', base, '--count', '100', '--ipv6', '50', '--flows', '4'])
    sl = start_or_skip(t, conf(service(t, Shards=1), dpdk_in(514, 'net_pcap0,rx_pcap=' + base, t,
                                                   Source_Address_Key='src'),
                               file_out(t, fmt='json_lines')))
    sl.wait_stats(lambda st: st['totals']['out'] == 100, 30, 'the 100 datagrams delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = [json.loads(ln)[1] if ln.startswith(b'[') else json.loads(ln)
            for ln in read_lines(t.path('out.txt'))]
    srcs = sorted({r['src'] for r in recs})
    want = sorted(['udp://10.0.0.%d:%d' % (f, 10000 + f) for f in range(4)] +
                  ['udp://2001:db8::%s:%d' % ('%x' % f if f else '', 10000 + f) for f in range(4)])
    check_eq(srcs, want, 'Source_Address_Key: udp://ip:port of each flow, as the epoll path writes it')


def need_tap():
    need_dpdk()
    if not os.path.exists('/dev/net/tun'):
        skip('no /dev/net/tun: net_tap cannot create its interface')


def if_counter(ifname, what, ns=None):
    if ns:
        out = sh('ip', 'netns', 'exec', ns, 'cat', '/sys/class/net/%s/statistics/%s' % (ifname, what))
        return int(out.stdout)
    with open('/sys/class/net/%s/statistics/%s' % (ifname, what)) as f:
        return int(f.read())


def test_exception_port_tap(t):
    need_tap()
    count = 3000
    base = t.path('noise.pcap')
    gen = json.loads(subprocess.check_output([PCAPGEN, '--out', base, '--count', str(count),
                                              '--noise', '20', '--flows', '50']))
    nfu = gen['noise']['not_ip'] + gen['noise']['other_port'] + gen['noise']['not_udp']
    check(nfu > 0, 'pcapgen wrote ARP, other-port and TCP noise', json.dumps(gen['noise']))
    tap = 'slex%d' % (os.getpid() % 100000)
    sl = start_or_skip(t, conf(service(t, Shards=1),
                               dpdk_in(514, 'net_pcap0,rx_pcap=' + base, t, Mem_Buf_Limit='64M',
                                       Dpdk_Exception_Port='net_tap0,iface=' + tap),
                               file_out(t)))
    sl.wait_stats(lambda st: st['inputs']['syslog.0']['rx']['packets'] == gen['frames'], 30,
                  'every frame received')
    # The tap counts what DPDK wrote into it as received by the kernel.
    wait_for(lambda: if_counter(tap, 'rx_packets') == nfu, 10,
             'the tap interface to have received the %d frames not for sluice' % nfu, proc=sl)
    st = sl.wait_stats(lambda st: st['inputs']['syslog.0']['records'] == count, 30,
                       'every syslog datagram delivered')['inputs']['syslog.0']
    rx = st['rx']
    check_eq(rx['not_for_us'], nfu, 'ARP, other ports and TCP counted as not for us')
    check_eq((rx['to_kernel'], rx['to_kernel_dropped']), (nfu, 0), 'all of them sent to the kernel')
    check_eq(if_counter(tap, 'rx_packets'), nfu, 'the tap interface received exactly those')
    bad = sum(gen['noise'].values()) - nfu
    check_eq(sum(rx['drops'].values()) - rx['not_for_us'], bad,
             'bad frames (truncated, fragments, checksums) still dropped, not passed on')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_sequences(marks(read_lines(t.path('out.txt'))), {0: list(range(count))},
                    'every seq exactly once', ordered=False)
    check(not os.path.exists('/sys/class/net/' + tap), 'the tap interface is gone after stop')


PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# SO_NO_CHECK: UDP checksum 0 (none). A veth leaves it to be filled in by
# offload, and AF_PACKET hands the frame over before that happens.
s.setsockopt(socket.SOL_SOCKET, 11, 1)
s.settimeout(1)
s.connect((sys.argv[1], 9))
s.send(b'probe')
try:
    s.recv(16)
except ConnectionRefusedError:
    print('refused')
except socket.timeout:
    print('timeout')
"""


def test_exception_port_wire(t):
    """Both directions on a wire: the peer sends a datagram to port 9 of
    the address the kernel holds on the tap; the ARP exchange and the ICMP
    port-unreachable reply (seen by the peer as ECONNREFUSED) pass only
    through sluice's exception path."""
    if os.geteuid() != 0:
        skip('veth and netns need root')
    need_tap()
    net = Netns('pe')
    kns = net.ns + 'k'
    tap = net.host[:-1] + 't'
    try:
        # The host side keeps no address (the kernel must not answer on
        # the veth itself); the tap will, from a namespace of its own, with
        # the veth's MAC so the peer's unicast frames are its own.
        sh('ip', 'addr', 'flush', 'dev', net.host)
        sh('ip', 'netns', 'exec', net.ns, 'ip', 'neigh', 'del', net.host_ip, 'dev', net.peer)
        sh('ip', 'netns', 'add', kns)
        mac = open('/sys/class/net/%s/address' % net.host).read().strip()
        sl = start_or_skip(t, conf(service(t, Shards=1), ('INPUT', [
            ('Name', 'syslog'), ('Mode', 'udp'), ('Port', '5514'), ('Rx_Backend', 'dpdk'),
            ('Dpdk_Port', 'net_af_packet0,iface=%s,qpairs=1' % net.host),
            ('Dpdk_Exception_Port', 'net_tap0,iface=%s,mac=%s' % (tap, mac)),
            ('Dpdk_Eal_Args', eal_args(t))]), file_out(t)))
        sh('ip', 'link', 'set', tap, 'netns', kns)
        sh('ip', 'netns', 'exec', kns, 'ip', 'addr', 'add', net.host_ip + '/24', 'dev', tap)
        sh('ip', 'netns', 'exec', kns, 'ip', 'link', 'set', tap, 'up')
        out = ''
        for _ in range(10):  # until the tap is up in its namespace
            out = sh('ip', 'netns', 'exec', net.ns, sys.executable, '-c', PROBE, net.host_ip).stdout
            if 'refused' in out:
                break
        rx = sl.stats()['inputs']['syslog.0']['rx']
        check('refused' in out, 'the kernel behind the tap answered the peer (ICMP port unreachable)',
              out + json.dumps(rx))
        # How many ARP frames cross depends on who asks first (the kernel
        # behind the tap asks for the peer too); frames sent while the
        # tap was still down are to_kernel_dropped.
        # (Stats_File lags: wait for it.)
        sl.wait_stats(lambda st: st['inputs']['syslog.0']['rx']['to_kernel'] >= 1 and
                      st['inputs']['syslog.0']['rx']['from_kernel'] >= 1, 10,
                      'frames counted to the kernel through the tap and back out of the port')
        lg = send_from_ns(net, 5514, 1000, 20000)
        check_eq(lg['sent'], 1000, 'loadgen sent')
        sl.wait_stats(lambda st: st['inputs']['syslog.0']['records'] == 1000, 30,
                      'syslog still delivered next to the exception path')
        check_eq(sl.stop(), 0, 'sluice exits 0')
    finally:
        sh('ip', 'netns', 'del', kns, check_rc=False)
        net.close()


def start_fails(t, text, what, want):
    sl = t.sluice(text, wait=False)
    rc = sl.wait_exit(30)
    check(rc not in (None, 0), what + ': sluice refuses to start', 'exit %s' % rc)
    err = sl.stderr()
    check(all(w in err for w in want), what + ': the error says why', sl.stderr_tail(4))


def test_start_errors(t):
    start_fails(t, conf(service(t), syslog_in(5514, mode='tcp', Rx_Backend='dpdk',
                                              Dpdk_Port='net_null0'), file_out(t)),
                'Rx_Backend on Mode tcp', ['Rx_Backend', 'needs Mode udp'])
    start_fails(t, conf(service(t), syslog_in(5514, mode='udp', Rx_Backend='dpdk'), file_out(t)),
                'no Dpdk_Port', ['Dpdk_Port'])
    need_dpdk()
    start_fails(t, conf(service(t), dpdk_in(514, '0000:99:00.0', t), file_out(t)),
                'a PCI port that is not there', ["Dpdk_Port '0000:99:00.0'", 'no such port'])
    start_fails(t, conf(service(t), syslog_in(514, mode='udp', Rx_Backend='dpdk', Dpdk_Port='net_null0',
                                              Dpdk_Eal_Args='--no-such-eal-option'), file_out(t)),
                'bad EAL arguments', ['EAL init failed', '--no-such-eal-option'])


def sh(*cmd, check_rc=True):
    return subprocess.run(list(cmd), check=check_rc, capture_output=True, text=True)


class Netns:
    """A veth pair: `host` side in our namespace (10.77.<n>.1), `peer` in a
    namespace of its own (10.77.<n>.2), removed at exit."""

    def __init__(self, tag):
        n = os.getpid() % 200 + 20
        self.ns, self.host, self.peer = 'sl%s%d' % (tag, n), 'sl%s%dh' % (tag, n), 'sl%s%dp' % (tag, n)
        self.host_ip, self.peer_ip = '10.77.%d.1' % n, '10.77.%d.2' % n
        self.close()
        try:
            sh('ip', 'netns', 'add', self.ns)
            sh('ip', 'link', 'add', self.host, 'type', 'veth', 'peer', 'name', self.peer)
            sh('ip', 'link', 'set', self.peer, 'netns', self.ns)
            sh('ip', 'addr', 'add', self.host_ip + '/24', 'dev', self.host)
            sh('ip', 'link', 'set', self.host, 'up')
            sh('ip', 'netns', 'exec', self.ns, 'ip', 'addr', 'add', self.peer_ip + '/24', 'dev', self.peer)
            sh('ip', 'netns', 'exec', self.ns, 'ip', 'link', 'set', self.peer, 'up')
            sh('ip', 'netns', 'exec', self.ns, 'ip', 'link', 'set', 'lo', 'up')
            mac = open('/sys/class/net/%s/address' % self.host).read().strip()
            # The receiving side may not answer ARP (AF_XDP takes every frame).
            sh('ip', 'netns', 'exec', self.ns, 'ip', 'neigh', 'replace', self.host_ip, 'lladdr', mac,
               'dev', self.peer, 'nud', 'permanent')
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            self.close()
            skip('cannot create a veth pair in a network namespace: %s' %
                 (getattr(e, 'stderr', '') or e))

    def close(self):
        sh('ip', 'link', 'del', getattr(self, 'host', 'none'), check_rc=False)
        sh('ip', 'netns', 'del', getattr(self, 'ns', 'none'), check_rc=False)


def send_from_ns(net, port, count, rate):
    cmd = ['ip', 'netns', 'exec', net.ns, LOADGEN, '--host', net.host_ip, '--port', str(port),
           '--proto', 'udp', '--count', str(count), '--conns', '1', '--rate', str(rate), '--mark']
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def veth_test(t, tag, input_kv, shards, expect_log=None):
    net = Netns(tag)
    try:
        count = 5000
        sl = start_or_skip(t, conf(service(t, Shards=shards), ('INPUT', input_kv), file_out(t)))
        lg = send_from_ns(net, 5514, count, 20000)
        check_eq(lg['sent'], count, 'loadgen sent every datagram from the namespace')

        def seen():
            st = sl.stats()
            i = st['inputs']['syslog.0'] if st else {}
            return (i.get('records'), i.get('dropped'), i.get('rx', {}).get('packets'))
        wait_stable(seen, 0.5, 30, 'the counters to settle', proc=sl)
        st = sl.stats()['inputs']['syslog.0']
        check_eq(st['records'], count, 'every datagram received (rx: %s)' % json.dumps(st['rx']))
        check_eq(sl.stop(), 0, 'sluice exits 0')
        check_sequences(marks(read_lines(t.path('out.txt'))), {0: list(range(count))},
                        'every seq exactly once', ordered=False)
        if expect_log:
            line = next((ln for ln in sl.stderr().splitlines() if expect_log in ln), None)
            check(line is not None, 'the log says how it is bound', line or sl.stderr_tail(6))
    finally:
        net.close()


def test_af_packet_veth(t):
    if os.geteuid() != 0:
        skip('veth and netns need root')
    n = os.getpid() % 200 + 20
    host = 'slap%dh' % n
    need_dpdk()
    veth_test(t, 'ap', [('Name', 'syslog'), ('Mode', 'udp'), ('Port', '5514'),
                        ('Rx_Backend', 'dpdk'), ('Dpdk_Port', 'net_af_packet0,iface=%s,qpairs=2' % host),
                        ('Dpdk_Eal_Args', eal_args(t))], 2)


def test_af_xdp_veth(t):
    if os.geteuid() != 0:
        skip('veth, netns and AF_XDP need root')
    n = os.getpid() % 200 + 20
    host = 'slxd%dh' % n
    veth_test(t, 'xd', [('Name', 'syslog'), ('Mode', 'udp'), ('Port', '5514'),
                        ('Rx_Backend', 'af_xdp'), ('Xdp_Interface', host)], 1,
              expect_log='queue 0: bound in')


if __name__ == '__main__':
    main([test_pcap_two_queues_with_noise, test_source_address_key, test_start_errors,
          test_af_packet_veth, test_af_xdp_veth, test_exception_port_tap, test_exception_port_wire])
