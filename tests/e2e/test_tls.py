#!/usr/bin/env python3
"""test_tls.py — server-side TLS of the syslog (RFC 5425) and tcp inputs
(issue 14), end to end with real clients: Python's ssl module and
`openssl s_client`.

Certificates are made here with the openssl command into a temp dir: a CA,
a server certificate and a client certificate it signed, a second CA with a
client certificate of its own, an expired client certificate of the first
CA (`openssl ca -startdate/-enddate`: OpenSSL 3.0's x509 has no
-not_before), the server key encrypted with a password, and a key of
another pair.

What tls.verify means on a server is Fluent Bit's (src/tls/openssl.c,
tls_context_create): it sets SSL_VERIFY_PEER, which makes the server ask
for a client certificate and fail the handshake when the one sent does not
verify, but admits a client that sends none; only
tls.verify_client_cert (openssl.c, tls_context_set_verify_client) adds
SSL_VERIFY_FAIL_IF_NO_PEER_CERT. Defaults (src/tls/flb_tls.c config map,
docs.fluentbit.io/manual/administration/transport-security): tls off,
tls.verify on, tls.debug 1. test_verify checks each case.

Cases:
- RFC 5425: octet-counted RFC 5424 frames over TLS (syslog Mode tcp) from
  two Python clients with client certificates, every record exact;
- the tcp input, JSON lines over TLS from openssl s_client and Python;
- tls.verify: no certificate admitted, another CA's and an expired one
  refused; tls.verify_client_cert: no certificate refused; each refusal in
  tls_handshake_failures and logged with its cause;
- a plain-text client on the TLS port is a failed handshake and does not
  disturb a TLS client sending at the same time; with tls.debug 1 a flood
  of them logs one line;
- a client that sends half a ClientHello and stalls does not hold up
  another client's records and is closed after the handshake deadline;
- bad configurations refuse to start, naming the key.
"""
import json
import os
import socket
import ssl
import subprocess
import threading
import time

from certs import certs
from harness import (Fail, check, check_eq, conf, file_out, free_port, log, main, read_lines,
                     service, syslog_in, tcp_in, wait_for)

HANDSHAKE_DEADLINE_S = 10   # SHARD_TLS_HANDSHAKE_NS in shards/shard_tls.h


def tls_keys(**extra):
    """The tls.* rows of a server with our certificate and CA."""
    c = certs()
    kv = {'tls': 'on', 'tls.crt_file': c.p('server.crt'), 'tls.key_file': c.p('server.key'),
          'tls.ca_file': c.p('ca.crt')}
    kv.update(extra)
    return kv


# ---- clients -----------------------------------------------------------------

def client_ctx(cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(certs().p('ca.crt'))
    if cert:
        ctx.load_cert_chain(certs().p(cert + '.crt'), certs().p(cert + '.key'))
    return ctx


def tls_connect(port, cert=None):
    raw = socket.create_connection(('127.0.0.1', port), timeout=20)
    return client_ctx(cert).wrap_socket(raw, server_hostname='localhost')


def tls_send(port, data, cert=None, chunk=None):
    """Connect, send data (in pieces of chunk bytes), close cleanly."""
    s = tls_connect(port, cert)
    if chunk:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
    else:
        s.sendall(data)
    s.close()


def refused(port, cert, what):
    """A client the server must refuse: with TLS 1.3 the client's side of
    the handshake may finish before the server checks its certificate, so
    the refusal shows on the first read (an alert, or the connection
    closed); nothing it sent may come out."""
    try:
        s = tls_connect(port, cert)
    except (ssl.SSLError, ConnectionError) as e:
        log('  %s: refused in the handshake: %s' % (what, e))
        return
    try:
        s.sendall(b'{"refused": "%s"}\n' % what.encode())
        s.settimeout(20)
        got = s.recv(100)
        check(got == b'', '%s: the server closed the connection' % what, repr(got))
    except (ssl.SSLError, ConnectionError) as e:
        log('  %s: refused after the client finished: %s' % (what, e))
    finally:
        s.close()


def s_client(port, data, cert=None):
    """openssl s_client as a sender: data on its stdin, then EOF ends it."""
    c = certs()
    cmd = ['openssl', 's_client', '-connect', '127.0.0.1:%d' % port, '-CAfile', c.p('ca.crt'),
           '-verify_return_error', '-servername', 'localhost', '-quiet', '-no_ign_eof']
    if cert:
        cmd += ['-cert', c.p(cert + '.crt'), '-key', c.p(cert + '.key')]
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
    return r.returncode, r.stderr.decode(errors='replace')


def octet(msg):
    return b'%d %s' % (len(msg), msg)


def rfc5424(conn, seq):
    return (b'<165>1 2026-11-21T12:00:00.%06dZ host%d app %d ID%d - tls message %d of %d'
            % (seq % 1000000, conn, 1000 + conn, seq, seq, conn))


def json_lines(path):
    return [json.loads(ln) for ln in read_lines(path)]


def input_stats(sl, name):
    st = sl.stats()
    return st['inputs'][name] if st else {}


def failures(sl, name):
    return input_stats(sl, name).get('tls_handshake_failures', 0)


# ---- tests -------------------------------------------------------------------

def test_rfc5425_syslog_exact(t):
    """RFC 5425: each syslog message an octet-counted frame inside TLS,
    from two clients with certificates, written in pieces that cut frames
    and records; every record arrives with every field."""
    port, per_conn = free_port(), 3000
    sl = t.sluice(conf(service(t), syslog_in(port, **tls_keys()),
                       file_out(t, fmt='json_lines')))
    datas = [b''.join(octet(rfc5424(c, i)) for i in range(per_conn)) for c in range(2)]
    ths = [threading.Thread(target=tls_send, args=(port, datas[c], 'client', 1000 + 77 * c))
           for c in range(2)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    st = sl.wait_stats(lambda s: s['totals']['out'] >= 2 * per_conn, 60, 'all records out')
    check_eq(st['totals']['out'], 2 * per_conn, 'records out')
    check_eq(st['inputs']['syslog.0']['tls_handshake_failures'], 0, 'no failed handshake')
    recs = json_lines(t.path('out.txt'))
    got = {}
    for r in recs:
        got.setdefault(r['host'], []).append(r)
    for c in range(2):
        rs = got.get('host%d' % c, [])
        check_eq(len(rs), per_conn, 'connection %d: every record' % c)
        bad = [(i, r) for i, r in enumerate(rs)
               if r.get('message') != 'tls message %d of %d' % (i, c) or r.get('msgid') != 'ID%d' % i
               or r.get('ident') != 'app' or r.get('pid') != str(1000 + c) or r.get('pri') != '165']
        check(not bad, 'connection %d: every record exact and in order' % c, repr(bad[:3]))
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_tcp_json_s_client_and_python(t):
    """The tcp input, JSON lines over TLS, from openssl s_client (a real
    command-line client) and Python's ssl module."""
    port, n = free_port(), 500
    sl = t.sluice(conf(service(t), tcp_in(port, **tls_keys()), file_out(t, fmt='json_lines')))
    data = b''.join(b'{"client": "s_client", "seq": %d}\n' % i for i in range(n))
    rc, err = s_client(port, data, cert='client')
    check_eq(rc, 0, 'openssl s_client exits 0')
    tls_send(port, b''.join(b'{"client": "python", "seq": %d}\n' % i for i in range(n)))
    sl.wait_stats(lambda s: s['totals']['out'] >= 2 * n, 30, 'all records out')
    recs = json_lines(t.path('out.txt'))
    for who in ('s_client', 'python'):
        seqs = [r['seq'] for r in recs if r.get('client') == who]
        check_eq(seqs, list(range(n)), '%s: every record once, in order' % who)
    check_eq(failures(sl, 'tcp.0'), 0, 'no failed handshake')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_verify(t):
    """tls.verify on (the default) with tls.ca_file: a client certificate of
    the CA is admitted, one of another CA and an expired one are refused,
    and a client without any is admitted, as Fluent Bit does (its
    tls_context_create sets SSL_VERIFY_PEER only). tls.verify_client_cert
    on refuses that one too. Each refusal is counted and logged."""
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, **tls_keys(**{'tls.debug': '2'})),
                       file_out(t, fmt='json_lines')))
    tls_send(port, b'{"who": "good"}\n', cert='client')
    tls_send(port, b'{"who": "nocert"}\n')
    refused(port, 'client2', 'other CA')
    sl.wait_stats(lambda s: s['inputs']['tcp.0']['tls_handshake_failures'] >= 1, 20,
                  'the other CA\'s client counted')
    refused(port, 'expired', 'expired')
    sl.wait_stats(lambda s: s['inputs']['tcp.0']['tls_handshake_failures'] >= 2, 20,
                  'the expired client counted')
    sl.wait_stats(lambda s: s['totals']['out'] >= 2, 20, 'the admitted clients\' records out')
    err = sl.stderr()
    check('client certificate refused: unable to get local issuer certificate' in err,
          'the other CA\'s refusal logged with its cause')
    check('client certificate refused: certificate has expired' in err,
          'the expired refusal logged with its cause')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    whos = sorted(r['who'] for r in json_lines(t.path('out.txt')))
    check_eq(whos, ['good', 'nocert'], 'the admitted clients\' records, no refused one\'s')

    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, **tls_keys(**{'tls.verify_client_cert': 'on'})),
                       file_out(t, name='out2.txt', fmt='json_lines')), name='mtls')
    refused(port, None, 'no certificate')
    sl.wait_stats(lambda s: s['inputs']['tcp.0']['tls_handshake_failures'] >= 1, 20,
                  'the client without a certificate counted')
    tls_send(port, b'{"who": "good"}\n', cert='client')
    sl.wait_stats(lambda s: s['totals']['out'] >= 1, 20, 'the good client\'s record out')
    err = sl.stderr()
    check('peer did not return a certificate' in err, 'the refusal logged with its cause')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['who'] for r in json_lines(t.path('out2.txt'))], ['good'], 'only the good record')


def test_plaintext_client(t):
    """A client speaking plain syslog to the TLS port fails its handshake
    (counted, logged), while a TLS client on another connection sends all
    its records at the same time. With tls.debug 1 (the default) a flood of
    such clients logs one line, not one per connection."""
    port, n = free_port(), 2000
    sl = t.sluice(conf(service(t), syslog_in(port, **tls_keys()), file_out(t, fmt='json_lines')))
    s = tls_connect(port, 'client')
    plain = socket.create_connection(('127.0.0.1', port), timeout=20)
    for i in range(n):
        if i == n // 2:
            plain.sendall(b'<13>1 2026-11-21T12:00:00Z h app - - - plain text\n')
        s.sendall(octet(rfc5424(0, i)))
    plain.settimeout(20)
    try:
        got = plain.recv(100)
    except ConnectionError:
        got = b''
    check(got == b'' or got.startswith(b'\x15'), 'the plain client is closed (or sent an alert)',
          repr(got))
    plain.close()
    s.close()
    st = sl.wait_stats(lambda s: s['totals']['out'] >= n, 30, 'every TLS record out')
    check_eq(st['inputs']['syslog.0']['tls_handshake_failures'], 1, 'one failed handshake')
    msgs = [r['message'] for r in json_lines(t.path('out.txt'))]
    check_eq(msgs, ['tls message %d of 0' % i for i in range(n)], 'the TLS records, exact')
    check('the client does not speak TLS?' in sl.stderr(), 'the failure logged with its cause')
    for _ in range(30):
        p = socket.create_connection(('127.0.0.1', port), timeout=20)
        p.sendall(b'GET / HTTP/1.0\r\n\r\n')
        p.recv(100)
        p.close()
    sl.wait_stats(lambda s: s['inputs']['syslog.0']['tls_handshake_failures'] >= 31, 20,
                  'the flood counted')
    lines = [ln for ln in sl.stderr().splitlines() if 'TLS handshake with' in ln]
    check(len(lines) <= 2, 'the flood logged at most once per 10 s', '%d lines' % len(lines))
    check_eq(sl.stop(), 0, 'sluice exits 0')


def client_hello():
    """A real ClientHello, from Python's ssl over memory BIOs."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = client_ctx().wrap_bio(inc, out, server_hostname='localhost')
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def test_stalled_handshake(t):
    """A client that sends half a ClientHello and stalls holds up nobody:
    another client's records come out while it is connected, and it is
    closed once the handshake deadline has passed."""
    port, n = free_port(), 1000
    sl = t.sluice(conf(service(t, Shards=1), syslog_in(port, **tls_keys()),
                       file_out(t, fmt='json_lines')))
    hello = client_hello()
    stall = socket.create_connection(('127.0.0.1', port), timeout=30)
    stall.sendall(hello[:len(hello) // 2])
    t0 = time.monotonic()
    tls_send(port, b''.join(octet(rfc5424(1, i)) for i in range(n)), cert='client')
    sl.wait_stats(lambda s: s['totals']['out'] >= n, 5, 'the other client\'s records out, '
                  'within 5 s, while the staller is connected')
    check(time.monotonic() - t0 < HANDSHAKE_DEADLINE_S, 'delivered before the staller\'s deadline')
    check_eq(failures(sl, 'syslog.0'), 0, 'the staller not failed yet')
    try:
        got = stall.recv(100)
    except ConnectionError:
        got = b''
    waited = time.monotonic() - t0
    check(got == b'' or got.startswith(b'\x15'), 'the staller is closed', repr(got))
    check(HANDSHAKE_DEADLINE_S - 1 <= waited <= HANDSHAKE_DEADLINE_S + 5,
          'closed at the handshake deadline', '%.1f s' % waited)
    stall.close()
    sl.wait_stats(lambda s: s['inputs']['syslog.0']['tls_handshake_failures'] == 1, 10,
                  'the staller counted as a failed handshake')
    check('not finished within %d s' % HANDSHAKE_DEADLINE_S in sl.stderr(), 'and logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def refuses(t, name, text, key, words):
    sl = t.sluice(text, wait=False, name=name)
    rc = sl.wait_exit(30)
    err = sl.stderr()
    check(rc not in (None, 0), '%s: sluice refuses to start' % name, 'exit %s' % rc)
    check(key in err and words in err, '%s: the error names %s' % (name, key),
          err.strip().splitlines()[-1] if err.strip() else '')


def test_bad_config(t):
    c = certs()
    port = free_port()

    def cfg(plugin='syslog', **tls):
        inp = syslog_in(port, **tls) if plugin == 'syslog' else tcp_in(port, **tls)
        return conf(service(t), inp, file_out(t))

    refuses(t, 'missing_key', cfg(**tls_keys(**{'tls.key_file': c.p('nope.key')})),
            'tls.key_file', 'nope.key: No such file or directory')
    refuses(t, 'missing_crt', cfg('tcp', **tls_keys(**{'tls.crt_file': c.p('nope.crt')})),
            'tls.crt_file', 'nope.crt: No such file or directory')
    refuses(t, 'no_key', cfg(**{'tls': 'on', 'tls.crt_file': c.p('server.crt')}),
            'tls.key_file', 'tls on needs tls.key_file')
    refuses(t, 'mismatch', cfg(**tls_keys(**{'tls.key_file': c.p('other.key')})),
            'tls.key_file', 'does not match the certificate')
    refuses(t, 'wrong_passwd', cfg(**tls_keys(**{'tls.key_file': c.p('server_enc.key'),
                                                  'tls.key_passwd': 'wrong'})),
            'tls.key_passwd', 'wrong password')
    refuses(t, 'no_passwd', cfg(**tls_keys(**{'tls.key_file': c.p('server_enc.key')})),
            'tls.key_file', 'is encrypted: set tls.key_passwd')
    refuses(t, 'crt_not_pem', cfg(**tls_keys(**{'tls.crt_file': c.p('index.txt')})),
            'tls.crt_file', 'not a PEM certificate')
    refuses(t, 'missing_ca', cfg(**tls_keys(**{'tls.ca_file': c.p('nope.pem')})),
            'tls.ca_file', 'nope.pem: No such file or directory')
    refuses(t, 'udp', conf(service(t), syslog_in(port, mode='udp', **tls_keys()), file_out(t)),
            'tls on', 'needs a TCP listener (syslog: Mode tcp')
    refuses(t, 'unix', conf(service(t), syslog_in(port, mode='unix_tcp', Path=t.path('s.sock'),
                                                  **tls_keys()), file_out(t)),
            'tls on', 'a Unix socket has no TLS')
    refuses(t, 'min_version', cfg(**tls_keys(**{'tls.min_version': 'TLSv9'})),
            'tls.min_version', "invalid value 'TLSv9'")
    refuses(t, 'vcc_no_verify', cfg(**tls_keys(**{'tls.verify': 'off',
                                                   'tls.verify_client_cert': 'on'})),
            'tls.verify_client_cert', 'needs tls.verify on')
    refuses(t, 'ciphers', cfg(**tls_keys(**{'tls.ciphers': 'NO-SUCH-CIPHER'})),
            'tls.ciphers', 'no usable cipher')
    # The right password starts, and serves.
    sl = t.sluice(cfg(**tls_keys(**{'tls.key_file': c.p('server_enc.key'),
                                    'tls.key_passwd': 's3cret'})), name='enc_ok')
    tls_send(port, octet(rfc5424(0, 0)))
    sl.wait_stats(lambda s: s['totals']['out'] >= 1, 20, 'encrypted key with its password serves')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_versions(t):
    """tls.min_version TLSv1.3 refuses a TLS 1.2 client; tls.max_version
    TLSv1.2 serves it."""
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, **tls_keys(**{'tls.min_version': 'TLSv1.3'})),
                       file_out(t, fmt='json_lines')))
    ctx = client_ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(('127.0.0.1', port), timeout=20)
    try:
        s = ctx.wrap_socket(raw, server_hostname='localhost')
        s.close()
        raise Fail('a TLS 1.2 client was admitted with tls.min_version TLSv1.3')
    except ssl.SSLError as e:
        log('  refused: %s' % e)
    raw.close()
    sl.wait_stats(lambda s: s['inputs']['tcp.0']['tls_handshake_failures'] == 1, 20,
                  'the TLS 1.2 client counted')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port, **tls_keys(**{'tls.max_version': 'TLSv1.2',
                                                               'tls.debug': '2'})),
                       file_out(t, fmt='json_lines')), name='max12')
    tls_send(port, b'{"v": 12}\n')
    sl.wait_stats(lambda s: s['totals']['out'] >= 1, 20, 'the record out')
    check('TLSv1.2' in sl.stderr(), 'the handshake logged as TLSv1.2 (tls.debug 2)')
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_rfc5425_syslog_exact, test_tcp_json_s_client_and_python, test_verify,
          test_plaintext_client, test_stalled_handshake, test_bad_config, test_versions])
