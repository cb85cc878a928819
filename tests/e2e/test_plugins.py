#!/usr/bin/env python3
"""test_plugins.py — plugins as shared objects (issue 16, docs/PLUGINS.md).

- go_output: a Go output plugin for Fluent Bit's Go interface
  (plugins/out_gotest.go, built here with `go build -buildmode=c-shared`,
  standard library and cgo only) loads with -e, reads its keys through
  FLBPluginConfigKey's path (the host's output_get_property), keeps a
  context (FLBPluginFlushCtx), and receives every record with its tag and
  time: the same (time, message) pairs, in order, as a file output
  (Format msgpack) beside it. Its FLB_RETRY on the first flush is retried
  by the scheduler (retries=1 in the exit log) and every record is written
  once. go_error: FLB_ERROR drops that chunk's records (counted as
  errors, not retried) and the next chunk is delivered. Fluent Bit's side: src/proxy/go/go.c (which callbacks, FLB_OK /
  FLB_RETRY / FLB_ERROR), include/fluent-bit/flb_plugin_proxy.h and
  flb_api.h (the structs the plugin reads).
- go_yaml: YAML `plugins:` (Fluent Bit's manual, yaml/plugins-section)
  loads the same object.
- c_plugin: a C output (plugins/out_ccount.c) built with cc against the
  headers `meson install --destdir` puts in include/sluice loads through
  [SERVICE] Plugins_File -> [PLUGINS] Path, counts every record with its
  tag, and `-e x.so -o ccount -h` prints its option table.
- errors: a missing file, an object that is not a plugin, a C plugin of
  another ABI, a C plugin whose load fails and a Go plugin whose
  FLBPluginInit fails each stop sluice at start-up (exit non-zero) with a
  message naming the file and the reason.

Skipped with the reason where go (Debian's golang-go) or cc is missing.
"""
import atexit
import os
import re
import shutil
import subprocess
import tempfile

from harness import (SLUICE, check, check_eq, conf, exit_log_counters, free_port, main, service,
                     skip, tcp_in, wait_for)
from mpack import mp_all

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.dirname(SLUICE)
_built = {}


def _scratch():
    if 'dir' not in _built:
        _built['dir'] = tempfile.mkdtemp(prefix='sluice-e2e-plugins-')
        atexit.register(shutil.rmtree, _built['dir'], True)
    return _built['dir']


def go_plugin(name='out_gotest'):
    """A Go test plugin (plugins/<name>.go), built once per run."""
    if name in _built:
        return _built[name]
    go = shutil.which('go')
    if not go:
        skip('go is not installed (scripts/deps.sh installs golang-go)')
    d = _scratch()
    env = dict(os.environ, GOCACHE=os.path.join(d, 'gocache'), GOPATH=os.path.join(d, 'gopath'),
               GO111MODULE='off', GOFLAGS='', CGO_ENABLED='1', GOTOOLCHAIN='local')
    so = os.path.join(d, name + '.so')
    p = subprocess.run([go, 'build', '-buildmode=c-shared', '-o', so,
                        os.path.join(HERE, 'plugins', name + '.go')],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    check(p.returncode == 0, 'go build -buildmode=c-shared of the test plugin',
          p.stdout.decode(errors='replace')[-1500:] if p.returncode else '')
    _built[name] = so
    return so


def installed_headers():
    """meson install --destdir into the scratch dir: its include/sluice."""
    if 'inc' in _built:
        return _built['inc']
    if not shutil.which('meson') or not os.path.isdir(os.path.join(BUILD, 'meson-info')):
        skip('%s is not a meson build directory (or meson is missing)' % BUILD)
    dest = os.path.join(_scratch(), 'dest')
    # --no-rebuild: meson test built it; a test must not rebuild the tree.
    # --tags devel: the headers only (what a plugin author installs).
    p = subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--tags', 'devel',
                        '--destdir', dest],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    check(p.returncode == 0, 'meson install --destdir',
          p.stdout.decode(errors='replace')[-1500:] if p.returncode else '')
    inc = [r for r, _, files in os.walk(dest) if 'sluice_plugin.h' in files]
    check(len(inc) == 1 and inc[0].endswith('/include/sluice'),
          'meson install puts sluice_plugin.h in <prefix>/include/sluice', str(inc))
    _built['inc'] = inc[0]
    return inc[0]


def c_plugin(name, *defines, src=None):
    """A C object built from the installed headers."""
    cc = shutil.which('cc')
    if not cc:
        skip('cc is not installed')
    so = os.path.join(_scratch(), name + '.so')
    if src is None:
        src = os.path.join(HERE, 'plugins', 'out_ccount.c')
    p = subprocess.run([cc, '-shared', '-fPIC', '-Wall', '-Werror', '-I' + installed_headers(),
                        '-o', so, src] + ['-D' + d for d in defines],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    check(p.returncode == 0, 'cc -shared of %s from the installed headers' % name,
          p.stdout.decode(errors='replace')[-1500:] if p.returncode else '')
    return so


def send_lines(port, lines):
    import socket
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(''.join(l + '\n' for l in lines).encode())
    s.close()


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ''


def test_go_output(t):
    so = go_plugin()
    port = free_port()
    n = 2000
    go_out, mp_out = t.path('go.txt'), t.path('o.msgpack')
    text = conf(service(t, **{'scheduler.base': '0.2', 'scheduler.cap': '0.5'}),
                tcp_in(port, Tag='t.go'),
                ('OUTPUT', [('Name', 'gotest'), ('Match', 't.*'), ('Out_File', go_out),
                            ('Retry_First', '1'), ('Retry_Limit', '3'),
                            ('Count_File', t.path('count.txt'))]),
                ('OUTPUT', [('Name', 'file'), ('Match', 't.*'), ('Path', t.dir), ('File', 'o.msgpack'),
                            ('Format', 'msgpack')]))
    sl = t.sluice(text, args=['-e', so])
    check('plugin %s loaded' % so in sl.stderr(), '-e: the Go object is loaded')
    send_lines(port, ['{"message":"m%05d","n":%d}' % (i, i) for i in range(n)])
    wait_for(lambda: read_text(go_out).count('\n') >= n, 30, 'the Go plugin wrote %d records' % n, proc=sl)
    wait_for(lambda: os.path.exists(mp_out) and len(mp_all(open(mp_out, 'rb').read())) >= n, 30,
             'the file output wrote %d records' % n, proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = [l.split('\t') for l in read_text(go_out).splitlines()]
    check_eq(len(got), n, 'every record reached the Go plugin once (none lost, none twice after the retry)')
    check(all(g[0] == 't.go' for g in got), 'each with its tag')
    ev = mp_all(open(mp_out, 'rb').read())
    want = [('%d.%09d' % (e[0][1], e[0][2]), e[1]['message']) for e in ev]
    check_eq([(g[1], g[2]) for g in got], want,
             'each with its time and message, as the file output has them, in order')
    c = exit_log_counters(sl.stderr(), 'gotest.0')
    check_eq((c.get('records'), c.get('retries'), c.get('errors')), (n, 1, 0),
             'its FLB_RETRY is one retry of the scheduler, then all delivered')
    rec, flushes = map(int, read_text(t.path('count.txt')).split())
    check(rec == n and flushes >= 2, 'FLBPluginExitCtx ran with the instance context',
          '%d records, %d flushes' % (rec, flushes))


def test_go_error(t):
    so = go_plugin()
    port = free_port()
    go_out = t.path('go.txt')
    text = conf(service(t), tcp_in(port, Tag='t.go'),
                ('OUTPUT', [('Name', 'gotest'), ('Match', '*'), ('Out_File', go_out),
                            ('Error_First', '1')]))
    sl = t.sluice(text, args=['-e', so])
    send_lines(port, ['{"message":"first"}'])
    sl.wait_stats(lambda st: st['outputs']['gotest.0']['errors'] >= 1, 30,
                  'the chunk answered FLB_ERROR is counted as errors')
    send_lines(port, ['{"message":"second"}'])
    wait_for(lambda: 'second' in read_text(go_out), 30, 'the next chunk is delivered', proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([l.split('\t')[2] for l in read_text(go_out).splitlines()], ['second'],
             'FLB_ERROR: that chunk is dropped, not retried')
    c = exit_log_counters(sl.stderr(), 'gotest.0')
    check_eq((c.get('records'), c.get('errors'), c.get('retries')), (1, 1, 0),
             'one record delivered, one failed, no retry')


def go_input_events(path):
    try:
        return mp_all(open(path, 'rb').read())
    except FileNotFoundError:
        return []


def check_go_input_events(ev, n, label, what):
    """Record i of in_gotest.go: every one once, in order, with its fields
    and its nanosecond EventTime."""
    check_eq(len(ev), n, what + ': every record once')
    check_eq([e[1]['n'] for e in ev], list(range(n)), what + ': in order, none lost, none twice')
    bad = [e for e in ev if e[0] != ('time', 1700000000 + e[1]['n'], e[1]['n'] % 1000000 * 1000 + 7)
           or e[1]['msg'] != 'm%06d' % e[1]['n'] or e[1]['label'] != label or e[1]['late'] != label]
    check(not bad, what + ': each with its EventTime to the nanosecond, its fields, and the key '
          'FLBPluginConfigKey reads in the callback (after FLBPluginInit)', str(bad[:2]))


def test_go_input(t):
    """A Go input (plugins/in_gotest.go): Fluent Bit's input proxy
    (src/flb_plugin_proxy.c flb_proxy_input_cb_collect, src/proxy/go/go.c
    proxy_go_input_collect / proxy_go_input_cleanup): every buffer its
    FLBPluginInputCallback answers is taken, then given to its
    FLBPluginInputCleanupCallback; FLBPluginExit at the end."""
    so = go_plugin('in_gotest')
    n, batch = 3000, 250
    exit_file = t.path('exit.txt')
    text = conf(service(t),
                ('INPUT', [('Name', 'gotest_in'), ('Tag', 'g.in'), ('Records', str(n)),
                           ('Batch', str(batch)), ('Label', 'lbl-1'), ('Malformed', 'yes'),
                           ('Collect_Interval', '0.02'), ('Exit_File', exit_file)]),
                ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('Format', 'msgpack')]))
    sl = t.sluice(text, args=['-e', so])
    out = t.path('g.in')
    wait_for(lambda: len(go_input_events(out)) >= n, 30, 'the file output wrote %d records' % n, proc=sl)
    sl.wait_stats(lambda st: st['inputs']['gotest_in.0']['malformed'] == 2, 10,
                  'the buffer that holds no event: its two bad objects counted malformed, skipped')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_go_input_events(go_input_events(out), n, 'lbl-1', 'the Go input, Tag g.in')
    c = exit_log_counters(sl.stderr(), 'gotest_in.0')
    check_eq((c.get('records'), c.get('malformed')), (n, 2), 'its counters at exit')
    calls, cleanups = map(int, read_text(exit_file).split()[:2])
    check_eq(cleanups, n // batch + 1,
             'FLBPluginExit ran, after FLBPluginInputCleanupCallback had each buffer taken once')
    check(calls > cleanups, 'empty answers (size 0) are not taken', '%d calls' % calls)
    p = subprocess.run([SLUICE, '-h', '-e', so], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode()
    check(p.returncode == 0 and "gotest_in             sluice's test Go input" in out,
          'sluice -h -e x.so lists the object\'s input with the built-ins', out[-300:])
    p = subprocess.run([SLUICE, '-e', so, '-i', 'gotest_in', '-h'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode()
    check(p.returncode == 0 and 'Collect_Interval' in out, '-e x.so -i gotest_in -h: its keys', out[:300])


def test_go_input_backpressure(t):
    """The smallest memory (three chunks) and a callback called again as
    soon as it returns: the collector thread waits for buffers to come back
    instead of dropping, so every record arrives once, in order. No Tag:
    the records are tagged with the instance's name."""
    so = go_plugin('in_gotest')
    n = 60000
    text = conf(service(t),
                ('INPUT', [('Name', 'gotest_in'), ('Records', str(n)), ('Batch', '3000'),
                           ('Label', 'x'), ('Collect_Interval', '0'), ('Mem_Buf_Limit', '1')]),
                ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('Format', 'msgpack')]))
    sl = t.sluice(text, args=['-e', so])
    out = t.path('gotest_in.0')   # no Tag: the instance's name, as in Fluent Bit
    wait_for(lambda: len(go_input_events(out)) >= n, 60, 'all %d records written, under the tag '
             'gotest_in.0' % n, proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_go_input_events(go_input_events(out), n, 'x', 'under backpressure')
    c = exit_log_counters(sl.stderr(), 'gotest_in.0')
    check_eq((c.get('records'), c.get('dropped'), c.get('malformed')), (n, 0, 0), 'none dropped')


def test_go_input_reload(t):
    """SIGHUP twice: with the section unchanged the input is kept (its
    collector goes on, its keys still read through the pointer its
    FLBPluginInit kept, though the reload gave a new copy FLBPluginInit
    and dropped it); with Label changed the old instance goes (collector
    joined) and the new one runs with the new keys. No record twice;
    FLBPluginExit once, at the end."""
    so = go_plugin('in_gotest')
    exit_file = t.path('exit.txt')

    def text(label):
        return conf(service(t),
                    ('INPUT', [('Name', 'gotest_in'), ('Tag', 'rl'), ('Records', '0'), ('Batch', '10'),
                               ('Label', label), ('Collect_Interval', '0.05'), ('Exit_File', exit_file)]),
                    ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('Format', 'msgpack')]))
    sl = t.sluice(text('one'), args=['-e', so])
    out = t.path('rl')

    def grows(by):
        mark = len(go_input_events(out))
        wait_for(lambda: len(go_input_events(out)) >= mark + by, 30, '%d more records' % by, proc=sl)
    grows(50)
    sl.send(1)  # SIGHUP, the same configuration
    wait_for(lambda: 'reloaded: 1 inputs kept' in sl.stderr(), 60, 'the Go input kept', proc=sl)
    grows(50)
    with open(sl.conf_path, 'w') as f:
        f.write(text('two'))
    sl.send(1)
    wait_for(lambda: sl.stderr().count('reloaded:') >= 2, 60, 'the second reload', proc=sl)
    wait_for(lambda: any(e[1]['label'] == 'two' for e in go_input_events(out)), 30,
             'records of the new instance', proc=sl)
    check(not os.path.exists(exit_file), 'no FLBPluginExit while an instance of the object runs')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    ev = go_input_events(out)
    ns = [e[1]['n'] for e in ev]
    check(ns == sorted(set(ns)), 'no record twice, in order', str(ns[:20]))
    one = [e for e in ev if e[1]['label'] == 'one']
    check(len(one) >= 100 and all(e[1]['late'] == 'one' for e in one),
          'the kept instance read its keys after the reload', str(len(one)))
    two = [e for e in ev if e[1]['label'] == 'two']
    check(two and all(e[1]['late'] == 'two' for e in two), 'the new instance reads its new keys')
    check(os.path.exists(exit_file), 'FLBPluginExit at the end')
    check_eq(ns, list(range(int(read_text(exit_file).split()[2]))),
             'every record the plugin handed over arrived, the replaced instance\'s last call\'s too')


def test_go_input_stop_takes_all(t):
    """A stop while the callback sleeps (300 ms per call, 10 records
    each): the collector is told to stop, the call in progress returns its
    buffer, and shard 0 takes it in before its last flush
    (dp_input_ops.drain): every record the plugin handed over is delivered,
    as Fluent Bit appends each buffer the callback answers."""
    so = go_plugin('in_gotest')
    exit_file = t.path('exit.txt')
    text = conf(service(t),
                ('INPUT', [('Name', 'gotest_in'), ('Tag', 'st'), ('Records', '0'), ('Batch', '10'),
                           ('Label', 's'), ('Sleep_Ms', '300'), ('Collect_Interval', '0'),
                           ('Exit_File', exit_file)]),
                ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('Format', 'msgpack')]))
    sl = t.sluice(text, args=['-e', so])
    out = t.path('st')
    wait_for(lambda: len(go_input_events(out)) >= 20, 30, 'two calls\' records', proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    ns = [e[1]['n'] for e in go_input_events(out)]
    handed = int(read_text(exit_file).split()[2])
    check(handed > 20, 'the plugin was called again after the first records', str(handed))
    check_eq(ns, list(range(handed)), 'every record handed over delivered, once, in order')


def test_go_input_sleeps(t):
    """A callback that blocks (fluent-bit-go's in_gdummy sleeps 1 s in it; here 3 s)
    holds its collector thread only: the tcp input on the same shards
    goes on, and a stop waits for the call in progress."""
    so = go_plugin('in_gotest')
    port = free_port()
    text = conf(service(t, Shards='1'),
                ('INPUT', [('Name', 'gotest_in'), ('Tag', 'slow'), ('Records', '0'), ('Batch', '1'),
                           ('Label', 'z'), ('Sleep_Ms', '3000'), ('Collect_Interval', '0')]),
                tcp_in(port, Tag='t.fast'),
                ('OUTPUT', [('Name', 'file'), ('Match', 't.*'), ('Path', t.dir), ('File', 'fast'),
                            ('Format', 'msgpack')]))
    sl = t.sluice(text, args=['-e', so])
    send_lines(port, ['{"message":"m%d"}' % i for i in range(100)])
    wait_for(lambda: len(go_input_events(t.path('fast'))) >= 100, 1.5,
             'the tcp input on the one shard is served while the Go callback sleeps', proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0 (the collector joined after its call)')


def test_go_yaml(t):
    so = go_plugin()
    path = t.path('p.yaml')
    with open(path, 'w') as f:
        f.write('plugins:\n  - %s\npipeline:\n  inputs:\n    - name: dummy\n  outputs:\n'
                '    - name: gotest\n      match: "*"\n      out_file: %s\n' % (so, t.path('x')))
    p = subprocess.run([SLUICE, '-c', path, '--dry-run'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors='replace')
    check(p.returncode == 0 and 'successful' in out, 'YAML plugins: loads the Go object', out[-800:])


def test_c_plugin(t):
    so = c_plugin('ccount')
    shutil.copy(so, t.path('ccount.so'))
    with open(t.path('plugins.conf'), 'w') as f:
        f.write('[PLUGINS]\n    Path ccount.so\n')
    n = 500
    port = free_port()
    text = conf(service(t, Plugins_File='plugins.conf'), tcp_in(port, Tag='t.c'),
                ('OUTPUT', [('Name', 'ccount'), ('Match', '*'), ('Path', t.path('cc.txt'))]))
    sl = t.sluice(text)
    send_lines(port, ['{"message":"m%d"}' % i for i in range(n)])

    def total():
        return sum(int(l.split()[1]) for l in read_text(t.path('cc.txt')).splitlines())
    wait_for(lambda: total() >= n, 30, 'ccount counted %d records' % n, proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    lines = [l.split() for l in read_text(t.path('cc.txt')).splitlines()]
    check(all(l[0] == 't.c' for l in lines), 'the C plugin sees each chunk\'s tag (dp_chunk_tag)')
    check_eq(total(), n, 'Plugins_File: the C plugin got every record once')
    p = subprocess.run([SLUICE, '-e', so, '-o', 'ccount', '-h'], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode()
    check(p.returncode == 0 and 'Counts records per chunk' in out and 'integer 1..1000' in out,
          '-e x.so -o ccount -h prints its option table', out[:300])
    bad = conf(service(t), ('PLUGINS', [('Path', so)]), ('INPUT', [('Name', 'dummy')]),
               ('OUTPUT', [('Name', 'ccount'), ('Match', '*')]))
    with open(t.path('bad.conf'), 'w') as f:
        f.write(bad)
    p = subprocess.run([SLUICE, '-c', t.path('bad.conf'), '--dry-run'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    out = p.stdout.decode()
    check(p.returncode != 0 and "bad.conf:" in out and "missing required key 'Path'" in out,
          'its option table checks the section (a required key, named with file:line)', out[-400:])


def start_error(t, args, conf_text, want, what):
    path = t.path('e.conf')
    with open(path, 'w') as f:
        f.write(conf_text)
    p = subprocess.run([SLUICE, '-c', path] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = p.stdout.decode(errors='replace')
    check(p.returncode != 0 and all(w in out for w in want), what,
          'exit %d: %s' % (p.returncode, out.strip().splitlines()[-1] if out.strip() else ''))


def test_errors(t):
    base = conf(service(t), ('INPUT', [('Name', 'dummy')]), ('OUTPUT', [('Name', 'null'), ('Match', '*')]))
    missing = t.path('nowhere.so')
    start_error(t, ['-e', missing], base, [missing, 'No such file'], 'a missing object: named, refused')
    src = t.path('empty.c')
    with open(src, 'w') as f:
        f.write('int sluice_test_nothing_here = 1;\n')
    empty = c_plugin('empty', src=src)
    start_error(t, ['-e', empty], base, [empty, 'not a plugin', 'sluice_plugin', 'FLBPluginRegister'],
                'an object exporting neither entry point: named, refused')
    notso = t.path('text.so')
    with open(notso, 'w') as f:
        f.write('not an ELF file\n')
    start_error(t, ['-e', notso], base, [notso, 'cannot load it'], 'a file that is no shared object')
    abi = c_plugin('bad_abi', 'BAD_ABI')
    here = int(re.search(r'#define SLUICE_PLUGIN_ABI (\d+)',
                         read_text(os.path.join(HERE, '..', '..', 'dataplane', 'sluice_plugin.h'))).group(1))
    start_error(t, ['-e', abi], base, [abi, 'ABI %d' % (here + 1000), 'this sluice has ABI %d' % here,
                                       'rebuild'],
                'a C plugin of another ABI: both numbers and what to do')
    fail = c_plugin('fail_load', 'FAIL_LOAD')
    start_error(t, ['-e', fail], base, [fail, 'load failed', 'the test asked it to fail'],
                'a C plugin whose load fails: its reason')
    pf = t.path('pf.conf')
    with open(pf, 'w') as f:
        f.write('[PLUGINS]\n    Path %s\n' % missing)
    start_error(t, [], conf(service(t, Plugins_File=pf), ('INPUT', [('Name', 'dummy')])),
                ['pf.conf:2:', missing], 'Plugins_File: the line of the Path is named')
    if not shutil.which('go'):
        skip('go is not installed (scripts/deps.sh installs golang-go): Go init failure untested')
    so = go_plugin()
    start_error(t, ['-e', so], conf(service(t), ('INPUT', [('Name', 'dummy')]),
                                     ('OUTPUT', [('Name', 'gotest'), ('Match', '*'), ('Fail_Init', 'yes')])),
                ['e.conf:', so, 'FLBPluginInit failed'], 'a Go plugin whose FLBPluginInit fails: named, refused')


if __name__ == '__main__':
    main([test_go_output, test_go_error, test_go_input, test_go_input_backpressure, test_go_input_reload,
          test_go_input_stop_takes_all, test_go_input_sleeps,
          test_go_yaml, test_c_plugin, test_errors])
