#!/usr/bin/env python3
"""test_cli.py — the command line and the shipped default configuration.

- `-i dummy -p samples=5 -p rate=100 -o stdout -p format=json_lines`:
  exactly 5 JSON records with "message":"dummy" and a current "date".
- `-i syslog -p mode=tcp ... -o stdout`: a line sent over TCP comes out.
- `-i syslog -h` / `-o file -h` list the plugin's keys; an unknown plugin,
  an unknown option, -p before any -i, no arguments: exit 2 with a message.
- Fluent Bit's flags (docs.fluentbit.io/manual/administration/
  configuring-fluent-bit, "Command line interface"): -T runs a stream task
  named flb-console:0; -l writes the log to a file; -v adds debug lines,
  -vv trace lines, -q only errors; -H is HTTP_Server On (a dry run
  accepts it; test_http_server.py serves); --help lists every input,
  filter and output.
- conf/sluice.conf as shipped: starts, and one syslog line over UDP, one
  over TCP (both 127.0.0.1:5140) and one JSON line on 5170 all reach
  stdout; SIGTERM exits 0. Skipped when those ports are taken here.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time

from harness import (REPO, SLUICE, check, check_eq, conf, file_out, free_port, log, main,
                     port_bound, service, skip, syslog_in, wait_for)


def stdout_records(sl):
    out = []
    for ln in sl.stdout().splitlines():
        if ln.strip():
            out.append(json.loads(ln))
    return out


def test_dummy_samples(t):
    sl = t.sluice(args=['-i', 'dummy', '-p', 'samples=5', '-p', 'rate=100', '-o', 'stdout', '-p',
                        'format=json_lines'])
    t0 = time.time()
    wait_for(lambda: len(stdout_records(sl)) >= 5, 15, '5 records on stdout', proc=sl)
    # at Rate 100 a 6th would have been made 10 ms after the 5th, long
    # before this (the first flush came after 1s); the drain would print it
    check_eq(sl.stop(), 0, 'exit 0 on SIGTERM')
    recs = stdout_records(sl)
    check_eq(len(recs), 5, 'exactly Samples=5 records')
    check(all(set(r) == {'date', 'message'} and r['message'] == 'dummy' for r in recs),
          'each is {"date": ..., "message": "dummy"}', json.dumps(recs[0]))
    check(all(abs(r['date'] - t0) < 60 for r in recs), 'dates are now', '%.6f' % recs[0]['date'])
    check(all(recs[i]['date'] < recs[i + 1]['date'] for i in range(4)), 'dates increase (Rate 100)')


def test_cli_syslog_tcp(t):
    port = free_port()
    sl = t.sluice(args=['-i', 'syslog', '-p', 'mode=tcp', '-p', 'listen=127.0.0.1', '-p',
                        'port=%d' % port, '-t', 'cli', '-o', 'stdout', '-m', 'cl*', '-p',
                        'format=json_lines', '-f', '0.05'])
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'<14>1 2024-03-04T05:06:07.5Z web app 42 M1 - hello from the command line\n')
    s.close()
    recs = wait_for(lambda: stdout_records(sl), 10, 'the record on stdout', proc=sl)
    check_eq(sl.stop(), 0, 'exit 0 on SIGTERM')
    r = recs[0]
    check_eq((r['pri'], r['host'], r['ident'], r['pid'], r['msgid'], r['message']),
             ('14', 'web', 'app', '42', 'M1', 'hello from the command line'),
             'the syslog fields of the line sent')
    check(abs(r['date'] - 1709528767.5) < 1e-6, 'date is the line\'s TIMESTAMP', str(r['date']))


def test_signals_and_log_file(t):
    """SIGUSR1 prints the counters as one JSON line on the log; SIGHUP is
    logged and reloads (sluice keeps running); Log_File takes the log."""
    port = free_port()
    logf = t.path('sluice.log')
    sl = t.sluice(conf(service(t, Log_File=logf), syslog_in(port), file_out(t)), wait=False)
    wait_for(lambda: os.path.exists(logf) and 'started:' in open(logf).read(), 15,
             'started in Log_File', proc=sl)
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'<13>1 2024-01-01T00:00:00Z h a 1 - - one\n<13>1 2024-01-01T00:00:00Z h a 1 - - two\n')
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 10, '2 records out')
    sl.send(signal.SIGUSR1)
    line = wait_for(lambda: next((ln for ln in sl.stderr().splitlines() if ln.startswith('{')), None),
                    10, 'the counters on stderr after SIGUSR1', proc=sl)
    st = json.loads(line)
    check_eq((st['inputs']['syslog.0']['records'], st['totals']['out']), (2, 2),
             'SIGUSR1: counters as JSON on stderr')
    sl.send(signal.SIGHUP)
    wait_for(lambda: 'SIGHUP' in open(logf).read(), 10, 'SIGHUP logged', proc=sl)
    check(sl.poll() is None, 'SIGHUP leaves sluice running')
    check_eq(sl.stop(), 0, 'exit 0 on SIGTERM')
    log_text = open(logf).read()
    check('records=2' in log_text and 'stopping' in log_text, 'the log went to Log_File')
    check('[ info]' not in sl.stderr(), 'and not to stderr')


def test_empty_stats_file(t):
    """Stats_File ${UNSET:-} (empty) is no Stats_File: no '.tmp' file is
    written beside it each interval."""
    text = conf(('SERVICE', [('Flush', '0.05'), ('Stats_File', '${NOPE_NOT_SET:-}'), ('Stats_Interval', '0.05')]),
                ('INPUT', [('Name', 'dummy')]), ('OUTPUT', [('Name', 'null'), ('Match', '*')]))
    sl = t.sluice(text)
    # SIGUSR1 is answered after the Stats_File write of the same wake-up.
    sl.send(signal.SIGUSR1)
    wait_for(lambda: any(ln.startswith('{') for ln in sl.stderr().splitlines()), 10,
             'the counters on stderr after SIGUSR1', proc=sl)
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(sorted(f for f in os.listdir(t.dir) if f.startswith('.')), [], 'no hidden file written')


def run(args):
    return subprocess.run([SLUICE] + args, capture_output=True, text=True, timeout=30)


def test_help_and_usage_errors(t):
    p = run(['-i', 'syslog', '-h'])
    keys = ['Mode', 'Listen', 'Port', 'Parser', 'Buffer_Chunk_Size', 'Buffer_Max_Size', 'Tag',
            'Mem_Buf_Limit']
    missing = [k for k in keys if not re.search(r'^%s\s' % k, p.stdout, re.M)]
    check(p.returncode == 0 and not missing, '-i syslog -h lists the syslog keys and the common ones',
          'missing %s, rc=%d' % (missing, p.returncode) if missing or p.returncode else ', '.join(keys))
    p = run(['-o', 'file', '-h'])
    missing = [k for k in ['Path', 'File', 'Format', 'Match', 'Match_Regex'] if
               not re.search(r'^%s\s' % k, p.stdout, re.M)]
    check(p.returncode == 0 and not missing, '-o file -h lists the file output keys',
          'missing %s' % missing if missing else '')
    p = run(['-i', 'nope', '-h'])
    check(p.returncode == 2 and "unknown input plugin 'nope'" in p.stderr,
          '-i nope -h: exit 2, unknown plugin', p.stderr.strip())
    p = run(['--bogus'])
    check(p.returncode == 2 and 'unknown option' in p.stderr, '--bogus: exit 2', p.stderr.strip())
    p = run(['-p', 'port=1'])
    check(p.returncode == 2 and 'no -i, -F or -o before it' in p.stderr, '-p first: exit 2',
          p.stderr.strip())
    p = run([])
    check(p.returncode == 2 and 'Usage' in p.stderr, 'no arguments: usage on stderr, exit 2')
    p = run(['--version'])
    check(p.returncode == 0 and re.match(r'sluice \d+\.\d+\.\d+', p.stdout), '--version',
          p.stdout.strip())
    p = run(['-i', 'dummy', '-o', 'null', '-p', 'Colour=blue', '--dry-run'])
    check(p.returncode == 1 and "<command line>" in p.stderr and "'Colour'" in p.stderr,
          'a bad key on the command line is reported like a config error', p.stderr.strip())


def test_fluent_bit_flags(t):
    # Fluent Bit's "Command line interface" (docs.fluentbit.io/manual/administration/
    # configuring-fluent-bit): -T/--sp-task=SQL, -l/--log_file=FILE, -v (-vv trace),
    # -q/--quiet, -H/--http, -P/--port, -h/--help (which lists Inputs, Filters, Outputs)
    # -T SQL: a [STREAM_TASK] named flb-console:0, as Fluent Bit's flb_sp.c
    # names command-line tasks; a plain SELECT's results carry that tag
    logf = t.path('cli.log')
    sl = t.sluice(args=['-i', 'dummy', '-p', 'samples=3', '-p', 'rate=100', '-t', 'd',
                        '-T', "SELECT message AS m FROM TAG:'d';", '-o', 'stdout', '-m', 'flb-console:0',
                        '-p', 'format=json_lines', '-f', '0.05', '-l', logf], wait=False)
    wait_for(lambda: len(stdout_records(sl)) >= 3, 15, '3 task results on stdout', proc=sl)
    check_eq(sl.stop(), 0, 'exit 0 on SIGTERM')
    recs = stdout_records(sl)
    check_eq([{k: v for k, v in r.items() if k != 'date'} for r in recs], [{'m': 'dummy'}] * 3,
             '-T: the task\'s results (tag flb-console:0; tag d reaches no output)')
    log_text = open(logf).read()
    check('started:' in log_text and 'stopping' in log_text, '-l FILE: the log went to FILE')
    check('[ info]' not in sl.stderr(), '-l FILE: and not to stderr', sl.stderr_tail(3))

    def dry_log(extra):
        return run(['-i', 'dummy', '-p', 'samples=1', '-o', 'null', '-f', '0.05'] + extra)

    # -v / -vv: the levels of the start-up lines (after the dry-run point,
    # so sluice runs until it has started)
    for flag, want, unwanted in (('-v', '[debug]', '[trace]'), ('-vv', '[trace]', None)):
        sl = t.sluice(args=['-i', 'dummy', '-o', 'null', flag], name='lv' + flag[1:])
        check_eq(sl.stop(), 0, '%s: exit 0 on SIGTERM' % flag)
        err = sl.stderr()
        check(want in err and (unwanted is None or unwanted not in err),
              '%s: %s lines%s' % (flag, want, ', no %s' % unwanted if unwanted else ''), err[-300:])
    # -q: errors only, so the unset-variable warning is gone
    path = t.path('q.conf')
    with open(path, 'w') as f:
        f.write('[INPUT]\n    Name dummy\n    Tag x${SLUICE_E2E_UNSET}\n[OUTPUT]\n    Name null\n'
                '    Match *\n')
    p = run(['-c', path, '--dry-run'])
    q = run(['-c', path, '--dry-run', '-q'])
    check(p.returncode == 0 and '[ warn]' in p.stderr and q.returncode == 0 and
          '[ warn]' not in q.stderr, '-q: the warning shown without it is gone', q.stderr.strip())
    p = dry_log(['-H', '-P', '2020', '-L', '127.0.0.1', '--dry-run'])
    check(p.returncode == 0 and 'successful' in p.stdout, '-H -P -L: accepted', p.stderr.strip())
    # -w DIR: the configuration is read from DIR (Fluent Bit's --workdir)
    os.mkdir(t.path('wd'))
    with open(t.path('wd', 'w.conf'), 'w') as f:
        f.write('[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n    Match *\n')
    p = run(['-w', t.path('wd'), '-c', 'w.conf', '--dry-run'])
    check(p.returncode == 0 and 'successful' in p.stdout, '-w DIR: relative paths from DIR',
          p.stderr.strip())
    p = run(['-e', '/path/to/out_gstdout.so', '-i', 'dummy', '-o', 'null'])
    check(p.returncode != 0 and 'plugin /path/to/out_gstdout.so: No such file' in p.stderr,
          '-e FILE: a missing plugin object is refused clearly', p.stderr.strip())
    p = run(['--help'])
    names = re.findall(r'^  (\w+)\s{2,}', p.stdout, re.M)
    want = ['syslog', 'tcp', 'dummy', 'kafka', 'udp', 'grep', 'modify', 'multiline', 'parser',
            'record_modifier', 'rewrite_tag', 'sampling', 'throttle', 'stdout', 'file', 'null']
    missing = [n for n in want if n not in names]
    check(p.returncode == 0 and not missing and 'Inputs' in p.stdout and 'Outputs' in p.stdout,
          '--help lists every plugin under Inputs / Filters / Outputs', 'missing %s' % missing)


def test_default_config(t):
    busy = [(p, k) for p, k in ((5140, 'udp'), (5140, 'tcp'), (5170, 'tcp')) if port_bound(p, k)]
    if busy:
        skip('ports of conf/sluice.conf already in use here: %s' % busy)
    path = os.path.join(REPO, 'conf', 'sluice.conf')
    p = run(['--dry-run', '-c', path])
    check(p.returncode == 0 and 'configuration test is successful' in p.stdout,
          'conf/sluice.conf passes --dry-run')
    sl = t.sluice(args=['-c', path], wait=False)
    try:
        sl.wait_started(20)
    except Exception:
        if 'cannot bind' in sl.stderr():
            skip('a default port was taken meanwhile: %s' % sl.stderr_tail(1))
        raise
    for port, kind in ((5140, 'udp'), (5140, 'tcp'), (5170, 'tcp')):
        check(port_bound(port, kind, sl.pid), 'it listens on 127.0.0.1:%d/%s' % (port, kind))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b'<13>1 2024-01-02T03:04:05Z h1 udpapp 1 - - over udp', ('127.0.0.1', 5140))
    u.close()
    s = socket.create_connection(('127.0.0.1', 5140))
    s.sendall(b'<13>1 2024-01-02T03:04:05Z h2 tcpapp 2 - - over tcp\n')
    s.close()
    s = socket.create_connection(('127.0.0.1', 5170))
    s.sendall(b'{"json":"over tcp 5170","n":3}\n')
    s.close()
    # Flush is 1s in the default config
    recs = wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(stdout_records(sl)), 15,
                    'three records on stdout', proc=sl)
    check_eq(sl.stop(), 0, 'exit 0 on SIGTERM')
    recs = stdout_records(sl)
    got = sorted(r.get('message') or r.get('json') for r in recs)
    check_eq(got, ['over tcp', 'over tcp 5170', 'over udp'],
             'the UDP syslog, TCP syslog and JSON records on stdout')
    j = [r for r in recs if 'json' in r][0]
    check_eq(j['n'], 3, 'JSON numbers stay numbers')
    log('  stdout: ' + ' | '.join(json.dumps(r) for r in recs))


if __name__ == '__main__':
    main([test_dummy_samples, test_cli_syslog_tcp, test_help_and_usage_errors, test_signals_and_log_file,
          test_fluent_bit_flags, test_default_config, test_empty_stats_file])
