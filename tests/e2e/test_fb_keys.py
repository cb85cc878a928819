#!/usr/bin/env python3
"""test_fb_keys.py — keys that Fluent Bit configurations carry and sluice
once refused, each with Fluent Bit's meaning:

- syslog `Raw_Message_Key`: the message as received, under that key,
  after the parsed fields (docs.fluentbit.io/manual/data-pipeline/inputs/
  syslog, "raw_message_key"; plugins/in_syslog/syslog_prot.c appends it).
- tcp `Parser`: a [PARSER] makes each record's fields; a line it does not
  match is kept as {"log": line} and counted as unparsed.
- `storage.type memory` (docs.fluentbit.io/manual/administration/
  buffering-and-storage): accepted; filesystem is refused as not supported
  yet, naming the file and line.
- per-plugin `log_level` (docs.fluentbit.io/manual/administration/
  configuring-fluent-bit/classic-mode/configuration-file, "log_level" of
  an input, filter or output): accepted and checked.
"""
import json
import os
import socket
import subprocess

from harness import (SLUICE, check, check_eq, conf, file_out, free_port, main, read_lines, service,
                     syslog_in, tcp_in, wait_for)


def records(path):
    return [json.loads(x) for x in read_lines(path)]


def test_raw_message_key(t):
    port = free_port()
    sl = t.sluice(conf(service(t), syslog_in(port, mode='udp', Raw_Message_Key='raw'), file_out(t)))
    line = b'<13>1 2026-11-21T10:00:00Z host app 42 ID7 - hello raw'
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(line, ('127.0.0.1', port))
    u.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 1, 20, 'the record', proc=sl)
    rec = records(out)[0]
    check_eq(rec.get('raw'), line.decode(), 'the message as received under Raw_Message_Key')
    check_eq(list(rec)[-1], 'raw', 'after the parsed fields')
    check_eq(rec.get('message'), 'hello raw', 'the parsed fields are there too')
    check_eq(sl.stop(), 0, 'sluice exits 0')


PARSERS = r"""
[PARSER]
    Name   kv_line
    Format regex
    Regex  ^(?<level>[A-Z]+) (?<msg>.*)$
"""


def test_tcp_parser(t):
    with open(t.path('parsers.conf'), 'w') as f:
        f.write(PARSERS)
    port = free_port()
    sl = t.sluice(conf(service(t, Parsers_File='parsers.conf'),
                       tcp_in(port, fmt='none', Parser='kv_line'), file_out(t)))
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'ERROR disk full\nnot matching\nINFO ok\n')
    c.close()
    out = t.path('out.txt')
    wait_for(lambda: os.path.exists(out) and len(read_lines(out)) >= 3, 20, 'three records', proc=sl)
    check_eq(records(out), [{'level': 'ERROR', 'msg': 'disk full'}, {'log': 'not matching'},
                            {'level': 'INFO', 'msg': 'ok'}],
             'fields from the [PARSER]; an unmatched line kept as {"log": line}')
    st = sl.stats()['inputs']['tcp.0']
    check_eq((st['records'], st['unparsed']), (3, 1), 'the unmatched line counted as unparsed')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def dry_run(t, text):
    path = t.path('k.conf')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip()


def test_common_keys(t):
    good = conf(('INPUT', [('Name', 'dummy'), ('storage.type', 'memory'), ('Log_Level', 'debug')]),
                ('FILTER', [('Name', 'grep'), ('Match', '*'), ('Regex', 'a b'),
                            ('log_level', 'warn')]),
                ('OUTPUT', [('Name', 'null'), ('Match', '*'), ('Log_Level', 'error')]))
    rc, out = dry_run(t, good)
    check(rc == 0, 'storage.type memory and log_level on an input, a filter and an output start',
          out)
    rc, out = dry_run(t, good.replace('memory', 'filesystem'))
    check(rc == 1 and "k.conf:3: [INPUT] dummy: 'storage.type filesystem' is not supported yet"
          in out, 'storage.type filesystem: refused with file, line and key', out)
    rc, out = dry_run(t, good.replace('warn', 'loud'))
    check(rc == 1 and "k.conf:10: [FILTER] grep: invalid value 'loud' for 'Log_Level'" in out, 'a bad log_level names it',
          out)


if __name__ == '__main__':
    main([test_raw_message_key, test_tcp_parser, test_common_keys])
