#!/usr/bin/env python3
"""pcap_bench.py — the DPDK receive path against the epoll UDP path, in one run.

DPDK: pcapgen writes N RFC 5424 datagrams (many flows) to one pcap; sluice
replays it through net_pcap with infinite_rx=1 (the PMD loads the file into
mbufs once and loops over it) into syslog parse -> null, with one shard.
For --seconds the script samples the records counter and the process's CPU
time (all threads: the polling shard, the null worker, the control thread)
and reports events/s (per shard: one shard) and events per CPU-second.

epoll: bench/e2e/sluice_bench.py syslog-udp-5424 with --shards 1, loadgen
as the sender over loopback; its JSON line is passed through.

Prints one JSON line per path, then {"ratio_eps": dpdk/epoll}. Root only
(DPDK on vdevs). Usage: bench/pcap/run.sh [--seconds 5] [--count 2000000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLK_TCK = os.sysconf('SC_CLK_TCK')


def cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])


def thread_ticks(pid):
    """CPU ticks of each thread, by thread name and id."""
    out = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                head, rest = f.read().rsplit(')', 1)
            fields = rest.split()
            out[(head.split('(', 1)[1], tid)] = int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def stats(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def events(inp, args):
    # --rx-only: Port 515, every datagram is other_port: the PMD and the
    # header checks alone, no syslog parse, no chunk.
    return inp['rx']['packets'] if args.rx_only else inp['records']


def dpdk_run(args, d):
    pcap = os.path.join(d, 'replay.pcap')
    gen = json.loads(subprocess.check_output([args.pcapgen, '--out', pcap, '--count', str(args.frames),
                                              '--flows', '1024', '--format', 'rfc5424']))
    stats_path = os.path.join(d, 'stats.json')
    conf = """[SERVICE]
    Flush 0.05
    Shards 1
    Stats_File %s
    Stats_Interval 0.2
[INPUT]
    Name syslog
    Mode udp
    Port %d
    Rx_Backend dpdk
    Dpdk_Port net_pcap0,rx_pcap=%s,infinite_rx=1
    Dpdk_Mbufs %d
    Dpdk_Eal_Args %s --no-pci --no-shconf -m %d -l 0 --no-telemetry --log-level=*:warning --file-prefix=slbench%d
[OUTPUT]
    Name null
    Match *
""" % (stats_path, 515 if args.rx_only else 514, pcap, args.frames * 2 + 4096,
       '--in-memory' if args.huge else '--no-huge', 512 if args.huge else 1024, os.getpid())
    cpath = os.path.join(d, 'sluice.conf')
    with open(cpath, 'w') as f:
        f.write(conf)
    err = open(os.path.join(d, 'sluice.stderr'), 'w')
    p = subprocess.Popen((args.wrap.split() if args.wrap else []) + [args.sluice, '-c', cpath],
                         stderr=err, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + (300 if args.wrap else 30)
        while time.monotonic() < deadline:
            st = stats(stats_path)
            if st and events(st['inputs']['syslog.0'], args) > 0:
                break
            if p.poll() is not None:
                raise SystemExit('sluice exited: ' + open(err.name).read()[-2000:])
            time.sleep(0.05)
        time.sleep(0.5)  # past start-up
        perf = None
        if args.perf:
            # Profile the measured window only (perf report -i the file).
            perf = subprocess.Popen(['perf', 'record', '-g', '-o', args.perf, '-p', str(p.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        st0, c0, t0 = stats(stats_path), cpu_ticks(p.pid), time.monotonic()
        th0 = thread_ticks(p.pid)
        time.sleep(args.seconds)
        if perf:
            perf.send_signal(2)
            perf.wait(60)
        st1, c1, t1 = stats(stats_path), cpu_ticks(p.pid), time.monotonic()
        th1 = thread_ticks(p.pid)
    finally:
        p.terminate()
        p.wait(300 if args.wrap else 30)
    i0, i1 = st0['inputs']['syslog.0'], st1['inputs']['syslog.0']
    # Stats_File is written every 0.2 s: use its own uptime as the clock
    secs = st1['uptime_s'] - st0['uptime_s']
    ev = events(i1, args) - events(i0, args)
    cpu = (c1 - c0) / CLK_TCK * (secs / (t1 - t0))
    # The shard thread polls without pause: its CPU time is the share of a
    # core it got. Events per shard-thread CPU-second is what one shard
    # does with a core of its own (the null worker excluded).
    shard_cpu = max(th1[k] - th0.get(k, 0) for k in th1) / CLK_TCK * (secs / (t1 - t0))
    return {'path': 'dpdk-net_pcap-infinite_rx' + ('-rx-only' if args.rx_only else ''), 'shards': 1, 'frames_in_pcap': gen['frames'],
            'seconds': round(secs, 3), 'events': ev, 'eps': round(ev / secs),
            'eps_per_shard': round(ev / secs), 'cpu_s': round(cpu, 3),
            'eps_per_cpu_s': round(ev / cpu) if cpu else None,
            'shard_cpu_s': round(shard_cpu, 3),
            'eps_per_shard_cpu_s': round(ev / shard_cpu) if shard_cpu else None,
            'malformed': i1['malformed'] - i0['malformed'], 'dropped': i1['dropped'] - i0['dropped'],
            'rx': i1.get('rx')}


def epoll_run(args):
    out = subprocess.run([sys.executable, os.path.join(REPO, 'bench', 'e2e', 'sluice_bench.py'),
                          '--sluice', args.sluice, '--loadgen', args.loadgen, '--shards', '1',
                          '--count', str(args.count), 'syslog-udp-5424'],
                         capture_output=True, text=True, timeout=600)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith('{')]
    if not line:
        raise SystemExit('sluice_bench failed: ' + out.stderr[-2000:])
    r = json.loads(line[-1])
    r['path'] = 'epoll-udp-loadgen'
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--sluice', default=os.path.join(REPO, 'build', 'sluice'))
    ap.add_argument('--loadgen', default=os.path.join(REPO, 'build', 'bench', 'loadgen', 'loadgen'))
    ap.add_argument('--pcapgen', default=os.path.join(REPO, 'build', 'bench', 'pcap', 'pcapgen'))
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--frames', type=int, default=20000, help='datagrams in the replayed pcap')
    ap.add_argument('--count', type=int, default=1000000, help='events loadgen sends (epoll path)')
    ap.add_argument('--wrap', help='run sluice under this command, e.g. "valgrind --tool=callgrind '
                    '--callgrind-out-file=/tmp/cg.out" (instructions per event: Ir of dpdk_poll / calls of '
                    'the syslog parser in callgrind_annotate --inclusive=yes)')
    ap.add_argument('--rx-only', action='store_true',
                    help='DPDK run with Port 515: frames received, checked and dropped as other_port '
                    '(the PMD\'s own cost plus the header checks); implies --dpdk-only')
    ap.add_argument('--huge', action='store_true',
                    help='DPDK memory in 2 MiB hugepages (--in-memory -m 512: reserve 300+ pages first, '
                    'e.g. echo 300 > /proc/sys/vm/nr_hugepages) instead of --no-huge 4 KiB pages')
    ap.add_argument('--dpdk-only', action='store_true', help='skip the epoll comparison')
    ap.add_argument('--perf', metavar='FILE', help='perf record -g the DPDK run\'s measured window into FILE')
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('pcap_bench: DPDK on vdevs needs root')
    with tempfile.TemporaryDirectory(prefix='sluice-pcap-bench-') as d:
        a = dpdk_run(args, d)
    print(json.dumps(a), flush=True)
    if args.dpdk_only or args.rx_only:
        return
    b = epoll_run(args)
    print(json.dumps(b), flush=True)
    print(json.dumps({'ratio_eps': round(a['eps'] / b['eps'], 2) if b.get('eps') else None,
                      'ratio_eps_per_cpu_s': round(a['eps_per_cpu_s'] / b['eps_per_cpu_s'], 2)
                      if b.get('eps_per_cpu_s') and a.get('eps_per_cpu_s') else None}))


if __name__ == '__main__':
    main()
