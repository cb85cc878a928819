#!/usr/bin/env python3
"""test_forward_out.py — the forward output against a Forward protocol v1
server of the test's own (threads and sockets; mpack.py for msgpack).

The server (FwdServer) takes Message, Forward, PackedForward and
CompressedPackedForward messages, answers {"ack": chunk} when a message
carries a chunk option (unless told to withhold the next N acks), and plays
the server side of the Shared_Key handshake (HELO, checks the PING's
digests, PONG with its own digest). A record counts as delivered only when
the server kept it (acked it, in ack mode).

What is pinned, and where Fluent Bit / Fluentd say so:
  - Forward mode [tag, [[time, record], ...]] by default, times EventTime
    with nanoseconds; Time_as_Integer: integer seconds; Compress gzip:
    CompressedPackedForward, option {"size": n, "compressed": "gzip"};
    Send_options: {"size": n}; Require_ack_response: {"chunk": id}
    (plugins/out_forward/forward_format.c append_options, forward.c
    flush_forward_mode; fluentd wiki Forward-Protocol-Specification-v1).
  - Retain_Metadata_In_Forward_Mode: [[time, metadata], record].
  - Shared_Key: PING's shared_key_hexdigest = sha512(salt + self_hostname +
    nonce + shared_key), password digest sha512(auth + username +
    password) (forward.c secure_forward_hash_shared_key / _password).
  - Upstream file with [UPSTREAM] and [NODE] sections, round robin over the
    nodes (docs.fluentbit.io/manual/administration/configuring-fluent-bit/
    classic-mode/upstream-servers).
"""
import gzip
import hashlib
import json
import os
import socket
import ssl
import threading
import time

from harness import check, check_eq, conf, free_port, main, service, tcp_in, wait_for
from mpack import mp_all, mp_decode, mp_encode


# ---- the server --------------------------------------------------------------

class FwdServer:
    def __init__(self, port=None, unix_path=None, shared_key=None, users=None, tls_ctx=None,
                 hostname='fake-server'):
        self.lock = threading.Lock()
        self.records = []          # (tag, time, record) kept
        self.messages = []         # every message decoded: (mode, tag, options, nrecords)
        self.sends = 0             # messages with records received, kept or not
        self.withhold = 0          # do not ack (nor keep) the next N messages with a chunk
        self.handshakes = []       # (ok, reason)
        self.shared_key, self.users, self.hostname = shared_key, users, hostname
        self.tls_ctx = tls_ctx
        self.conns = []
        self.closed = False
        if unix_path:
            self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.ls.bind(unix_path)
        else:
            self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.ls.bind(('127.0.0.1', port or 0))
            self.port = self.ls.getsockname()[1]
        self.ls.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            if self.tls_ctx:
                try:
                    s = self.tls_ctx.wrap_socket(s, server_side=True)
                except (ssl.SSLError, OSError):
                    s.close()
                    continue
            with self.lock:
                self.conns.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def close(self):
        """Stop at once: the listener and every connection."""
        self.closed = True
        try:
            self.ls.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.ls.close()
        with self.lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _read_obj(self, s, buf):
        """(object, rest of buf) — reads until one whole object is there."""
        while True:
            if buf:
                try:
                    v, end = mp_decode(buf, 0)
                    if end <= len(buf):
                        return v, buf[end:]
                except (IndexError, ValueError, __import__('struct').error):
                    pass
            d = s.recv(65536)
            if not d:
                raise EOFError
            buf += d

    def _handshake(self, s):
        nonce = os.urandom(16)
        auth = os.urandom(16) if self.users else b''
        s.sendall(mp_encode(['HELO', {'nonce': nonce, 'auth': auth, 'keepalive': True}]))
        ping, buf = self._read_obj(s, b'')
        _, host, salt, digest, user, pw_digest = ping
        want = hashlib.sha512(salt.encode() + host.encode() + nonce + self.shared_key.encode()).hexdigest()
        ok, reason = True, ''
        if digest != want:
            ok, reason = False, 'shared key mismatch'
        elif self.users:
            pw = self.users.get(user)
            if pw is None or pw_digest != hashlib.sha512(auth + user.encode() + pw.encode()).hexdigest():
                ok, reason = False, 'username/password mismatch'
        mine = hashlib.sha512(salt.encode() + self.hostname.encode() + nonce +
                              self.shared_key.encode()).hexdigest()
        with self.lock:
            self.handshakes.append((ok, reason, host))
        s.sendall(mp_encode(['PONG', ok, reason, self.hostname, mine if ok else '']))
        return ok, buf

    def _serve(self, s):
        buf = b''
        try:
            if self.shared_key is not None:
                ok, buf = self._handshake(s)
                if not ok:
                    s.close()
                    return
            while True:
                msg, buf = self._read_obj(s, buf)
                self._message(s, msg)
        except (EOFError, OSError, ValueError):
            pass

    def _message(self, s, msg):
        tag, body = msg[0], msg[1]
        opts = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
        if isinstance(body, list):
            mode, entries = 'forward', [(e[0], e[1]) for e in body]
        elif isinstance(body, (bytes, bytearray)):
            raw = gzip.decompress(body) if opts.get('compressed') == 'gzip' else body
            mode = 'compressed' if opts.get('compressed') == 'gzip' else 'packed'
            entries = [(e[0], e[1]) for e in mp_all(raw)]
        else:
            mode, entries = 'message', [(msg[1], msg[2])]
            opts = msg[3] if len(msg) > 3 else {}
        with self.lock:
            self.sends += 1
            self.messages.append((mode, tag, opts, len(entries), body if mode == 'forward' else None))
            chunk = opts.get('chunk')
            if chunk is not None and self.withhold > 0:
                self.withhold -= 1
                return
            self.records += [(tag, t, r) for t, r in entries]
        if chunk is not None:
            s.sendall(mp_encode({'ack': chunk}))

    def seqs(self):
        with self.lock:
            return [r['seq'] for _, _, r in self.records]

    def got(self):
        with self.lock:
            return list(self.records)


# ---- helpers -----------------------------------------------------------------

def send_json(port, first, count):
    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(''.join(json.dumps({'seq': i, 'msg': 'record %d' % i}) + '\n'
                          for i in range(first, first + count)).encode())


def fwd_out(match='*', **kv):
    return ('OUTPUT', [('Name', 'forward'), ('Match', match)] + [(k, str(v)) for k, v in kv.items()])


def fast(t):
    return service(t, **{'scheduler.base': '0.1', 'scheduler.cap': '0.3'})


def out_st(st, name='forward.0'):
    return st['outputs'][name]


def wait_seqs(srv, n, what, sl, timeout=30):
    wait_for(lambda: len(srv.seqs()) >= n, timeout, what, proc=sl)
    return srv.seqs()


# ---- tests -------------------------------------------------------------------

def test_forward_mode(t):
    """Default: Forward mode, the input's tag, EventTime with nanoseconds,
    no options; every record once, in order."""
    srv = FwdServer()
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port, Tag='app.logs'), fwd_out(Port=srv.port)))
    n = 3000
    send_json(port, 0, n)
    check_eq(wait_seqs(srv, n, 'all records at the server', sl), list(range(n)), 'every record once, in order')
    got = srv.got()
    check(all(tag == 'app.logs' for tag, _, _ in got), 'the input\'s tag')
    check(all(isinstance(tm, tuple) and tm[0] == 'time' for _, tm, _ in got), 'times are EventTime')
    check(any(tm[2] != 0 for _, tm, _ in got), 'nanoseconds kept')
    now = time.time()
    check(all(abs(tm[1] - now) < 120 for _, tm, _ in got), 'times are now')
    with srv.lock:
        modes = {m[0] for m in srv.messages}
        opts = [m[2] for m in srv.messages]
    check_eq(modes, {'forward'}, 'Forward mode')
    check(all(o == {} for o in opts), 'no options without Send_options')
    check(len(srv.messages) < n / 10, 'records batched', '%d messages' % len(srv.messages))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    srv.close()


def test_options_tag_integer_time(t):
    """Tag overrides the tag, Time_as_Integer sends integer seconds,
    Send_options sends {"size": n}; Retain_Metadata_In_Forward_Mode wraps
    the time as [time, {}]."""
    a, b = FwdServer(), FwdServer()
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port, Tag='in.x'),
                       fwd_out(Port=a.port, Tag='over.ride', Time_as_Integer='on', Send_options='on'),
                       fwd_out(Port=b.port, Retain_Metadata_In_Forward_Mode='on')))
    n = 500
    send_json(port, 0, n)
    check_eq(wait_seqs(a, n, 'a: all', sl), list(range(n)), 'a: every record once')
    got = a.got()
    check(all(tag == 'over.ride' for tag, _, _ in got), 'Tag overrides the tag')
    check(all(isinstance(tm, int) and abs(tm - time.time()) < 120 for _, tm, _ in got),
          'Time_as_Integer: integer seconds')
    with a.lock:
        msgs = list(a.messages)
    check(all(m[2] == {'size': m[3]} for m in msgs), 'Send_options: {"size": n} with the count')
    wait_for(lambda: len(b.messages) and sum(m[3] for m in b.messages) >= n, 30, 'b: all', proc=sl)
    with b.lock:
        bodies = [m[4] for m in b.messages]
    ev = bodies[0][0]
    check(isinstance(ev[0], list) and ev[0][0][0] == 'time' and ev[0][1] == {},
          'metadata retained: [[EventTime, {}], record]', repr(ev)[:120])
    check_eq(ev[1]['seq'], 0, 'the record follows')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    a.close()
    b.close()


def test_add_option(t):
    """Add_Option KEY VALUE (repeatable; Fluent Bit's out_forward
    add_option, docs.fluentbit.io/manual/pipeline/outputs/forward): each
    pair in every message's options, which are then sent, next to size."""
    a = FwdServer()
    port = free_port()
    out = fwd_out(Port=a.port)
    out[1].extend([('Add_Option', 'env prod'), ('Add_Option', 'dc eu west')])
    sl = t.sluice(conf(fast(t), tcp_in(port, Tag='in.x'), out))
    send_json(port, 0, 50)
    check_eq(wait_seqs(a, 50, 'all', sl), list(range(50)), 'every record once')
    with a.lock:
        msgs = list(a.messages)
    check(all(m[2] == {'size': m[3], 'env': 'prod', 'dc': 'eu west'} for m in msgs),
          'the options: size and the added pairs', repr(msgs[0][2]))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    a.close()


def test_gzip(t):
    """Compress gzip: CompressedPackedForward, option compressed/size."""
    srv = FwdServer()
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port, Tag='gz'), fwd_out(Port=srv.port, Compress='gzip')))
    n = 2000
    send_json(port, 0, n)
    check_eq(wait_seqs(srv, n, 'all', sl), list(range(n)), 'gzip: every record once, in order')
    with srv.lock:
        msgs = list(srv.messages)
    check(all(m[0] == 'compressed' for m in msgs), 'CompressedPackedForward')
    check(all(m[2] == {'size': m[3], 'compressed': 'gzip'} for m in msgs), 'options size and compressed')
    check(all(tm[0] == 'time' and tm[2] for _, tm, _ in srv.got()[:50]), 'EventTime inside the gzip')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    srv.close()


def test_ack_withheld(t):
    """Require_ack_response: a burst is released only on its acks; the
    server withholds the first ack, the burst is sent again and kept once."""
    srv = FwdServer()
    srv.withhold = 1
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port),
                       fwd_out(Port=srv.port, Require_ack_response='on', **{'net.io_timeout': '1'},
                               Retry_Limit='no_limits')))
    n = 300
    send_json(port, 0, n)
    st = sl.wait_stats(lambda st: out_st(st)['records'] >= n, 30, 'confirmed after the ack')
    check_eq(srv.seqs(), list(range(n)), 'kept exactly once, in order')
    with srv.lock:
        chunks = [m[2].get('chunk') for m in srv.messages]
    check(srv.sends >= 2, 'the unacknowledged message was sent again', '%d sends' % srv.sends)
    check(all(isinstance(c, str) and len(c) == 24 for c in chunks), 'chunk ids: base64 of 16 bytes')
    check_eq(len(set(chunks)), len(chunks), 'every send has its own chunk id')
    check(out_st(st)['retries'] >= 1, 'a retry counted')
    check('acks missing' in sl.stderr(), 'the missing ack is logged')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    srv.close()


def test_server_down_at_start(t):
    """No server at start: retried; delivered once it comes up."""
    sport = free_port()
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port),
                       fwd_out(Port=sport, Require_ack_response='on', Retry_Limit='no_limits')))
    n = 400
    send_json(port, 0, n)
    sl.wait_stats(lambda st: out_st(st)['retries'] >= 1, 30, 'a retry while the server is down')
    check('Connection refused' in sl.stderr(), 'the refused connection is logged')
    srv = FwdServer(port=sport)
    check_eq(wait_seqs(srv, n, 'all after the server came up', sl), list(range(n)), 'every record once')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    srv.close()


def test_unix_path(t):
    path = t.path('fwd.sock')
    srv = FwdServer(unix_path=path)
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port), fwd_out(Unix_Path=path, Require_ack_response='on')))
    n = 500
    send_json(port, 0, n)
    check_eq(wait_seqs(srv, n, 'all over the Unix socket', sl), list(range(n)), 'Unix_Path: every record once')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    srv.close()


def test_config_errors(t):
    """Refused at start with the key named."""
    for kv, want in [({'Compress': 'zstd'}, "'Compress'"),
                     ({'Compress': 'gzip', 'Time_as_Integer': 'on'}, 'Time_as_Integer'),
                     ({'Tag': '$kubernetes'}, 'fixed tag'),
                     ({'Upstream': t.path('missing.conf')}, 'missing.conf')]:
        sl = t.sluice(conf(service(t), tcp_in(free_port()), fwd_out(**kv)), wait=False)
        rc = sl.wait_exit(20)
        check(rc != 0 and want in sl.stderr(), 'refused: %s' % kv, sl.stderr().strip()[-200:])


def test_shared_key(t):
    """Shared_Key handshake: the right key (and user) delivers; a wrong key
    is refused by the server, logged and retried; a server that does not
    know our key (wrong PONG digest) is refused by sluice."""
    good = FwdServer(shared_key='s3cret', users={'alice': 'pw1'})
    bad = FwdServer(shared_key='other')
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port),
                       fwd_out(Port=good.port, Shared_Key='s3cret', Self_Hostname='edge-1',
                               Username='alice', Password='pw1', Require_ack_response='on'),
                       fwd_out(Port=bad.port, Shared_Key='s3cret', Retry_Limit='2')))
    n = 300
    send_json(port, 0, n)
    check_eq(wait_seqs(good, n, 'all through the handshake', sl), list(range(n)), 'right key: delivered')
    with good.lock:
        hs = list(good.handshakes)
    check(hs and all(ok for ok, _, _ in hs), 'the server checked both digests', repr(hs))
    check_eq(hs[0][2], 'edge-1', 'Self_Hostname in the PING')
    sl.wait_stats(lambda st: out_st(st, 'forward.1')['errors'] >= n, 30, 'wrong key: retried, then given up')
    wait_for(lambda: [ln for ln in sl.stderr().splitlines() if 'shared key mismatch' in ln and '[error]' in ln],
             10, 'the refusal is logged as an error', proc=sl)
    check_eq(bad.seqs(), [], 'wrong key: nothing delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    good.close()
    bad.close()

    # A server that does not have the key answers PONG ok with a digest
    # it cannot make right: sluice refuses it.
    class Impostor(FwdServer):
        def _handshake(self, s):
            s.sendall(mp_encode(['HELO', {'nonce': os.urandom(16), 'auth': b'', 'keepalive': True}]))
            _, buf = self._read_obj(s, b'')
            s.sendall(mp_encode(['PONG', True, '', 'impostor', '0' * 128]))
            return True, buf
    imp = Impostor(shared_key='x')
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port), fwd_out(Port=imp.port, Shared_Key='s3cret')), name='sluice2')
    send_json(port, 0, 50)
    wait_for(lambda: "the server does not have our Shared_Key" in sl.stderr(), 20,
             'a wrong PONG digest is refused', proc=sl)
    check_eq(imp.seqs(), [], 'nothing sent to an impostor')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    imp.close()


def test_upstream_failover(t):
    """Upstream file: round robin over two nodes; one killed mid-run, the
    other takes everything; nothing lost (acks on)."""
    a, b = FwdServer(shared_key='ka'), FwdServer()
    up = t.path('upstream.conf')
    with open(up, 'w') as f:
        f.write('[UPSTREAM]\n    name  balancing\n\n'
                '[NODE]\n    name  node-a\n    host  127.0.0.1\n    port  %d\n    shared_key ka\n\n'
                '[NODE]\n    name  node-b\n    host  127.0.0.1\n    port  %d\n' % (a.port, b.port))
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port),
                       fwd_out(Upstream=up, Require_ack_response='on', Retry_Limit='no_limits',
                               **{'net.connect_timeout': '2'})))
    total, sent = 0, 0
    # bursts paced until both nodes got some (round robin per flush)
    deadline = time.monotonic() + 30
    while not (a.seqs() and b.seqs()):
        send_json(port, sent, 100)
        sent += 100
        wait_for(lambda: len(a.seqs()) + len(b.seqs()) >= sent, 20, 'first records', proc=sl)
        check(time.monotonic() < deadline, 'both nodes get bursts')
    check(True, 'round robin: both nodes got bursts', '%d / %d' % (len(a.seqs()), len(b.seqs())))
    a.close()
    n = sent + 2000
    for i in range(sent, n, 200):
        send_json(port, i, 200)
    wait_for(lambda: len(set(a.seqs()) | set(b.seqs())) >= n, 30, 'all after node-a died', proc=sl)
    got = set(a.seqs()) | set(b.seqs())
    check_eq(sorted(got), list(range(n)), 'nothing lost')
    check(len(b.seqs()) >= 2000, 'node-b took the rest', str(len(b.seqs())))
    check('node-a' in sl.stderr(), 'the dead node is logged by name')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    b.close()


def test_upstream_errors(t):
    """A bad Upstream file is refused with its file and line."""
    up = t.path('up.conf')
    with open(up, 'w') as f:
        f.write('[UPSTREAM]\n    name x\n[NODE]\n    name n1\n    host 127.0.0.1\n    prot 1\n')
    sl = t.sluice(conf(service(t), tcp_in(free_port()), fwd_out(Upstream=up)), wait=False)
    check(sl.wait_exit(20) != 0, 'refused')
    check('up.conf:6' in sl.stderr() and 'prot' in sl.stderr(), 'file:line and the key named',
          sl.stderr().strip()[-200:])


def test_tls(t):
    """tls on, tls.verify with tls.ca_file: delivered over TLS; the wrong
    CA fails the handshake, logged and retried."""
    from certs import certs, server_ctx
    srv = FwdServer(tls_ctx=server_ctx())
    port = free_port()
    sl = t.sluice(conf(fast(t), tcp_in(port),
                       fwd_out(Port=srv.port, tls='on', **{'tls.verify': 'on',
                               'tls.ca_file': certs().p('ca.crt'), 'tls.verify_hostname': 'on',
                               'tls.vhost': 'localhost'}, Require_ack_response='on', Compress='gzip'),
                       fwd_out(Port=srv.port, tls='on', **{'tls.ca_file': certs().p('ca2.crt')},
                               Tag='wrong.ca', Retry_Limit='2')))
    n = 1000
    send_json(port, 0, n)
    check_eq(wait_seqs(srv, n, 'all over TLS', sl), list(range(n)), 'TLS: every record once')
    sl.wait_stats(lambda st: out_st(st, 'forward.1')['errors'] >= n, 30, 'wrong CA: retried, then given up')
    wait_for(lambda: 'certificate verify failed' in sl.stderr(), 10, 'the verify failure is logged', proc=sl)
    check(all(tag != 'wrong.ca' for tag, _, _ in srv.got()), 'nothing sent past a failed verification')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    srv.close()


if __name__ == '__main__':
    main([test_forward_mode, test_options_tag_integer_time, test_add_option, test_gzip,
          test_ack_withheld,
          test_server_down_at_start, test_unix_path, test_config_errors, test_shared_key,
          test_upstream_failover, test_upstream_errors, test_tls])
