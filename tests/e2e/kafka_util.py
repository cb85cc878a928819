"""kafka_util.py — the Kafka side of the e2e tests: a librdkafka mock
cluster in a helper process (tests/kafka/mock_cluster.c, path in
$MOCK_CLUSTER) and read-back with kcat (Debian package kcat).

    mc = MockCluster(t, ['logs:3'])   # 3 brokers, topic 'logs' with 3 partitions
    ... sluice with Brokers mc.bootstrap ...
    msgs = wait_consume(mc.bootstrap, 'logs', 1000, 30)
    mc.down(); mc.up()                # every broker down / up again
    mc.stop()

Only processes started here are signalled (their own Popen)."""
import json
import os
import shutil
import subprocess
import time

from harness import Fail, popen, skip, wait_for, HERE

MOCK_CLUSTER = os.environ.get('MOCK_CLUSTER') or os.path.join(
    HERE, '..', '..', 'build', 'tests', 'kafka', 'mock_cluster')
KCAT = shutil.which('kcat') or shutil.which('kafkacat')


def need_kafka():
    if os.environ.get('SLUICE_TSAN'):
        # A TSan build of sluice dies (SIGSEGV) as soon as librdkafka, which
        # is not instrumented, starts its threads; so does the mock cluster.
        # The Kafka tests run in the plain and the ASan/UBSan builds.
        skip('librdkafka does not run under ThreadSanitizer (uninstrumented library)')
    if not os.access(MOCK_CLUSTER, os.X_OK):
        skip('no mock_cluster helper at %s (librdkafka missing?)' % MOCK_CLUSTER)
    if not KCAT:
        skip('kcat is not installed (Debian package kcat)')


class MockCluster:
    def __init__(self, t, topics, brokers=3):
        need_kafka()
        self.t = t
        self._err = open(t.path('mock_cluster.stderr'), 'w')
        self.proc = popen([MOCK_CLUSTER, '-b', str(brokers)] + list(topics),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                          text=True, bufsize=1)
        line = self.proc.stdout.readline().strip()
        if not line:
            raise Fail('mock_cluster did not start: ' + open(t.path('mock_cluster.stderr')).read())
        self.bootstrap = line

    def command(self, cmd):
        self.proc.stdin.write(cmd + '\n')
        self.proc.stdin.flush()
        ans = self.proc.stdout.readline().strip()
        if ans != 'ok':
            raise Fail('mock_cluster %r: %r' % (cmd, ans))

    def down(self):
        self.command('down')

    def up(self):
        self.command('up')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()


# kcat format: one JSON line per message; the value is the last field so
# a value holding the separator stays whole.
_FMT = '{"p":%p,"o":%o,"k":"%k","ts":%T,"t":"%t","vlen":%S}\\t%s\\n'


def consume(bootstrap, topic, count=None, timeout=20, raw=False):
    """Messages of topic from the beginning: a list of dicts with p
    (partition), o (offset), k (key), t (topic), v (value as bytes)."""
    cmd = [KCAT, '-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q',
           '-f', _FMT]
    if count is not None:
        cmd += ['-c', str(count)]
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=timeout).stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b''
    msgs = []
    pos = 0
    while pos < len(out):
        tab = out.find(b'\t', pos)
        if tab < 0:
            break
        meta = json.loads(out[pos:tab])
        v = out[tab + 1:tab + 1 + meta['vlen']]
        meta['v'] = v
        msgs.append(meta)
        pos = tab + 1 + meta['vlen'] + 1
    return msgs


def wait_consume(bootstrap, topic, count, timeout, proc=None):
    """Read the topic until it holds at least count messages (deadline)."""
    got = []

    def cond():
        got[:] = consume(bootstrap, topic, timeout=10)
        return len(got) >= count

    try:
        wait_for(cond, timeout, '%d messages in %s' % (count, topic), proc=proc, interval=0.2)
    except Fail as e:
        raise Fail('%s (have %d)' % (e, len(got)))
    return got


def produce(bootstrap, topic, lines, key_of=None):
    """Produce lines (str) with kcat; key_of(i, line) gives the key."""
    if key_of:
        data = ''.join('%s\x01%s\n' % (key_of(i, ln), ln) for i, ln in enumerate(lines))
        cmd = [KCAT, '-P', '-b', bootstrap, '-t', topic, '-K', '\x01']
    else:
        data = ''.join(ln + '\n' for ln in lines)
        cmd = [KCAT, '-P', '-b', bootstrap, '-t', topic]
    r = subprocess.run(cmd, input=data.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode:
        raise Fail('kcat -P: %s' % r.stderr.decode(errors='replace'))


def committed(bootstrap, group, topic, partitions):
    """The group's committed offsets {partition: offset} (-1001: none),
    asked with librdkafka's rd_kafka_committed (mock_cluster -q)."""
    r = subprocess.run([MOCK_CLUSTER, '-q', bootstrap, group, topic, str(partitions)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, text=True)
    if r.returncode:
        raise Fail('mock_cluster -q: ' + r.stderr)
    return {int(p): int(o) for p, o in (ln.split() for ln in r.stdout.splitlines())}
