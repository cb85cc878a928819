#!/usr/bin/env python3
"""test_dryrun.py — configuration checking and start-up failures.

- --dry-run on good configurations (the shipped conf/sluice.conf, one with
  @INCLUDE, @SET and ${VAR}, the command-line form): exit 0 and
  "configuration test is successful".
- --dry-run on bad ones: exit 1 and "sluice: FILE:LINE: ..." naming the
  file and the line of the offending key (inside an included file, that
  file), for: unknown section, unknown input / output plugin, unknown key,
  bad values (Port abc, Port 70000, Flush abc, Mem_Buf_Limit lots, Format
  xml, Parser nope), missing @INCLUDE, unterminated ${, invalid
  Match_Regex, entry before any section.
- Variables (docs.fluentbit.io/manual/administration/configuring-fluent-bit/
  classic-mode/variables): an unset ${VAR} expands to "" with a warning
  naming FILE:LINE and the variable; --strict makes it an error; ${HOSTNAME}
  is predefined (.../yaml/environment-variables-section) from gethostname
  when the environment has none; ${VAR:-default} takes the default.
- Errors suggest the nearest valid key, plugin, value or section.
- YAML parsers / multiline_parsers / stream_processor sections
  (.../yaml/parsers-section, multiline-parsers-section) pass --dry-run and
  feed the pipeline; a plugins section (.../yaml/plugins-section) is refused.
- A message naming a long path and a long key is whole.
- A bad configuration opens no socket: with its port held by us (so a bind
  would fail loudly), sluice still reports the configuration error, not a
  bind error, and never logs "started".
- A port already in use (TCP listener, UDP socket, a SO_REUSEPORT
  listener, another sluice): sluice exits non-zero with "cannot bind" and
  the address, and the sluice already running keeps working.
"""
import json
import os
import socket
import subprocess

from harness import (REPO, SLUICE, check, check_eq, conf, file_out, free_port, main, wait_for,
                     read_lines, service, syslog_in)


def dry(t, text, name='test.conf', args=()):
    path = t.path(name)
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([SLUICE, '--dry-run', '-c', path] + list(args), capture_output=True,
                       text=True, timeout=30, cwd=t.dir)
    return p.returncode, p.stdout + p.stderr, path


def test_good_configs(t):
    rc, out, _ = dry(t, open(os.path.join(REPO, 'conf', 'sluice.conf')).read(), 'sluice.conf')
    check(rc == 0 and 'configuration test is successful' in out, 'conf/sluice.conf passes --dry-run',
          out.strip())
    rc, out, _ = dry(t, open(os.path.join(REPO, 'conf', 'sluice.yaml')).read(), 'sluice.yaml')
    check(rc == 0 and 'configuration test is successful' in out, 'conf/sluice.yaml passes --dry-run',
          out.strip())
    rc, out, _ = dry(t, 'pipeline:\n  inputs:\n    - name: dummy\n      bogus: 1\n', 'bad.yaml')
    check(rc != 0 and 'bad.yaml:4:' in out and "'bogus'" in out,
          'a bad key in YAML names its FILE:LINE', out.strip())
    os.mkdir(t.path('conf.d'))
    with open(t.path('conf.d', 'in.conf'), 'w') as f:
        f.write('[INPUT]\n    Name   syslog\n    Mode   ${MODE}\n    Port   ${E2E_PORT}\n')
    text = ('@SET MODE=tcp\n'
            '[SERVICE]\n    Flush 0.5\n    Shards 1\n'
            '@INCLUDE conf.d/*.conf\n'
            '[OUTPUT]\n    Name  stdout\n    Match *\n    Format json_lines\n')
    env = dict(os.environ, E2E_PORT='5999')
    path = t.path('main.conf')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True, env=env,
                       timeout=30)
    check(p.returncode == 0 and 'configuration test is successful' in p.stdout,
          '@INCLUDE glob, @SET and ${ENV} config passes --dry-run', (p.stdout + p.stderr).strip())
    p = subprocess.run([SLUICE, '--dry-run', '-i', 'syslog', '-p', 'mode=udp', '-p', 'port=5999',
                        '-o', 'stdout', '-p', 'format=json_lines'], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0 and 'configuration test is successful' in p.stdout,
          'command-line form passes --dry-run', (p.stdout + p.stderr).strip())


OUT = '[OUTPUT]\n    Name  null\n    Match *\n'
IN = '[INPUT]\n    Name  dummy\n'

# (what, config text, line of the error (1-based), words the message must hold)
BAD = [
    ('unknown section', '# c\n[SERVICE]\n    Flush 1\n\n[FOO]\n    a b\n' + IN + OUT, 5,
     ['unknown section', 'FOO']),
    ('unknown input plugin', '# c\n[INPUT]\n    Tag  x\n    Name nope\n' + OUT, 4,
     ['unknown input plugin', 'nope']),
    ('unknown output plugin', IN + '[OUTPUT]\n    Match *\n    Name kafkaa\n', 5,
     ['unknown output plugin', 'kafkaa']),
    ('unknown key in [INPUT]', IN + '    Tag t\n    Bogus 1\n' + OUT, 4, ['unknown key', 'Bogus']),
    ('unknown key in [SERVICE]', '[SERVICE]\n    Flush 1\n    Flsh 2\n' + IN + OUT, 3,
     ['unknown key', 'Flsh']),
    ('Port abc', '[INPUT]\n    Name syslog\n    Mode tcp\n    Port abc\n' + OUT, 4, ['Port', 'abc']),
    ('Port 70000', '[INPUT]\n    Name syslog\n    Mode udp\n    Port 70000\n' + OUT, 4,
     ['Port', '70000']),
    ('Flush abc', '[SERVICE]\n    Grace 1\n    Flush abc\n' + IN + OUT, 3, ['Flush', 'abc']),
    ('Mem_Buf_Limit lots', IN + '    Mem_Buf_Limit lots\n' + OUT, 3, ['Mem_Buf_Limit', 'lots']),
    ('tcp Format xml', '[INPUT]\n    Name tcp\n    Port 5999\n    Format xml\n' + OUT, 4,
     ['Format', 'xml']),
    ('missing @INCLUDE', '# c\n\n@INCLUDE does-not-exist.conf\n' + IN + OUT, 3,
     ['does-not-exist.conf']),
    ('unterminated ${', IN + '    Tag ${FOO\n' + OUT, 3, ['${']),
    ('invalid Match_Regex', IN + '[OUTPUT]\n    Name null\n    Match_Regex ^(a\n', 5,
     ['Match_Regex', '^(a']),
    ('entry before any section', '# c\n    Name dummy\n' + IN + OUT, 2, []),
]

# Values a plugin checks in its own setup (after the option tables): the
# message must still point at the key's line, not at the [INPUT] header.
BAD_SETUP = [
    ('syslog Parser nope', '[INPUT]\n    Name syslog\n    Mode tcp\n    Parser nope\n' + OUT, 4,
     ['Parser', 'nope']),
    ('syslog Mode unix_udp', '[INPUT]\n    Name syslog\n    Port 5999\n    Mode unix_udp\n' + OUT, 4,
     ['unix_udp']),
]


def test_bad_configs(t):
    check_bad(t, BAD)


def test_bad_plugin_values(t):
    check_bad(t, BAD_SETUP)


def check_bad(t, cases):
    wrong = []
    for i, (what, text, line, words) in enumerate(cases):
        rc, out, path = dry(t, text, 'bad%d.conf' % i)
        where = '%s:%d:' % (path, line)
        ok = rc == 1 and where in out and all(w in out for w in words) and \
            'successful' not in out
        print('  %s %-26s -> rc=%d %s' % ('ok  ' if ok else 'BAD ', what, rc, out.strip()))
        if not ok:
            wrong.append('%s: want exit 1 and "%s" with %s, got rc=%d: %s' % (
                what, os.path.basename(path) + ':%d:' % line, words, rc, out.strip()))
    check(not wrong, 'every bad config fails with FILE:LINE of the offending line',
          '\n    ' + '\n    '.join(wrong) if wrong else '%d configs' % len(cases))


def test_error_inside_include(t):
    os.mkdir(t.path('inc'))
    with open(t.path('inc', 'outputs.conf'), 'w') as f:
        f.write('# outputs\n[OUTPUT]\n    Name  null\n    Match *\n    Colour blue\n')
    rc, out, path = dry(t, IN + '@INCLUDE inc/outputs.conf\n', 'main.conf')
    inc = t.path('inc', 'outputs.conf')
    check(rc == 1 and ('%s:5:' % inc) in out and 'Colour' in out,
          'an error in an included file names that file and its line', out.strip())


def test_variables(t):
    # docs.fluentbit.io/manual/administration/configuring-fluent-bit/classic-mode/variables
    # (${VAR}, ${VAR:-default} "Fallback behavior"); .../yaml/environment-variables-section
    # ("Predefined variables": ${HOSTNAME}); Fluent Bit's flb_env.c warns on an unset one
    text = ('[SERVICE]\n    Flush 0.05\n[INPUT]\n    Name dummy\n    Tag  a${SLUICE_E2E_NOPE}\n'
            '[OUTPUT]\n    Name null\n    Match *\n')
    rc, out, path = dry(t, text, 'v.conf')
    check(rc == 0 and '[ warn]' in out and '%s:5: variable ${SLUICE_E2E_NOPE} is not set' % path in out
          and 'successful' in out, 'unset ${VAR}: a warning with FILE:LINE and the name, still runs',
          out.strip())
    rc, out, path = dry(t, text, 'v.conf', args=['--strict'])
    check(rc == 1 and '%s:5: variable ${SLUICE_E2E_NOPE} is not set (--strict)' % path in out and
          'successful' not in out, '--strict: the unset variable is an error', out.strip())
    # ${HOSTNAME} without HOSTNAME in the environment: gethostname(2); the
    # file output names its file after it
    env = {k: v for k, v in os.environ.items() if k != 'HOSTNAME'}
    path = t.path('h.conf')
    with open(path, 'w') as f:
        f.write('[SERVICE]\n    Flush 0.05\n[INPUT]\n    Name dummy\n    Samples 1\n'
                '[OUTPUT]\n    Name file\n    Match *\n    Path %s\n    File ${HOSTNAME}-${SLUICE_E2E_NOPE:-dflt}.out\n'
                % t.dir)
    p = subprocess.Popen([SLUICE, '-c', path], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, cwd=t.dir)
    want = os.path.join(t.dir, '%s-dflt.out' % socket.gethostname())
    try:
        wait_for(lambda: os.path.exists(want) and os.path.getsize(want) > 0, 15, want)
    finally:
        p.terminate()
        _, err = p.communicate(timeout=30)
    check(p.returncode == 0 and 'is not set' not in err,
          '${HOSTNAME} and ${VAR:-default} expand, with no warning', want)


def test_suggestions(t):
    # sluice's own: Fluent Bit reports an unknown name without a suggestion
    cases = [
        ('key', IN + OUT + '    Retry_Limt 3\n',
         "unknown key 'Retry_Limt' (did you mean 'Retry_Limit'?)"),
        ('plugin', IN.replace('dummy', 'dumy') + OUT,
         "unknown input plugin 'dumy' (did you mean 'dummy'?)"),
        ('section', '[OUTPUTS]\n    a b\n' + IN + OUT, "unknown section [OUTPUTS] (did you mean 'OUTPUT'?)"),
    ]
    for what, text, want in cases:
        rc, out, _ = dry(t, text, 's-%s.conf' % what)
        check(rc == 1 and want in out, 'a misspelt %s: %s' % (what, want), out.strip())


def test_yaml_sections(t):
    # docs.fluentbit.io/manual/administration/configuring-fluent-bit/yaml/parsers-section,
    # .../yaml/multiline-parsers-section (rules: state, regex, next_state),
    # .../yaml/plugins-section (external .so plugins: refused here)
    text = """parsers:
  - name: kv
    format: logfmt
multiline_parsers:
  - name: ml
    type: regex
    rules:
      - state: start_state
        regex: '/^\\S/'
        next_state: cont
      - state: cont
        regex: '/^\\s+at /'
        next_state: cont
stream_processor:
  - name: t
    exec: "SELECT message AS m FROM TAG:'d';"
pipeline:
  inputs:
    - name: dummy
      tag: d
  filters:
    - name: parser
      match: d
      key_name: message
      parser: kv
    - name: multiline
      match: d
      multiline.parser: ml
      multiline.key_content: message
  outputs:
    - name: 'null'
      match: '*'
"""
    rc, out, _ = dry(t, text, 'y.yaml')
    check(rc == 0 and 'successful' in out, 'YAML parsers, multiline_parsers, stream_processor',
          out.strip())
    rc, out, path = dry(t, text.replace('next_state: cont\n      - state: cont',
                                        'next_state: nowhere\n      - state: cont'), 'y2.yaml')
    check(rc == 1 and '%s:8:' % path in out and 'nowhere' in out,
          'a bad multiline rule names its YAML line', out.strip())
    rc, out, path = dry(t, 'plugins:\n  - /path/to/out_gstdout.so\n' + text, 'p.yaml')
    check(rc == 1 and '%s:2: plugin /path/to/out_gstdout.so: No such file' % path in out,
          'a plugins section naming a missing object is refused clearly', out.strip())


def test_long_error_message(t):
    # sluice's own: an error names the file and the key whole, whatever their length
    d = t.dir
    for i in range(12):
        d = os.path.join(d, 'd' * 100)
        os.mkdir(d)
    path = os.path.join(d, 'x.conf')
    key = 'K' * 300
    with open(path, 'w') as f:
        f.write(IN + '    %s 1\n' % key + OUT)
    p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True,
                       timeout=30)
    want = "%s:3: [INPUT] dummy: unknown key '%s'" % (path, key)
    check(p.returncode == 1 and want in p.stderr, 'a %d-byte path and a 300-byte key, whole' % len(path),
          p.stderr[-200:])


def held(port, kind, reuseport=False):
    s = socket.socket(socket.AF_INET, kind)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(('127.0.0.1', port))
    if kind == socket.SOCK_STREAM:
        s.listen(1)
    return s


def test_bad_config_opens_no_socket(t):
    """The ports of a bad config are held by us: if sluice bound anything
    before checking the whole configuration it would fail with 'cannot
    bind'. It must fail with the configuration error instead."""
    tport, uport = free_port(), free_port()
    holds = [held(tport, socket.SOCK_STREAM), held(uport, socket.SOCK_DGRAM)]
    try:
        text = conf(service(t), syslog_in(tport), syslog_in(uport, mode='udp'),
                    ('OUTPUT', [('Name', 'null'), ('Match', '*'), ('Unknown_Key', '1')]))
        sl = t.sluice(text, wait=False)
        rc = sl.wait_exit(30)
        err = sl.stderr()
        check_eq(rc, 1, 'sluice exits 1 on a bad config')
        check('unknown key' in err and 'Unknown_Key' in err, 'it reports the configuration error',
              err.strip())
        check('cannot bind' not in err and 'started' not in err,
              'it reached no bind (its ports were held by us) and never started')
    finally:
        for s in holds:
            s.close()


def port_in_use(t, kind, reuseport=False):
    port = free_port()
    h = held(port, kind, reuseport)
    try:
        mode = 'tcp' if kind == socket.SOCK_STREAM else 'udp'
        sl = t.sluice(conf(service(t), syslog_in(port, mode=mode), file_out(t)), wait=False)
        rc = sl.wait_exit(30)
        err = sl.stderr()
        check(rc not in (0, None), '%s port held%s: sluice exits non-zero' % (
            mode, ' with SO_REUSEPORT' if reuseport else ''), 'rc=%s' % rc)
        check('cannot bind 127.0.0.1:%d (%s)' % (port, mode) in err and 'in use' in err,
              'clear message: ' + next((ln.split('] ', 2)[-1] for ln in err.splitlines()
                                        if 'cannot bind' in ln), err.strip()))
        check('started' not in err, 'it never reports started')
    finally:
        h.close()


def test_port_in_use_tcp(t):
    port_in_use(t, socket.SOCK_STREAM)


def test_port_in_use_udp(t):
    port_in_use(t, socket.SOCK_DGRAM)


def test_port_in_use_reuseport(t):
    """Another process of ours listening with SO_REUSEPORT: sluice's own
    SO_REUSEPORT listeners would silently share the port with it."""
    port_in_use(t, socket.SOCK_STREAM, reuseport=True)


def test_second_sluice_same_port(t):
    port = free_port()
    a = t.sluice(conf(service(t), syslog_in(port), file_out(t)), name='first')
    b = t.sluice(conf(service(t, Stats_File=t.path('stats2.json')), syslog_in(port),
                      file_out(t, name='out2.txt')), name='second', wait=False)
    rc = b.wait_exit(30)
    check(rc not in (0, None) and 'cannot bind' in b.stderr(),
          'a second sluice on the same port fails with "cannot bind"', 'rc=%s' % rc)
    s = socket.create_connection(('127.0.0.1', port))
    s.sendall(b'<13>1 2024-01-01T00:00:00Z h a 1 - - still here\n')
    s.close()
    a.wait_stats(lambda st: st['totals']['out'] >= 1, 10, 'the first sluice to deliver')
    check_eq(a.stop(), 0, 'the first sluice still works and exits 0')
    recs = [json.loads(x) for x in read_lines(t.path('out.txt'))]
    check_eq([r.get('message') for r in recs], ['still here'], 'its output')


if __name__ == '__main__':
    main([test_good_configs, test_bad_configs, test_bad_plugin_values, test_error_inside_include,
          test_variables, test_suggestions, test_yaml_sections, test_long_error_message,
          test_bad_config_opens_no_socket, test_port_in_use_tcp, test_port_in_use_udp,
          test_port_in_use_reuseport, test_second_sluice_same_port])
