#!/usr/bin/env python3
"""test_ingest_tier.py — the ingest tier of docs/examples/ingest-tier run
from those very files (agent.conf, aggregator.conf, router.conf; the
environment fills ports, brokers, certificates and directories):

    test -> 2 agents (tcp) -forward, TLS, Shared_Key, acks-> 2 aggregators
    test -> HTTPS POST, bearer token per tenant ----------> aggregator 1
         -> kafka output (key = tenant) -> librdkafka's mock cluster, topic
         of 4 partitions -> 2 routers (kafka input, one consumer group)
         -> one file per tenant, one directory per router

Agent i forwards to aggregator i. The routers start first; the test waits
until both own partitions (probe messages produced into every partition
reach both routers' files) before any record is sent, so the clean run
sees no rebalance while records flow.

- clean run: 4 tenants, every record in its tenant's file exactly once
  (the agents' and the records a service posted to aggregator 1's http
  input, whose tenant comes from the token, not from the record)
  (the two routers' directories merged), a tenant's records all in one
  partition and one router, per (agent, tenant) in the order sent;
  end-to-end records/s and CPU seconds per process logged
  (INGEST_TIER_RECORDS=200000 for the figure in docs/BENCHMARKS.md). The
  sender keeps at most WINDOW records in flight: the mock cluster keeps
  only 5 MiB per partition, deleting older messages consumed or not, so a
  router further behind than that would lose records in the mock (and
  only there);
- a router SIGKILLed mid-run while the agents still send: once its
  session times out (rdkafka.session.timeout.ms 10 s in router.conf) the
  other router takes its partitions from the last committed offsets:
  every record present at least once across both routers' files, the
  copies (records written by the dead router but not committed) counted
  and logged.
"""
import http.client
import json
import os
import signal
import ssl
import socket
import subprocess
import threading
import time
import urllib.request

from certs import certs
from harness import Fail, Sluice, check, check_eq, free_port, log, main, wait_for, wait_stable, REPO
from kafka_util import KCAT, MockCluster

EXAMPLE = os.path.join(REPO, 'docs', 'examples', 'ingest-tier')
TENANTS = ['t0', 't1', 't2', 't3']
PARTITIONS = 4
PROBE = '_probe'
# Records in flight (sent to the agents, not yet written by the routers) at
# most: see send_windowed. Half the records go to one partition (t2 and t3
# share partition 0 of 4), ~115 bytes each in the log: 60000 in flight
# keep that partition's backlog near 3.5 MiB, under the mock's 5 MiB.
WINDOW = 60000


class Tier:
    """The processes of the topology, each started from the example's
    config file with its own environment."""

    def __init__(self, t, routers=2, aggregators=2, agents=2):
        self.t = t
        self.mc = MockCluster(t, ['logs:%d' % PARTITIONS])
        t.cleanups.append(self.mc.stop)
        c = certs()
        self.ca = c.p('ca.crt')
        self.tokens = {tn: 'token-of-%s' % tn for tn in TENANTS}
        tokens_file = t.path('tokens')
        with open(tokens_file, 'w') as f:
            f.write('# token tenant\n' + ''.join('%s %s\n' % (v, k) for k, v in self.tokens.items()))
        self.base = {'HTTP_TOKENS_FILE': tokens_file,'KAFKA_BROKERS': self.mc.bootstrap, 'KAFKA_TOPIC': 'logs',
                     'FORWARD_SHARED_KEY': 'ingest-secret', 'TLS_CA_FILE': c.p('ca.crt'),
                     'TLS_CRT_FILE': c.p('server.crt'), 'TLS_KEY_FILE': c.p('server.key'),
                     'FLUSH': os.environ.get('INGEST_TIER_FLUSH', '0.2'), 'HTTP_SERVER': 'on',
                     'SHARDS': '1', 'ROUTER_GROUP': 'routers'}
        self.routers = [self.start('router', i, ROUTER_OUT_DIR=t.path('router%d' % i))
                        for i in range(routers)]
        self.wait_assigned()
        self.agg_ports = [free_port() for _ in range(aggregators)]
        self.http_ports = [free_port() for _ in range(aggregators)]
        self.aggs = [self.start('aggregator', i, AGGREGATOR_LISTEN='127.0.0.1',
                                AGGREGATOR_PORT=self.agg_ports[i], HTTP_INGEST_PORT=self.http_ports[i],
                                AGGREGATOR_NAME='aggregator%d' % i)
                     for i in range(aggregators)]
        self.agent_ports = [free_port() for _ in range(agents)]
        self.agents = [self.start('agent', i, AGENT_PORT=self.agent_ports[i],
                                  AGENT_NAME='agent%d' % i,
                                  AGGREGATOR_PORT=self.agg_ports[i % aggregators])
                       for i in range(agents)]

    def start(self, role, i, **env):
        name = '%s%d' % (role, i)
        e = dict(self.base, HTTP_PORT=str(free_port()))
        e.update({k: str(v) for k, v in env.items()})
        saved = dict(os.environ)
        os.environ.update(e)   # Popen takes the environment as it is now
        try:
            sl = Sluice(self.t, args=['--strict', '-c', os.path.join(EXAMPLE, role + '.conf')],
                        name=name)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        sl.http_port = int(e['HTTP_PORT'])
        return sl

    def router_files(self, i):
        d = self.t.path('router%d' % i)
        return [os.path.join(d, f) for f in sorted(os.listdir(d))] if os.path.isdir(d) else []

    def read_router(self, i):
        """{tenant file name without .log: [record, ...]} of router i."""
        out = {}
        for p in self.router_files(i):
            with open(p, 'rb') as f:
                data = f.read()
            # a line being appended right now is left for the next look
            lines = data[:data.rfind(b'\n') + 1].splitlines()
            out[os.path.basename(p)[:-4]] = [json.loads(ln) for ln in lines]
        return out

    def count_lines(self, skip_probe=True):
        n = 0
        for i in range(len(self.routers)):
            for p in self.router_files(i):
                if skip_probe and os.path.basename(p) == PROBE + '.log':
                    continue
                with open(p, 'rb') as f:
                    n += f.read().count(b'\n')
        return n

    def produce_probes(self, rnd):
        """One probe message into every partition, keyed like a tenant."""
        for p in range(PARTITIONS):
            v = json.dumps({'tenant': PROBE, 'round': rnd, 'p': p})
            r = subprocess.run([KCAT, '-P', '-b', self.mc.bootstrap, '-t', 'logs', '-p', str(p)],
                               input=(v + '\n').encode(), capture_output=True, timeout=30)
            if r.returncode:
                raise Fail('kcat -P: %s' % r.stderr.decode(errors='replace'))

    def wait_assigned(self, timeout=120):
        """Both routers own partitions and every partition is owned: a
        round of probes (one per partition) all written, by both routers.
        A new round every 3 s until then (the group may still be joining
        or rebalancing when a round is consumed)."""
        state = {'round': 0, 'sent': 0.0}

        def cond():
            now = time.monotonic()
            if now - state['sent'] > 3:
                state['round'] += 1
                state['sent'] = now
                self.produce_probes(state['round'])
            rnd = state['round']
            seen, owners = set(), set()
            for i in range(len(self.routers)):
                for r in self.read_router(i).get(PROBE, []):
                    if r['payload']['round'] == rnd:
                        seen.add(r['partition'])
                        owners.add(i)
            return len(seen) == PARTITIONS and len(owners) == len(self.routers)
        for r in self.routers:
            wait_for(lambda: r.poll() is None, 1, 'router running', proc=r)
        t0 = time.monotonic()
        wait_for(cond, timeout, 'both routers assigned partitions (probe rounds)',
                 proc=self.routers[0], interval=0.2)
        log('  routers assigned after %.1fs (%d probe rounds)' % (time.monotonic() - t0,
                                                                 state['round']))

    def stop_all(self):
        for sl in self.agents + self.aggs + self.routers:
            if sl.poll() is None:
                check_eq(sl.stop(), 0, '%s exits 0 on SIGTERM' % sl.name)


def lines_for(agent, n):
    """Agent `agent`'s n records: tenants round robin, seq 0..n-1."""
    return [json.dumps({'tenant': TENANTS[s % len(TENANTS)], 'agent': agent, 'seq': s,
                        'msg': 'record %d of agent %d' % (s, agent)}) for s in range(n)]


def send(port, lines, batch=None, pause=0.0, progress=None):
    s = socket.create_connection(('127.0.0.1', port))
    try:
        if batch is None:
            s.sendall(''.join(ln + '\n' for ln in lines).encode())
            return
        for i in range(0, len(lines), batch):
            s.sendall(''.join(ln + '\n' for ln in lines[i:i + batch]).encode())
            if progress is not None:
                progress[0] = i + batch
            time.sleep(pause)   # pacing the sender, not a synchronisation
    finally:
        s.close()


def check_kafka_errors(tier):
    for sl in tier.aggs:
        check_eq(out_counter(sl, 'kafka.0', 'errors'), 0, '%s: no Kafka error' % sl.name)


def collect(tier):
    """Every record of every tenant file: [(router, tenant file, record)]."""
    out = []
    for i in range(len(tier.routers)):
        for tenant, recs in tier.read_router(i).items():
            if tenant != PROBE:
                out += [(i, tenant, r) for r in recs]
    return out


def check_layout(recs):
    """Each record in the file of its tenant, its Kafka key the tenant, a
    tenant on one partition."""
    bad, part = [], {}
    for i, tenant, r in recs:
        p = r['payload']
        if p['tenant'] != tenant or r['key'] != tenant:
            bad.append((i, tenant, r))
        part.setdefault(tenant, set()).add(r['partition'])
    check(not bad, 'every record in its tenant\'s file, message key = tenant', str(bad[:2]))
    check(all(len(v) == 1 for v in part.values()), 'a tenant\'s records all in one partition',
          str(part))
    return part


def check_order(recs, what):
    """Per router file and per agent, seq increasing (first copies when
    copies are allowed: a copy re-read after a takeover restarts lower)."""
    last, bad = {}, []
    for i, tenant, r in recs:
        k = (i, tenant, r['payload']['agent'])
        s = r['payload']['seq']
        if k in last and s <= last[k]:
            bad.append((k, last[k], s))
        last[k] = s
    check(not bad, what, str(bad[:3]))


def metrics(sl):
    """sl's /api/v1/metrics (Fluent Bit's JSON counters), None when it
    does not answer (not up yet, or killed)."""
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/api/v1/metrics' % sl.http_port,
                                    timeout=5) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


def out_counter(sl, output, key):
    m = metrics(sl)
    return m['output'][output][key] if m else None


def router_written(tier):
    """Records the live routers wrote (file output's proc_records)."""
    return sum(out_counter(sl, 'file.0', 'proc_records') or 0 for sl in tier.routers
               if sl.poll() is None)


def send_windowed(tier, agent, lines, sent, base, window, batch=1000):
    """Send lines to an agent, keeping the records sent by all agents and
    not yet written by the routers under `window`: the mock cluster keeps
    at most 5 MiB per partition (librdkafka's rdkafka_mock.c, max_size),
    deleting the oldest messages beyond it whether consumed or not, so a
    backlog larger than that would be lost in the mock (a real cluster's
    retention is days)."""
    s = socket.create_connection(('127.0.0.1', tier.agent_ports[agent]))
    try:
        for i in range(0, len(lines), batch):
            wait_for(lambda: sum(sent) - (router_written(tier) - base) < window, 120,
                     'the routers to catch up (window of %d records)' % window, interval=0.05)
            s.sendall(''.join(ln + '\n' for ln in lines[i:i + batch]).encode())
            sent[agent] += len(lines[i:i + batch])
    finally:
        s.close()


def https(tier, agg):
    ctx = ssl.create_default_context(cafile=tier.ca)
    return http.client.HTTPSConnection('127.0.0.1', tier.http_ports[agg], context=ctx, timeout=60)


def post(conn, token, records):
    conn.request('POST', '/svc.events', body=json.dumps(records),
                 headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token})
    r = conn.getresponse()
    return r.status, r.read()


def post_windowed(tier, agg, n, sent, idx, base, window, batch=500):
    """A service posting n records (agent 2, seq 0..n-1) to aggregator
    agg's http input over one keep-alive HTTPS connection: batch k with
    the token of tenant k % 4; the records say "tenant": "spoofed" (the
    token's tenant replaces it). Each batch waits for its 201 (sent once
    Kafka has it); the same window as the agents."""
    conn = https(tier, agg)
    try:
        for k, i in enumerate(range(0, n, batch)):
            wait_for(lambda: sum(sent) - (router_written(tier) - base) < window, 120,
                     'the routers to catch up (window of %d records)' % window, interval=0.05)
            recs = [{'tenant': 'spoofed', 'agent': 2, 'seq': s, 'msg': 'posted %d' % s}
                    for s in range(i, min(n, i + batch))]
            st, body = post(conn, tier.tokens[TENANTS[k % len(TENANTS)]], recs)
            if st != 201:
                raise Fail('POST: %d %r' % (st, body[:200]))
            sent[idx] += len(recs)
    finally:
        conn.close()


def cpu_s(pid):
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def tenant_files_mtime(tier):
    return max(os.stat(p).st_mtime for i in range(len(tier.routers))
               for p in tier.router_files(i) if not p.endswith(PROBE + '.log'))


def test_clean(t):
    """INGEST_TIER_RECORDS (default 8000) records over 2 agents; the
    time from the first send to the last write of a tenant file gives the
    end-to-end rate."""
    n_per_agent = int(os.environ.get('INGEST_TIER_RECORDS', '8000')) // 2
    n_http = n_per_agent // 2
    tier = Tier(t)
    total = 2 * n_per_agent + n_http
    data = [lines_for(a, n_per_agent) for a in range(2)]
    # the probes are in the routers' counts: settled, they are the base
    base = wait_stable(lambda: router_written(tier), 0.5, 30, 'probe records counted')
    conn = https(tier, 1)
    st, body = post(conn, 'not-a-token', [{'agent': 2, 'seq': -1}])
    check_eq(st, 401, 'a POST without a known token is refused (and nothing of it kept)')
    conn.close()
    sent = [0, 0, 0]
    t0 = time.time()
    threads = [threading.Thread(target=send_windowed, args=(tier, a, data[a], sent, base, WINDOW))
               for a in range(2)]
    threads.append(threading.Thread(target=post_windowed, args=(tier, 1, n_http, sent, 2, base, WINDOW)))
    for th in threads:
        th.start()
    wait_for(lambda: router_written(tier) - base >= total, 60 + total / 1000,
             '%d records written by the routers' % total, proc=tier.aggs[0], interval=0.2)
    for th in threads:
        th.join()
    wait_for(lambda: tier.count_lines() >= total, 10, 'all records in the files')
    dt = tenant_files_mtime(tier) - t0
    log('  end to end: %d records in %.2fs = %.0f records/s (2 agents and an HTTPS service, '
        '2 aggregators, 2 routers, mock cluster and senders on one 2-core box)' % (total, dt, total / dt))
    cpu = ['%s %.2f' % (p.name, cpu_s(p.pid)) for p in tier.agents + tier.aggs + tier.routers]
    log('  CPU seconds: %s, mock cluster %.2f' % (', '.join(cpu), cpu_s(tier.mc.proc.pid)))
    for a in range(2):
        check_eq(out_counter(tier.aggs[a], 'kafka.0', 'proc_records'), n_per_agent + (n_http if a else 0),
                 'aggregator%d produced its agent\'s (and the service\'s) records to Kafka' % a)
    check_kafka_errors(tier)
    tier.stop_all()   # flushes and commits; then nothing more may appear
    recs = collect(tier)
    check_eq(len(recs), total, 'every record written once (no copy)')
    got = {(r['payload']['agent'], r['payload']['seq']) for _, _, r in recs}
    want = {(a, s) for a in range(2) for s in range(n_per_agent)} | {(2, s) for s in range(n_http)}
    check(got == want, 'the records sent, none lost, none twice',
          '%d missing, %d unexpected' % (len(want - got), len(got - want)))
    part = check_layout(recs)
    owner = {}
    for i, tenant, _ in recs:
        owner.setdefault(tenant, set()).add(i)
    check(all(len(v) == 1 for v in owner.values()), 'each tenant written by one router', str(owner))
    check_eq(sorted(owner), TENANTS, 'a file per tenant')
    log('  tenants: %s' % ', '.join('%s -> partition %s, router %s' % (k, min(part[k]), min(owner[k]))
                                    for k in TENANTS))
    check_order(recs, 'per (agent, tenant), records in the order sent')


def test_router_killed(t):
    n_per_agent = 12000
    tier = Tier(t)
    total = 2 * n_per_agent
    data = [lines_for(a, n_per_agent) for a in range(2)]
    progress = [[0], [0]]
    threads = [threading.Thread(target=send, args=(tier.agent_ports[a], data[a]),
                                kwargs={'batch': 200, 'pause': 0.05, 'progress': progress[a]})
               for a in range(2)]
    for th in threads:
        th.start()
    # Kill a router that owns partitions, once records have reached both.
    def delivered():
        per = [sum(len(v) for k, v in tier.read_router(i).items() if k != PROBE)
               for i in range(2)]
        return per if min(per) >= 500 else None
    per = wait_for(delivered, 60, 'records in both routers\' files', proc=tier.aggs[0], interval=0.2)
    victim = tier.routers[0]
    before = {k for k in tier.read_router(0) if k != PROBE}
    victim.send(signal.SIGKILL)
    check(victim.proc.wait(timeout=10) == -signal.SIGKILL, 'router0 killed with SIGKILL')
    sent = sum(p[0] for p in progress)
    check(sent < total, 'killed while the agents still send',
          '%d of %d sent, %s written by router0/router1' % (sent, total, per))
    for th in threads:
        th.join()
    # router1 takes router0's partitions once its session times out.
    want = {(a, s) for a in range(2) for s in range(n_per_agent)}
    state = {}

    def complete():
        state['recs'] = collect(tier)
        return want <= {(r['payload']['agent'], r['payload']['seq']) for _, _, r in state['recs']}
    t0 = time.monotonic()
    try:
        wait_for(complete, 180, 'every record in the surviving router\'s files', proc=tier.routers[1],
                 interval=0.5)
    except Fail as e:
        have = {(r['payload']['agent'], r['payload']['seq']) for _, _, r in state.get('recs', [])}
        raise Fail('%s: %d of %d missing' % (e, len(want - have), len(want)))
    log('  takeover complete %.1fs after the agents finished sending' % (time.monotonic() - t0))
    check_kafka_errors(tier)
    tier.stop_all()
    recs = collect(tier)
    have = [(r['payload']['agent'], r['payload']['seq']) for _, _, r in recs]
    check_eq(len(want - set(have)), 0, 'nothing lost: every record at least once')
    copies = len(have) - len(set(have))
    log('  copies: %d records written twice or more (router0 wrote them, died before '
        'committing; router1 read them again)' % copies)
    check_layout(recs)
    after = {tenant for i, tenant, _ in recs if i == 1}
    check(before <= after, 'router1 took router0\'s tenants', 'router0 had %s' % sorted(before))


if __name__ == '__main__':
    main([test_clean, test_router_killed])
