#!/usr/bin/env python3
"""test_forward_in.py — the `forward` input end to end, with a client of
our own speaking Fluentd's Forward Protocol Specification v1
(https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1)
and the keys of Fluent Bit's in_forward
(https://docs.fluentbit.io/manual/pipeline/inputs/forward, plugins/in_forward/).

- Every event mode of the spec ("Event Modes": Message, Forward,
  PackedForward, CompressedPackedForward), time as an integer and as
  EventTime ("EventTime Ext Format": nanoseconds kept), Fluent Bit's
  [[time, metadata], record] entries, PackedForward as bin and as str,
  gzip payloads of several members (Fluentd appends members): records,
  tags and times read back from a file output in Format msgpack (one file
  per tag, the file output's default).
- The same bytes sent a few at a time: the msgpack framing does not
  depend on where reads stop.
- Tag_Prefix is put before each message's tag; Tag overrides it.
- A message that is valid msgpack but not a forward message, and a bad
  entry among good ones, are counted malformed and skipped; the
  connection goes on. An object over Buffer_Max_Size is counted oversize
  and the connection is closed (Fluent Bit does the same); a byte no
  msgpack object starts with (0xc1) closes it too.
- Unix_Path: the same protocol on a Unix socket.
- The "chunk" option (spec: "Option", "ResponseOption"): {"ack": chunk}
  comes back for each message that asked, with its id, once its records
  are written by the output (here: in the output file when the ack
  arrives; not while the output is blocked on a FIFO nobody reads); a
  malformed message gets none.
- Shared_Key (spec: "Handshake Messages"): HELO with a nonce on connect;
  a PING with the right shared_key_hexdigest gets PONG true with
  Self_Hostname and the server's digest, and the records follow; a wrong
  key (or a wrong Security.Users password) gets PONG false and the
  connection is closed, nothing it sends is taken.
- tls on: the handshake and the records over TLS (HELO once the TLS
  handshake is done).
"""
import gzip
import hashlib
import os
import select
import socket
import threading
import time

from harness import Fail, check, check_eq, conf, free_port, main, service
from mpack import EventTime, mp_all, mp_encode

T0 = 1700000000


def fwd_in(port=None, **extra):
    kv = [('Name', 'forward')]
    if port is not None:
        kv += [('Listen', '127.0.0.1'), ('Port', str(port))]
    kv += [(k.replace('__', '.'), str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def msgpack_outs(t, tags):
    """A file output per tag, File named after it: the file output keeps
    one file per input, whatever a chunk's own tag says."""
    return [('OUTPUT', [('Name', 'file'), ('Match', tag), ('Path', t.dir), ('File', tag),
                        ('Format', 'msgpack')]) for tag in tags]


def events(t, tag):
    path = t.path(tag)
    if not os.path.exists(path):
        return []
    with open(path, 'rb') as f:
        return mp_all(f.read())


def connect(port):
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def packed(entries):
    return b''.join(mp_encode(e) for e in entries)


def raw_str(b):
    """msgpack str (str32 header) around raw bytes: PackedForward as str."""
    return b'\xdb' + len(b).to_bytes(4, 'big') + b


def mode_messages():
    """(bytes of the messages, {tag: [[time, record], ...]} expected).
    Spec section of each in the comments."""
    gz = gzip.compress(packed([[T0 + 20, {'z': 1}], [EventTime(T0 + 21, 7), {'z': 2}]])) + \
        gzip.compress(packed([[T0 + 22, {'z': 3}]]))
    msgs = [
        # Message Mode: [tag, time, record]
        mp_encode(['m.int', T0, {'msg': 'int time', 'n': 1}]),
        # Message Mode with EventTime and an option
        mp_encode(['m.evt', EventTime(T0 + 1, 123456789),
                   {'msg': 'event time', 'nested': {'a': [1, 2, None], 'b': True}, 'f': 1.5},
                   {'size': 1}]),
        # Forward Mode: [tag, [[time, record], ...]]
        mp_encode(['fwd', [[T0 + 2, {'k': 'a'}], [EventTime(T0 + 3, 5), {'k': 'b'}]]]),
        # PackedForward Mode, bin
        mp_encode(['packed.bin', packed([[T0 + 4, {'p': 1}], [T0 + 5, {'p': 2}]]), {'size': 2}]),
        # PackedForward Mode, str (the spec allows both)
        b'\x92' + mp_encode('packed.str') + raw_str(packed([[EventTime(T0 + 6, 999999999), {'s': 'x'}]])),
        # Fluent Bit 2.1+ entries: [[time, metadata], record]
        mp_encode(['fb.v2', packed([[[EventTime(T0 + 7, 1), {'meta': 1}], {'v': 2}]])]),
        # CompressedPackedForward Mode: gzip, two members
        mp_encode(['gz', gz, {'compressed': 'gzip', 'size': 3}]),
    ]
    want = {
        'm.int': [[('time', T0, 0), {'msg': 'int time', 'n': 1}]],
        'm.evt': [[('time', T0 + 1, 123456789),
                   {'msg': 'event time', 'nested': {'a': [1, 2, None], 'b': True}, 'f': 1.5}]],
        'fwd': [[('time', T0 + 2, 0), {'k': 'a'}], [('time', T0 + 3, 5), {'k': 'b'}]],
        'packed.bin': [[('time', T0 + 4, 0), {'p': 1}], [('time', T0 + 5, 0), {'p': 2}]],
        'packed.str': [[('time', T0 + 6, 999999999), {'s': 'x'}]],
        'fb.v2': [[('time', T0 + 7, 1), {'v': 2}]],
        'gz': [[('time', T0 + 20, 0), {'z': 1}], [('time', T0 + 21, 7), {'z': 2}],
               [('time', T0 + 22, 0), {'z': 3}]],
    }
    return b''.join(msgs), want


def total(want):
    return sum(len(v) for v in want.values())


def check_events(t, want, what):
    for tag, evs in want.items():
        check_eq(events(t, tag), evs, '%s: tag %s' % (what, tag))


def test_every_mode(t):
    port = free_port()
    data, want = mode_messages()
    sl = t.sluice(conf(service(t), fwd_in(port), *msgpack_outs(t, want)))
    s = connect(port)
    s.sendall(data)
    sl.wait_stats(lambda st: st['totals']['out'] >= total(want), 15, 'all records out')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_events(t, want, 'each mode, its records, tag and time (ns kept)')


def test_split_reads(t):
    port = free_port()
    data, want = mode_messages()
    sl = t.sluice(conf(service(t), fwd_in(port, Buffer_Chunk_Size=512, Buffer_Max_Size=4096),
                       *msgpack_outs(t, want)))
    s = connect(port)
    for i in range(0, len(data), 3):
        s.sendall(data[i:i + 3])
        if i % 60 == 0:
            time.sleep(0.001)   # pacing the sender so reads stop mid-object, not a wait
    sl.wait_stats(lambda st: st['totals']['out'] >= total(want), 15, 'all records out')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_events(t, want, 'sent 3 bytes at a time')
    st = sl.stats()['inputs']['forward.0']
    check_eq((st['malformed'], st['oversize']), (0, 0), 'nothing counted bad')


def test_tag_prefix_and_tag(t):
    p1, p2 = free_port(), free_port()
    sl = t.sluice(conf(service(t), fwd_in(p1, Tag_Prefix='pre.'), fwd_in(p2, Tag='fixed'),
                       *msgpack_outs(t, ['pre.app.a', 'pre.app.b', 'fixed'])))
    for p in (p1, p2):
        s = connect(p)
        s.sendall(mp_encode(['app.a', T0, {'x': 1}]) + mp_encode(['app.b', [[T0, {'x': 2}]]]))
        s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 4, 15, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(events(t, 'pre.app.a'), [[('time', T0, 0), {'x': 1}]], 'Tag_Prefix before the tag')
    check_eq(events(t, 'pre.app.b'), [[('time', T0, 0), {'x': 2}]], 'Tag_Prefix, Forward mode')
    check_eq(events(t, 'fixed'), [[('time', T0, 0), {'x': 1}], [('time', T0, 0), {'x': 2}]],
             'Tag overrides the tag of every message')


def test_malformed_and_oversize(t):
    port = free_port()
    sl = t.sluice(conf(service(t), fwd_in(port, Buffer_Chunk_Size=512, Buffer_Max_Size=2000),
                       *msgpack_outs(t, ['ok'])))
    good = lambda n: mp_encode(['ok', T0 + n, {'n': n}])
    s = connect(port)
    s.sendall(good(1) +
              mp_encode({'not': 'an array'}) +                       # not a message
              mp_encode([1, T0, {'tag': 'not a string'}]) +           # tag not a string
              mp_encode(['ok', T0]) +                                 # too short
              mp_encode(['ok', [[T0 + 2, {'n': 2}], [T0, 'not a map'], [T0 + 3, {'n': 3}]]]) +
              mp_encode(['ok', b'x', {'compressed': 'gzip'}]) +       # not gzip
              good(4))
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 4 and
                       st['inputs']['forward.0']['malformed'] >= 5, 15, 'good out, bad counted')
    check_eq(st['inputs']['forward.0']['malformed'], 5,
             'four bad messages and one bad entry counted malformed')
    # an object over Buffer_Max_Size: counted, connection closed
    s.sendall(good(5) + mp_encode(['ok', T0, {'big': 'x' * 3000}]) + good(6))
    s.settimeout(10)
    try:
        closed = s.recv(1) == b''
    except ConnectionResetError:
        closed = True
    check(closed, 'an object over Buffer_Max_Size closes the connection')
    s.close()
    s = connect(port)
    s.sendall(good(7) + b'\xc1' + good(8))
    s.settimeout(10)
    try:
        closed = s.recv(1) == b''
    except ConnectionResetError:
        closed = True
    check(closed, 'a byte no msgpack object starts with closes the connection')
    s.close()
    s = connect(port)
    s.sendall(good(9))
    s.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 7, 15, 'records around the bad ones out')
    i = st['inputs']['forward.0']
    check_eq((i['malformed'], i['oversize']), (6, 1), 'malformed: 5 + the 0xc1; oversize: the big one')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    got = [ev[1]['n'] for ev in events(t, 'ok')]
    # three connections, maybe on different shards: order holds per connection
    check_eq([n for n in got if n <= 5], [1, 2, 3, 4, 5], 'first connection: in order')
    check_eq(sorted(got), [1, 2, 3, 4, 5, 7, 9], 'every good record before a close, once')


def test_unix_path(t):
    path = t.path('fwd.sock')
    sl = t.sluice(conf(service(t), fwd_in(Unix_Path=path, Unix_Perm='0600'),
                       *msgpack_outs(t, ['unix'])))
    check_eq(oct(os.stat(path).st_mode & 0o777), '0o600', 'Unix_Perm')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(mp_encode(['unix', EventTime(T0, 42), {'via': 'unix'}]))
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 1, 15, 'record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(events(t, 'unix'), [[('time', T0, 42), {'via': 'unix'}]], 'a message over Unix_Path')


def test_many_connections(t):
    """Connections spread over the shards as for tcp; each keeps its order."""
    port = free_port()
    conns, per = 8, 200
    sl = t.sluice(conf(service(t, Shards=2), fwd_in(port),
                       *msgpack_outs(t, ['c%d' % c for c in range(conns)])))
    socks = [connect(port) for _ in range(conns)]
    for c, s in enumerate(socks):
        s.sendall(b''.join(mp_encode(['c%d' % c, [[T0 + i, {'c': c, 'i': i}]]]) for i in range(per)))
    for s in socks:
        s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= conns * per, 30, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    for c in range(conns):
        check_eq([ev[1]['i'] for ev in events(t, 'c%d' % c)], list(range(per)),
                 'connection %d: every record once, in order' % c)


def read_acks(s, n, timeout=10):
    """The next n replies on s, decoded."""
    s.settimeout(timeout)
    buf, out = b'', []
    while len(out) < n:
        d = s.recv(4096)
        if not d:
            raise Fail('connection closed with %d of %d acks read' % (len(out), n))
        buf += d
        out = mp_all(buf) if complete(buf) else out
    return out


def complete(buf):
    try:
        mp_all(buf)
        return True
    except (IndexError, ValueError, UnicodeDecodeError):
        return False


def test_ack(t):
    port = free_port()
    sl = t.sluice(conf(service(t), fwd_in(port), *msgpack_outs(t, ['a'])))
    s = connect(port)
    s.sendall(mp_encode(['a', T0, {'n': 1}, {'chunk': 'id-1'}]))
    check_eq(read_acks(s, 1), [{'ack': 'id-1'}], 'Message mode: {"ack": its chunk id}')
    check_eq([ev[1] for ev in events(t, 'a')], [{'n': 1}],
             'the record is written by the output when its ack arrives')
    s.sendall(mp_encode(['a', [[T0, {'n': 2}], [T0, {'n': 3}]], {'chunk': 'id-2'}]) +
              mp_encode([1, T0, {'n': 0}, {'chunk': 'bad'}]) +         # tag not a string
              mp_encode(['a', T0]) +                                   # too short, no option
              mp_encode(['a', packed([[T0, {'n': 4}]]), {'chunk': 'id-3', 'size': 1}]) +
              mp_encode(['a', T0, {'n': 5}]))                          # no ack asked
    check_eq(read_acks(s, 2), [{'ack': 'id-2'}, {'ack': 'id-3'}],
             'acks for Forward and PackedForward, none for the malformed message')
    check_eq([ev[1]['n'] for ev in events(t, 'a')][:4], [1, 2, 3, 4], 'records acked are written')
    s.sendall(mp_encode(['a', T0, {'n': 6}, {'chunk': 'id-4'}]))
    check_eq(read_acks(s, 1), [{'ack': 'id-4'}], 'nothing else came before the next ack')
    s.close()
    s = connect(port)
    s.sendall(mp_encode(['a', T0, {'n': 7}, {'chunk': 'id-5'}]))
    s.shutdown(socket.SHUT_WR)
    check_eq(read_acks(s, 1), [{'ack': 'id-5'}], 'a sender that closed its side still gets its ack')
    s.close()
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 7, 15, 'all out')
    check_eq(st['inputs']['forward.0']['malformed'], 2, 'the two bad messages counted')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')


def test_ack_before_flush(t):
    """An agent that sends one chunk and waits for its ack (Fluent Bit's
    out_forward with Require_ack_response) is answered once the chunk is
    delivered, not at the next Flush: with Flush 30, ten chunks one after
    the other are acked within the deadline."""
    port = free_port()
    sl = t.sluice(conf(service(t, Flush=30), fwd_in(port), *msgpack_outs(t, ['a'])))
    s = connect(port)
    t0 = time.monotonic()
    for i in range(10):
        s.sendall(mp_encode(['a', packed([[T0, {'n': i}]]), {'chunk': 'c%d' % i, 'size': 1}]))
        got = read_acks(s, 1, timeout=10)
        if got != [{'ack': 'c%d' % i}]:
            raise Fail('ack %d: got %r' % (i, got))
    took = time.monotonic() - t0
    check(took < 10, 'ten acks without waiting for Flush (30 s)', '%.2f s' % took)
    s.close()
    check_eq(sl.stop(), 0, 'exit status')


def test_ack_waits_for_output(t):
    """The ack waits until the output has written the records: a file
    output on a FIFO with no reader holds them."""
    port = free_port()
    fifo = t.path('held')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t), fwd_in(port),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir),
                                   ('File', 'held'), ('Format', 'msgpack')])))
    s = connect(port)
    s.sendall(mp_encode(['a', T0, {'n': 1}, {'chunk': 'w1'}]))
    s.settimeout(1.5)
    try:
        early = s.recv(100)
    except socket.timeout:
        early = None
    check_eq(early, None, 'no ack while the output cannot write the record')
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    reader.start()
    check_eq(read_acks(s, 1), [{'ack': 'w1'}], 'the ack once the output wrote it')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    reader.join(10)
    check_eq(mp_all(got[0]) if got else None, [[('time', T0, 0), {'n': 1}]],
             'the record came out of the FIFO')


def sha512_hex(*parts):
    return hashlib.sha512(b''.join(p if isinstance(p, bytes) else p.encode() for p in parts)).hexdigest()


def raw(s):
    return s.encode(errors='surrogateescape')


def read_one(s, timeout=10):
    """One msgpack object from s; None when the connection closes first."""
    s.settimeout(timeout)
    buf = b''
    while True:
        if buf and complete(buf):
            return mp_all(buf)[0]
        try:
            d = s.recv(4096)
        except ConnectionResetError:
            d = b''
        if not d:
            return None
        buf += d


def ping(s, helo, key, user='', password='', host='client.example'):
    salt = 'abcdefghijklmnop'
    nonce = raw(helo[1]['nonce'])
    pw = sha512_hex(raw(helo[1]['auth']), user, password) if user else ''
    s.sendall(b'\x96' + mp_encode('PING') + mp_encode(host) + mp_encode(salt) +
              mp_encode(sha512_hex(salt, host, nonce, key)) + mp_encode(user) + mp_encode(pw))
    return salt, nonce


def test_shared_key(t):
    port = free_port()
    sl = t.sluice(conf(service(t), fwd_in(port, Shared_Key='s3cret', Self_Hostname='srv.example'),
                       *msgpack_outs(t, ['auth'])))
    s = connect(port)
    helo = read_one(s)
    check(isinstance(helo, list) and helo[0] == 'HELO' and len(raw(helo[1]['nonce'])) == 16,
          'HELO with a 16-byte nonce on connect', repr(helo))
    salt, nonce = ping(s, helo, 's3cret')
    pong = read_one(s)
    check_eq(pong, ['PONG', True, '', 'srv.example', sha512_hex(salt, 'srv.example', nonce, 's3cret')],
             'PONG true, Self_Hostname, the server\'s digest')
    s.sendall(mp_encode(['auth', T0, {'ok': 1}, {'chunk': 'c1'}]))
    check_eq(read_one(s), {'ack': 'c1'}, 'records after the handshake (and their ack)')
    s.close()

    s = connect(port)
    helo = read_one(s)
    ping(s, helo, 'wrong')
    pong = read_one(s)
    check_eq(pong[:2] if pong else pong, ['PONG', False], 'a wrong key: PONG false')
    s.sendall(mp_encode(['auth', T0, {'ok': 0}]))   # may fail once closed
    check_eq(read_one(s), None, 'then the connection is closed')
    s.close()

    s = connect(port)
    read_one(s)
    s.sendall(mp_encode(['auth', T0, {'ok': 0}]))   # no PING
    check_eq(read_one(s), None, 'a message before PING: closed, no PONG')
    s.close()
    st = sl.wait_stats(lambda st: st['inputs']['forward.0']['rejected'] >= 2, 15, 'refusals counted')
    check_eq(st['totals']['out'], 1, 'only the authenticated record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq([ev[1] for ev in events(t, 'auth')], [{'ok': 1}], 'nothing from a refused sender')


def test_users(t):
    port = free_port()
    sec = conf(service(t), fwd_in(port, Shared_Key='k', Security__Users='alice pw1'),
               *msgpack_outs(t, ['u']))
    # a second user: the key repeats, as in Fluent Bit
    sec = sec.replace('Security.Users       alice pw1', 'Security.Users alice pw1\n    Security.Users bob pw2')
    sl = t.sluice(sec)
    s = connect(port)
    helo = read_one(s)
    check_eq(len(raw(helo[1]['auth'])), 16, 'HELO carries an auth salt with Security.Users')
    ping(s, helo, 'k', 'bob', 'pw2')
    check_eq(read_one(s)[:2], ['PONG', True], 'second user, right password')
    s.close()
    s = connect(port)
    helo = read_one(s)
    ping(s, helo, 'k', 'alice', 'pw2')
    pong = read_one(s)
    check_eq(pong[:3], ['PONG', False, 'username/password mismatch'], 'wrong password: refused')
    check_eq(read_one(s), None, 'and closed')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')


def test_ack_filesystem_storage(t):
    """storage.type filesystem: the ack comes once the records are in the
    store, while the output is still blocked on its FIFO."""
    port = free_port()
    fifo = t.path('held')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t, **{'storage.path': t.path('store')}),
                       fwd_in(port, **{'storage__type': 'filesystem'}),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir),
                                   ('File', 'held'), ('Format', 'msgpack')])))
    s = connect(port)
    s.sendall(mp_encode(['a', T0, {'n': 1}, {'chunk': 'f1'}]))
    check_eq(read_acks(s, 1), [{'ack': 'f1'}], 'acked once stored, the output still blocked')
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    reader.start()
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 1, 15, 'record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    reader.join(10)
    check_eq(mp_all(got[0]) if got else None, [[('time', T0, 0), {'n': 1}]], 'then delivered')


def test_no_ack_when_store_full(t):
    """storage.full_action pause with the output's storage.total_limit_size
    reached (the output blocked on a FIFO): messages past the limit are
    not acknowledged, so the client must hold and resend them; once the
    output drains, the acks come and every record is delivered once."""
    port = free_port()
    fifo = t.path('held')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t, **{'storage.path': t.path('store'), 'storage.full_action': 'pause',
                                     'storage.backlog.mem_limit': '1M'}),
                       fwd_in(port, Mem_Buf_Limit='1M', **{'storage__type': 'filesystem'}),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('File', 'held'),
                                   ('Format', 'msgpack'), ('storage.total_limit_size', '2M')])))
    s = connect(port)
    n, per = 120, 500
    pad = 'x' * 100
    s.sendall(mp_encode(['a', packed([[T0, {'m': 0, 'i': i, 'pad': pad}] for i in range(per)]),
                         {'chunk': 'c0', 'size': per}]))
    acks = read_acks(s, 1)
    s.settimeout(None)
    check_eq(acks, [{'ack': 'c0'}], 'the first message is stored and acked')
    sender = threading.Thread(target=lambda: [s.sendall(mp_encode(
        ['a', packed([[T0, {'m': m, 'i': i, 'pad': pad}] for i in range(per)]),
         {'chunk': 'c%d' % m, 'size': per}])) for m in range(1, n)], daemon=True)
    sender.start()
    got_acks = []
    buf = [b'']

    def more_acks():
        # select, not a socket timeout: the sender thread shares the
        # socket and must block while sluice holds it back
        if select.select([s], [], [], 0.2)[0]:
            buf[0] += s.recv(65536)
        if complete(buf[0]):
            got_acks[:] = mp_all(buf[0])
        return len(got_acks)
    from harness import wait_stable
    held = wait_stable(more_acks, 1.5, 60, 'the acks to stop at the limit', proc=sl)
    check(held < n - 1, 'messages past the store\'s limit are not acknowledged',
          '%d of %d acked' % (held + 1, n))
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, 'rb').read()), daemon=True)
    reader.start()
    while len(got_acks) < n - 1:
        if not select.select([s], [], [], 60)[0]:
            raise Fail('no ack for 60 s with %d of %d' % (len(got_acks), n - 1))
        d = s.recv(65536)
        if not d:
            raise Fail('connection closed with %d acks' % len(got_acks))
        buf[0] += d
        if complete(buf[0]):
            got_acks[:] = mp_all(buf[0])
    check_eq([a['ack'] for a in got_acks], ['c%d' % m for m in range(1, n)],
             'once the output drains, every message acked, in order')
    sender.join(30)
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= n * per, 60, 'every record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    reader.join(30)
    recs = mp_all(got[0]) if got else []
    check_eq(sorted((r[1]['m'], r[1]['i']) for r in recs), [(m, i) for m in range(n) for i in range(per)],
             'every record delivered once')


def test_tls_shared_key(t):
    import ssl
    from certs import certs
    c = certs()
    port = free_port()
    sl = t.sluice(conf(service(t), fwd_in(port, Shared_Key='k', tls='on',
                                          tls__crt_file=c.p('server.crt'),
                                          tls__key_file=c.p('server.key')),
                       *msgpack_outs(t, ['tls'])))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(c.p('ca.crt'))
    s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=20),
                        server_hostname='localhost')
    helo = read_one(s)
    check_eq(helo[0] if helo else helo, 'HELO', 'HELO over TLS, after the TLS handshake')
    ping(s, helo, 'k')
    check_eq(read_one(s)[:2], ['PONG', True], 'PONG true over TLS')
    s.sendall(mp_encode(['tls', [[EventTime(T0, 9), {'over': 'tls'}]], {'chunk': 't1'}]))
    check_eq(read_one(s), {'ack': 't1'}, 'ack over TLS')
    s.close()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(events(t, 'tls'), [[('time', T0, 9), {'over': 'tls'}]], 'the record over TLS')


if __name__ == '__main__':
    main([test_every_mode, test_split_reads, test_tag_prefix_and_tag, test_malformed_and_oversize,
          test_unix_path, test_many_connections, test_ack, test_ack_before_flush, test_ack_waits_for_output,
          test_shared_key, test_users, test_tls_shared_key, test_ack_filesystem_storage,
          test_no_ack_when_store_full])
