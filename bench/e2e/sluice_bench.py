#!/usr/bin/env python3
"""sluice_bench.py — end-to-end benchmarks: the real sluice binary, real
sockets on loopback, bench/loadgen as the sender. Prints one JSON line per
scenario on stdout (progress and errors go to stderr).

For each scenario: write a config into a temp dir (with Stats_File), start
sluice, wait (with a deadline) until its ports are bound and it has written
its first stats file, sample its CPU time, run loadgen, poll the stats file
until every event has come out (TCP) or the counters stop moving (UDP),
sample its CPU time again at the moment the last event was counted, read
its peak RSS, SIGTERM it (its own PID only) and report.

With --scrape SECONDS the HTTP server is on (HTTP_Server, loopback, a
free port) and a thread of this script GETs /api/v2/metrics/prometheus
every SECONDS during the run, as Prometheus would: compare events per
CPU-second with and without to see what scraping under full load costs.
The result then has "scrape": {count, errors, bytes, avg_ms, max_ms}.

Python 3 standard library only. See README.md for the scenarios.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
CLK_TCK = os.sysconf('SC_CLK_TCK')

# scenario -> (input plugin, transport, Parser, loadgen --format)
SCENARIOS = {
    'syslog-tcp-5424': ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # syslog-tcp-5424 over TLS (tls on, tls.verify off): RFC 5425 with
    # --octet-counting; loadgen --tls sends (C, OpenSSL, 256 KiB writes)
    'syslog-tcp-tls':  ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    'syslog-tcp-3164': ('syslog', 'tcp', 'syslog-rfc3164', 'rfc3164'),
    'syslog-udp-5424': ('syslog', 'udp', 'syslog-rfc5424', 'rfc5424'),
    'json-tcp':        ('tcp',    'tcp', None,             'json'),
    # + grep keeping the ERROR events (20% of loadgen's mix)
    'syslog-tcp-grep': ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # + SQL: 1 s tumbling window GROUP BY ident / app
    'syslog-tcp-sql':  ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    'json-tcp-sql':    ('tcp',    'tcp', None,             'json'),
    'default-config':  None,      # conf/sluice.conf as shipped
    # kafka output against librdkafka's mock cluster (tests/kafka/mock_cluster)
    'syslog-tcp-kafka':        ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    'syslog-tcp-kafka-encode': ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # the udp input (Format json, its default): JSON datagrams over recvmmsg
    'json-udp':        ('udp',    'udp', None,             'json'),
    # the file output (json_lines into the temp dir), chunks buffered in
    # memory, then also in the filesystem store (docs/STORAGE.md) with
    # storage.sync normal and full: what the store costs
    'syslog-tcp-file':         ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    'syslog-tcp-file-fs':      ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    'syslog-tcp-file-fs-full': ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # the same store in front of the null output: the store's own cost
    'syslog-tcp-5424-fs':      ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    'syslog-tcp-5424-fs-full': ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # the http output (Format json, one request per burst) against
    # bench/e2e/http_sink.py, a local server that answers 200 and discards
    'syslog-tcp-http':         ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # the opensearch output (bulk API, NDJSON) against the same sink, which
    # answers every _bulk request "errors": false
    'syslog-tcp-opensearch':   ('syslog', 'tcp', 'syslog-rfc5424', 'rfc5424'),
    # the tail input reading a pre-written file of --count lines (~130
    # bytes, syslog-like text) to null: the file is renamed into the
    # followed directory when the measurement starts (inotify finds it)
    'tail-null':       ('tail',   'file', None,            'text'),
    # the same with Kubernetes' per-file tags (Tag kube.*: a tag per file)
    'tail-null-kube':  ('tail',   'file', None,            'text'),
    # the same file to the http output (Format json) and the local sink
    'tail-http':       ('tail',   'file', None,            'text'),
}

# scenario -> storage.sync of its filesystem store
STORE = {'syslog-tcp-file-fs': 'normal', 'syslog-tcp-file-fs-full': 'full',
         'syslog-tcp-5424-fs': 'normal', 'syslog-tcp-5424-fs-full': 'full'}
FILE_OUT = ('syslog-tcp-file', 'syslog-tcp-file-fs', 'syslog-tcp-file-fs-full')

# Output of the kafka scenarios. Both keyed by host (murmur2 partition),
# lz4. The first waits for acks=all from an idempotent producer: a record
# counts once the mock brokers acknowledged it. encode-only measures
# sluice's own cost apart from the broker's round trips: acks=0 (a record
# counts once written to the socket), no idempotence.
KAFKA_OUT = {
    'syslog-tcp-kafka': [('rdkafka.acks', 'all')],
    'syslog-tcp-kafka-encode': [('rdkafka.acks', '0'), ('rdkafka.enable.idempotence', 'false')],
}

# scenario -> the Streams_File ([STREAM_TASK] sections)
STREAMS = {
    'syslog-tcp-sql': ("[STREAM_TASK]\n    Name per_ident\n    Exec CREATE STREAM per_ident WITH "
                       "(tag='sql.out') AS SELECT ident, COUNT(*) AS n FROM TAG:'*' "
                       "WINDOW TUMBLING (1 SECOND) GROUP BY ident;\n"),
    'json-tcp-sql': ("[STREAM_TASK]\n    Name per_app\n    Exec CREATE STREAM per_app WITH "
                     "(tag='sql.out') AS SELECT app, COUNT(*) AS n, AVG(pid) AS p FROM TAG:'*' "
                     "WINDOW TUMBLING (1 SECOND) GROUP BY app;\n"),
}

# scenarios whose input is tls on, with a certificate made in the temp dir
TLS = ('syslog-tcp-tls',)


def tls_rows(tmp):
    """The tls.* rows of a server with a fresh self-signed EC certificate
    (openssl req), and no client verification: the sender is ours."""
    crt, key = os.path.join(tmp, 'server.crt'), os.path.join(tmp, 'server.key')
    r = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', crt,
                        '-days', '2', '-subj', '/CN=localhost'], capture_output=True, text=True)
    if r.returncode:
        raise BenchError('openssl req: ' + r.stderr.strip())
    return ('    tls on\n    tls.verify off\n    tls.crt_file %s\n    tls.key_file %s\n'
            % (crt, key))


# scenario -> [FILTER] sections between input and output
FILTERS = {
    'syslog-tcp-grep': '[FILTER]\n    Name  grep\n    Match *\n    Regex message ERROR\n',
}


class BenchError(Exception):
    pass


def log(msg):
    print('sluice_bench: ' + msg, file=sys.stderr, flush=True)


# ---- the process under test, through /proc ------------------------------

def cpu_ticks(pid):
    """(utime, stime) of the whole process (all threads), in clock ticks."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]), int(fields[12]))


def rdk_ticks(pid):
    """utime+stime of librdkafka's own threads (named rdk:*) in sluice:
    the share of the kafka scenarios' CPU that is the client library's
    (compression, request building, network), not sluice's."""
    total = 0
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index('(') + 1:st.rindex(')')]
        if comm.startswith('rdk:'):
            f = st[st.rindex(')') + 2:].split()
            total += int(f[11]) + int(f[12])
    return total


def proc_status_kb(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return None


def port_bound(port, proto):
    """True when some socket is bound to the port: a TCP listener (state 0A)
    or a UDP socket (state 07), IPv4 or IPv6."""
    want = '0A' if proto == 'tcp' else '07'
    for name in (proto, proto + '6'):
        try:
            with open('/proc/net/' + name) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if int(cols[1].rsplit(':', 1)[1], 16) == port and cols[3] == want:
                        return True
        except FileNotFoundError:
            pass
    return False


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (racy, good enough)."""
    for _ in range(50):
        t = socket.socket()
        t.bind(('127.0.0.1', 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise BenchError('no free port')


# ---- the stats file sluice rewrites every Stats_Interval -----------------

def read_stats(path):
    """(in, out, malformed, dropped, raw) or None while there is no file.
    sluice writes a temp file and renames it, so a read is never torn."""
    try:
        with open(path) as f:
            st = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    tot = st.get('totals') or {}

    def total(key, section, field):
        if key in tot:
            return int(tot[key])
        return sum(int(v.get(field, 0)) for v in (st.get(section) or {}).values())
    return (total('in', 'inputs', 'records'), total('out', 'outputs', 'records'),
            total('malformed', 'inputs', 'malformed'),
            total('dropped', 'inputs', 'dropped'), st)


def filtered(st):
    """Records the filters removed (they are never delivered)."""
    return sum(int(v.get('filtered', 0)) for v in (st[4].get('inputs') or {}).values())


# ---- configurations ------------------------------------------------------

def service_section(args, stats):
    return ('[SERVICE]\n'
            '    Flush          %s\n'
            '    Grace          5\n'
            '    Log_Level      info\n'
            '    Shards         %d\n'
            '    Stats_File     %s\n'
            '    Stats_Interval %s\n\n') % (args.flush, args.shards, stats, args.stats_interval)


def tail_config(name, args, tmp):
    """tail-null(-kube), tail-http: the lines written now, outside the followed
    directory; measure() renames the file into it."""
    logs = os.path.join(tmp, 'logs')
    os.mkdir(logs)
    src = os.path.join(tmp, 'pre.log')
    with open(src, 'w') as f:
        chunk = []
        for i in range(args.count):
            chunk.append('2026-12-04T06:00:00.%03dZ host%02d app[%d]: request %d served in %d ms '
                         'status=200 path=/api/v1/items/%d user=u%04d\n'
                         % (i % 1000, i % 50, 1000 + i % 300, i, i % 97, i % 5000, i % 7919))
            if len(chunk) == 10000:
                f.write(''.join(chunk))
                chunk = []
        f.write(''.join(chunk))
    conf = service_section(args, os.path.join(tmp, 'stats.json'))
    conf += ('[INPUT]\n    Name tail\n    Path %s/*.log\n    Read_from_Head on\n'
             '    Refresh_Interval 1\n' % logs)
    conf += '    Tag kube.*\n\n' if name == 'tail-null-kube' else '\n'
    if name == 'tail-http':
        conf += ('[OUTPUT]\n    Name   http\n    Match  *\n    Host   127.0.0.1\n    Port   %d\n'
                 '    URI    /bench\n    Format json\n') % args.http_port
    else:
        conf += '[OUTPUT]\n    Name   null\n    Match  *\n'
    load = {'proto': 'file', 'src': src, 'dst': os.path.join(logs, 'app.log'),
            'count': args.count}
    return conf, [load], subprocess.DEVNULL


def scenario_config(name, args, tmp):
    """(config text, loads, stdout target) for a synthetic scenario."""
    plugin, transport, parser, fmt = SCENARIOS[name]
    if transport == 'file':
        return tail_config(name, args, tmp)
    port = free_port()
    conf = service_section(args, os.path.join(tmp, 'stats.json'))
    if name in STORE:
        conf = conf.replace('[SERVICE]\n', '[SERVICE]\n    storage.path %s\n    storage.sync %s\n' %
                            (os.path.join(tmp, 'store'), STORE[name]), 1)
    if name in STREAMS:
        path = os.path.join(tmp, 'streams.conf')
        with open(path, 'w') as f:
            f.write(STREAMS[name])
        conf = conf.replace('[SERVICE]\n', '[SERVICE]\n    Streams_File   %s\n' % path, 1)
    conf += '[INPUT]\n    Name   %s\n' % plugin
    if plugin == 'syslog':
        conf += '    Mode   %s\n' % transport
    conf += '    Listen 127.0.0.1\n    Port   %d\n' % port
    if parser:
        conf += '    Parser %s\n' % parser
    if plugin == 'tcp':
        conf += '    Format json\n'
    if name in STORE:
        conf += '    storage.type filesystem\n'
    if name in TLS:
        conf += tls_rows(tmp)
    if transport == 'udp':
        # what a UDP deployment sets; the kernel caps it at net.core.rmem_max
        conf += '    Receive_Buffer_Size 8M\n'
    if name in FILTERS:
        conf += '\n' + FILTERS[name]
    if name in KAFKA_OUT:
        conf += ('\n[OUTPUT]\n    Name   kafka\n    Match  *\n    Brokers %s\n    Topics bench\n'
                 '    Message_Key_Field host\n    rdkafka.compression.codec lz4\n'
                 '    rdkafka.linger.ms 5\n') % args.bootstrap
        conf += ''.join('    %s %s\n' % kv for kv in KAFKA_OUT[name])
    elif name == 'syslog-tcp-http':
        conf += ('\n[OUTPUT]\n    Name   http\n    Match  *\n    Host   127.0.0.1\n    Port   %d\n'
                 '    URI    /bench\n    Format json\n') % args.http_port
    elif name == 'syslog-tcp-opensearch':
        conf += ('\n[OUTPUT]\n    Name   opensearch\n    Match  *\n    Host   127.0.0.1\n    Port   %d\n'
                 '    Index  bench\n    Suppress_Type_Name On\n') % args.http_port
    elif name in FILE_OUT:
        conf += ('\n[OUTPUT]\n    Name   file\n    Match  *\n    Path   %s\n    File   out.txt\n'
                 '    Format json_lines\n') % tmp
    else:
        conf += '\n[OUTPUT]\n    Name   null\n    Match  *\n'
    load = {'proto': transport, 'format': fmt, 'port': port, 'count': args.count,
            'tls': name in TLS}
    return conf, [load], subprocess.DEVNULL


PATH_KEYS = ('parsers_file', 'plugins_file', 'streams_file', 'log_file', '@include')


def parse_classic(text):
    """[(section name, {key: value})] of a Fluent Bit classic config; enough
    to find the inputs of conf/sluice.conf."""
    sections = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith('#'):
            continue
        m = re.match(r'^\[(\w+)\]$', s)
        if m:
            sections.append((m.group(1).upper(), {}))
        elif sections and not s.startswith('@'):
            kv = s.split(None, 1)
            sections[-1][1][kv[0].lower()] = kv[1].strip() if len(kv) > 1 else ''
    return sections


def default_config(args, tmp):
    """conf/sluice.conf with Stats_File added to [SERVICE] and relative paths
    made absolute; TCP load on each of its TCP inputs (UDP inputs are left
    idle so that every sent event must arrive)."""
    path = os.path.abspath(args.config)
    try:
        text = open(path).read()
    except OSError as e:
        raise BenchError('cannot read %s: %s' % (path, e.strerror))
    base = os.path.dirname(path)
    out, seen_service = [], False
    for line in text.splitlines():
        s = line.strip()
        key = s.split(None, 1)[0].lower() if s else ''
        if key in ('stats_file', 'stats_interval'):
            continue
        if key in PATH_KEYS and len(s.split(None, 1)) == 2:
            val = s.split(None, 1)[1].strip()
            if not os.path.isabs(val):
                line = line.replace(val, os.path.join(base, val), 1)
        out.append(line)
        if s.upper() == '[SERVICE]':
            seen_service = True
            out.append('    Stats_File     %s' % os.path.join(tmp, 'stats.json'))
            out.append('    Stats_Interval %s' % args.stats_interval)
    conf = '\n'.join(out) + '\n'
    if not seen_service:
        conf = service_section(args, os.path.join(tmp, 'stats.json')) + conf

    loads = []
    for sec, kv in parse_classic(text):
        if sec != 'INPUT':
            continue
        name = kv.get('name', '').lower()
        if name == 'syslog' and kv.get('mode', 'unix_udp').lower() == 'tcp':
            fmt = 'rfc3164' if '3164' in kv.get('parser', '') else 'rfc5424'
            loads.append({'proto': 'tcp', 'format': fmt, 'port': int(kv.get('port', 5140))})
        elif name == 'tcp' and kv.get('format', 'json').lower() == 'json':
            loads.append({'proto': 'tcp', 'format': 'json', 'port': int(kv.get('port', 5170))})
    if not loads:
        raise BenchError('%s has no TCP syslog or JSON input to load' % path)
    for i, l in enumerate(loads):
        l['count'] = args.count // len(loads) + (i < args.count % len(loads))
        if port_bound(l['port'], 'tcp'):
            raise BenchError('port %d (from %s) is already in use' % (l['port'], path))
    return conf, loads, subprocess.DEVNULL


# ---- one run -------------------------------------------------------------

def wait_until(cond, deadline, what, sluice):
    while not cond():
        if sluice.poll() is not None:
            raise BenchError('sluice exited with %d while waiting for %s' % (sluice.returncode, what))
        if time.monotonic() > deadline:
            raise BenchError('timed out waiting for %s' % what)
        time.sleep(0.01)


def loadgen_cmd(args, load, nloads):
    cmd = [args.loadgen, '--host', '127.0.0.1', '--port', str(load['port']),
           '--proto', load['proto'], '--format', load['format'],
           '--count', str(load['count']), '--conns', str(args.conns),
           '--rate', str(args.rate // nloads)]
    if args.sd and load['format'] == 'rfc5424':
        cmd.append('--sd')
    if args.octet_counting and load['proto'] == 'tcp' and load['format'] != 'json':
        cmd.append('--octet-counting')
    if load.get('tls'):
        cmd.append('--tls')
    return cmd


def completion_time(hist, t_last):
    """When the last event was counted. The snapshot that first showed the
    final count only says "by then", up to a Stats_Interval late; assume the
    rate of the interval before it held until the rest was done, using
    sluice's own uptime_s to place it. hist: [(seen at, in, uptime_s)]."""
    if len(hist) < 3 or any(h[2] is None for h in hist[-3:]):
        return t_last
    (_, e0, u0), (_, e1, u1), (t2, e2, u2) = hist[-3:]
    if u1 <= u0 or e1 <= e0 or u2 <= u1:
        return t_last
    u_done = min(u2, u1 + (e2 - e1) * (u1 - u0) / (e1 - e0))
    return t2 - (u2 - u_done)


def measure(args, sluice, stats_path, loads, udp):
    """Run the loads; return the figures at the moment the counters last moved."""
    pid = sluice.pid
    rss_idle = proc_status_kb(pid, 'VmRSS')
    cpu0 = cpu_ticks(pid)
    rdk0 = rdk_ticks(pid)
    base = read_stats(stats_path)
    in0, out0 = base[0], base[1]
    expect = sum(l['count'] for l in loads)
    t0 = time.monotonic()
    files = [l for l in loads if l['proto'] == 'file']
    loads = [l for l in loads if l['proto'] != 'file']
    for l in files:
        os.rename(l['src'], l['dst'])   # the whole file appears at once
    procs = [subprocess.Popen(loadgen_cmd(args, l, len(loads)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for l in loads]
    deadline = t0 + args.timeout
    settle = max(1.0, 10 * float(args.stats_interval)) if udp else args.stall
    last, t_last, cpu_last, st = None, t0, cpu0, base
    rdk_last = rdk0
    hist = []
    error = None
    while True:
        now = time.monotonic()
        cpu = cpu_ticks(pid)
        cur = read_stats(stats_path) or st
        if sluice.poll() is not None:
            error = 'sluice exited with %d under load' % sluice.returncode
            break
        key = (cur[0], cur[1])
        if key != last:
            last, t_last, cpu_last, st = key, now, cpu, cur
            rdk_last = rdk_ticks(pid)
            hist.append((now, cur[0], cur[4].get('uptime_s')))
        lg_done = all(p.poll() is not None for p in procs)
        got_in, got_out = st[0] - in0, st[1] - out0 + filtered(st) - filtered(base)
        if lg_done and not udp and got_in >= expect and got_out >= got_in:
            break
        if udp and lg_done and now - t_last >= settle:
            break
        if not udp and now - t_last >= settle:
            # TCP: nothing lost on the wire, so a stall is sluice's (or a
            # stuck backpressure that never releases)
            error = 'counters stalled for %ss at in=%d out=%d of %d%s' % (
                settle, got_in, got_out, expect, '' if lg_done else ' (loadgen still blocked)')
            break
        if now > deadline:
            error = 'timed out after %ss at in=%d out=%d of %d' % (args.timeout, got_in, got_out, expect)
            break
        time.sleep(0.005)
    lg = []
    for p in procs:
        if p.poll() is None:
            p.terminate()   # loadgen prints what it sent so far and exits 1
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        if p.returncode != 0 and not error:
            error = 'loadgen failed (%d): %s' % (p.returncode, err.strip())
        try:
            lg.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            lg.append({'error': err.strip()})
    secs = completion_time(hist, t_last) - t0
    cpu_s = (cpu_last[0] - cpu0[0] + cpu_last[1] - cpu0[1]) / CLK_TCK
    received = st[0] - in0
    delivered = st[1] - out0
    sent = sum(x.get('sent', 0) for x in lg) + sum(l['count'] for l in files)
    malformed, dropped = st[2] - base[2], st[3] - base[3]
    res = {
        'events': received,
        'delivered': delivered,
        'filtered': filtered(st) - filtered(base),
        'sent': sent,
        'lost': max(0, sent - received),
        'loss_pct': round(100.0 * max(0, sent - received) / sent, 3) if sent else 0.0,
        'malformed': malformed,
        'dropped': dropped,
        # lost before sluice could count it (a full socket buffer)
        'lost_uncounted': max(0, sent - received - malformed - dropped),
        'seconds': round(secs, 4),
        'seconds_observed': round(t_last - t0, 4),
        'eps': round(received / secs) if secs > 0 else 0,
        'cpu_s': round(cpu_s, 3),
        'cpu_user_s': round((cpu_last[0] - cpu0[0]) / CLK_TCK, 3),
        'cpu_sys_s': round((cpu_last[1] - cpu0[1]) / CLK_TCK, 3),
        'eps_per_cpu_s': round(received / cpu_s) if cpu_s > 0 else None,
        # kafka scenarios: CPU of librdkafka's threads, and per CPU-second
        # of the rest (shards, output workers and the produce calls)
        'cpu_librdkafka_s': round((rdk_last - rdk0) / CLK_TCK, 3),
        'eps_per_cpu_s_without_librdkafka': round(received / (cpu_s - (rdk_last - rdk0) / CLK_TCK))
        if cpu_s - (rdk_last - rdk0) / CLK_TCK > 0 else None,
        'rss_idle_kb': rss_idle,
        'rss_peak_kb': proc_status_kb(pid, 'VmHWM'),
        'avg_bytes': round(sum(x.get('bytes', 0) for x in lg) / sent) if sent else 0,
        'loadgen': lg[0] if len(lg) == 1 else lg or None,
    }
    if error:
        res['error'] = error
    return res


def stop(sluice):
    """SIGTERM our own sluice, wait for it to drain; SIGKILL only if it hangs."""
    if sluice.poll() is not None:
        return sluice.returncode
    sluice.send_signal(signal.SIGTERM)
    try:
        return sluice.wait(timeout=30)
    except subprocess.TimeoutExpired:
        sluice.kill()
        sluice.wait()
        return 'killed after 30s'


def start_mock_cluster(args, tmp):
    """librdkafka's mock cluster, 3 brokers, topic bench with 6 partitions;
    it prints the bootstrap address first. Its CPU is not sluice's."""
    if not os.access(args.mock_cluster, os.X_OK):
        raise BenchError('%s is not built (ninja -C build)' % args.mock_cluster)
    return subprocess.Popen([args.mock_cluster, 'bench:6'], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, 'mock.stderr'), 'w'),
                            text=True)


def with_http_server(conf, port):
    """The configuration with the HTTP server on, on loopback."""
    keys = ('    HTTP_Server    On\n    HTTP_Listen    127.0.0.1\n    HTTP_Port      %d\n' % port)
    m = re.search(r'^\[SERVICE\][^\n]*\n', conf, re.M | re.I)
    if not m:
        return '[SERVICE]\n' + keys + '\n' + conf
    return conf[:m.end()] + keys + conf[m.end():]


class Scraper(threading.Thread):
    """GET the Prometheus endpoint every `every` seconds until stopped;
    counts scrapes, failures, bytes and latency."""

    def __init__(self, port, every):
        super().__init__(daemon=True)
        self.url = 'http://127.0.0.1:%d/api/v2/metrics/prometheus' % port
        self.every = every
        self.halt = threading.Event()
        self.count = self.errors = self.bytes = 0
        self.lat = []

    def run(self):
        # the first at once (a short run still checks the server answers)
        wait = 0
        while not self.halt.wait(wait):
            wait = self.every
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as r:
                    self.bytes += len(r.read())
                self.count += 1
                self.lat.append(time.monotonic() - t0)
            except OSError:
                self.errors += 1

    def stop(self):
        self.halt.set()
        self.join(timeout=15)
        return {'count': self.count, 'errors': self.errors, 'bytes': self.bytes,
                'avg_ms': round(1000 * sum(self.lat) / len(self.lat), 3) if self.lat else None,
                'max_ms': round(1000 * max(self.lat), 3) if self.lat else None}


def free_tcp_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_scenario(name, args):
    tmp = tempfile.mkdtemp(prefix='sluice-bench-')
    result = {'scenario': name, 'count': args.count, 'conns': args.conns,
              'shards': args.shards, 'ncpu': os.cpu_count()}
    sluice = mock = scraper = None
    try:
        if name == 'default-config':
            conf, loads, stdout = default_config(args, tmp)
            cp = os.path.abspath(args.config)
            result['config'] = os.path.relpath(cp, REPO) if cp.startswith(REPO + os.sep) else cp
            result.pop('shards')
        else:
            if name in KAFKA_OUT:
                mock = start_mock_cluster(args, tmp)
                args.bootstrap = mock.stdout.readline().strip()
            if name in ('syslog-tcp-http', 'syslog-tcp-opensearch', 'tail-http'):
                mock = subprocess.Popen([sys.executable, os.path.join(HERE, 'http_sink.py')],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                args.http_port = int(mock.stdout.readline())
            conf, loads, stdout = scenario_config(name, args, tmp)
        udp = any(l['proto'] == 'udp' for l in loads)
        if args.scrape:
            http_port = free_tcp_port()
            conf = with_http_server(conf, http_port)
        conf_path = os.path.join(tmp, 'sluice.conf')
        with open(conf_path, 'w') as f:
            f.write(conf)
        stats_path = os.path.join(tmp, 'stats.json')
        errlog = open(os.path.join(tmp, 'sluice.stderr'), 'w')
        sluice = subprocess.Popen([args.sluice, '-c', conf_path], stdout=stdout,
                                  stderr=errlog, cwd=tmp)
        deadline = time.monotonic() + args.start_timeout
        for l in [l for l in loads if l['proto'] != 'file']:
            wait_until(lambda: port_bound(l['port'], l['proto']), deadline,
                       '%s port %d' % (l['proto'], l['port']), sluice)
        wait_until(lambda: read_stats(stats_path) is not None, deadline,
                   'the first stats file', sluice)
        if args.scrape:
            scraper = Scraper(http_port, args.scrape)
            scraper.start()
        try:
            result.update(measure(args, sluice, stats_path, loads, udp))
        finally:
            if scraper:
                result['scrape'] = scraper.stop()
                if scraper.count == 0:
                    result.setdefault('error', 'no scrape of %s succeeded' % scraper.url)
    except BenchError as e:
        result['error'] = str(e)
    finally:
        if sluice:
            result['exit'] = stop(sluice)
        if mock:
            mock.terminate()
            mock.wait()
        if sluice:
            if result['exit'] != 0:
                result.setdefault('error', 'sluice exit status %s' % result['exit'])
            if 'error' in result:
                try:
                    tail = open(os.path.join(tmp, 'sluice.stderr')).read()[-600:]
                    result['stderr_tail'] = tail
                except OSError:
                    pass
        if args.keep or 'error' in result:
            result['tmpdir'] = tmp
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='scenarios: ' + ', '.join(SCENARIOS) + ', all')
    ap.add_argument('scenarios', nargs='*', default=['syslog-tcp-5424'])
    ap.add_argument('--sluice', default=os.path.join(REPO, 'build', 'sluice'))
    ap.add_argument('--loadgen', default=os.path.join(REPO, 'build', 'bench', 'loadgen', 'loadgen'))
    ap.add_argument('--mock-cluster', default=os.path.join(REPO, 'build', 'tests', 'kafka', 'mock_cluster'),
                    help='the kafka scenarios\' mock cluster (tests/kafka/mock_cluster.c)')
    ap.add_argument('--config', default=os.path.join(REPO, 'conf', 'sluice.conf'),
                    help='config of the default-config scenario')
    ap.add_argument('--count', type=int, default=2000000, help='events per scenario')
    ap.add_argument('--conns', type=int, default=2, help='loadgen connections (UDP: sockets)')
    ap.add_argument('--rate', type=int, default=0, help='events/s, 0 = as fast as possible')
    ap.add_argument('--shards', type=int, default=2)
    ap.add_argument('--flush', default='0.05', help='[SERVICE] Flush')
    ap.add_argument('--stats-interval', default='0.05', help='[SERVICE] Stats_Interval')
    ap.add_argument('--no-sd', dest='sd', action='store_false',
                    help='no RFC 5424 structured data (by default ~40%% of RFC 5424 events carry'
                    ' some, which makes them ~200 bytes on average)')
    ap.add_argument('--octet-counting', action='store_true', help='RFC 6587 framing (syslog TCP)')
    ap.add_argument('--timeout', type=float, default=120, help='seconds for one load to complete')
    ap.add_argument('--start-timeout', type=float, default=15, help='seconds for sluice to start')
    ap.add_argument('--stall', type=float, default=10,
                    help='TCP: give up when the counters have not moved for this long')
    ap.add_argument('--repeat', type=int, default=1, help='run each scenario this many times')
    ap.add_argument('--keep', action='store_true', help='keep the temp dirs')
    ap.add_argument('--scrape', type=float, default=0, metavar='SECONDS',
                    help='HTTP_Server on, and GET /api/v2/metrics/prometheus every SECONDS during the run')
    args = ap.parse_args()

    names = list(SCENARIOS) if args.scenarios == ['all'] else args.scenarios
    for n in names:
        if n not in SCENARIOS:
            ap.error('unknown scenario %r (known: %s)' % (n, ', '.join(SCENARIOS)))
    for exe in (args.sluice, args.loadgen):
        if not os.access(exe, os.X_OK):
            ap.error('%s is not built (ninja -C build)' % exe)
    failed = 0
    for n in names:
        for _ in range(args.repeat):
            log('running %s (%d events)' % (n, args.count))
            res = run_scenario(n, args)
            failed += 'error' in res
            print(json.dumps(res), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
