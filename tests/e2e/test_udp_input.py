#!/usr/bin/env python3
"""test_udp_input.py — the `udp` input end to end (Fluent Bit's in_udp).

Epoll path (sockets on loopback):
- Format json from loadgen (20k datagrams at 20k/s, 2 sockets, one in 50
  malformed): every good one delivered exactly once, every bad one counted
  as malformed, nothing else lost.
- Several records in one datagram: one per line, pretty-printed, a bad one
  among them (counted, its neighbours delivered), a datagram of bad JSON
  alone (counted, the datagrams around it delivered).
- Format none: {"log": record}, default separator LF, "||" and "\\r\\n";
  the last record of a datagram needs no separator.
- Source_Address_Key: udp://ip:port of the sender.
- A datagram over Buffer_Size: counted as oversize, neighbours delivered.
- Bad configuration: sluice refuses to start naming file:line and the key.

Kernel-bypass receive (root only, else SKIPPED with the reason): JSON
datagrams of bench/pcap/pcapgen (with noise) replayed through DPDK's
net_pcap into the udp input; loadgen JSON over a veth pair into a network
namespace through net_af_packet (DPDK) and through AF_XDP. The set-up
helpers are test_dpdk_pcap.py's.
"""
import json
import os
import socket
import subprocess

from harness import (LOADGEN, SLUICE, check, check_eq, check_sequences, conf, file_out, free_port,
                     full_sequences, loadgen_conn_counts, main, marks, read_lines, run_loadgen,
                     service, skip, udp_kernel_drops, wait_for, wait_stable)
from test_dpdk_pcap import PCAPGEN, Netns, eal_args, need_dpdk, start_or_skip


def udp_in(port, fmt='json', **extra):
    kv = [('Name', 'udp'), ('Listen', '127.0.0.1'), ('Port', str(port)), ('Format', fmt)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def send(port, *datagrams):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    for d in datagrams:
        s.sendto(d, ('127.0.0.1', port))
    src = s.getsockname()[1]
    s.close()
    return src


def records(t, name='out.txt'):
    return [json.loads(x) for x in read_lines(t.path(name))]


def counters(sl, name):
    st = sl.stats()
    return st['inputs'][name] if st else {}


def test_json_loadgen_with_malformed(t):
    count, conns, every = 20000, 2, 50
    port = free_port()
    sl = t.sluice(conf(service(t), udp_in(port, Receive_Buffer_Size='4M'), file_out(t)))
    lg = run_loadgen(['--port', port, '--proto', 'udp', '--format', 'json', '--count', count,
                      '--conns', conns, '--rate', 20000, '--mark', '--malformed-every', every])
    check_eq(lg['sent'], count, 'loadgen sent every datagram')

    def seen():
        i = counters(sl, 'udp.0')
        return (i.get('records'), i.get('malformed'), i.get('dropped'), i.get('oversize'),
                udp_kernel_drops(port, sl.pid))
    wait_stable(seen, 0.5, 30, 'the counters to settle', proc=sl)
    rec, bad, dropped, oversize, kdrops = seen()
    want_bad = conns * (count // conns // every)
    check(rec == count - want_bad and bad == want_bad,
          'every good datagram a record, every malformed one counted',
          'records=%s malformed=%s (want %d and %d) dropped=%s oversize=%s kernel drops=%s' % (
              rec, bad, count - want_bad, want_bad, dropped, oversize, kdrops))
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    # loadgen's malformed events are its seq N-1, 2N-1, ... (1-based N, 2N)
    want = {c: [s for s in seqs if (s + 1) % every] for c, seqs in
            full_sequences(loadgen_conn_counts(count, conns)).items()}
    check_sequences(marks(lines), want, 'every good JSON datagram exactly once', ordered=False)
    rec0 = json.loads(lines[0])
    check(all(k in rec0 for k in ('time', 'host', 'app', 'level', 'msg')),
          'records hold the JSON object sent', lines[0][:200].decode())


def test_json_several_per_datagram(t):
    port = free_port()
    sl = t.sluice(conf(service(t), udp_in(port), file_out(t)))
    pretty = json.dumps({'i': 3, 'nested': {'list': [1, {'deep': '}{'}]}}, indent=2).encode()
    send(port,
         b'{"i":1}\n{"i":2}\n' + pretty + b'\n{"i": bad}\n{"i":4}\r\n{"i":5}',
         b'{"i":6}\n',
         b'{not json at all',
         b'\n\n{"i":7}\n\n',
         b'{"i":8}{"i":9}',
         b'{"i":10}')
    sl.wait_stats(lambda st: st['totals']['out'] >= 10 and st['inputs']['udp.0']['malformed'] >= 2,
                  15, 'all datagrams counted and delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = records(t)
    check_eq([r['i'] for r in got], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
             'records of a datagram in order: one per line, pretty-printed, CRLF, unterminated '
             'last, "{..}{..}" on one line a record each (as Fluent Bit\'s JSON tokenizer)')
    check_eq(got[2], {'i': 3, 'nested': {'list': [1, {'deep': '}{'}]}}, 'a pretty-printed object whole')
    i = sl.stats()['inputs']['udp.0']
    check_eq((i['records'], i['malformed']), (10, 2),
             'bad JSON counted as malformed: a bad line in a datagram, a bad datagram; the '
             'neighbours delivered')


def test_format_none_separators(t):
    p1, p2, p3 = free_port(), free_port(), free_port()
    sl = t.sluice(conf(service(t),
                       udp_in(p1, fmt='none', Tag='lf'),
                       udp_in(p2, fmt='none', Separator='||', Tag='pipes'),
                       udp_in(p3, fmt='none', Separator='\\r\\n', Tag='crlf'),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir),
                                   ('Format', 'plain')])))
    send(p1, b'plain line\n{"not":"parsed"}\n  spaces kept  \nlast, no LF', b'one alone\n')
    send(p2, b'a||b c||||d\ne||tail')
    send(p3, b'one\r\ntwo\nstill two\r\nthree\r\n')
    sl.wait_stats(lambda st: st['totals']['out'] >= 5 + 4 + 3, 15, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')

    def logs(tag):
        return [json.loads(x) for x in read_lines(t.path(tag))]
    check_eq(logs('lf'), [{'log': 'plain line'}, {'log': '{"not":"parsed"}'},
                          {'log': '  spaces kept  '}, {'log': 'last, no LF'}, {'log': 'one alone'}],
             'Format none: {"log": record}, JSON left as text, the last record needs no LF')
    check_eq([r['log'] for r in logs('pipes')], ['a', 'b c', 'd\ne', 'tail'],
             'Separator "||": cut at each "||", the empty record skipped, LF kept inside a record')
    check_eq([r['log'] for r in logs('crlf')], ['one', 'two\nstill two', 'three'],
             'Separator "\\r\\n": a bare LF stays inside the record')


def test_source_address_key(t):
    port = free_port()
    sl = t.sluice(conf(service(t), udp_in(port, Source_Address_Key='src'), file_out(t)))
    a = send(port, b'{"k":1}\n{"k":2}')
    b = send(port, b'{"k":3}')
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 3, 15, 'three records', proc=sl)
    # two senders, two flows: SO_REUSEPORT may give them to different
    # shards, so only each sender's own order holds
    check_eq(sorted(records(t), key=lambda r: r['k']), [{'k': 1, 'src': 'udp://127.0.0.1:%d' % a},
                          {'k': 2, 'src': 'udp://127.0.0.1:%d' % a},
                          {'k': 3, 'src': 'udp://127.0.0.1:%d' % b}],
             'Source_Address_Key: udp://ip:port of each sender, last key, on every record of a datagram')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_oversize_datagram(t):
    port = free_port()
    sl = t.sluice(conf(service(t), udp_in(port, fmt='none', Buffer_Size=1), file_out(t)))
    send(port, b'before', b'x' * 1500, b'after\n' + b'y' * 1000)
    sl.wait_stats(lambda st: st['totals']['out'] >= 3 and st['inputs']['udp.0']['oversize'] >= 1,
                  15, 'all datagrams counted and delivered')
    check_eq([r['log'] for r in records(t)], ['before', 'after', 'y' * 1000],
             'a datagram over Buffer_Size (1 KiB) skipped, its neighbours delivered')
    check_eq(sl.stats()['inputs']['udp.0']['oversize'], 1, 'and counted as oversize')
    check_eq(sl.stop(), 0, 'sluice exits 0')


OUT = '[OUTPUT]\n    Name  null\n    Match *\n'
# (what, lines after "[INPUT]\n    Name udp\n", line of the error, words the message must hold)
BAD = [
    ('Format xml', '    Format xml\n', 3, ['Format', 'xml']),
    ('Separator with an unknown escape', '    Format none\n    Separator \\q\n', 4, ['Separator']),
    ('Separator too long', '    Format none\n    Separator %s\n' % ('-' * 17), 4, ['Separator']),
    ('Port 0', '    Port 0\n', 3, ['Port']),
    ('Buffer_Size lots', '    Buffer_Size lots\n', 3, ['Buffer_Size', 'lots']),
    ('Rx_Backend dpdk without Dpdk_Port', '    Port 5999\n    Rx_Backend dpdk\n', 4,
     ['Rx_Backend', 'Dpdk_Port']),
    ('Rx_Backend af_xdp without Xdp_Interface', '    Rx_Backend af_xdp\n', 3,
     ['Rx_Backend', 'Xdp_Interface']),
    ('Rx_Backend quic', '    Rx_Backend quic\n', 3, ['Rx_Backend', 'quic']),
    ('unknown key', '    Mode udp\n', 3, ['unknown key', 'Mode']),
]


def test_config_errors(t):
    wrong = []
    for i, (what, body, line, words) in enumerate(BAD):
        path = t.path('bad%d.conf' % i)
        with open(path, 'w') as f:
            f.write('[INPUT]\n    Name udp\n' + body + OUT)
        p = subprocess.run([SLUICE, '-c', path], capture_output=True,
                           text=True, timeout=30, cwd=t.dir)
        out = p.stdout + p.stderr
        ok = p.returncode not in (0, None) and '%s:%d:' % (path, line) in out and \
            all(w in out for w in words) and 'started:' not in out
        print('  %s %-40s -> rc=%d %s' % ('ok  ' if ok else 'BAD ', what, p.returncode, out.strip()))
        if not ok:
            wrong.append('%s: want "%s:%d:" with %s' % (what, os.path.basename(path), line, words))
    check(not wrong, 'every bad udp config: sluice refuses to start, naming file:line and the key',
          '\n    ' + '\n    '.join(wrong) if wrong else '%d configs' % len(BAD))


# ---- kernel-bypass receive (root) ----------------------------------------

def test_dpdk_pcap_json(t):
    need_dpdk()
    count = 5000
    base = t.path('json.pcap')
    gen = json.loads(subprocess.check_output([PCAPGEN, '--out', base, '--count', str(count),
                                              '--files', '2', '--format', 'json', '--port', '5170',
                                              '--noise', '10', '--ipv6', '10', '--vlan', '10',
                                              '--flows', '64']))
    port = 'net_pcap0,rx_pcap=%s.0,rx_pcap=%s.1' % (base, base)
    sl = start_or_skip(t, conf(service(t, Shards=2),
                               ('INPUT', [('Name', 'udp'), ('Port', '5170'), ('Rx_Backend', 'dpdk'),
                                          ('Dpdk_Port', port), ('Dpdk_Eal_Args', eal_args(t)),
                                          ('Source_Address_Key', 'src'), ('Mem_Buf_Limit', '64M')]),
                               file_out(t)))

    def seen():
        i = counters(sl, 'udp.0')
        return (i.get('records'), i.get('dropped'), i.get('malformed'), i.get('rx', {}).get('packets'))
    wait_stable(seen, 0.5, 60, 'the counters to settle', proc=sl)
    i = counters(sl, 'udp.0')
    check_eq(i['rx']['packets'], gen['frames'], 'every frame of both files received')
    check_eq((i['records'], i['dropped'], i['malformed'], i['oversize']), (count, 0, 0, 0),
             'every JSON datagram a record (noise counted apart: %s)' % json.dumps(i['rx']['drops']))
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    lines = read_lines(t.path('out.txt'))
    check_sequences(marks(lines), {0: list(range(count))}, 'every seq exactly once', ordered=False)
    r = json.loads(lines[0])
    check('msg' in r and r['src'].startswith('udp://'), 'JSON fields and Source_Address_Key',
          lines[0][:200].decode())


def veth_json(t, tag, rx_kv, shards, expect_log=None):
    if os.geteuid() != 0:
        skip('veth, netns and kernel-bypass receive need root')
    net = Netns(tag)
    try:
        count = 3000
        sl = start_or_skip(t, conf(service(t, Shards=shards),
                                   ('INPUT', [('Name', 'udp'), ('Port', '5170'), ('Format', 'none')] +
                                    rx_kv(net)),
                                   file_out(t)))
        # Format none over loadgen's JSON: every line a {"log": ...} record
        cmd = ['ip', 'netns', 'exec', net.ns, LOADGEN, '--host', net.host_ip, '--port', '5170',
               '--proto', 'udp', '--format', 'json', '--count', str(count), '--conns', '1',
               '--rate', '20000', '--mark']
        lg = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True,
                                       timeout=120).stdout.strip().splitlines()[-1])
        check_eq(lg['sent'], count, 'loadgen sent every datagram from the namespace')

        def seen():
            i = counters(sl, 'udp.0')
            return (i.get('records'), i.get('dropped'), i.get('rx', {}).get('packets'))
        wait_stable(seen, 0.5, 30, 'the counters to settle', proc=sl)
        i = counters(sl, 'udp.0')
        check_eq(i['records'], count, 'every datagram received (rx: %s)' % json.dumps(i['rx']))
        check_eq(sl.stop(), 0, 'sluice exits 0')
        lines = read_lines(t.path('out.txt'))
        check_sequences(marks(lines), {0: list(range(count))}, 'every seq exactly once', ordered=False)
        check('msg' in json.loads(json.loads(lines[0])['log']), 'Format none: the line under "log"',
              lines[0][:200].decode())
        if expect_log:
            ln = next((x for x in sl.stderr().splitlines() if expect_log in x), None)
            check(ln is not None, 'the log says how it is bound', ln or sl.stderr_tail(6))
    finally:
        net.close()


def test_af_packet_veth(t):
    need_dpdk()
    veth_json(t, 'ua', lambda net: [('Rx_Backend', 'dpdk'),
                                    ('Dpdk_Port', 'net_af_packet0,iface=%s,qpairs=2' % net.host),
                                    ('Dpdk_Eal_Args', eal_args(t))], 2)


def test_af_xdp_veth(t):
    veth_json(t, 'ux', lambda net: [('Rx_Backend', 'af_xdp'), ('Xdp_Interface', net.host)], 1,
              expect_log='queue 0: bound in')


if __name__ == '__main__':
    main([test_json_loadgen_with_malformed, test_json_several_per_datagram,
          test_format_none_separators, test_source_address_key, test_oversize_datagram,
          test_config_errors, test_dpdk_pcap_json, test_af_packet_veth, test_af_xdp_veth])
