"""certs.py — certificates for the TLS tests, made once per test process
with the openssl command into a temporary directory removed at exit:

- ca, ca2: two self-signed CAs (ca2 plays "the wrong CA");
- server: CN localhost, subjectAltName DNS:localhost, IP:127.0.0.1, by ca;
  server_enc.key: its key encrypted with the password s3cret;
- wrongname: by ca, for elsewhere.example only (a name mismatch);
- expired_server: like server, valid in January 2020 only;
- client (by ca), client2 (by ca2), expired (a client, January 2020);
- other: a self-signed pair that matches nothing else.

Each is NAME.crt and NAME.key under Certs.dir; certs().p('ca.crt').
"""
import atexit
import os
import shutil
import ssl
import subprocess
import tempfile

from harness import Fail


class Certs:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='sluice-e2e-tls-certs-')
        atexit.register(shutil.rmtree, self.dir, True)
        d = self.p
        self._req('ca', '/CN=sluice test CA', ca=True)
        self._req('ca2', '/CN=sluice other CA', ca=True)
        self._signed('server', '/CN=localhost', 'ca',
                     'subjectAltName=DNS:localhost,IP:127.0.0.1')
        self._signed('wrongname', '/CN=elsewhere.example', 'ca', 'subjectAltName=DNS:elsewhere.example')
        self._signed('client', '/CN=client one', 'ca')
        self._signed('client2', '/CN=client of the other CA', 'ca2')
        self._req('other', '/CN=other pair', ca=True)   # a key that matches nothing of ours
        # Expired: a CA database for `openssl ca`, which takes explicit dates.
        os.makedirs(d('newcerts'))
        open(d('index.txt'), 'w').close()
        with open(d('serial'), 'w') as f:
            f.write('1000\n')
        with open(d('ca.cnf'), 'w') as f:
            f.write('[ca]\ndefault_ca = def\n[def]\ndir = %s\ndatabase = %s\n'
                    'new_certs_dir = %s\nserial = %s\ndefault_md = sha256\n'
                    'policy = any\n[any]\ncommonName = supplied\n'
                    % (self.dir, d('index.txt'), d('newcerts'), d('serial')))
        self._expired('expired', '/CN=expired client')
        self._expired('expired_server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost')
        self._run('openssl', 'pkey', '-in', d('server.key'), '-aes256', '-passout',
                  'pass:s3cret', '-out', d('server_enc.key'))

    def p(self, name):
        return os.path.join(self.dir, name)

    def _run(self, *cmd):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise Fail('%s: %s' % (' '.join(cmd), r.stderr))

    def _req(self, name, subj, ca=False):
        self._run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                  'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', self.p(name + '.key'),
                  '-out', self.p(name + '.crt'), '-days', '30', '-subj', subj)

    def _signed(self, name, subj, ca, ext=None):
        d = self.p
        self._run('openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt',
                  'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', d(name + '.key'),
                  '-out', d(name + '.csr'), '-subj', subj)
        cmd = ['openssl', 'x509', '-req', '-in', d(name + '.csr'), '-CA', d(ca + '.crt'),
               '-CAkey', d(ca + '.key'), '-CAcreateserial', '-out', d(name + '.crt'),
               '-days', '30']
        if ext:
            with open(d(name + '.ext'), 'w') as f:
                f.write(ext + '\n')
            cmd += ['-extfile', d(name + '.ext')]
        self._run(*cmd)

    def _expired(self, name, subj, ext=None):
        """Valid in January 2020 only, signed by ca."""
        d = self.p
        self._run('openssl', 'req', '-new', '-newkey', 'ec', '-pkeyopt',
                  'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', d(name + '.key'),
                  '-out', d(name + '.csr'), '-subj', subj)
        cmd = ['openssl', 'ca', '-batch', '-config', d('ca.cnf'), '-cert', d('ca.crt'),
               '-keyfile', d('ca.key'), '-in', d(name + '.csr'), '-out', d(name + '.crt'),
               '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext']
        if ext:
            with open(d(name + '.ext'), 'w') as f:
                f.write(ext + '\n')
            cmd += ['-extfile', d(name + '.ext')]
        self._run(*cmd)


_certs = None


def certs():
    """The one set of test certificates of this process (made once)."""
    global _certs
    if _certs is None:
        _certs = Certs()
    return _certs


def server_ctx(name='server'):
    """A Python TLS server context with certificate `name` (server,
    wrongname, expired_server)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certs().p(name + '.crt'), certs().p(name + '.key'))
    return ctx
