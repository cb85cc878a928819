#!/usr/bin/env python3
"""test_systemd.py — sluice as a systemd service (issue 17).

- install: `meson install --destdir` puts the binary, the unit, the default
  configuration, the parsers file and the man page where the build's
  prefix, sysconfdir, mandir and unit directory say; the installed unit
  starts the installed binary on the installed configuration; that binary
  checks that configuration (--dry-run) and the installed parsers file;
  the man page renders with its sections.
- verify: `systemd-analyze verify` passes the installed unit without a
  word (its ExecStart rewritten into the DESTDIR so that the binary it
  names exists; Documentation=man:sluice(1) found through MANPATH in the
  DESTDIR), and the same check catches a unit with a bad value, an
  unknown key, or an ExecStart that does not exist.
- notify: with NOTIFY_SOCKET a datagram socket of the test's and
  WATCHDOG_USEC=400000 (WATCHDOG_PID = sluice's pid, as sd_watchdog_enabled
  requires), READY=1 comes once the listen port accepts, WATCHDOG=1 comes
  at least 3 times within 1.5 s (the control thread wakes at half the
  period though no Stats_File asks it to), and STOPPING=1 on SIGTERM
  before sluice exits 0. With WATCHDOG_PID another process's, no ping.

Reference: sd_notify(3), sd_watchdog_enabled(3), systemd.service(5).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

from harness import (SLUICE, Fail, check, check_eq, conf, free_port, log, main, skip, tcp_in,
                     wait_for)

BUILD = os.path.dirname(SLUICE)


def need_tool(name):
    path = shutil.which(name)
    if not path:
        skip('%s is not installed (scripts/deps.sh installs it)' % name)
    return path


def run(cmd, timeout=120, **kw):
    p = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, **kw)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def meson_install(t):
    """Install the build into a DESTDIR of the test's; returns (dest,
    {what: installed path, without dest}, build options)."""
    need_tool('meson')
    if not os.path.isdir(os.path.join(BUILD, 'meson-info')):
        skip('%s is not a meson build directory' % BUILD)
    dest = t.path('dest')
    # --no-rebuild: meson test has built what this test depends on (the
    # man page too); a test must not rebuild the tree under its siblings.
    rc, out = run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--destdir', dest], timeout=300)
    check_eq(rc, 0, 'meson install --destdir exits 0' + ('' if rc == 0 else ': ' + out[-2000:]))
    _, js = run(['meson', 'introspect', '--buildoptions', BUILD])
    opts = {o['name']: o['value'] for o in json.loads(js)}
    _, js = run(['meson', 'introspect', '--installed', BUILD])
    installed = list(json.loads(js).values())
    return dest, installed, opts


def under(prefix, p):
    return os.path.normpath(os.path.join(prefix, p))   # join: an absolute p stays


def test_install(t):
    dest, installed, o = meson_install(t)
    prefix = o['prefix']
    etc = under(prefix, o['sysconfdir'])
    want = {
        'binary': under(prefix, os.path.join(o['bindir'], 'sluice')),
        'configuration': os.path.join(etc, 'sluice', 'sluice.conf'),
        'parsers file': os.path.join(etc, 'sluice', 'parsers.conf'),
        'man page': under(prefix, os.path.join(o['mandir'], 'man1', 'sluice.1')),
    }
    units = [p for p in installed if p.endswith('/sluice.service')]
    check_eq(len(units), 1, 'one unit file is installed')
    unit = units[0]
    unitdir = o.get('systemdunitdir') or ''
    if unitdir:
        check_eq(os.path.dirname(unit), unitdir, 'the unit goes to -Dsystemdunitdir')
    else:
        _, pc = run(['pkg-config', '--variable=systemdsystemunitdir', 'systemd'])
        check_eq(os.path.dirname(unit), pc.strip() or under(prefix, 'lib/systemd/system'),
                 'the unit goes to systemd\'s system unit directory')
    want['unit'] = unit
    for what, p in want.items():
        check(p in installed, 'meson installs the %s as %s' % (what, p))
        check(os.path.isfile(dest + p), 'the %s is in the DESTDIR' % what)
    check(os.access(dest + want['binary'], os.X_OK), 'the installed binary is executable')
    for src, what in (('sluice.conf', 'configuration'), ('parsers.conf', 'parsers file')):
        with open(os.path.join(os.path.dirname(__file__), '..', '..', 'conf', src), 'rb') as a, \
                open(dest + want[what], 'rb') as b:
            check(a.read() == b.read(), 'the installed %s is conf/%s' % (what, src))

    # The unit starts the installed binary on the installed configuration.
    with open(dest + unit) as f:
        text = f.read()
    check_eq([ln for ln in text.splitlines() if ln.startswith('ExecStart=')],
             ['ExecStart=%s -c %s' % (want['binary'], want['configuration'])],
             'the unit\'s ExecStart names the installed binary and configuration')
    check('@' not in text, 'no @placeholder@ is left in the unit')

    # The installed binary checks the installed default configuration, as is
    # (from another directory: nothing of the source tree is needed) ...
    rc, out = run([dest + want['binary'], '-c', dest + want['configuration'], '--dry-run'], cwd=t.dir)
    check_eq((rc, out.strip()), (0, 'configuration test is successful'),
             'installed sluice --dry-run on the installed sluice.conf')
    # ... and every parser of the installed parsers file compiles.
    rc, out = run([dest + want['binary'], '-R', dest + want['parsers file'], '-i', 'dummy', '-o', 'null',
                   '--dry-run'], cwd=t.dir)
    check_eq((rc, out.strip()), (0, 'configuration test is successful'),
             'installed sluice --dry-run with the installed parsers file')

    # The man page: what --doc-man writes now, and it renders.
    rc, roff = run([dest + want['binary'], '--doc-man'])
    with open(dest + want['man page']) as f:
        check(f.read() == roff, 'the installed man page is what sluice --doc-man writes')
    sections = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'SERVICE KEYS', 'INPUTS', 'FILTERS',
                'OUTPUTS', 'SIGNALS', 'FILES', 'SEE ALSO']
    heads = [ln[4:].strip('"') for ln in roff.splitlines() if ln.startswith('.SH ')]
    check([s for s in sections if s not in heads] == [], 'the man page has its sections',
          ', '.join(heads))
    for key in ('Grace', 'Parsers_File', 'Mem_Buf_Limit', 'Retry_Limit'):
        check('\\fB%s\\fR' % key in roff, 'the man page documents %s' % key)
    if shutil.which('man'):
        env = {k: v for k, v in os.environ.items() if k != 'MAN_KEEP_FORMATTING'}
        p = subprocess.run(['man', '--warnings', '-l', dest + want['man page']], env=dict(env, MANWIDTH='80'),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode('utf-8', 'replace')
        check(p.returncode == 0 and out.splitlines()[0].startswith('SLUICE(1)') and 'SIGHUP' in out,
              'man -l renders it', out[:200])
        check_eq(p.stderr.decode('utf-8', 'replace'), '', 'man (groff warnings on) says nothing on stderr')


def verify(unit_text, t, name, manpath=None):
    """systemd-analyze verify on unit_text, written as <name>/sluice.service:
    (ok, output); ok means exit 0 and not a word said."""
    d = t.path(name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, 'sluice.service')
    with open(path, 'w') as f:
        f.write(unit_text)
    env = dict(os.environ)
    args = ['systemd-analyze', 'verify']
    if manpath:
        env['MANPATH'] = manpath
    else:
        args.append('--man=no')
    rc, out = run(args + [path], env=env, timeout=60)
    return rc == 0 and not out.strip(), out.strip()


def test_verify(t):
    need_tool('systemd-analyze')
    dest, installed, o = meson_install(t)
    unit = [p for p in installed if p.endswith('/sluice.service')][0]
    with open(dest + unit) as f:
        text = f.read()
    prefix = o['prefix'].rstrip('/') + '/'
    # The paths the unit names, moved into the DESTDIR where they exist.
    good = text.replace('=' + prefix, '=' + dest + prefix).replace(' ' + prefix, ' ' + dest + prefix)
    check(dest in good and 'ExecStart=' + dest in good, 'ExecStart rewritten into the DESTDIR')
    manpath = dest + under(prefix, o['mandir'])
    ok, out = verify(good, t, 'good', manpath)
    check(ok, 'systemd-analyze verify passes the installed unit, man page found, without a word', out)

    # The same check fails on broken units.
    ok, out = verify(text.replace('=' + prefix, '=' + t.path('nowhere') + '/'), t, 'noexec')
    check(not ok and 'not executable' in out, 'verify fails an ExecStart that does not exist', out)
    ok, out = verify(good.replace('Type=notify', 'Type=notifyy'), t, 'badtype')
    check(not ok and 'notifyy' in out, 'verify complains about a bad Type=', out)
    ok, out = verify(good.replace('WatchdogSec=', 'WatchdogSek='), t, 'badkey')
    check(not ok and 'WatchdogSek' in out, 'verify complains about an unknown key', out)
    ok, out = verify(good, t, 'noman', manpath=t.path('nowhere'))
    check(not ok and 'man' in out, 'verify fails when the man page is not installed', out)


class Notify:
    """A NOTIFY_SOCKET of our own: (monotonic time, message) of each datagram."""

    def __init__(self, t):
        self.path = t.path('notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.02)
        self.msgs = []
        t.cleanups.append(self.sock.close)

    def poll(self):
        try:
            while True:
                m = self.sock.recv(4096).decode()
                self.msgs.append((time.monotonic(), m))
        except socket.timeout:
            pass
        return self.msgs

    def times(self, msg):
        return [ts for ts, m in self.msgs if msg in m.split('\n')]


def start_notified(t, watchdog_pid='$$'):
    """sluice under sh, which sets the environment systemd would and execs
    it: $$ is then sluice's own pid."""
    nt = Notify(t)
    port = free_port()
    text = conf(('SERVICE', [('Flush', '0.05'), ('Grace', '5'), ('Log_Level', 'info')]),
                tcp_in(port), ('OUTPUT', [('Name', 'null'), ('Match', '*')]))
    env = "NOTIFY_SOCKET='%s' WATCHDOG_USEC=400000 WATCHDOG_PID=%s" % (nt.path, watchdog_pid)
    sl = t.sluice(text, wait=False, prefix=['sh', '-c', env + ' exec "$0" "$@"'])
    return nt, sl, port


def accepts(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def test_notify(t):
    nt, sl, port = start_notified(t)
    wait_for(lambda: nt.poll() and nt.times('READY=1'), 30, 'READY=1', proc=sl)
    # READY=1 is sent only once everything listens: the port accepts now.
    check(accepts(port), 'the listen port accepts when READY=1 has arrived')
    check('started:' in sl.stderr(), 'READY=1 came after sluice logged started:')
    check_eq(len(nt.times('READY=1')), 1, 'READY=1 is sent once at start')
    ready = nt.times('READY=1')[0]

    # No Stats_File: without the watchdog the control thread would sleep an
    # hour; with WATCHDOG_USEC=400000 it must ping at least every 0.2 s.
    def pings():
        nt.poll()
        return [ts for ts in nt.times('WATCHDOG=1') if ts >= ready]
    got = wait_for(lambda: len(pings()) >= 3 and pings(), 1.5, '3 WATCHDOG=1 within 1.5 s', proc=sl)
    # Without the cap the first ping would come after an hour; the gaps
    # (0.2 s here) are logged, not checked: a loaded CI box may stretch one.
    log('  WATCHDOG=1 gaps: %s s' % [round(b - a, 3) for a, b in zip(got, got[1:])])

    # systemctl reload sends SIGHUP (ExecReload): RELOADING=1, then READY=1
    # again once the configuration is back in place (sd_notify(3)).
    sl.send(signal.SIGHUP)
    wait_for(lambda: nt.poll() and len(nt.times('READY=1')) >= 2, 30, 'READY=1 after the reload', proc=sl)
    rel = nt.times('RELOADING=1')
    check_eq(len(rel), 1, 'RELOADING=1 once for the SIGHUP')
    check(ready < rel[0] <= nt.times('READY=1')[1], 'RELOADING=1 between the two READY=1')

    check(not nt.times('STOPPING=1'), 'no STOPPING=1 before the signal')
    sl.send(signal.SIGTERM)
    wait_for(lambda: nt.poll() and nt.times('STOPPING=1'), 10, 'STOPPING=1 after SIGTERM', proc=None)
    check_eq(sl.stop(timeout=30), 0, 'sluice exits 0 after SIGTERM')
    stop = nt.times('STOPPING=1')
    check_eq(len(stop), 1, 'STOPPING=1 is sent once')
    log('  READY after %d pings, STOPPING %.2fs after READY' % (len(got), stop[0] - ready))


def test_watchdog_other_pid(t):
    """sd_watchdog_enabled: a WATCHDOG_PID that is not sluice's means the
    watchdog is some other process's: READY=1 still, never WATCHDOG=1."""
    nt, sl, _ = start_notified(t, watchdog_pid='1')
    wait_for(lambda: nt.poll() and nt.times('READY=1'), 30, 'READY=1', proc=sl)
    # Absence is checked over a window: 3 half-periods of the watchdog, in
    # which test_notify sees 3 pings.
    end = time.monotonic() + 0.6
    while time.monotonic() < end:
        nt.poll()
    check_eq(nt.times('WATCHDOG=1'), [], 'no WATCHDOG=1 when WATCHDOG_PID is another pid')
    check_eq(sl.stop(timeout=30), 0, 'sluice exits 0 after SIGTERM')
    check_eq(len(nt.poll() and nt.times('STOPPING=1')), 1, 'STOPPING=1 all the same')


if __name__ == '__main__':
    main([test_install, test_verify, test_notify, test_watchdog_other_pid])
