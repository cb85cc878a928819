#!/usr/bin/env python3
"""test_file_keyed.py — the file output with a template in File or Path:
one file per value of a record key (File $tenant.log), as the ingest
tier's router writes one file per tenant (issue 15). Fluent Bit's file
output takes File and Path literally (plugins/out_file/file.c); this is
sluice's own, documented in docs/CONFIG.md and docs/OPERATIONS.md.

Checked: every record in its tenant's file exactly once and in order,
with more tenants than Max_Open_Files (files closed and opened again);
a value with '/' cannot leave the directory; a missing key gives an
empty piece; $TAG in Path with Mkdir makes one directory per tag.
"""
import json
import os
import socket

from harness import check, check_eq, conf, free_port, main, read_lines, service, tcp_in, wait_for

TENANTS = ['acme', 'globex', 'initech', 'umbrella']


def send(port, lines):
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(''.join(l + '\n' for l in lines).encode())
    c.close()


def recs(path):
    return [json.loads(l) for l in read_lines(path) if l.strip()] if os.path.exists(path) else []


def test_file_per_tenant(t):
    """More tenants than Max_Open_Files: files are closed and opened again."""
    per_tenant(t, 2)


def test_file_per_tenant_grouped(t):
    """Room for every tenant: each chunk's records grouped by file."""
    per_tenant(t, 256)


def per_tenant(t, max_open):
    port = free_port()
    out = t.path('out')
    os.mkdir(out)
    s = t.sluice(conf(service(t), tcp_in(port),
                      ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', out), ('File', '$tenant.log'),
                                  ('Format', 'plain'), ('Max_Open_Files', str(max_open))])))
    n = 4000
    lines = [json.dumps({'tenant': TENANTS[i % 4], 'i': i}) for i in range(n)]
    lines += [json.dumps({'tenant': '../escape', 'i': n}), json.dumps({'i': n + 1})]
    send(port, lines)
    wait_for(lambda: sum(len(recs(os.path.join(out, x + '.log'))) for x in TENANTS) >= n, 30,
             'every tenant record written', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    for k, ten in enumerate(TENANTS):
        got = [r['i'] for r in recs(os.path.join(out, ten + '.log'))]
        check_eq(got, list(range(k, n, 4)), '%s.log: its records, once each, in order' % ten)
        check(all(r['tenant'] == ten for r in recs(os.path.join(out, ten + '.log'))),
              '%s.log holds only its tenant' % ten)
    check_eq([r['i'] for r in recs(os.path.join(out, '.._escape.log'))], [n],
             "a '/' in the value becomes '_': the file stays in Path")
    check(not os.path.exists(os.path.join(t.dir, 'escape.log')), 'nothing written outside Path')
    check_eq([r['i'] for r in recs(os.path.join(out, '.log'))], [n + 1], 'a missing key is an empty piece')


def test_dir_per_tag(t):
    port = free_port()
    out = t.path('bytag')
    s = t.sluice(conf(service(t), tcp_in(port, Tag='app.web'), tcp_in(free_port(), Tag='app.db'),
                      ('OUTPUT', [('Name', 'file'), ('Match', 'app.*'), ('Path', out + '/$TAG[1]'),
                                  ('File', 'out.log'), ('Format', 'plain'), ('Mkdir', 'on')])))
    send(port, ['{"a":1}', '{"a":2}'])
    p = os.path.join(out, 'web', 'out.log')
    wait_for(lambda: len(recs(p)) >= 2, 30, 'records in bytag/web/out.log', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    check_eq(recs(p), [{'a': 1}, {'a': 2}], '$TAG[1] in Path, created with Mkdir')


def test_file_per_tag_default(t):
    """File unset: a file per tag (Fluent Bit: File defaults to the tag),
    also when one input carries several tags (forward: a tag per message)."""
    from mpack import mp_encode, EventTime
    port = free_port()
    out = t.path('out')
    os.mkdir(out)
    s = t.sluice(conf(service(t), ('INPUT', [('Name', 'forward'), ('Listen', '127.0.0.1'), ('Port', str(port))]),
                      ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', out), ('Format', 'plain')])))
    c = socket.create_connection(('127.0.0.1', port))
    for i in range(10):
        tag = 'app.one' if i % 2 == 0 else 'app.two'
        c.sendall(mp_encode([tag, EventTime(1700000000, i), {'i': i}]))
    c.close()
    wait_for(lambda: len(recs(os.path.join(out, 'app.one'))) + len(recs(os.path.join(out, 'app.two'))) >= 10,
             30, 'both tag files written', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    check_eq([r['i'] for r in recs(os.path.join(out, 'app.one'))], [0, 2, 4, 6, 8], 'app.one: its records')
    check_eq([r['i'] for r in recs(os.path.join(out, 'app.two'))], [1, 3, 5, 7, 9], 'app.two: its records')


if __name__ == '__main__':
    main([test_file_per_tenant, test_file_per_tenant_grouped, test_dir_per_tag, test_file_per_tag_default])
