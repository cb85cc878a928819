#!/usr/bin/env python3
"""test_parsers_file.py — sluice's standard parsers file (conf/parsers.conf)
and Fluent Bit's regex dialect, through the real binary.

- Every parser of Fluent Bit's standard set (its conf/parsers.conf: apache,
  apache2, apache_error, nginx, k8s-nginx-ingress, json, logfmt, docker,
  docker-daemon, syslog-rfc5424, syslog-rfc3164-local, syslog-rfc3164,
  mongodb, envoy, istio-envoy-proxy, cri, kube-custom, kmsg-netfilter-log)
  loaded from sluice's conf/parsers.conf by Parsers_File, one sample line
  through each (a tcp input with `Parser NAME`), every field and the
  record time checked.
  The apache line and its fields are the example of
  https://docs.fluentbit.io/manual/data-pipeline/parsers/regular-expression
  ("192.168.2.20 - - [29/Jul/2015:10:27:10 -0300] ..."); the json line is
  that of https://docs.fluentbit.io/manual/data-pipeline/parsers/json; the
  logfmt one that of .../parsers/logfmt; syslog lines are RFC 5424's and
  RFC 3164's own examples, envoy's is Envoy's access-log documentation's.
- A parser written in Fluent Bit's Onigmo dialect: a group name longer
  than PCRE2's 32 bytes (as istio-envoy-proxy's
  upstream_transport_failure_reason in Fluent Bit's file), \\h as a hex
  digit, two groups of one name giving one field
  (https://docs.fluentbit.io/manual/data-pipeline/parsers/regular-expression:
  "Fluent Bit uses Onigmo ... Ruby syntax").
- An undefined ${VAR} in a Parsers_File, a Streams_File or an @INCLUDEd
  file is a warning naming that file and line, as in the main file, and
  with --strict an error (Fluent Bit reads every parsers-file key through
  flb_env_var_translate, src/flb_parser.c get_parser_key, which warns as
  for the main file).
- `Parser apache2` with no Parsers_File works (the standard file is loaded
  for the names a configuration uses); a [PARSER] of the same name in the
  configuration wins over it.
"""
import calendar
import json
import os
import re
import socket
import subprocess
import time

from harness import SLUICE, check, check_eq, conf, file_out, free_port, main, read_lines, service, \
    tcp_in, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
STD = os.path.normpath(os.path.join(HERE, '..', '..', 'conf', 'parsers.conf'))
DOCKER_ID = 'aeeccc7a9f00f6e4e066aeff0434cf80621215071f1b20a51e8340aa7c35eac6'


def utc(y, mo, d, h, mi, s):
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


# name: (line, fields, (sec, nsec) of the record or None for "receive time")
CASES = {
    'apache': (
        '192.168.2.20 - - [29/Jul/2015:10:27:10 -0300] "GET /cgi-bin/try/ HTTP/1.0" 200 3395',
        {'host': '192.168.2.20', 'user': '-', 'method': 'GET', 'path': '/cgi-bin/try/',
         'code': '200', 'size': '3395'},
        (utc(2015, 7, 29, 13, 27, 10), 0)),
    'apache2': (
        '192.168.0.1 - frank [28/Feb/2013:12:00:00 +0900] "GET /a.html HTTP/1.1" 200 777 '
        '"http://example.com/" "Mozilla/5.0 (X11; "quoted")"',
        {'host': '192.168.0.1', 'user': 'frank', 'method': 'GET', 'path': '/a.html',
         'code': '200', 'size': '777', 'referer': 'http://example.com/',
         'agent': 'Mozilla/5.0 (X11; "quoted")'},
        (1362020400, 0)),
    'apache_error': (
        '[Wed Oct 11 14:32:52 2000] [error] [pid 1234] [client 127.0.0.1] client denied by '
        'server configuration',
        {'time': 'Oct 11 14:32:52 2000', 'level': 'error', 'pid': '1234', 'client': '127.0.0.1',
         'message': 'client denied by server configuration'},
        None),
    'nginx': (
        '127.0.0.1 example.com - [10/Oct/2023:13:55:36 +0200] "POST /api/v1?q=a%20b HTTP/2.0" '
        '201 512 "https://ref.example/" "curl/8.0"',
        {'remote': '127.0.0.1', 'host': 'example.com', 'user': '-', 'method': 'POST',
         'path': '/api/v1?q=a%20b', 'code': '201', 'size': '512',
         'referer': 'https://ref.example/', 'agent': 'curl/8.0'},
        (utc(2023, 10, 10, 11, 55, 36), 0)),
    'k8s-nginx-ingress': (
        '10.0.0.1 - alice [10/Oct/2023:13:55:36 +0000] "GET /x HTTP/1.1" 200 42 "-" "curl/8.0" '
        '120 0.005 [default-web-80] [default-web-canary-80] 10.1.2.3:8080 42 0.004 200 '
        '7f0c5d3e9a',
        {'host': '10.0.0.1', 'user': 'alice', 'method': 'GET', 'path': '/x', 'code': '200',
         'size': '42', 'referer': '-', 'agent': 'curl/8.0', 'request_length': '120',
         'request_time': '0.005', 'proxy_upstream_name': 'default-web-80',
         'proxy_alternative_upstream_name': 'default-web-canary-80',
         'upstream_addr': '10.1.2.3:8080', 'upstream_response_length': '42',
         'upstream_response_time': '0.004', 'upstream_status': '200', 'reg_id': '7f0c5d3e9a'},
        (utc(2023, 10, 10, 13, 55, 36), 0)),
    'json': (
        '{"key1": 12345, "key2": "abc", "time": "28/Jul/2006:10:22:04 -0300"}',
        {'key1': 12345, 'key2': 'abc'},
        (1154092924, 0)),
    'logfmt': (
        'key1=val1 key2=val2 key3=val3',
        {'key1': 'val1', 'key2': 'val2', 'key3': 'val3'},
        None),
    'docker': (
        '{"log":"hello from a container\\n","stream":"stdout","time":"2024-06-15T12:00:01.5Z"}',
        {'log': 'hello from a container\n', 'stream': 'stdout',
         'time': '2024-06-15T12:00:01.5Z'},
        (utc(2024, 6, 15, 12, 0, 1), 500000000)),
    'docker-daemon': (
        'time="2024-06-15T12:00:02.250000000Z" level=info msg="Daemon has completed '
        'initialization"',
        {'time': '2024-06-15T12:00:02.250000000Z', 'level': 'info',
         'msg': 'Daemon has completed initialization'},
        (utc(2024, 6, 15, 12, 0, 2), 250000000)),
    'syslog-rfc5424': (
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
        '[exampleSDID@32473 iut="3" eventSource="Application"] An application event log entry',
        {'pri': '165', 'time': '2003-10-11T22:14:15.003Z', 'host': 'mymachine.example.com',
         'ident': 'evntslog', 'pid': '-', 'msgid': 'ID47',
         'extradata': '[exampleSDID@32473 iut="3" eventSource="Application"]',
         'message': 'An application event log entry'},
        (utc(2003, 10, 11, 22, 14, 15), 3000000)),
    'syslog-rfc3164-local': (
        '<13>Oct 11 22:14:15 su[123]: \'su root\' failed for lonvick on /dev/pts/8',
        {'pri': '13', 'time': 'Oct 11 22:14:15', 'ident': 'su', 'pid': '123',
         'message': '\'su root\' failed for lonvick on /dev/pts/8'},
        'Oct 11 22:14:15'),
    'syslog-rfc3164': (
        '<34>Oct 11 22:14:15 mymachine su: \'su root\' failed for lonvick on /dev/pts/8',
        {'pri': '34', 'time': 'Oct 11 22:14:15', 'host': 'mymachine', 'ident': 'su',
         'message': '\'su root\' failed for lonvick on /dev/pts/8'},
        'Oct 11 22:14:15'),
    'mongodb': (
        '2019-01-01T10:00:00.125 I COMMAND  [conn12] command test.items find 105ms',
        {'time': '2019-01-01T10:00:00.125', 'severity': 'I', 'component': 'COMMAND',
         'context': 'conn12', 'message': 'command test.items find', 'ms': '105'},
        (utc(2019, 1, 1, 10, 0, 0), 125000000)),
    'envoy': (
        '[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 '
        '"10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" '
        '"tcp://10.0.2.1:80"',
        {'start_time': '2016-04-15T20:17:00.310Z', 'method': 'POST', 'path': '/api/v1/locations',
         'protocol': 'HTTP/2', 'code': '204', 'response_flags': '-', 'bytes_received': '154',
         'bytes_sent': '0', 'duration': '226', 'x_envoy_upstream_service_time': '100',
         'x_forwarded_for': '10.0.35.28', 'user_agent': 'nsq2http',
         'request_id': 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2', 'authority': 'locations',
         'upstream_host': 'tcp://10.0.2.1:80'},
        (utc(2016, 4, 15, 20, 17, 0), 310000000)),
    'istio-envoy-proxy': (
        '[2024-06-15T12:00:03.000Z] "GET /status HTTP/1.1" 503 UF upstream_reset_before_'
        'response_started{connection_failure} - "TLS_error:_268435581" 0 91 2 - "-" "curl/8.0" '
        '"req-1" "svc.ns:80" "10.0.0.5:8080" outbound|80||svc.ns.svc.cluster.local '
        '10.0.0.4:41000 10.0.0.5:80 10.0.0.4:40000 - default',
        {'start_time': '2024-06-15T12:00:03.000Z', 'method': 'GET', 'path': '/status',
         'protocol': 'HTTP/1.1', 'response_code': '503', 'response_flags': 'UF',
         'response_code_details': 'upstream_reset_before_response_started{connection_failure}',
         'connection_termination_details': '-',
         'upstream_transport_failure_reason': '"TLS_error:_268435581"',
         'bytes_received': '0', 'bytes_sent': '91', 'duration': '2',
         'x_envoy_upstream_service_time': '-', 'x_forwarded_for': '-', 'user_agent': 'curl/8.0',
         'x_request_id': 'req-1', 'authority': 'svc.ns:80', 'upstream_host': '10.0.0.5:8080',
         'upstream_cluster': 'outbound|80||svc.ns.svc.cluster.local',
         'upstream_local_address': '10.0.0.4:41000', 'downstream_local_address': '10.0.0.5:80',
         'downstream_remote_address': '10.0.0.4:40000', 'requested_server_name': '-',
         'route_name': 'default'},
        (utc(2024, 6, 15, 12, 0, 3), 0)),
    'cri': (
        '2019-03-18T19:05:11.123456789Z stdout F hello from cri',
        {'time': '2019-03-18T19:05:11.123456789Z', 'stream': 'stdout', 'logtag': 'F',
         'message': 'hello from cri'},
        (utc(2019, 3, 18, 19, 5, 11), 123456789)),
    'kube-custom': (
        'kube.var.log.containers.apache-logs-annotated_default_apache-%s.log' % DOCKER_ID,
        {'tag': 'kube', 'pod_name': 'var.log.containers.apache-logs-annotated',
         'namespace_name': 'default', 'container_name': 'apache', 'docker_id': DOCKER_ID},
        None),
    # a TCP SYN dropped by an iptables LOG rule, as rsyslog forwards the
    # kernel's message (RFC 5424); OUT= and UDP's LEN= are empty or absent,
    # so those fields are not in the record (Skip_Empty_Values)
    'kmsg-netfilter-log': (
        '<4>1 2024-06-15T12:00:04.250+02:00 fw01 kernel - - - [86400.123456] DROP-IN: IN=eth0 '
        'OUT= MAC=52:54:00:12:34:56:52:54:00:ab:cd:ef:08:00 SRC=203.0.113.7 DST=192.0.2.10 '
        'LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=54321 DF PROTO=TCP SPT=51234 DPT=22 '
        'WINDOW=64240 RES=0x00 SYN URGP=0 ',
        {'pri': '4', 'host': 'fw01', 'logprefix': 'DROP-IN:', 'in': 'eth0',
         'macsrc': '52:54:00:12:34:56', 'macdst': '52:54:00:ab:cd:ef', 'ethtype': '08:00',
         'saddr': '203.0.113.7', 'daddr': '192.0.2.10', 'len': '60', 'tos': '0x00',
         'prec': '0x00', 'ttl': '52', 'id': '54321', 'proto': 'TCP', 'sport': '51234',
         'dport': '22', 'window': '64240', 'res': '0x00', 'flag': 'SYN', 'urgp': '0'},
        (utc(2024, 6, 15, 10, 0, 4), 250000000)),
}

# Written as for Fluent Bit (Onigmo): names PCRE2 refuses, \h, a name twice.
ONIGMO_PARSERS = r"""
[PARSER]
    Name   onigmo_dialect
    Format regex
    Regex  ^(?<a_group_name_much_longer_than_thirty_two_bytes>[^ ]*) (?<hex>\h+) (?:id=(?<ref>\d+)|ref=(?<ref>[a-z]+))$
"""
ONIGMO_CASES = [
    ('first DEADbeef ref=abc',
     {'a_group_name_much_longer_than_thirty_two_bytes': 'first', 'hex': 'DEADbeef', 'ref': 'abc'}),
    ('second 42f id=7', {'a_group_name_much_longer_than_thirty_two_bytes': 'second', 'hex': '42f',
                         'ref': '7'}),
]

LINE_RE = re.compile(r'^(\S+): \[(\d+)\.(\d+), (.*)\]$')


def out_records(path):
    """out_file lines: [(tag, sec, nsec, record)]."""
    out = []
    for x in read_lines(path):
        x = x.decode()
        m = LINE_RE.match(x)
        check(m is not None, 'an out_file line', x[:70])
        out.append((m.group(1), int(m.group(2)), int(m.group(3)), json.loads(m.group(4))))
    return out


def send(port, lines):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(''.join(x + '\n' for x in lines).encode())
    c.close()


def test_standard_set(t):
    check(os.path.exists(STD), 'conf/parsers.conf is in the source tree', STD)
    with open(t.path('onigmo.conf'), 'w') as f:
        f.write(ONIGMO_PARSERS)
    ports = {name: free_port() for name in list(CASES) + ['onigmo_dialect']}
    inputs = [tcp_in(ports[n], fmt='none', Parser=n, Tag='p.' + n) for n in ports]
    svc = ('SERVICE', service(t)[1] + [('Parsers_File', STD), ('Parsers_File', 'onigmo.conf')])
    sl = t.sluice(conf(svc, *inputs, file_out(t, fmt='out_file')))
    for name, (line, _, _) in CASES.items():
        send(ports[name], [line])
    send(ports['onigmo_dialect'], [x for x, _ in ONIGMO_CASES])
    out = t.path('out.txt')
    want = len(CASES) + len(ONIGMO_CASES)
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= want, 20,
             '%d records' % want, proc=sl)
    recs = out_records(out)
    by_tag = {}
    for tag, sec, nsec, rec in recs:
        by_tag.setdefault(tag, []).append((sec, nsec, rec))
    for name, (line, fields, when) in CASES.items():
        got = by_tag.get('p.' + name)
        check(got is not None and len(got) == 1, 'one record from parser %s' % name, str(got)[:70])
        sec, nsec, rec = got[0]
        check_eq(rec, fields, '%s: the fields of %r' % (name, line[:50]))
        check_eq(list(rec), list(fields), '%s: fields in the order of the line' % name)
        if isinstance(when, tuple):
            check_eq((sec, nsec), when, '%s: the record time is the line\'s' % name)
        elif isinstance(when, str):
            # no year in the format: this year (or last, across New Year)
            check_eq(time.strftime('%b %d %H:%M:%S', time.gmtime(sec)), when,
                     '%s: the record time is the line\'s, in the current year' % name)
    got = [rec for _, _, rec in by_tag.get('p.onigmo_dialect', [])]
    check_eq(got, [f for _, f in ONIGMO_CASES],
             'Onigmo dialect: a 48-byte group name, \\h a hex digit, one field for a name used '
             'twice')
    st = sl.stats()
    check_eq(sum(v.get('unparsed', 0) for v in st['inputs'].values()), 0, 'no line unparsed')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_out_of_the_box(t):
    """No Parsers_File: `Parser apache2` and `Parser cri` come from the
    standard file; a [PARSER] named json in the configuration wins over
    the standard json parser."""
    pa, pc, pj = free_port(), free_port(), free_port()
    own_json = ('PARSER', [('Name', 'json'), ('Format', 'regex'), ('Regex', '^(?<whole>.*)$')])
    sl = t.sluice(conf(service(t), tcp_in(pa, fmt='none', Parser='apache2', Tag='a'),
                       tcp_in(pc, fmt='none', Parser='cri', Tag='c'),
                       tcp_in(pj, fmt='none', Parser='json', Tag='j'), own_json,
                       file_out(t, fmt='out_file')))
    send(pa, [CASES['apache2'][0]])
    send(pc, [CASES['cri'][0]])
    send(pj, ['{"a": 1}'])
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 3, 20, 'three records',
             proc=sl)
    by_tag = {tag: (sec, rec) for tag, sec, _, rec in out_records(out)}
    check_eq(by_tag['a'], (CASES['apache2'][2][0], CASES['apache2'][1]),
             'Parser apache2 without a Parsers_File: the standard parser')
    check_eq(by_tag['c'][1], CASES['cri'][1], 'Parser cri without a Parsers_File')
    check_eq(by_tag['j'][1], {'whole': '{"a": 1}'},
             'a [PARSER] of the configuration wins over the standard one of the same name')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_variables_in_named_files(t):
    """${VAR} left undefined in the files a configuration names: each file
    is checked as the main file is (a warning with its file:line, --strict
    an error naming it); a set variable expands with no warning."""
    files = {
        'vparsers.conf': '[PARSER]\n    Name   vp\n    Format regex\n'
                         '    Regex  ^(?<${SLUICE_E2E_NOPE_P}a>.*)$\n',
        'vstreams.conf': '[STREAM_TASK]\n    Name vt\n'
                         "    Exec CREATE STREAM vs WITH (tag='v${SLUICE_E2E_NOPE_S}') AS "
                         "SELECT * FROM TAG:'v';\n",
        'vinc.conf': '[OUTPUT]\n    Name  null\n    Match v${SLUICE_E2E_NOPE_I}\n',
    }
    for name, text in files.items():
        with open(t.path(name), 'w') as f:
            f.write(text)
    main_conf = t.path('vmain.conf')
    with open(main_conf, 'w') as f:
        f.write('[SERVICE]\n    Flush 0.05\n    Parsers_File vparsers.conf\n'
                '    Streams_File vstreams.conf\n[INPUT]\n    Name   tcp\n    Port   %d\n'
                '    Format none\n    Tag    v\n    Parser vp\n@INCLUDE vinc.conf\n' % free_port())

    def dry(*args, env=None):
        p = subprocess.run([SLUICE, '--dry-run', '-c', main_conf] + list(args),
                           capture_output=True, text=True, timeout=30, cwd=t.dir, env=env)
        return p.returncode, p.stdout + p.stderr

    # file names as sluice found them (relative to the main file or to
    # the working directory): the name and line are what matter
    where = {'P': 'vparsers.conf:4:', 'S': 'vstreams.conf:3:', 'I': 'vinc.conf:3:'}
    rc, out = dry()
    check(rc == 0 and 'successful' in out, 'undefined variables: still a good configuration',
          out.strip()[-200:])
    for k, at in sorted(where.items()):
        # main() reports the main file's (and its @INCLUDEs') before the
        # pipeline reads the files it names: either way, file and line
        check('%s variable ${SLUICE_E2E_NOPE_%s} is not set: it expands to an empty string'
              % (at, k) in out and '[ warn]' in out,
              'a warning naming %s' % at, out.strip()[-300:])
    # --strict: the first one is an error, wherever it is; with the
    # @INCLUDEd one defined, the Parsers_File's, then the Streams_File's
    env = dict(os.environ)
    for k in ('I', 'P', 'S'):
        rc, out = dry('--strict', env=env)
        check(rc == 1 and '%s variable ${SLUICE_E2E_NOPE_%s} is not set (--strict)' % (where[k], k)
              in out and 'successful' not in out,
              '--strict: an error naming %s' % where[k], out.strip()[-200:])
        env['SLUICE_E2E_NOPE_' + k] = 'x'
    rc, out = dry('--strict', env=env)
    check(rc == 0 and 'is not set' not in out, 'all set: no warning, --strict passes',
          out.strip()[-200:])
    # A @SET of the main file is defined in the files it names too: Fluent
    # Bit keeps one environment (config->env) for every file it reads.
    env.pop('SLUICE_E2E_NOPE_P')
    with open(main_conf) as f:
        text = f.read()
    with open(main_conf, 'w') as f:
        f.write('@SET SLUICE_E2E_NOPE_P=y\n' + text)
    rc, out = dry('--strict', env=env)
    check(rc == 0 and 'is not set' not in out, '@SET in the main file: defined in its Parsers_File',
          out.strip()[-200:])


if __name__ == '__main__':
    main([test_standard_set, test_out_of_the_box, test_variables_in_named_files])
