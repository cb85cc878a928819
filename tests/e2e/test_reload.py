#!/usr/bin/env python3
"""test_reload.py — hot reload (SIGHUP, POST/PUT /api/v2/reload) under load.

Fluent Bit's behaviour (docs.fluentbit.io/manual/administration/hot-reload;
src/http_server/api/v2/reload.c): SIGHUP or POST/PUT /api/v2/reload with
Hot_Reload On reloads; GET /api/v2/reload answers {"hot_reload_count":N};
POST answers {"reload":"done","status":0}. Fluent Bit's reload is known to
hang or crash under load (fluent-bit #11183, #9354, #10670); sluice's
contract (docs/OPERATIONS.md, Reload) is stricter, and is what these tests
check: a sender that keeps one connection open and sends through several
reloads sees no reset, and every record it sent reaches the outputs exactly
once; a bad configuration is refused and the running one stays.
"""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request

from harness import Fail, check, check_eq, conf, file_out, free_port, main, read_lines, service, tcp_in, wait_for


class Sender:
    """One TCP connection sending JSON lines {"seq": i} in bursts of 200
    (every `pause` seconds) until `total` are sent, or (total None) until
    finish(); any error is kept."""

    def __init__(self, port, total, pause=0.002):
        self.sock = socket.create_connection(('127.0.0.1', port))
        self.total = total
        self.pause = pause
        self.sent = 0
        self.error = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.stopping and (self.total is None or self.sent < self.total):
                n = 200 if self.total is None else min(200, self.total - self.sent)
                data = ''.join('{"seq":%d}\n' % (self.sent + i) for i in range(n))
                self.sock.sendall(data.encode())
                self.sent += n
                time.sleep(self.pause)   # pacing the sender, not waiting on a result
        except OSError as e:
            self.error = e

    def finish(self, timeout=120, close=True):
        self.stopping = self.total is None
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise Fail('sender did not finish')
        if close:
            self.sock.close()


def seqs(path):
    out = []
    if not os.path.exists(path):
        return out
    for line in read_lines(path):
        if line.strip():
            out.append(json.loads(line)['seq'])
    return out


def check_exactly_once(path, total, what):
    got = seqs(path)
    missing = sorted(set(range(total)) - set(got))
    check(not missing, '%s: every record arrived' % what, 'missing %d, first %s' % (len(missing), missing[:5]))
    check_eq(len(got), total, '%s: no record twice' % what)


def http(method, port, path):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method,
                                 data=b'{}' if method in ('POST', 'PUT') else None)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def write_conf(s, text):
    with open(s.conf_path, 'w') as f:
        f.write(text)


def wait_log(s, needle, count, timeout=60):
    wait_for(lambda: s.stderr().count(needle) >= count, timeout, '%r %d times in the log' % (needle, count),
             proc=s)


def test_reload_under_load(t):
    """Outputs and filters change twice (SIGHUP, then POST) while one
    connection keeps sending: the connection stays, each record is in
    out_a exactly once; out_b exists only between the reloads."""
    port, hport = free_port(), free_port()
    svc = service(t, HTTP_Server='On', HTTP_Listen='127.0.0.1', HTTP_Port=hport, Hot_Reload='On')
    base = conf(svc, tcp_in(port), file_out(t, 'out_a.txt', 'json_lines'))
    wider = conf(svc, tcp_in(port), file_out(t, 'out_a.txt', 'json_lines'),
                 file_out(t, 'out_b.txt', 'json_lines'),
                 ('FILTER', [('Name', 'record_modifier'), ('Match', '*'), ('Record', 'gen 2')]))
    s = t.sluice(base)
    # about 20,000 records a second, until stopped: still sending when a
    # slow (sanitizer) build has checked the new configuration
    snd = Sender(port, None, pause=0.01)
    wait_for(lambda: snd.sent > 5000, 30, 'the sender under way')
    write_conf(s, wider)
    s.send(1)  # SIGHUP
    wait_log(s, 'reloaded:', 1)
    check('kept with their connections and counters' in s.stderr(), 'unchanged input kept in place',
          s.stderr_tail())
    # records read under the second configuration: out_b has some (the
    # sender may be far ahead of a sanitizer build's reading)
    wait_for(lambda: len(seqs(t.path('out_b.txt'))) > 1000, 60, 'records through out_b', proc=s)
    write_conf(s, base)
    st, body = http('POST', hport, '/api/v2/reload')
    check_eq((st, json.loads(body)), (200, {'reload': 'done', 'status': 0}), 'POST /api/v2/reload')
    st, body = http('GET', hport, '/api/v2/reload')
    check_eq(json.loads(body), {'hot_reload_count': 2}, 'GET /api/v2/reload counts both reloads')
    mark = snd.sent
    wait_for(lambda: snd.sent > mark + 5000, 30, 'the sender past the second reload')
    snd.finish()
    total = snd.sent
    check(snd.error is None, 'the connection was never reset', str(snd.error))
    s.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= total, 60, 'every record read')
    wait_for(lambda: len(seqs(t.path('out_a.txt'))) >= total, 60, 'out_a complete', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    check_exactly_once(t.path('out_a.txt'), total, 'out_a (in every configuration)')
    b = seqs(t.path('out_b.txt'))
    check(0 < len(b) < total, 'out_b got the records read while it was configured', str(len(b)))
    check_eq(len(b), len(set(b)), 'out_b: no record twice')
    check_eq(max(b) - min(b) + 1, len(b),
             'out_b got every record read while it was configured (one range, no gap): the new '
             'routes apply from the switch on')
    stats = json.loads(open(s.stats_path).read())
    check_eq(stats['inputs']['tcp.0']['connections'], 1, 'one connection accepted over both reloads')
    check_eq(stats['outputs']['file.0']['records'], total,
             'out_a, written alike in both configurations, kept its counters over the reloads')
    recs = [json.loads(x) for x in read_lines(t.path('out_a.txt')) if x.strip()]
    gen = [r['seq'] for r in recs if r.get('gen') == '2']
    check(gen, 'the filter of the second configuration ran on records read under it', str(len(gen)))


def test_bad_config_refused(t):
    """A configuration that does not check is refused whole: the error
    names file:line and key, the running pipeline goes on unchanged."""
    port, hport = free_port(), free_port()
    svc = service(t, HTTP_Server='On', HTTP_Listen='127.0.0.1', HTTP_Port=hport, Hot_Reload='On')
    good = conf(svc, tcp_in(port), file_out(t, 'out.txt', 'json_lines'))
    s = t.sluice(good)
    snd = Sender(port, 2000)
    snd.finish()
    wait_for(lambda: len(seqs(t.path('out.txt'))) >= 2000, 30, 'first records', proc=s)
    write_conf(s, good.replace('Format', 'Formatt', 1))
    s.send(1)
    wait_log(s, 'reload: ', 1)
    check("'Formatt'" in s.stderr(), 'the log names the bad key', s.stderr_tail())
    st, body = http('POST', hport, '/api/v2/reload')
    j = json.loads(body)
    check_eq((st, j['reload'], j['status']), (400, 'failed', -1), 'POST answers the refusal')
    check('Formatt' in j['error'] and 'sluice.conf:' in j['error'], 'the answer names file:line and key',
          j['error'])
    check_eq(json.loads(http('GET', hport, '/api/v2/reload')[1]), {'hot_reload_count': 0},
             'no reload counted')
    snd = Sender(port, 2000)
    snd.finish()
    wait_for(lambda: len(seqs(t.path('out.txt'))) >= 4000, 30, 'records after the refusal', proc=s)
    check_eq(s.stop(), 0, 'exit status')


def lines(base, n):
    return ''.join('{"seq":%d}\n' % (base + i) for i in range(n)).encode()


def test_inputs_changed(t):
    """Inputs added, removed and changed while a kept input's connection
    streams: the kept input moves from index 1 to 0 (and from name tcp.1
    to tcp.0) with its connection and counters; the removed input's
    connection is read to the end, then closed; the added one listens; a
    changed section on the same port reopens it. Every record once."""
    pa, pb, pc = free_port(), free_port(), free_port()
    a = tcp_in(pa)
    one = conf(service(t), tcp_in(pb, Tag='b'), a, file_out(t, 'out.txt', 'json_lines'))
    two = conf(service(t), a, tcp_in(pc, Tag='c'), file_out(t, 'out.txt', 'json_lines'))
    three = conf(service(t), tcp_in(pa, Tag='a2'), tcp_in(pc, Tag='c'), file_out(t, 'out.txt', 'json_lines'))
    s = t.sluice(one)
    snd = Sender(pa, None, pause=0.01)
    cb = socket.create_connection(('127.0.0.1', pb))
    cb.sendall(lines(1000000, 3000))   # then stays open: its input goes
    wait_for(lambda: snd.sent > 3000 and len(seqs(t.path('out.txt'))) > 5000, 30, 'both under way', proc=s)
    write_conf(s, two)
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check('1 inputs kept with their connections and counters, 1 opened, 1 closed' in s.stderr(),
          'the kept input is kept, one opened, one closed', s.stderr_tail())
    cb.settimeout(30)
    try:
        eof = cb.recv(1) == b''
    except ConnectionResetError:
        eof = True
    check(eof, "the removed input's connection was closed")
    cb.close()
    try:
        socket.create_connection(('127.0.0.1', pb), timeout=5).close()
        check(False, "the removed input's port is closed")
    except ConnectionRefusedError:
        pass
    cc = socket.create_connection(('127.0.0.1', pc))
    cc.sendall(lines(2000000, 4000))
    cc.close()
    mark = snd.sent
    wait_for(lambda: snd.sent > mark + 3000, 30, 'the sender past the reload')
    snd.finish()
    check(snd.error is None, "the kept input's connection was never reset", str(snd.error))
    total = snd.sent
    want = set(range(total)) | set(range(1000000, 1003000)) | set(range(2000000, 2004000))
    wait_for(lambda: set(seqs(t.path('out.txt'))) >= want, 60, 'every record', proc=s)
    st = s.wait_stats(lambda st: st['inputs'].get('tcp.0', {}).get('records', 0) >= total, 30,
                      'the kept input renamed tcp.0')
    check_eq(st['inputs']['tcp.0']['connections'], 1, 'the kept input kept its counters (1 connection)')
    check_eq(st['inputs']['tcp.0']['records'], total, 'the kept input counted every record once')
    write_conf(s, three)
    s.send(1)
    wait_log(s, 'reloaded:', 2)
    check('0 inputs kept' not in s.stderr() and '1 inputs kept with their connections and counters, 1 opened, 1 '
          'closed' in s.stderr().split('reloaded:')[-1], 'the changed section reopened on its port',
          s.stderr_tail())
    ca = socket.create_connection(('127.0.0.1', pa))
    ca.sendall(lines(3000000, 2000))
    ca.close()
    want |= set(range(3000000, 3002000))
    wait_for(lambda: set(seqs(t.path('out.txt'))) >= want, 60, 'records on the reopened port', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    got = seqs(t.path('out.txt'))
    check_eq(len(got), len(want), 'no record twice')
    check_eq(set(got), want, 'every record, nothing else')


def test_reload_new_port_taken(t):
    """A new input whose port another process holds: the reload is
    refused before anything changed; the running inputs go on."""
    pa, pb = free_port(), free_port()
    taken = socket.socket()
    taken.bind(('127.0.0.1', pb))
    taken.listen(1)
    one = conf(service(t), tcp_in(pa), file_out(t, 'out.txt', 'json_lines'))
    two = conf(service(t), tcp_in(pa), tcp_in(pb), file_out(t, 'out.txt', 'json_lines'))
    s = t.sluice(one)
    snd = Sender(pa, None, pause=0.01)
    wait_for(lambda: snd.sent > 2000, 30, 'the sender under way')
    write_conf(s, two)
    s.send(1)
    wait_log(s, 'reload refused', 1)
    check('cannot bind 127.0.0.1:%d' % pb in s.stderr(), 'the refusal names the address', s.stderr_tail())
    mark = snd.sent
    wait_for(lambda: snd.sent > mark + 2000, 30, 'the sender past the refusal')
    snd.finish()
    taken.close()
    check(snd.error is None, 'the connection was never reset', str(snd.error))
    wait_for(lambda: len(seqs(t.path('out.txt'))) >= snd.sent, 60, 'every record', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    check_exactly_once(t.path('out.txt'), snd.sent, 'out.txt')


def test_reload_adds_and_removes_tail_udp(t):
    """A tail and a udp input added next to a streaming tcp one, then
    removed again: the tcp connection stays through both reloads; the
    tail reads its file from the head, the udp socket its datagrams; after
    the second reload the udp port is closed and the tail reads no more."""
    pa, pu = free_port(), free_port()
    log = t.path('app.log')
    with open(log, 'w') as f:
        f.write(''.join('{"seq":%d}\n' % (5000000 + i) for i in range(1000)))
    tin = ('INPUT', [('Name', 'tail'), ('Path', log), ('Refresh_Interval', '1'), ('Read_from_Head', 'on'),
                     ('Parser', 'json')])
    uin = ('INPUT', [('Name', 'udp'), ('Listen', '127.0.0.1'), ('Port', str(pu)), ('Format', 'json')])
    one = conf(service(t), tcp_in(pa), file_out(t, 'out.txt', 'json_lines'))
    two = conf(service(t), tin, tcp_in(pa), uin, file_out(t, 'out.txt', 'json_lines'))
    s = t.sluice(one)
    snd = Sender(pa, None, pause=0.01)
    wait_for(lambda: snd.sent > 2000, 30, 'the sender under way')
    write_conf(s, two)
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check('1 inputs kept with their connections and counters, 2 opened, 0 closed' in s.stderr(),
          'tail and udp opened, tcp kept', s.stderr_tail())
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(100):
        u.sendto(b'{"seq":%d}' % (6000000 + i), ('127.0.0.1', pu))
    want_tail = set(range(5000000, 5001000))
    wait_for(lambda: set(seqs(t.path('out.txt'))) >= want_tail, 60, 'the tail read its file', proc=s)
    wait_for(lambda: any(x >= 6000000 for x in seqs(t.path('out.txt'))), 30, 'udp datagrams read', proc=s)
    write_conf(s, one)
    s.send(1)
    wait_log(s, 'reloaded:', 2)
    check('1 inputs kept with their connections and counters, 0 opened, 2 closed' in s.stderr(),
          'tail and udp closed, tcp kept', s.stderr_tail())
    with open(log, 'a') as f:
        f.write('{"seq":7000000}\n')
    mark = snd.sent
    wait_for(lambda: snd.sent > mark + 2000, 30, 'the sender past both reloads')
    snd.finish()
    check(snd.error is None, 'the tcp connection was never reset', str(snd.error))
    wait_for(lambda: set(range(snd.sent)) <= set(seqs(t.path('out.txt'))), 60, 'every tcp record', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    got = seqs(t.path('out.txt'))
    check_eq(sorted(x for x in got if x < 5000000), list(range(snd.sent)), 'tcp: every record once')
    check_eq(sorted(x for x in got if 5000000 <= x < 6000000), sorted(want_tail), 'tail: every line once')
    check(7000000 not in got, 'the removed tail read no more')
    udp = [x for x in got if 6000000 <= x < 7000000]
    check_eq(len(udp), len(set(udp)), 'udp: no datagram twice')


def test_reload_unix_socket_changed(t):
    """A forward input on a Unix socket whose section changed: the old
    socket closes (its connection read to the end first), the new one
    opens on the same path; a live socket of another process at a new
    input's path refuses the reload."""
    import mpack
    path = t.path('fwd.sock')
    out = file_out(t, 'out.txt', 'json_lines')
    one = conf(service(t), ('INPUT', [('Name', 'forward'), ('Unix_Path', path), ('Tag', 'a')]), out)
    two = conf(service(t), ('INPUT', [('Name', 'forward'), ('Unix_Path', path), ('Tag', 'b')]), out)
    s = t.sluice(one)

    def send(seq):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        c.sendall(mpack.mp_encode(['x', 1700000000, {'seq': seq}]))
        return c
    c1 = send(1)
    wait_for(lambda: seqs(t.path('out.txt')) == [1], 30, 'the first record', proc=s)
    write_conf(s, two)
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check('0 inputs kept' in s.stderr(), 'the changed input is not kept', s.stderr_tail())
    c1.close()
    send(2).close()
    wait_for(lambda: sorted(seqs(t.path('out.txt'))) == [1, 2], 30, 'a record on the reopened path', proc=s)
    taken = t.path('taken.sock')
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(taken)
    other.listen(1)
    write_conf(s, conf(service(t), ('INPUT', [('Name', 'forward'), ('Unix_Path', path), ('Tag', 'b')]),
                       ('INPUT', [('Name', 'forward'), ('Unix_Path', taken)]), out))
    s.send(1)
    wait_log(s, 'reload refused', 1)
    check('in use by another process' in s.stderr(), 'a live socket at the new path refuses', s.stderr_tail())
    send(3).close()
    wait_for(lambda: sorted(seqs(t.path('out.txt'))) == [1, 2, 3], 30, 'still running', proc=s)
    other.close()
    check_eq(s.stop(), 0, 'exit status')


def test_hot_reload_off(t):
    """Without Hot_Reload the endpoint refuses, as Fluent Bit's; SIGHUP
    still reloads (a service manager's reload)."""
    port, hport = free_port(), free_port()
    s = t.sluice(conf(service(t, HTTP_Server='On', HTTP_Listen='127.0.0.1', HTTP_Port=hport), tcp_in(port),
                      file_out(t, 'out.txt', 'json_lines')))
    st, body = http('PUT', hport, '/api/v2/reload')
    check_eq((st, json.loads(body)), (400, {'reload': 'not enabled', 'status': -1}), 'PUT without Hot_Reload')
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check_eq(json.loads(http('GET', hport, '/api/v2/reload')[1]), {'hot_reload_count': 1}, 'SIGHUP counted')
    check_eq(s.stop(), 0, 'exit status')


def test_output_behind_refuses(t):
    """Records an output cannot deliver within Grace: the reload is
    refused (nothing lost, nothing changed) and names the output."""
    port, dead = free_port(), free_port()
    text = conf(service(t, Grace='1'), tcp_in(port),
                ('OUTPUT', [('Name', 'http'), ('Match', '*'), ('Host', '127.0.0.1'), ('Port', str(dead)),
                            ('Retry_Limit', 'no_limits')]))
    s = t.sluice(text)
    snd = Sender(port, 100)
    snd.finish()
    s.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= 100, 30, 'records read')
    s.send(1)
    wait_log(s, 'reload refused', 1)
    check('http.0 did not deliver' in s.stderr(), 'the refusal names the output', s.stderr_tail())
    check(s.poll() is None, 'sluice still runs')
    s.stop()


def test_reload_adds_emitter(t):
    """A rewrite_tag filter added by a reload brings its emitter input: the
    shards make its pools when they take on the new pipeline; the tcp input
    and its connection stay (the emitter comes after the inputs)."""
    port = free_port()
    base = conf(service(t), tcp_in(port, Tag='app'), file_out(t, 'all.txt', 'json_lines'))
    rewrite = conf(service(t), tcp_in(port, Tag='app'),
                   ('FILTER', [('Name', 'rewrite_tag'), ('Match', 'app'),
                               ('Rule', '$k ^five$ five true')]),
                   file_out(t, 'all.txt', 'json_lines', match='app'),
                   file_out(t, 'five.txt', 'json_lines', match='five'))
    s = t.sluice(base)
    c = socket.create_connection(('127.0.0.1', port))

    def lines(a, b):
        return ''.join('{"seq":%d%s}\n' % (i, ',"k":"five"' if i % 10 == 5 else '')
                       for i in range(a, b)).encode()
    c.sendall(lines(0, 1000))
    wait_for(lambda: len(seqs(t.path('all.txt'))) >= 1000, 30, 'first part', proc=s)
    write_conf(s, rewrite)
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check('kept with their connections and counters' in s.stderr(), 'the tcp input kept in place', s.stderr_tail())
    c.sendall(lines(1000, 2000))
    c.close()
    wait_for(lambda: len(seqs(t.path('five.txt'))) >= 100, 30, 're-tagged records', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    check_exactly_once(t.path('all.txt'), 2000, 'all.txt')
    check_eq(sorted(seqs(t.path('five.txt'))), list(range(1005, 2000, 10)),
             'the emitter of the new rewrite_tag carries the records read after the reload')


def test_reload_with_store(t):
    """With storage.path: a filter change keeps the inputs and the store
    (outputs unchanged); an output added restarts them, the store opened
    again by the new pipeline. Records exactly once at the first output."""
    port = free_port()
    svc = service(t, Shards=1, **{'storage.path': t.path('store')})
    tin = tcp_in(port, **{'storage.type': 'filesystem'})
    base = conf(svc, tin, file_out(t, 'a.txt', 'json_lines'))
    flt = conf(svc, tin, ('FILTER', [('Name', 'record_modifier'), ('Match', '*'), ('Record', 'gen 2')]),
               file_out(t, 'a.txt', 'json_lines'))
    more = conf(svc, tin, file_out(t, 'a.txt', 'json_lines'), file_out(t, 'b.txt', 'json_lines'))
    s = t.sluice(base)
    total = 30000
    snd = Sender(port, total)
    wait_for(lambda: snd.sent > 5000, 30, 'the sender under way')
    write_conf(s, flt)
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check('kept with their connections and counters' in s.stderr(), 'a filter change keeps the store and inputs',
          s.stderr_tail())
    snd.finish(close=False)
    check(snd.error is None, 'the first reload kept the connection', str(snd.error))
    # The second reload restarts the inputs, which closes connections once
    # read: a sender's bytes still in flight then would be lost, as at any
    # restart of a TCP server, so it is done with the sender idle (all
    # read), and the rest goes on a new connection.
    s.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= total, 30, 'everything read')
    write_conf(s, more)
    s.send(1)
    wait_log(s, 'reloaded:', 2)
    check('with a store, the outputs changed' in s.stderr(), 'an output change restarts the inputs',
          s.stderr_tail())
    snd.sock.settimeout(10)
    check_eq(snd.sock.recv(1), b'', 'the restart closed the idle connection (FIN, not RST)')
    snd.sock.close()
    more_n = 5000
    rest = Sender(port, 0)
    rest.sock.sendall(''.join('{"seq":%d}\n' % i for i in range(total, total + more_n)).encode())
    rest.finish()
    total += more_n
    wait_for(lambda: len(set(seqs(t.path('a.txt')))) >= total, 60, 'a.txt complete', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    check_exactly_once(t.path('a.txt'), total, 'a.txt')


def test_reload_keeps_tail(t):
    """A tail input (no DB) is kept through a reload: it goes on from where
    it was, so lines appended during the reload are read once, not
    skipped (a restarted tail without DB would start at the file's end)."""
    log = t.path('app.log')
    open(log, 'w').close()
    tin = ('INPUT', [('Name', 'tail'), ('Path', log), ('Refresh_Interval', '1'), ('Read_from_Head', 'on')])
    one = conf(service(t), tin, file_out(t, 'out.txt', 'json_lines'))
    two = conf(service(t), tin, ('FILTER', [('Name', 'record_modifier'), ('Match', '*'), ('Record', 'gen 2')]),
               file_out(t, 'out.txt', 'json_lines'))
    s = t.sluice(one)
    stop = threading.Event()
    written = [0]

    def writer():
        with open(log, 'a') as f:
            while not stop.is_set():
                f.write(''.join('%d\n' % (written[0] + i) for i in range(100)))
                f.flush()
                written[0] += 100
                time.sleep(0.005)   # pacing the writer, not waiting on a result
    w = threading.Thread(target=writer, daemon=True)
    w.start()
    wait_for(lambda: written[0] > 3000, 30, 'lines written')
    write_conf(s, two)
    s.send(1)
    wait_log(s, 'reloaded:', 1)
    check('kept with their connections and counters' in s.stderr(), 'the tail input kept in place', s.stderr_tail())
    mark = written[0]
    wait_for(lambda: written[0] > mark + 3000, 30, 'lines written after the reload')
    stop.set()
    w.join(10)
    total = written[0]

    def got():
        return [int(json.loads(x)['log']) for x in read_lines(t.path('out.txt')) if x.strip()] \
            if os.path.exists(t.path('out.txt')) else []
    wait_for(lambda: len(got()) >= total, 60, 'every line out', proc=s)
    check_eq(s.stop(), 0, 'exit status')
    g = got()
    check_eq(sorted(g), list(range(total)), 'every line once, none skipped across the reload')


if __name__ == '__main__':
    main([test_reload_under_load, test_bad_config_refused, test_inputs_changed, test_reload_new_port_taken,
          test_reload_adds_and_removes_tail_udp, test_reload_unix_socket_changed,
          test_hot_reload_off,
          test_output_behind_refuses, test_reload_adds_emitter, test_reload_with_store,
          test_reload_keeps_tail])
