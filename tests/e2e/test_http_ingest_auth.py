#!/usr/bin/env python3
"""test_http_ingest_auth.py — bearer-token authentication and tenants of
the `http` input (shards/in_http_auth.c): sluice's own keys (Fluent Bit's
in_http has none of them), and Fluent Bit's oauth2.* keys, which verify
JWTs with a JWKS fetched from a URL (shards/in_http_jwks.c; Fluent Bit's
src/flb_oauth2_jwt.c, the keys listed in
https://github.com/fluent/fluent-bit-docs/issues/2500 for
pipeline/inputs/http: RS256 only, kid required and naming the key, exp,
iss and aud required, azp or client_id among oauth2.allowed_clients,
refresh every oauth2.jwks_refresh_interval, 300 by default).

- No auth key: every request is let in (Fluent Bit's behaviour).
- Auth_Tokens_File: a token of the file is let in, its tenant added under
  Tenant_Key (replacing a key of that name in the record, which a token
  without tenant only removes); a missing
  header or another token: 401 with WWW-Authenticate: Bearer and a JSON
  body, nothing of the body kept, counted auth_failed, and the next
  request on the same keep-alive connection still served.
- JWT_Key HS256: valid; expired; nbf in the future; wrong audience (and
  an aud array holding the right one); signed with another key; alg
  none; no tenant claim. RS256: valid, and an HS256 token whose secret is
  the RS256 public key (algorithm confusion) refused. Both file and JWT.
- A bad token file or key refuses to start, naming file:line.
- oauth2: a local HTTP server serves the JWKS (n, e of the test's RSA
  keys). Valid token with kid: 201; unknown kid, no kid, another key,
  issuer, audience, client, expired, HS256, claims missing: 401. Key
  rotation: the JWKS changes, and after the refresh the new key passes
  and the old one fails; the JWKS server down at a refresh: the keys
  fetched before still work. Down at start: 401 until it comes up.

Keys are made here: HS256 with Python's hmac, RSA with the openssl CLI.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import SLUICE, check, check_eq, conf, free_port, main, service, skip, wait_for
from mpack import mp_all
from test_http_in import is_closed, raw_request, read_responses

JSON = {'Content-Type': 'application/json'}
SECRET = b'0123456789abcdef0123456789abcdef-hs256'


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def jwt(claims, key=None, alg='HS256', rsa_priv=None, header=None):
    """A compact JWS: HS256 with key (bytes), RS256 with the PEM private key
    file rsa_priv, or unsigned for alg none."""
    h = b64(json.dumps(header or {'alg': alg, 'typ': 'JWT'}).encode())
    p = b64(json.dumps(claims).encode())
    si = (h + '.' + p).encode()
    if rsa_priv:
        sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', rsa_priv], input=si,
                             capture_output=True, check=True).stdout
    elif key is not None:
        sig = hmac.new(key, si, hashlib.sha256).digest()
    else:
        sig = b''
    return h + '.' + p + '.' + b64(sig)


def rsa_keys(t, name='rsa'):
    if not shutil.which('openssl'):
        skip('no openssl CLI')
    priv, pub = t.path(name + '.key'), t.path(name + '.pub')
    subprocess.run(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048',
                    '-out', priv], check=True, capture_output=True)
    subprocess.run(['openssl', 'pkey', '-in', priv, '-pubout', '-out', pub], check=True,
                   capture_output=True)
    return priv, pub


def write(t, name, data):
    path = t.path(name)
    with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)
    return path


def http_in(port, **extra):
    kv = [('Name', 'http'), ('Listen', '127.0.0.1'), ('Port', str(port))]
    return ('INPUT', kv + [(k, str(v)) for k, v in extra.items()])


def out(t, tag='a'):
    return ('OUTPUT', [('Name', 'file'), ('Match', tag), ('Path', t.dir), ('File', tag),
                       ('Format', 'msgpack')])


def records(t, tag='a'):
    path = t.path(tag)
    if not os.path.exists(path):
        return []
    with open(path, 'rb') as f:
        return [ev[1] for ev in mp_all(f.read())]


def post(c, body, token=None, path='/a', auth=None):
    """POST on keep-alive connection c: (status, headers, body)."""
    h = dict(JSON)
    if token is not None:
        h['Authorization'] = 'Bearer ' + token
    if auth is not None:
        h['Authorization'] = auth
    c.request('POST', path, body=json.dumps(body).encode(), headers=h)
    r = c.getresponse()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()


def check_401(res, error, what):
    st, hdr, body = res
    check_eq(st, 401, what + ': 401')
    check(hdr.get('www-authenticate', '').startswith('Bearer'), what + ': WWW-Authenticate: Bearer',
          repr(hdr))
    check_eq(hdr.get('content-type'), 'application/json', what + ': a JSON body')
    check_eq(json.loads(body), {'status': 'error', 'error': error}, what + ': the body')


def auth_failed(sl):
    st = sl.stats()
    return st['inputs']['http.0'].get('auth_failed') if st else None


def test_no_auth(t):
    port = free_port()
    sl = t.sluice(conf(service(t), http_in(port), out(t)))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    check_eq(post(c, {'n': 1})[0], 201, 'no auth key: no header needed')
    check_eq(post(c, {'n': 2}, token='whatever')[0], 201, 'a token is ignored')
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 15, 'records out')
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(records(t), [{'n': 1}, {'n': 2}], 'records as sent, no tenant key')


def test_static_tokens(t):
    port = free_port()
    f = write(t, 'tokens', '# ingest tokens\n\n  tok-Alpha_1  acme\ntok.beta/2+x==\t globex\r\n'
              'tok~notenant\n')
    sl = t.sluice(conf(service(t), http_in(port, Auth_Tokens_File=f, Tenant_Key='tenant'), out(t)))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    check_eq(post(c, {'n': 1}, token='tok-Alpha_1')[0], 201, 'a token of the file')
    check_401(post(c, {'n': 'x1'}), 'missing bearer token', 'no Authorization header')
    check_eq(post(c, {'n': 2, 'tenant': 'spoofed'}, token='tok.beta/2+x==')[0], 201,
             'the next request on the same connection, another token')
    check_401(post(c, {'n': 'x2'}, token='tok-Alpha_'), 'invalid token', 'a prefix of a token')
    check_401(post(c, {'n': 'x3'}, token='tok-Alpha_12'), 'invalid token', 'a longer token')
    check_401(post(c, {'n': 'x4'}, auth='Basic dG9rLUFscGhhXzE='), 'missing bearer token',
              'Basic scheme')
    check_401(post(c, {'n': 'x5'}, token='acme'), 'invalid token', 'a tenant is not a token')
    check_eq(post(c, {'n': 3, 'tenant': 'mine'}, auth='bearer  tok~notenant')[0], 201,
             'scheme any case, a token without tenant')
    c.request('GET', '/health')
    r = c.getresponse()
    check_eq((r.status, r.read()), (200, b'{"status":"ok"}\n'), 'GET /health needs no token')
    c.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3 and
                  st['inputs']['http.0']['auth_failed'] >= 5, 15, 'records out, refusals counted')
    check_eq(auth_failed(sl), 5, 'each 401 counted auth_failed')
    check_eq(sl.stats()['inputs']['http.0']['connections'], 1, 'all on one connection')
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(records(t), [{'n': 1, 'tenant': 'acme'}, {'n': 2, 'tenant': 'globex'}, {'n': 3}],
             'the tenant under Tenant_Key (replacing the record\'s own, removing it for a token '
             'without tenant), nothing of a 401 kept')


def test_jwt_hs256(t):
    port = free_port()
    key = write(t, 'hs.key', SECRET + b'\n')
    sl = t.sluice(conf(service(t), http_in(port, JWT_Key=key, JWT_Audience='ingest',
                                           JWT_Leeway=5, Tenant_Key='svc'), out(t)))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    now = int(time.time())
    ok = {'tenant': 'acme', 'aud': 'ingest', 'exp': now + 300, 'nbf': now - 10}
    check_eq(post(c, {'n': 1}, token=jwt(ok, SECRET))[0], 201, 'HS256 valid')
    bad = [
        (dict(ok, exp=now - 60), SECRET, 'HS256', 'token expired', 'expired'),
        (dict(ok, nbf=now + 600), SECRET, 'HS256', 'token not yet valid', 'nbf in the future'),
        (dict(ok, aud='other'), SECRET, 'HS256', 'token audience does not match', 'wrong aud'),
        ({'tenant': 'acme', 'exp': now + 300}, SECRET, 'HS256', 'token audience does not match',
         'no aud'),
        (ok, b'another-secret', 'HS256', 'invalid token', 'signed with another key'),
        (ok, None, 'none', 'invalid token', 'alg none'),
        ({'aud': 'ingest', 'exp': now + 300}, SECRET, 'HS256', 'token has no valid tenant claim',
         'no tenant claim'),
        (dict(ok, nbf='0'), SECRET, 'HS256', 'invalid token: exp or nbf is not a number',
         'nbf a string'),
    ]
    for claims, k, alg, err, what in bad:
        check_401(post(c, {'bad': what}, token=jwt(claims, k, alg)), err, what)
        check_eq(post(c, {'n': what}, token=jwt(ok, SECRET))[0], 201, 'then a good one: ' + what)
    check_401(post(c, {'bad': 'none'}, token=jwt(ok, alg='none', key=None)[:-1] + 'x'),
              'invalid token', 'alg none with a signature')
    check_eq(post(c, {'n': 'arr'}, token=jwt(dict(ok, aud=['x', 'ingest'], exp=now + 300.5,
                                                   tenant='t2'), SECRET))[0], 201,
             'aud an array holding JWT_Audience, exp with a fraction')
    check_eq(post(c, {'n': 'leeway'}, token=jwt(dict(ok, exp=now - 2, tenant='t3'), SECRET))[0],
             201, 'expired within JWT_Leeway')
    c.close()
    n_ok = 3 + len(bad)
    sl.wait_stats(lambda st: st['totals']['out'] >= n_ok, 15, 'records out')
    check_eq(auth_failed(sl), len(bad) + 1, 'each 401 counted')
    check_eq(sl.stop(), 0, 'exit 0')
    got = records(t)
    check_eq(len(got), n_ok, 'only the good requests kept')
    check(all('bad' not in r for r in got), 'nothing of a refused body')
    check_eq(got[0], {'n': 1, 'svc': 'acme'}, 'the tenant claim under Tenant_Key')
    check_eq([r['svc'] for r in got[-2:]], ['t2', 't3'], 'tenants of the last two')


def test_jwt_rs256_and_file(t):
    priv, pub = rsa_keys(t)
    other_priv, _ = rsa_keys(t, 'other')
    port = free_port()
    tokens = write(t, 'tokens', 'static-one s1\n')
    sl = t.sluice(conf(service(t), http_in(port, JWT_Key=pub, Auth_Tokens_File=tokens,
                                           JWT_Tenant_Claim='service', Tenant_Key='tenant'),
                       out(t)))
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    now = int(time.time())
    ok = {'service': 'billing', 'exp': now + 300}
    check_eq(post(c, {'n': 1}, token=jwt(ok, alg='RS256', rsa_priv=priv))[0], 201, 'RS256 valid')
    with open(pub, 'rb') as f:
        pem = f.read()
    check_401(post(c, {'bad': 1}, token=jwt(ok, pem, 'HS256')), 'token algorithm not accepted',
              'HS256 signed with the RS256 public key (algorithm confusion)')
    check_eq(post(c, {'n': 2}, token='static-one')[0], 201, 'a token of the file, with JWT_Key too')
    check_401(post(c, {'bad': 2}, token=jwt(ok, alg='RS256', rsa_priv=other_priv)),
              'invalid token', 'RS256 signed with another key')
    check_401(post(c, {'bad': 3}, token=jwt(ok, alg='none')), 'token algorithm not accepted',
              'alg none')
    check_401(post(c, {'bad': 4}, token=jwt({'exp': now + 300}, alg='RS256', rsa_priv=priv)),
              'token has no valid tenant claim', 'no JWT_Tenant_Claim claim')
    check_eq(post(c, {'n': 3}, token=jwt(ok, alg='RS256', rsa_priv=priv))[0], 201, 'still served')
    c.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3, 15, 'records out')
    check_eq(auth_failed(sl), 4, 'each 401 counted')
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(records(t), [{'n': 1, 'tenant': 'billing'}, {'n': 2, 'tenant': 's1'},
                          {'n': 3, 'tenant': 'billing'}], 'tenants from the claim and the file')


def test_close_and_pipelined(t):
    """A 401 to a Connection: close request closes after it; pipelined
    requests around a refused one are answered in order."""
    port = free_port()
    f = write(t, 'tokens', 'good\n')
    sl = t.sluice(conf(service(t), http_in(port, Auth_Tokens_File=f), out(t)))
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    good, bad = 'Authorization: Bearer good\r\n', 'Authorization: Bearer nope\r\n'
    s.sendall(raw_request('/a', b'{"n":1}', extra=good) + raw_request('/a', b'{"x":1}', extra=bad) +
              raw_request('/a', b'{"n":2}', extra=good))
    check_eq([st for st, _ in read_responses(s, 3)], [201, 401, 201], 'answers in order')
    s.sendall(raw_request('/a', b'{"x":2}', extra=bad + 'Connection: close\r\n'))
    check_eq([st for st, _ in read_responses(s, 1)], [401], '401 with Connection: close')
    check(is_closed(s), 'then the connection is closed')
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 2, 15, 'records out')
    check_eq(sl.stop(), 0, 'exit 0')
    check_eq(records(t), [{'n': 1}, {'n': 2}], 'the good ones')


def dry_run(t, name, **keys):
    path = write(t, name + '.conf', conf(service(t), http_in(free_port(), **keys), out(t)))
    return subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True,
                          timeout=30)


def test_bad_config(t):
    _, pub = rsa_keys(t)
    cases = [
        ({'Auth_Tokens_File': write(t, 't1', 'ok\nbad token here\n')}, 't1:2:'),
        ({'Auth_Tokens_File': write(t, 't2', 'ok a\nok b\n')}, 't2:2:'),
        ({'Auth_Tokens_File': write(t, 't3', 'b@d\n')}, 't3:1:'),
        ({'Auth_Tokens_File': write(t, 't4', '# nothing\n')}, 'no token'),
        ({'Auth_Tokens_File': t.path('missing')}, 'Auth_Tokens_File'),
        ({'JWT_Key': pub, 'JWT_Algorithm': 'HS256'}, 'HMAC secret'),
        ({'JWT_Key': write(t, 'k1', 'secret'), 'JWT_Algorithm': 'RS256'}, 'PEM RSA public key'),
        ({'JWT_Key': write(t, 'k2', '\n')}, 'empty'),
        ({'Tenant_Key': 'tenant'}, 'needs Auth_Tokens_File, JWT_Key or oauth2.validate'),
        ({'JWT_Key': pub, 'JWT_Algorithm': 'none'}, 'JWT_Algorithm'),
    ]
    for i, (keys, want) in enumerate(cases):
        p = dry_run(t, 'bad%d' % i, **keys)
        check(p.returncode != 0 and want in p.stderr, 'refused: %s (%r)' % (keys, want),
              p.stderr[-600:])
        check('.conf:' in p.stderr, 'the error names the configuration file:line', p.stderr[-600:])
    p = dry_run(t, 'good', JWT_Key=pub, Auth_Tokens_File=write(t, 'tok', 'a b\n'))
    check_eq(p.returncode, 0, 'a good configuration passes --dry-run: ' + p.stderr[-300:])


class Jwks:
    """A JWKS server on 127.0.0.1:port: serves self.doc (a dict) at any
    path; start() and stop() as the tests need (stop: connection refused)."""

    def __init__(self, port):
        self.port, self.doc, self.srv, self.fetches = port, {'keys': []}, None, 0
        self.url = 'http://127.0.0.1:%d/keys' % port

    def start(self):
        me = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                me.fetches += 1
                body = json.dumps(me.doc).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.srv = ThreadingHTTPServer(('127.0.0.1', self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None


def jwk(pub, kid):
    """The RSA public key file pub as a JWK (its modulus from the openssl
    CLI; the exponent genpkey uses, 65537)."""
    m = subprocess.run(['openssl', 'rsa', '-pubin', '-in', pub, '-noout', '-modulus'],
                       capture_output=True, text=True, check=True).stdout.strip()
    n = bytes.fromhex(m.split('=', 1)[1])
    return {'kty': 'RSA', 'use': 'sig', 'alg': 'RS256', 'kid': kid, 'n': b64(n), 'e': 'AQAB'}


ISS = 'https://idp.example/realms/logs'


def rs(claims, priv, kid):
    return jwt(claims, alg='RS256', rsa_priv=priv, header={'alg': 'RS256', 'typ': 'JWT', 'kid': kid})


def oauth2_in(port, jw, **extra):
    keys = {'oauth2.validate': 'on', 'oauth2.issuer': ISS, 'oauth2.jwks_url': jw.url}
    keys.update(extra)
    return ('INPUT', [('Name', 'http'), ('Listen', '127.0.0.1'), ('Port', str(port))] +
            [(k, str(v)) for k, v in keys.items()])


def status_of(port, token):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        return post(c, {'probe': 1}, token=token, path='/probe')[0]
    finally:
        c.close()


def test_oauth2_jwks(t):
    priv1, pub1 = rsa_keys(t, 'k1')
    priv2, pub2 = rsa_keys(t, 'k2')
    jw = Jwks(free_port())
    jw.doc = {'keys': [{'kty': 'EC', 'crv': 'P-256', 'kid': 'ec', 'x': 'AA', 'y': 'AA'},
                       dict(jwk(pub2, 'enc'), use='enc'), jwk(pub1, 'k1')]}
    jw.start()
    port = free_port()
    sl = t.sluice(conf(service(t), oauth2_in(port, jw, **{
        'oauth2.allowed_audience': 'ingest', 'oauth2.allowed_clients': 'cli-a, cli-b',
        'Tenant_Key': 'tenant'}), ('OUTPUT', [('Name', 'null'), ('Match', 'probe')]), out(t)))
    now = int(time.time())
    ok = {'iss': ISS, 'aud': ['other', 'ingest'], 'exp': now + 300, 'azp': 'cli-a'}
    wait_for(lambda: '1 RSA key(s)' in sl.stderr(), 15, 'the JWKS fetched (logged)', proc=sl)
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    check_eq(post(c, {'n': 1}, token=rs(dict(ok, tenant='acme'), priv1, 'k1'))[0], 201,
             'valid, with a tenant claim')
    check_eq(post(c, {'n': 2, 'tenant': 'forged'}, token=rs(ok, priv1, 'k1'))[0], 201,
             'valid, no tenant claim (optional with oauth2)')
    cid = {k: v for k, v in ok.items() if k != 'azp'}
    check_eq(post(c, {'n': 3}, token=rs(dict(cid, client_id='cli-b'), priv1, 'k1'))[0], 201,
             'client_id among allowed_clients (no azp)')
    bad = [
        (rs(ok, priv1, 'nope'), 'token kid unknown', 'unknown kid'),
        (rs(ok, priv2, 'enc'), 'token kid unknown', 'a use=enc key is not taken'),
        (rs(ok, priv2, 'k1'), 'invalid token', 'signed with another key'),
        (jwt(ok, alg='RS256', rsa_priv=priv1), 'token has no kid', 'no kid'),
        (rs(dict(ok, iss='https://evil.example'), priv1, 'k1'), 'token issuer does not match',
         'wrong issuer'),
        (rs(dict(ok, aud='other'), priv1, 'k1'), 'token audience does not match', 'wrong aud'),
        (rs(dict(ok, azp='cli-z'), priv1, 'k1'), 'token client not allowed', 'wrong client'),
        (rs(cid, priv1, 'k1'), 'token client not allowed', 'no client claim'),
        (rs(dict(ok, exp=now - 120), priv1, 'k1'), 'token expired', 'expired'),
        (rs({k: v for k, v in ok.items() if k != 'iss'}, priv1, 'k1'),
         'token lacks exp, iss or aud', 'no iss'),
        (rs({k: v for k, v in ok.items() if k != 'exp'}, priv1, 'k1'),
         'token lacks exp, iss or aud', 'no exp'),
        (jwt(ok, SECRET, header={'alg': 'HS256', 'kid': 'k1'}), 'token algorithm not accepted',
         'HS256'),
    ]
    for tok, err, what in bad:
        check_401(post(c, {'bad': what}, token=tok), err, what)
    check_401(post(c, {'bad': 'none'}), 'missing bearer token', 'no token')
    c.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3 and
                  st['inputs']['http.0']['auth_failed'] >= len(bad) + 1, 15,
                  'records out, refusals counted')
    check_eq(auth_failed(sl), len(bad) + 1, 'each 401 counted')
    check_eq(sl.stop(), 0, 'exit 0')
    jw.stop()
    check_eq(records(t), [{'n': 1, 'tenant': 'acme'}, {'n': 2}, {'n': 3}],
             'the tenant claim under Tenant_Key, the record\'s own removed')


def test_oauth2_rotation(t):
    priv1, pub1 = rsa_keys(t, 'k1')
    priv2, pub2 = rsa_keys(t, 'k2')
    jw = Jwks(free_port())
    jw.doc = {'keys': [jwk(pub1, 'k1')]}
    jw.start()
    port = free_port()
    sl = t.sluice(conf(service(t), oauth2_in(port, jw, **{'oauth2.jwks_refresh_interval': 2}),
                       ('OUTPUT', [('Name', 'null'), ('Match', '*')])))
    now = int(time.time())
    ok = {'iss': ISS, 'aud': 'any', 'exp': now + 600}
    t1, t2 = rs(ok, priv1, 'k1'), rs(ok, priv2, 'k2')
    wait_for(lambda: status_of(port, t1) == 201, 15, 'key 1 let in', proc=sl)
    check_eq(status_of(port, t2), 401, 'key 2 not yet in the set')
    jw.doc = {'keys': [jwk(pub2, 'k2')]}
    wait_for(lambda: status_of(port, t2) == 201, 15, 'after a refresh, key 2 let in', proc=sl)
    check_eq(status_of(port, t1), 401, 'and key 1 refused')
    jw.stop()
    wait_for(lambda: 'keys fetched before stay' in sl.stderr(), 15,
             'a refresh failing (logged)', proc=sl)
    check_eq(status_of(port, t2), 201, 'the JWKS down: the keys fetched before still work')
    check_eq(sl.stop(), 0, 'exit 0')


def test_oauth2_down_at_start(t):
    """As Fluent Bit (which fetches on the first request): no JWKS, no
    token passes, but sluice starts; the keys come when the URL answers."""
    priv1, pub1 = rsa_keys(t, 'k1')
    jw = Jwks(free_port())
    jw.doc = {'keys': [jwk(pub1, 'k1')]}
    port = free_port()
    sl = t.sluice(conf(service(t), oauth2_in(port, jw), ('OUTPUT', [('Name', 'null'),
                                                                     ('Match', '*')])))
    tok = rs({'iss': ISS, 'aud': 'a', 'exp': int(time.time()) + 600}, priv1, 'k1')
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    wait_for(lambda: 'tokens are refused until it is fetched' in sl.stderr(), 15,
             'the failed first fetch logged', proc=sl)
    check_401(post(c, {'n': 1}, token=tok), 'signing keys not loaded', 'no keys yet')
    c.close()
    jw.start()
    wait_for(lambda: status_of(port, tok) == 201, 20, 'the JWKS up: let in (retried)', proc=sl)
    check_eq(sl.stop(), 0, 'exit 0')
    jw.stop()


def test_oauth2_bad_config(t):
    url = 'http://127.0.0.1:9/keys'
    cases = [
        ({'oauth2.validate': 'on', 'oauth2.jwks_url': url}, 'needs oauth2.issuer'),
        ({'oauth2.validate': 'on', 'oauth2.issuer': ISS}, 'needs oauth2.issuer and'),
        ({'oauth2.validate': 'on', 'oauth2.issuer': ISS, 'oauth2.jwks_url': 'ftp://x/k'},
         'http:// or https://'),
        ({'oauth2.validate': 'on', 'oauth2.issuer': ISS, 'oauth2.jwks_url': url,
          'JWT_Key': write(t, 'k', 'secret')}, 'set only one'),
        ({'oauth2.validate': 'on', 'oauth2.issuer': ISS, 'oauth2.jwks_url': url,
          'oauth2.jwks_refresh_interval': 0}, 'oauth2.jwks_refresh_interval'),
    ]
    for i, (keys, want) in enumerate(cases):
        p = dry_run(t, 'o%d' % i, **keys)
        check(p.returncode != 0 and want in p.stderr, 'refused: %s (%r)' % (keys, want),
              p.stderr[-600:])
        check('.conf:' in p.stderr, 'the error names the configuration file:line', p.stderr[-600:])
    p = dry_run(t, 'ogood', **{'oauth2.validate': 'on', 'oauth2.issuer': ISS,
                               'oauth2.jwks_url': url, 'Tenant_Key': 'tenant'})
    check_eq(p.returncode, 0, 'a good configuration passes --dry-run (nothing fetched): ' +
             p.stderr[-300:])


if __name__ == '__main__':
    main([test_no_auth, test_static_tokens, test_jwt_hs256, test_jwt_rs256_and_file,
          test_close_and_pipelined, test_bad_config, test_oauth2_jwks, test_oauth2_rotation,
          test_oauth2_down_at_start, test_oauth2_bad_config])
