"""harness.py — shared helpers of sluice's end-to-end tests.

Each test_*.py drives the real binary ($SLUICE) over real sockets on
loopback, with bench/loadgen ($LOADGEN) or a sender of its own, and checks
what came out from outside: output files, the Stats_File JSON, the exit
status and stderr. Python 3 standard library only.

Rules every test follows (and this module makes easy):
  - every wait is a condition polled every 20 ms up to a deadline
    (wait_for); a sleep is never the synchronisation;
  - ports are picked free outside the ephemeral range and claimed in
    $TMPDIR/sluice-e2e-ports (free_port), so tests run in parallel;
  - only processes started here are signalled or killed, by their own
    Popen (PID); those of a test are killed when it ends, whatever happens;
  - each test gets a temp dir, removed when it passes and kept (and named,
    with the tail of sluice's stderr) when it fails;
  - a sanitizer report in sluice's stderr fails the test;
  - exit status: 0 pass, 77 skip (reason printed), 1 fail. Running a file
    with test function names as arguments runs only those.

Typical use:

    def test_something(t):
        port = free_port()
        sl = t.sluice(conf(service(t), syslog_in(port), file_out(t)))
        run_loadgen(['--port', port, '--count', 1000, '--mark'])
        sl.wait_stats(lambda st: st['totals']['out'] >= 1000, 30, 'all out')
        check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
        check_sequences(marks(read_lines(t.path('out.txt'))), full_sequences([1000]), 'all')

    if __name__ == '__main__':
        main([test_something])
"""
import atexit
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
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
SLUICE = os.path.abspath(os.environ.get('SLUICE') or os.path.join(REPO, 'build', 'sluice'))
LOADGEN = os.environ.get('LOADGEN') or os.path.join(REPO, 'build', 'bench', 'loadgen', 'loadgen')

POLL = 0.02          # seconds between two looks at a condition
SKIP = 77


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, what, detail=''):
    """Assert one thing and say so: 'ok  what' or raise Fail."""
    if not cond:
        raise Fail(what + (': ' + detail if detail else ''))
    log('  ok   ' + what + (' (' + detail + ')' if detail else ''))


def _short(v, n=400):
    r = repr(v)
    return r if len(r) <= n else r[:n] + '...(%d chars)' % len(r)


def check_eq(got, want, what):
    check(got == want, what, 'got %s, want %s' % (_short(got, 2000), _short(want, 2000))
          if got != want else _short(got, 200))


def skip(reason):
    raise Skip(reason)


# ---- processes we started ------------------------------------------------

_procs = []


def _kill_ours():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_kill_ours)


def popen(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    _procs.append(p)
    return p


def wait_for(cond, timeout, what, proc=None, interval=POLL):
    """Poll cond() until it returns something true (returned) or the
    deadline passes (Fail). If proc (a Sluice or Popen) exits meanwhile,
    fail at once with its status."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if proc is not None:
            rc = proc.poll()
            if rc is not None:
                extra = ''
                if isinstance(proc, Sluice):
                    extra = '\n--- sluice stderr (tail) ---\n' + proc.stderr_tail()
                raise Fail('%s: process exited with %s while waiting%s' % (what, rc, extra))
        if time.monotonic() > deadline:
            raise Fail('timed out after %.1fs waiting for %s' % (timeout, what))
        time.sleep(interval)


def wait_stable(value, hold, timeout, what, proc=None):
    """Wait until value() has not changed for `hold` seconds; returns it."""
    deadline = time.monotonic() + timeout
    last, since = value(), time.monotonic()
    while True:
        time.sleep(POLL)
        v = value()
        now = time.monotonic()
        if v != last:
            last, since = v, now
        elif now - since >= hold:
            return v
        if proc is not None and proc.poll() is not None:
            raise Fail('%s: process exited with %s' % (what, proc.poll()))
        if now > deadline:
            raise Fail('timed out after %.1fs waiting for %s (still changing: %r)' % (timeout, what, v))


# ---- ports ---------------------------------------------------------------

_port_next = [None]
_port_claims = []
PORT_DIR = os.path.join(tempfile.gettempdir(), 'sluice-e2e-ports')


def _can_bind(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _claim(port):
    """Claim a port among concurrent test processes: a file named after it,
    created exclusively, holding our PID; a claim whose owner is gone is
    taken over. Our claims are removed at exit."""
    os.makedirs(PORT_DIR, exist_ok=True)
    path = os.path.join(PORT_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read().strip() or 0)
            except (OSError, ValueError):
                return False
            if owner and _pid_alive(owner):
                return False
            try:
                os.unlink(path)   # stale: its test is gone
            except FileNotFoundError:
                pass
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        _port_claims.append(path)
        return True
    return False


def _release_claims():
    for path in _port_claims:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_release_claims)


def _port_window():
    """12000 ports outside the kernel's ephemeral range (client sockets,
    loadgen's among them, are never given one of ours)."""
    lo, hi = 32768, 60999
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            lo, hi = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    if lo >= 12000 + 1024:
        return max(1024, lo - 12000)
    return min(hi + 1, 65535 - 12000)


def free_port():
    """A port free for TCP and UDP on 127.0.0.1 and claimed by this process
    (see _claim), so tests running in parallel never pick the same one.
    Candidates start at an offset derived from our PID."""
    base = _port_window()
    if _port_next[0] is None:
        _port_next[0] = (os.getpid() * 37) % 12000
    for _ in range(12000):
        port = base + _port_next[0] % 12000
        _port_next[0] += 1
        if _can_bind(port, socket.SOCK_STREAM) and _can_bind(port, socket.SOCK_DGRAM) and \
                _claim(port):
            return port
    raise Fail('no free port')


def _sock_inodes(pid):
    out = set()
    try:
        for fd in os.listdir('/proc/%d/fd' % pid):
            try:
                link = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if link.startswith('socket:['):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def proc_net_sockets(port, proto):
    """Rows of /proc/net/{proto,proto6} bound to local `port`:
    [(state hex, inode, drops or None)]."""
    rows = []
    for name in (proto, proto + '6'):
        try:
            with open('/proc/net/' + name) as f:
                next(f)
                for line in f:
                    c = line.split()
                    if int(c[1].rsplit(':', 1)[1], 16) == port:
                        drops = int(c[12]) if proto == 'udp' and len(c) > 12 else None
                        rows.append((c[3], c[9], drops))
        except FileNotFoundError:
            pass
    return rows


def port_bound(port, proto, pid=None):
    """A TCP listener (state 0A) or a UDP socket (07) on the port; with pid,
    only one of that process's sockets counts."""
    want = '0A' if proto == 'tcp' else '07'
    inodes = _sock_inodes(pid) if pid else None
    return any(st == want and (inodes is None or ino in inodes)
               for st, ino, _ in proc_net_sockets(port, proto))


def udp_kernel_drops(port, pid):
    """Datagrams the kernel dropped on pid's UDP sockets bound to port
    (the 'drops' column of /proc/net/udp: receive buffer full)."""
    inodes = _sock_inodes(pid)
    return sum(d or 0 for st, ino, d in proc_net_sockets(port, 'udp') if ino in inodes)


def sanitized():
    """True when $SLUICE was built with AddressSanitizer or ThreadSanitizer
    (memory figures then mean nothing: shadow memory, quarantine)."""
    try:
        with open(SLUICE, 'rb') as f:
            exe = f.read()
            return b'__asan_init' in exe or b'__tsan_init' in exe
    except OSError:
        return False


def proc_status_kb(pid, key):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# ---- configuration -------------------------------------------------------

def conf(*sections):
    """Classic config text from (NAME, [(key, value), ...]) tuples."""
    out = []
    for name, kvs in sections:
        out.append('[%s]' % name)
        out += ['    %-20s %s' % (k, v) for k, v in kvs]
        out.append('')
    return '\n'.join(out) + '\n'


def service(t, **extra):
    """[SERVICE] with a short Flush and a Stats_File in the test's dir."""
    kv = [('Flush', '0.05'), ('Grace', '10'), ('Log_Level', 'info'),
          ('Stats_File', t.path('stats.json')), ('Stats_Interval', '0.05')]
    names = {k.lower(): i for i, (k, _) in enumerate(kv)}
    for k, v in extra.items():
        if k.lower() in names:
            kv[names[k.lower()]] = (k, str(v))
        else:
            kv.append((k, str(v)))
    return ('SERVICE', kv)


def syslog_in(port, mode='tcp', parser='syslog-rfc5424', **extra):
    kv = [('Name', 'syslog'), ('Mode', mode), ('Listen', '127.0.0.1'), ('Port', str(port)),
          ('Parser', parser)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def tcp_in(port, fmt='json', **extra):
    kv = [('Name', 'tcp'), ('Listen', '127.0.0.1'), ('Port', str(port)), ('Format', fmt)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def file_out(t, name='out.txt', fmt='plain', match='*', **extra):
    kv = [('Name', 'file'), ('Match', match), ('Path', t.dir), ('File', name), ('Format', fmt)]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('OUTPUT', kv)


# ---- sluice --------------------------------------------------------------

class Sluice:
    """One sluice process of ours: config in the test dir, stderr to a
    file there, stdout to a file (or DEVNULL)."""

    def __init__(self, t, conf_text=None, args=(), name='sluice', stdout=True, wait=True,
                 timeout=20, prefix=()):
        self.t = t
        self.name = name
        self.err_path = t.path(name + '.stderr')
        self.out_path = t.path(name + '.stdout') if stdout else None
        # prefix: a wrapper that execs sluice in place (prlimit), so the
        # PID stays sluice's
        cmd = list(prefix) + [SLUICE]
        if conf_text is not None:
            self.conf_path = t.path(name + '.conf')
            with open(self.conf_path, 'w', encoding='utf-8') as f:
                f.write(conf_text)
            cmd += ['-c', self.conf_path]
        cmd += list(args)
        self.cmd = cmd
        self._err = open(self.err_path, 'w')
        self._out = open(self.out_path, 'w') if stdout else subprocess.DEVNULL
        m = re.search(r'^\s*Stats_File\s+(\S+)', conf_text or '', re.M | re.I)
        self.stats_path = os.path.join(t.dir, m.group(1)) if m else None
        self.proc = popen(cmd, stdout=self._out, stderr=self._err, cwd=t.dir)
        self.pid = self.proc.pid
        t.sluices.append(self)
        if wait:
            self.wait_started(timeout)

    def poll(self):
        return self.proc.poll()

    def stderr(self):
        with open(self.err_path, encoding='utf-8', errors='replace') as f:
            return f.read()

    def stderr_tail(self, n=25):
        return '\n'.join(self.stderr().splitlines()[-n:])

    def stdout(self):
        with open(self.out_path, encoding='utf-8', errors='replace') as f:
            return f.read()

    def wait_started(self, timeout=20):
        """Sockets are bound before sluice logs 'started:'."""
        wait_for(lambda: 'started:' in self.stderr(), timeout, '%s to start' % self.name, proc=self)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signal it and wait for its exit; returns the exit status. A
        sluice that does not exit in time is killed and the test fails."""
        self.send(sig)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait()
            raise Fail('%s did not exit within %ss of signal %d\n%s' %
                       (self.name, timeout, sig, self.stderr_tail()))
        return rc

    def stats(self):
        """The last Stats_File, or None before the first one. sluice writes
        a temp file and renames it, so a read is never torn."""
        if not self.stats_path:
            raise Fail('%s has no Stats_File in its configuration' % self.name)
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def wait_stats(self, pred, timeout, what):
        def cond():
            st = self.stats()
            return st if st is not None and pred(st) else None
        try:
            return wait_for(cond, timeout, what, proc=self)
        except Fail as e:
            raise Fail('%s\nlast stats: %s' % (e, json.dumps(self.stats())))

    def rss_kb(self):
        return proc_status_kb(self.pid, 'VmRSS')

    def close_files(self):
        self._err.close()
        if self._out is not subprocess.DEVNULL:
            self._out.close()


def exit_log_counters(text, name):
    """The counters sluice logs at exit for one input/output instance:
    {'records': n, ...} from '[name] records=n bytes=...'."""
    m = None
    for m in re.finditer(r'\[' + re.escape(name) + r'\] ((?:\w+=\d+ ?)+)', text):
        pass
    if not m:
        return None
    return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(1))}


# ---- loadgen -------------------------------------------------------------

def need_loadgen():
    if not os.access(LOADGEN, os.X_OK):
        skip('loadgen not built at %s (ninja -C build)' % LOADGEN)


def loadgen_start(args):
    need_loadgen()
    return popen([LOADGEN] + [str(a) for a in args], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True)


def loadgen_finish(p, timeout=120, expect_rc=0):
    """Wait for a loadgen started with loadgen_start; returns its JSON."""
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise Fail('loadgen did not finish within %ss: %s' % (timeout, err.strip()))
    if expect_rc is not None and p.returncode != expect_rc:
        raise Fail('loadgen exited %d: %s %s' % (p.returncode, err.strip(), out.strip()))
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Fail('loadgen printed no JSON: %r %r' % (out, err))


def run_loadgen(args, timeout=120):
    return loadgen_finish(loadgen_start(args), timeout)


def loadgen_conn_counts(count, conns):
    """Events per connection, as loadgen splits --count."""
    return [count // conns + (1 if i < count % conns else 0) for i in range(conns)]


# ---- output checks -------------------------------------------------------

MARK = re.compile(rb'(?: conn=(\d+))? seq=(\d{10})')


def read_lines(path):
    with open(path, 'rb') as f:
        data = f.read()
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    return lines


def marks(lines):
    """[(conn, seq)] of loadgen's --mark, one per line (conn 0 when the
    mark has none); lines without a mark give (None, None)."""
    out = []
    for ln in lines:
        m = None
        for m in MARK.finditer(ln):
            pass
        out.append((int(m.group(1) or 0), int(m.group(2))) if m else (None, None))
    return out


def check_sequences(ms, expected, what, ordered=True):
    """ms: [(conn, seq)] in output order; expected: {conn: [seq, ...]} in
    sending order. Checks that every expected seq arrived exactly once,
    nothing else arrived, and (ordered) per-connection order was kept.
    Reports missing / duplicated / unexpected / reordered precisely."""
    got = {}
    stray = 0
    for c, s in ms:
        if c is None:
            stray += 1
            continue
        got.setdefault(c, []).append(s)
    problems = []
    if stray:
        problems.append('%d lines without a mark' % stray)
    total = 0
    for c in sorted(set(expected) | set(got)):
        want = expected.get(c, [])
        have = got.get(c, [])
        total += len(have)
        if have == want:
            continue
        ws, hs = set(want), set(have)
        missing = sorted(ws - hs)
        extra = sorted(hs - ws)
        dups = len(have) - len(hs)
        desc = 'conn %d: %d expected, %d arrived' % (c, len(want), len(have))
        if missing:
            desc += '; %d missing (first %s)' % (len(missing), missing[:5])
        if extra:
            desc += '; %d unexpected (first %s)' % (len(extra), extra[:5])
        if dups:
            desc += '; %d duplicates' % dups
        if not missing and not extra and not dups:
            if not ordered:
                continue
            pos = next(i for i, (a, b) in enumerate(zip(have, want)) if a != b)
            desc += '; order broken at position %d (got seq %d, want %d)' % (pos, have[pos], want[pos])
        problems.append(desc)
    check(not problems, what, '; '.join(problems) if problems else
          '%d records from %d connections, each exactly once%s' %
          (total, len(got), ', in order' if ordered else ''))


def full_sequences(counts):
    """{conn: [0..n)} for loadgen --mark with per-connection counts."""
    return {c: list(range(n)) for c, n in enumerate(counts)}


# ---- senders and readers of our own -----------------------------------

class Sink:
    """A TCP listener of our own that takes `conns` connections and reads
    each to EOF: what a sender (loadgen) really put on the wire."""

    def __init__(self, conns):
        self.port = free_port()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', self.port))
        self.ls.listen(conns + 8)
        self.data = [None] * conns
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept, args=(conns,), daemon=True)
        self.acceptor.start()

    def _read(self, i, c):
        bufs = []
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            bufs.append(b)
        c.close()
        self.data[i] = b''.join(bufs)

    def _accept(self, conns):
        for i in range(conns):
            c, _ = self.ls.accept()
            th = threading.Thread(target=self._read, args=(i, c), daemon=True)
            th.start()
            self.threads.append(th)

    def wait(self, timeout=60):
        wait_for(lambda: all(d is not None for d in self.data), timeout, 'the sink to read every connection')
        self.ls.close()
        return self.data


def capture_loadgen(args, conns):
    """Run loadgen with `args` (no --port) into a Sink: [bytes per conn]."""
    sink = Sink(conns)
    run_loadgen(['--port', sink.port] + list(args))
    return sink.wait()


def split_lf(data):
    out = data.split(b'\n')
    if out and out[-1] == b'':
        out.pop()
    return out


def split_octet(data):
    out, i = [], 0
    while i < len(data):
        sp = data.index(b' ', i)
        n = int(data[i:sp])
        out.append(data[sp + 1:sp + 1 + n])
        i = sp + 1 + n
    return out


class MarkReader(threading.Thread):
    """Reads a FIFO to EOF in the background without keeping it: counts
    lines and checks loadgen's --mark as they pass, per connection: `gaps`
    counts seqs skipped (lost), `backwards` seqs repeated or out of order;
    `errors` describes the first few of either. Millions of lines cost no
    memory."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.lines = 0
        self.next = {}
        self.gaps = 0
        self.backwards = 0
        self.errors = []
        self.eof = False
        self.error = None

    def _line(self, n, ln):
        m = None
        for m in MARK.finditer(ln):
            pass
        if not m:
            self.backwards += 1
            if len(self.errors) < 5:
                self.errors.append('line %d has no mark: %r' % (n, ln[:100]))
            return
        c, s = int(m.group(1) or 0), int(m.group(2))
        want = self.next.get(c, 0)
        if s != want:
            if s > want:
                self.gaps += s - want
            else:
                self.backwards += 1
            if len(self.errors) < 5:
                self.errors.append('line %d: conn %d seq %d, expected %d' % (n, c, s, want))
        self.next[c] = max(want, s + 1)

    def run(self):
        tail = b''
        try:
            with open(self.path, 'rb', buffering=0) as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    lines = (tail + b).split(b'\n')
                    tail = lines.pop()
                    for ln in lines:
                        self._line(self.lines, ln)
                        self.lines += 1
            if tail:
                self.errors.append('unterminated last line: %r' % tail[:100])
                self.backwards += 1
        except Exception as e:   # reported by the test
            self.error = e
        self.eof = True


# ---- a test run ----------------------------------------------------------

class T:
    """Per-test state: a temp dir (removed on success, kept and named on
    failure), the sluices started, cleanup."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix='sluice-e2e-%s-' % name)
        self.sluices = []
        self.cleanups = []
        self.first_proc = len(_procs)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def sluice(self, conf_text=None, **kw):
        return Sluice(self, conf_text, **kw)

    def finish(self, ok):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:
                traceback.print_exc()
        for s in self.sluices:
            if s.poll() is None:
                s.proc.kill()
                s.proc.wait()
            s.close_files()
        for p in _procs[self.first_proc:]:
            if p.poll() is None:   # a loadgen of this test still running
                p.kill()
                p.wait()
        if ok:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            for s in self.sluices:
                tail = s.stderr_tail(15)
                if tail:
                    log('  --- %s stderr (tail) ---\n%s' % (s.name, tail))
            log('  (files kept in %s)' % self.dir)


SANITIZER_MARKS = ('runtime error:', 'ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
                   'WARNING: ThreadSanitizer')


def sanitizer_reports(t):
    """A sanitized sluice reports and goes on (UBSan) or changes only its
    exit status: fail the test on any report in a sluice's stderr."""
    for s in t.sluices:
        err = s.stderr()
        for m in SANITIZER_MARKS:
            if m in err:
                i = err.index(m)
                raise Fail('%s: sanitizer report in its stderr:\n%s' %
                           (s.name, err[max(0, i - 200):i + 1500]))


def main(tests):
    """Run each test function (taking a T); exit 0, 77 (all skipped) or 1."""
    if not os.access(SLUICE, os.X_OK):
        log('SKIP: sluice not built at %s' % SLUICE)
        sys.exit(SKIP)
    only = sys.argv[1:]
    failed, skipped, passed = [], [], []
    for fn in tests:
        if only and fn.__name__ not in only:
            continue
        name = fn.__name__
        log('== %s' % name)
        t = T(name)
        ok = False
        t0 = time.monotonic()
        try:
            fn(t)
            sanitizer_reports(t)
            ok = True
            passed.append(name)
            log('PASS %s (%.1fs)' % (name, time.monotonic() - t0))
        except Skip as e:
            ok = True
            skipped.append(name)
            log('SKIP %s: %s' % (name, e))
        except Fail as e:
            failed.append(name)
            log('FAIL %s: %s' % (name, e))
        except Exception:
            failed.append(name)
            log('FAIL %s: exception\n%s' % (name, traceback.format_exc()))
        finally:
            t.finish(ok)
    log('%d passed, %d skipped, %d failed%s' % (len(passed), len(skipped), len(failed),
                                                ': ' + ' '.join(failed) if failed else ''))
    _kill_ours()
    if failed:
        sys.exit(1)
    if skipped and not passed:
        sys.exit(SKIP)
    sys.exit(0)
