#!/usr/bin/env python3
"""test_aws_sigv4.py — AWS SigV4 signing of the es, opensearch and http
outputs (AWS_Auth / aws_auth) and their credential chain.

The sink and the STS mock recompute every signature here, independently,
with hmac/hashlib from the secrets they know (AWS's "Create a signed AWS
API request": canonical request, string to sign, signing key), and accept
only a request whose Authorization matches, whose x-amz-date is recent,
whose scope names the right region and service, and whose signed headers
cover host, x-amz-date and (temporary credentials) x-amz-security-token.
Anything else is answered 403, as AWS would.

What is pinned, and where Fluent Bit says so:
  - the keys AWS_Auth, AWS_Region, AWS_STS_Endpoint, AWS_Role_ARN,
    AWS_External_ID, AWS_Service_Name (default es; aoss for Serverless),
    AWS_Profile of es/opensearch and aws_auth, aws_service, aws_region,
    ... of http (docs.fluentbit.io .../outputs/opensearch, .../elasticsearch,
    .../http; plugins/out_opensearch/opensearch.c config_map);
  - x-amz-security-token with temporary credentials, x-amz-content-sha256
    for aoss (src/flb_signv4.c flb_signv4_canonical_request; opensearch.c
    signs aoss with S3_MODE_SIGNED_PAYLOAD);
  - the chain: environment, then the shared credentials file's profile,
    then STS AssumeRole with the base credentials, RoleArn, ExternalId
    (src/aws/flb_aws_credentials.c, _profile.c, _sts.c).
"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time
import http.server
from datetime import datetime, timezone, timedelta
from urllib.parse import quote, unquote

from harness import SLUICE, check, check_eq, conf, free_port, main, service, tcp_in
from test_http_out import send_json


# ---- an independent SigV4 verifier ------------------------------------------

def _enc(s):
    return quote(s, safe='-_.~')


def canonical_query(q):
    pairs = []
    for part in q.split('&'):
        if part:
            k, _, v = part.partition('=')
            pairs.append((_enc(unquote(k)), _enc(unquote(v))))
    return '&'.join('%s=%s' % kv for kv in sorted(pairs))


def verify(method, target, headers, body, secrets, region, service, token=None):
    """None when the request is signed right, else why not. headers: the
    received ones (email.message.Message); secrets: akid -> secret."""
    auth = headers.get('Authorization') or ''
    m = re.fullmatch(r'AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, '
                     r'SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})', auth)
    if not m:
        return 'bad Authorization: %r' % auth
    akid, day, reg, svc, signed, sig = m.groups()
    if akid not in secrets:
        return 'unknown access key %s' % akid
    if (reg, svc) != (region, service):
        return 'scope %s/%s, want %s/%s' % (reg, svc, region, service)
    amzdate = headers.get('x-amz-date') or ''
    try:
        t = datetime.strptime(amzdate, '%Y%m%dT%H%M%SZ').replace(tzinfo=timezone.utc)
    except ValueError:
        return 'bad x-amz-date %r' % amzdate
    if abs(t.timestamp() - time.time()) > 300 or amzdate[:8] != day:
        return 'x-amz-date %s is not now or not the scope day %s' % (amzdate, day)
    names = signed.split(';')
    need = ['host', 'x-amz-date'] + (['x-amz-security-token'] if token else [])
    if [n for n in need if n not in names] or names != sorted(names):
        return 'signed headers %s, need %s, sorted' % (signed, need)
    if token and headers.get('x-amz-security-token') != token:
        return 'x-amz-security-token %r, want %r' % (headers.get('x-amz-security-token'), token)
    path, _, query = target.partition('?')
    canon_hdrs = ''
    for n in names:
        v = headers.get(n)
        if v is None:
            return 'signed header %s not sent' % n
        canon_hdrs += '%s:%s\n' % (n, ' '.join(v.split()))
    payload = hashlib.sha256(body).hexdigest()
    creq = '\n'.join([method, quote(path, safe='/-_.~'), canonical_query(query), canon_hdrs, signed, payload])
    sts = '\n'.join(['AWS4-HMAC-SHA256', amzdate, '%s/%s/%s/aws4_request' % (day, reg, svc),
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ('AWS4' + secrets[akid]).encode()
    for part in (day, reg, svc, 'aws4_request'):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if want != sig:
        return 'signature mismatch; canonical request:\n%s' % creq
    return None


class Server:
    """A threaded HTTP/1.1 server on loopback calling handle(h, method,
    body) -> (status, content-type, body bytes)."""

    def __init__(self, handle):
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def _do(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n)
                st, ct, rb = handle(self, self.command, body)
                self.send_response(st)
                self.send_header('Content-Type', ct)
                self.send_header('Content-Length', str(len(rb)))
                self.end_headers()
                self.wfile.write(rb)

            do_GET = do_POST = do_PUT = _do

        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Sink:
    """The service: accepts a correctly signed request (bulk or plain),
    403 otherwise. secrets/tokens are looked up per access key."""

    def __init__(self, region, secrets, tokens=None):
        self.lock = threading.Lock()
        self.region, self.secrets, self.tokens = region, secrets, tokens or {}
        self.ok, self.bad = [], []
        self.srv = Server(self.handle)
        self.port = self.srv.port

    def handle(self, h, method, body):
        svc = 'aoss' if h.path.startswith('/aoss') else ('execute-api' if h.path.startswith('/api') else 'es')
        auth = h.headers.get('Authorization') or ''
        akid = auth.split('Credential=')[-1].split('/')[0]
        with self.lock:
            secrets, tokens = dict(self.secrets), dict(self.tokens)
        why = verify(method, h.path, h.headers, body, secrets, self.region, svc, tokens.get(akid))
        if not why and svc == 'aoss':
            sha = h.headers.get('x-amz-content-sha256')
            if sha != hashlib.sha256(body).hexdigest() or 'x-amz-content-sha256' not in auth:
                why = 'aoss: x-amz-content-sha256 %r missing, wrong or unsigned' % sha
        with self.lock:
            (self.bad if why else self.ok).append({'path': h.path, 'akid': akid, 'why': why,
                                                    'headers': dict(h.headers), 'body': body})
        if why:
            return 403, 'application/json', json.dumps({'message': why}).encode()
        if h.path.split('?')[0].endswith('/_bulk'):
            n = body.count(b'\n') // 2
            items = [{'create': {'_index': 'x', 'status': 201}}] * n
            return 200, 'application/json', json.dumps({'took': 1, 'errors': False, 'items': items}).encode()
        return 200, 'text/plain', b'ok'

    def close(self):
        self.srv.close()


class STS:
    """STS AssumeRole: checks the request is signed by a base key, names
    the role and the external id, and hands out temporary credentials
    TEMP1, TEMP2, ... each valid for `life` seconds, registered in sink."""

    def __init__(self, region, base, role, external_id, sink, life=3600):
        self.region, self.base, self.role, self.ext, self.sink, self.life = \
            region, base, role, external_id, sink, life
        self.calls, self.bad, self.fail_first, self.refused = 0, [], 0, 0
        self.srv = Server(self.handle)
        self.port = self.srv.port

    def handle(self, h, method, body):
        q = dict(p.partition('=')[::2] for p in h.path.partition('?')[2].split('&'))
        if q.get('Action') == 'AssumeRoleWithWebIdentity':
            # not signed: the web identity token is the proof
            why = None if 'Authorization' not in h.headers else 'web identity request signed'
            want = {'Version': '2011-06-15', 'RoleArn': quote(self.role, safe=''),
                    'WebIdentityToken': quote(self.ext, safe='')}
        else:
            why = verify(method, h.path, h.headers, body, self.base, self.region, 'sts')
            want = {'Action': 'AssumeRole', 'Version': '2011-06-15', 'RoleArn': quote(self.role, safe=''),
                    'ExternalId': self.ext}
        if not why and any(q.get(k) != v for k, v in want.items()):
            why = 'query %r, want %r' % (q, want)
        if not why and self.refused < self.fail_first:
            self.refused += 1
            return 503, 'text/xml', b'<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>'
        if why:
            self.bad.append(why)
            return 403, 'text/xml', b'<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>'
        self.calls += 1
        akid, secret, token = 'ASIATEMP%d' % self.calls, 'temp/secret+%d' % self.calls, 'TOKEN%d//+=' % self.calls
        with self.sink.lock:
            self.sink.secrets[akid] = secret
            self.sink.tokens[akid] = token
        exp = (datetime.now(timezone.utc) + timedelta(seconds=self.life)).strftime('%Y-%m-%dT%H:%M:%SZ')
        xml = ('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
               '<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>'
               '<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>'
               '<AssumedRoleUser><Arn>%s/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>'
               % (akid, secret, token, exp, self.role))
        return 200, 'text/xml', xml.encode()

    def close(self):
        self.srv.close()


AWS_ENV = ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
           'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN',
           'AWS_ROLE_SESSION_NAME', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
           'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_EC2_METADATA_SERVICE_ENDPOINT', 'AWS_EC2_METADATA_DISABLED')


def aws_env(t, **kv):
    """Set the AWS variables sluice inherits for this test only."""
    saved = {k: os.environ.get(k) for k in AWS_ENV}

    def restore():
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    t.cleanups.append(restore)
    for k in AWS_ENV:
        os.environ.pop(k, None)
    os.environ['AWS_SHARED_CREDENTIALS_FILE'] = t.path('no-credentials')
    os.environ['AWS_CONFIG_FILE'] = t.path('no-config')
    os.environ['AWS_EC2_METADATA_DISABLED'] = 'true'   # hermetic: no 169.254.169.254
    os.environ.update(kv)


def out(name, alias, port, **kv):
    return ('OUTPUT', [('Name', name), ('Match', '*'), ('Alias', alias), ('Host', '127.0.0.1'),
                       ('Port', str(port))] + [(k, str(v)) for k, v in kv.items()])


def recs(st, alias):
    return st['outputs'][alias]['records']


# ---- tests -------------------------------------------------------------------

def test_env_credentials(t):
    """Environment credentials with a session token: opensearch (es),
    es with aoss (x-amz-content-sha256, over the gzip'd body) and a Path
    with a pipeline query, http (PUT, json) all signed right."""
    aws_env(t, AWS_ACCESS_KEY_ID='AKIDENV', AWS_SECRET_ACCESS_KEY='env/secret+key', AWS_SESSION_TOKEN='SESS/TOK=')
    sink = Sink('eu-west-1', {'AKIDENV': 'env/secret+key'}, {'AKIDENV': 'SESS/TOK='})
    t.cleanups.append(sink.close)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       out('opensearch', 'os', sink.port, AWS_Auth='on', AWS_Region='eu-west-1'),
                       out('es', 'aoss', sink.port, Path='/aoss', AWS_Auth='on', AWS_Region='eu-west-1',
                           AWS_Service_Name='aoss', compress='gzip', Pipeline='p%201', Suppress_Type_Name='on'),
                       out('http', 'http', sink.port, URI='/api/v1/logs?b=2&a=x%2Fy', Format='json',
                           http_method='PUT', aws_auth='on', aws_region='eu-west-1', aws_service='execute-api')))
    n = 300
    send_json(port, 0, n)
    sl.wait_stats(lambda st: all(recs(st, a) >= n for a in ('os', 'aoss', 'http')), 30, 'all delivered')
    check_eq([b['why'] for b in sink.bad], [], 'every request signed right')
    paths = {r['path'] for r in sink.ok}
    check_eq(paths, {'/_bulk', '/aoss/_bulk?pipeline=p%201', '/api/v1/logs?b=2&a=x%2Fy'}, 'all three outputs signed')
    r = next(r for r in sink.ok if r['path'] == '/_bulk')
    check('content-type' in r['headers']['Authorization'], 'es: Content-Type is signed', r['headers']['Authorization'])
    check_eq(r['headers'].get('x-amz-security-token'), 'SESS/TOK=', 'the session token is sent')
    st = sl.stats()
    check_eq(sum(st['outputs'][a]['errors'] for a in ('os', 'aoss', 'http')), 0, 'no errors')
    check_eq(sl.stop(), 0, 'SIGTERM: clean exit')


def test_wrong_secret_refused(t):
    """The sink's check can fail: a wrong secret is refused (403, counted
    failed), and nothing is accepted."""
    aws_env(t, AWS_ACCESS_KEY_ID='AKIDENV', AWS_SECRET_ACCESS_KEY='not-the-secret')
    sink = Sink('us-east-1', {'AKIDENV': 'the-secret'})
    t.cleanups.append(sink.close)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       out('opensearch', 'os', sink.port, AWS_Auth='on', AWS_Region='us-east-1')))
    send_json(port, 0, 50)
    sl.wait_stats(lambda st: st['outputs']['os']['errors'] >= 50, 30, 'refused records counted failed')
    check_eq(sink.ok, [], 'nothing accepted')
    check(all('signature mismatch' in b['why'] for b in sink.bad), 'refused for the signature', sink.bad[0]['why'][:80] if sink.bad else '')


def test_profile_and_assume_role(t):
    """Base credentials from the shared credentials file's AWS_Profile,
    then STS AssumeRole (AWS_Role_ARN, AWS_External_ID, AWS_STS_Endpoint)
    signed with them; records are signed with the temporary credentials
    and their token; the credentials are renewed before they expire and
    later requests use the new ones."""
    cred = t.path('credentials')
    with open(cred, 'w') as f:
        f.write('[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = wrong\n\n'
                '[ops]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = prof/secret\n')
    aws_env(t, AWS_SHARED_CREDENTIALS_FILE=cred)
    sink = Sink('us-west-2', {})
    t.cleanups.append(sink.close)
    role = 'arn:aws:iam::123456789012:role/logs-writer'
    # life 16 s: renewed at half life (8 s), since 5 minutes before expiry is past
    sts = STS('us-west-2', {'AKIDPROFILE': 'prof/secret'}, role, 'ext-42', sink, life=16)
    t.cleanups.append(sts.close)
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port),
                       out('es', 'es', sink.port, AWS_Auth='on', AWS_Region='us-west-2', AWS_Profile='ops',
                           AWS_Role_ARN=role, AWS_External_ID='ext-42',
                           AWS_STS_Endpoint='http://127.0.0.1:%d' % sts.port)))
    send_json(port, 0, 100)
    sl.wait_stats(lambda st: recs(st, 'es') >= 100, 30, 'first records delivered')
    check_eq(sts.bad, [], 'STS requests signed with the profile credentials')
    check_eq({r['akid'] for r in sink.ok}, {'ASIATEMP1'}, 'signed with the assumed role')
    check_eq([b['why'] for b in sink.bad], [], 'every request signed right')
    from harness import wait_for
    wait_for(lambda: sts.calls >= 2, 30, 'the role assumed again before expiry', proc=sl)
    send_json(port, 100, 100)
    sl.wait_stats(lambda st: recs(st, 'es') >= 200, 30, 'later records delivered')
    check_eq(sink.ok[-1]['akid'], 'ASIATEMP%d' % sts.calls, 'later requests use the renewed credentials')
    check_eq([b['why'] for b in sink.bad], [], 'every request signed right')
    t0 = time.monotonic()
    check_eq(sl.stop(), 0, 'SIGTERM: clean exit (the refresh thread joined)')
    check(time.monotonic() - t0 < 10, 'the refresh thread does not hold the exit', '%.1fs' % (time.monotonic() - t0))


def test_sts_down_at_start(t):
    """STS failing at start: sluice starts, requests wait (retried, not
    failed) and go out signed once the role is assumed."""
    cred = t.path('credentials')
    with open(cred, 'w') as f:
        f.write('[default]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base\n')
    aws_env(t, AWS_SHARED_CREDENTIALS_FILE=cred)
    sink = Sink('us-east-1', {})
    t.cleanups.append(sink.close)
    role = 'arn:aws:iam::123456789012:role/r'
    sts = STS('us-east-1', {'AKIDBASE': 'base'}, role, 'x', sink)
    sts.fail_first = 1
    t.cleanups.append(sts.close)
    port = free_port()
    sl = t.sluice(conf(service(t, **{'scheduler.base': '0.2', 'scheduler.cap': '0.5'}), tcp_in(port),
                       out('opensearch', 'os', sink.port, AWS_Auth='on', AWS_Region='us-east-1',
                           AWS_Role_ARN=role, AWS_External_ID='x', Retry_Limit='no_limits',
                           AWS_STS_Endpoint='http://127.0.0.1:%d/' % sts.port)))
    send_json(port, 0, 50)
    sl.wait_stats(lambda st: recs(st, 'os') >= 50, 40, 'delivered once the role is assumed')
    check_eq(sts.refused, 1, 'the first AssumeRole was refused')
    check('no valid AWS credentials yet' in sl.stderr(), 'the wait was logged')
    check_eq(sl.stats()['outputs']['os']['errors'], 0, 'nothing failed')
    check_eq([b['why'] for b in sink.bad], [], 'every request signed right')


def creds_json(akid, secret, token, life=3600):
    exp = (datetime.now(timezone.utc) + timedelta(seconds=life)).strftime('%Y-%m-%dT%H:%M:%SZ')
    return json.dumps({'Code': 'Success', 'Type': 'AWS-HMAC', 'AccessKeyId': akid, 'SecretAccessKey': secret,
                       'Token': token, 'Expiration': exp}).encode()


def test_host_sources(t):
    """With nothing in the environment or the files: EKS web identity
    (token file, AWS_ROLE_ARN, AssumeRoleWithWebIdentity at
    AWS_STS_Endpoint), the ECS task role (FULL_URI with its authorization
    token) and EC2 instance metadata (IMDSv2: token, role name, creds),
    each signing requests; no metadata service: refused at start."""
    sink = Sink('us-east-1', {'AKIDECS': 'ecs/secret', 'AKIDEC2': 'ec2/secret'},
                {'AKIDECS': 'ECSTOKEN', 'AKIDEC2': 'EC2TOKEN'})
    t.cleanups.append(sink.close)
    seen = []

    def host(h, method, body):
        seen.append((method, h.path, h.headers.get('Authorization'), h.headers.get('X-aws-ec2-metadata-token'),
                     h.headers.get('X-aws-ec2-metadata-token-ttl-seconds')))
        if h.path == '/ecs/creds':
            if h.headers.get('Authorization') != 'ecs-auth':
                return 401, 'text/plain', b'no'
            return 200, 'application/json', creds_json('AKIDECS', 'ecs/secret', 'ECSTOKEN')
        if h.path == '/latest/api/token' and method == 'PUT':
            return 200, 'text/plain', b'imds-session-token'
        if h.headers.get('X-aws-ec2-metadata-token') != 'imds-session-token':
            return 401, 'text/plain', b''
        if h.path == '/latest/meta-data/iam/security-credentials/':
            return 200, 'text/plain', b'my-instance-role'
        if h.path == '/latest/meta-data/iam/security-credentials/my-instance-role':
            return 200, 'application/json', creds_json('AKIDEC2', 'ec2/secret', 'EC2TOKEN')
        return 404, 'text/plain', b''
    hs = Server(host)
    t.cleanups.append(hs.close)
    role = 'arn:aws:iam::123456789012:role/eks-pod'
    sts = STS('us-east-1', {}, role, 'eyJhbGciOi.web+token/x', sink)
    t.cleanups.append(sts.close)
    tokfile = t.path('token')
    with open(tokfile, 'w') as f:
        f.write('eyJhbGciOi.web+token/x\n')
    cases = [('webid', {'AWS_WEB_IDENTITY_TOKEN_FILE': tokfile, 'AWS_ROLE_ARN': role}, 'ASIATEMP1'),
             ('ecs', {'AWS_CONTAINER_CREDENTIALS_FULL_URI': 'http://127.0.0.1:%d/ecs/creds' % hs.port,
                      'AWS_CONTAINER_AUTHORIZATION_TOKEN': 'ecs-auth'}, 'AKIDECS'),
             ('imds', {'AWS_EC2_METADATA_SERVICE_ENDPOINT': 'http://127.0.0.1:%d/' % hs.port}, 'AKIDEC2')]
    for name, env, akid in cases:
        aws_env(t, **env)
        if name == 'imds':
            os.environ.pop('AWS_EC2_METADATA_DISABLED')
        port = free_port()
        sl = t.sluice(conf(service(t, Stats_File=t.path(name + '.json')), tcp_in(port),
                           out('opensearch', 'os', sink.port, AWS_Auth='on', AWS_Region='us-east-1',
                               AWS_STS_Endpoint='http://127.0.0.1:%d' % sts.port)), name=name)
        send_json(port, 0, 20)
        sl.wait_stats(lambda st: recs(st, 'os') >= 20, 30, name + ': delivered')
        check_eq(sink.ok[-1]['akid'], akid, name + ': signed with its credentials')
        check_eq([b['why'] for b in sink.bad], [], name + ': every request signed right')
        check_eq(sl.stop(), 0, name + ': clean exit')
    check_eq(sts.bad, [], 'web identity request as STS wants it')
    check(('PUT', '/latest/api/token', None, None, '21600') in seen, 'IMDSv2: a session token first')
    # an endpoint that answers nothing: refused at start, with why
    aws_env(t, AWS_EC2_METADATA_SERVICE_ENDPOINT='http://127.0.0.1:%d' % free_port())
    os.environ.pop('AWS_EC2_METADATA_DISABLED')
    text = conf(service(t), tcp_in(free_port()), out('es', 'es', sink.port, AWS_Auth='on', AWS_Region='us-east-1'))
    path = t.path('imds.conf')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and 'EC2 instance metadata' in p.stderr, 'no credentials anywhere: refused',
          p.stderr.strip()[-300:])


def test_bad_config(t):
    """AWS_Auth without a region, or http's aws_auth without aws_service,
    or no credentials anywhere: sluice refuses to start, naming
    file:line and the key."""
    aws_env(t)
    for name, kv, want, key in [
            ('es', [('AWS_Auth', 'on')], 'AWS_Region', 'AWS_Auth'),
            ('opensearch', [('AWS_Auth', 'on'), ('AWS_Region', 'us east')], 'AWS_Region', 'AWS_Region'),
            ('http', [('aws_auth', 'on'), ('aws_region', 'us-east-1')], 'service', 'aws_auth'),
            ('opensearch', [('AWS_Auth', 'on'), ('AWS_Region', 'us-east-1')], 'no AWS credentials', None)]:
        text = conf(service(t), tcp_in(free_port()),
                    ('OUTPUT', [('Name', name), ('Match', '*'), ('Port', str(free_port()))] + kv))
        path = t.path('bad.conf')
        with open(path, 'w') as f:
            f.write(text)
        p = subprocess.run([SLUICE, '--dry-run', '-c', path], capture_output=True, text=True, timeout=30)
        lines = text.splitlines()
        where = '%s:%d:' % (path, [i for i, l in enumerate(lines) if l.split()[:1] == [key]][0] + 1) if key \
            else path + ':'
        check(p.returncode != 0 and want in p.stderr and where in p.stderr,
              'refused at %s %s %s' % (where, name, kv), p.stderr.strip()[-300:])


if __name__ == '__main__':
    main([test_env_credentials, test_wrong_secret_refused, test_profile_and_assume_role, test_sts_down_at_start,
          test_host_sources, test_bad_config])
