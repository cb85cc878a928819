#!/usr/bin/env python3
"""test_http_ingest_auth.py — bearer-token authentication and tenants of
the `http` input (sluice's own keys, shards/in_http_auth.c; Fluent Bit's
in_http has none of them: https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/http
lists only oauth2.* keys that fetch a JWKS, which sluice does not have).

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
import time

from harness import SLUICE, check, check_eq, conf, free_port, main, service, skip
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
        ({'Tenant_Key': 'tenant'}, 'needs Auth_Tokens_File or JWT_Key'),
        ({'JWT_Key': pub, 'JWT_Algorithm': 'none'}, 'JWT_Algorithm'),
    ]
    for i, (keys, want) in enumerate(cases):
        p = dry_run(t, 'bad%d' % i, **keys)
        check(p.returncode != 0 and want in p.stderr, 'refused: %s (%r)' % (keys, want),
              p.stderr[-600:])
        check('.conf:' in p.stderr, 'the error names the configuration file:line', p.stderr[-600:])
    p = dry_run(t, 'good', JWT_Key=pub, Auth_Tokens_File=write(t, 'tok', 'a b\n'))
    check_eq(p.returncode, 0, 'a good configuration passes --dry-run: ' + p.stderr[-300:])


if __name__ == '__main__':
    main([test_no_auth, test_static_tokens, test_jwt_hs256, test_jwt_rs256_and_file,
          test_close_and_pipelined, test_bad_config])
