#!/usr/bin/env python3
"""test_store.py — the filesystem store (docs/STORAGE.md): what sluice
counted as stored survives kill -9, a stalled output fills the disk
instead of memory, a damaged store is recovered, bad keys are refused.

Records are JSON lines {"r": round, "s": seq, ...} sent on one TCP
connection to the tcp input (storage.type filesystem), written by the file
output as JSON lines, so every record names its round and its place.
"""
import json
import os
import random
import socket
import threading

from harness import (Fail, check, check_eq, conf, file_out, free_port, log, main, proc_status_kb,
                     sanitized, service, tcp_in, wait_for)

PAD = 'x' * 60
BURST = 32 * 1024        # DP_BURST chunks of at most DP_CHUNK_RECS records: one flush


class Sender(threading.Thread):
    """Sends {"r":R,"s":N} lines as fast as the socket takes them until
    stopped or the connection breaks (sluice killed)."""

    def __init__(self, port, rnd, limit=None):
        super().__init__(daemon=True)
        self.port, self.rnd, self.limit = port, rnd, limit
        self.sent = 0
        self.stopped = False
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(('127.0.0.1', self.port), timeout=10)
        except OSError as e:
            self.error = e
            return
        try:
            while not self.stopped and (self.limit is None or self.sent < self.limit):
                n = 500 if self.limit is None else min(500, self.limit - self.sent)
                buf = ''.join('{"r":%d,"s":%d,"pad":"%s"}\n' % (self.rnd, self.sent + i, PAD)
                              for i in range(n)).encode()
                s.sendall(buf)
                self.sent += n
        except OSError as e:
            self.error = e
        finally:
            s.close()

    def stop(self):
        self.stopped = True
        self.join(30)


def store_conf(t, port, sync='full', out=None, **svc):
    return conf(service(t, Shards=1, **{'storage.path': t.path('store'), 'storage.sync': sync}, **svc),
                tcp_in(port, **{'storage.type': 'filesystem', 'Mem_Buf_Limit': '2M'}),
                out or file_out(t, fmt='json_lines'))


def read_records(path):
    """The records of the output file, and how many lines were not JSON
    (a line torn by a kill)."""
    recs, torn = [], 0
    if not os.path.exists(path):
        return recs, torn
    with open(path, 'rb') as f:
        for ln in f.read().split(b'\n'):
            if not ln:
                continue
            try:
                d = json.loads(ln)
                recs.append((d['r'], d['s']))
            except (ValueError, KeyError):
                torn += 1
    return recs, torn


def stored(sl):
    st = sl.stats()
    return st['inputs']['tcp.0']['stored'] if st else 0


def check_delivered(recs, want, what):
    """Every (round, seq < want[round]) is there; first copies in order per
    round. Returns the number of duplicates."""
    seen, dups, last = set(), 0, {}
    for r, s in recs:
        if (r, s) in seen:
            dups += 1
            continue
        seen.add((r, s))
        if s < last.get(r, -1):
            raise Fail('%s: round %d: seq %d came after %d' % (what, r, s, last[r]))
        last[r] = s
    for r, n in want.items():
        missing = [s for s in range(n) if (r, s) not in seen]
        if missing:
            raise Fail('%s: round %d: %d of the %d stored records are missing (first %r)' %
                       (what, r, len(missing), n, missing[:5]))
    return dups


def test_kill_loop(t):
    """Under load, kill -9 at seeded random points, 20 times, restarting on
    the same storage.path: every record the Stats_File showed as `in`
    (storage.sync full: in the store, on disk) before a kill is in the
    output at the end."""
    rng = random.Random(1304)
    port = free_port()
    out = t.path('out.txt')
    want, kills = {}, 20
    for rnd in range(kills):
        if os.path.exists(t.path('stats.json')):
            os.unlink(t.path('stats.json'))
        sl = t.sluice(store_conf(t, port), name='sluice%d' % rnd)
        snd = Sender(port, rnd)
        snd.start()
        target = rng.randint(1000, 40000)
        wait_for(lambda: stored(sl) >= target, 60, 'round %d: %d records stored' % (rnd, target), proc=sl)
        # a random extra moment, not a sleep: a random amount more stored
        more = target + rng.randint(0, 20000)
        try:
            wait_for(lambda: stored(sl) >= more, 2, 'more', proc=sl)
        except Fail:
            pass
        st = sl.stats()
        # `in` (totals.in, the input's records) counts a filesystem input's
        # records once they are in the store: the same as `stored` here
        want[rnd] = st['totals']['in']
        check_eq(st['totals']['in'], st['inputs']['tcp.0']['stored'], 'in = stored')
        sl.proc.kill()
        sl.wait_exit(30)
        snd.stop()
        log('  round %d: killed with %d stored (%d sent)' % (rnd, want[rnd], snd.sent))
    if os.path.exists(t.path('stats.json')):
        os.unlink(t.path('stats.json'))
    sl = t.sluice(store_conf(t, port), name='final')

    def all_there():
        recs, _ = read_records(out)
        got = set(recs)
        return all((r, n - 1) in got for r, n in want.items() if n)
    wait_for(all_there, 180, 'every stored record in the output after the last restart', proc=sl)
    st = sl.stats()
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    recs, torn = read_records(out)
    dups = check_delivered(recs, want, 'kill loop')
    log('  %d records stored before the kills, %d lines out, %d duplicates, %d torn lines; '
        'replayed %d' % (sum(want.values()), len(recs), dups, torn, st['storage']['replayed_records']))
    check(dups <= kills * BURST, 'duplicates bounded by one flush per kill',
          '%d duplicates for %d kills' % (dups, kills))
    check(torn <= kills, 'at most one torn line per kill', '%d torn lines' % torn)


def test_replay_after_kill(t):
    """Records stored while the output cannot write are delivered, in
    order and once, after kill -9 and a restart with a working output."""
    port = free_port()
    n = 50000
    blocked = t.path('blocked')
    os.mkfifo(blocked)          # a FIFO nobody reads: the worker blocks in open
    sl = t.sluice(store_conf(t, port, sync='normal', out=file_out(t, name='blocked', fmt='json_lines')))
    snd = Sender(port, 0, limit=n)
    snd.start()
    wait_for(lambda: stored(sl) >= n, 60, 'all %d records stored' % n, proc=sl)
    check_eq(read_records(t.path('out.txt'))[0], [], 'nothing delivered yet')
    sl.proc.kill()
    sl.wait_exit(30)
    snd.stop()
    sl = t.sluice(store_conf(t, port, sync='normal'), name='again')
    st = sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n, 60, 'the replay out')
    check_eq(st['storage']['replayed_records'], n, 'every stored record replayed')
    sl.wait_stats(lambda st: st['storage']['segments_deleted'] >= 1 and st['storage']['backlog_bytes'] == 0,
                  30, 'the delivered segments deleted')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs, torn = read_records(t.path('out.txt'))
    check_eq(check_delivered(recs, {0: n}, 'replay'), 0, 'no duplicates')
    check_eq(len(recs), n, 'exactly the stored records')
    left = [f for f in os.listdir(t.path('store/shard-0')) if f.endswith('.seg')]
    check(len(left) <= 1, 'the store is emptied once delivered', 'segments left: %r' % left)


def test_stalled_output_spills_to_disk(t):
    """A stalled output: the input keeps reading (no backpressure), the
    store grows on disk, memory stays bounded; once the output is back,
    everything comes out in order."""
    port = free_port()
    n = 300000
    fifo = t.path('fifo')
    os.mkfifo(fifo)
    sl = t.sluice(store_conf(t, port, sync='normal', out=file_out(t, name='fifo', fmt='json_lines')))
    sl.wait_stats(lambda st: True, 10, 'the first stats')
    idle = sl.rss_kb()
    snd = Sender(port, 0, limit=n)
    snd.start()
    st = sl.wait_stats(lambda st: st['inputs']['tcp.0']['stored'] >= n, 120,
                       'all records read although the output is stalled')
    check(st['storage']['spilled_chunks'] > 0, 'chunks waited on disk', str(st['storage']))
    check(st['storage']['backlog_bytes'] > 20 << 20, 'the store holds the backlog',
          '%d bytes' % st['storage']['backlog_bytes'])
    hwm = proc_status_kb(sl.pid, 'VmHWM')
    # pools: Mem_Buf_Limit 2M + storage.backlog.mem_limit 5M, + buffers
    if not sanitized():
        check(hwm - idle < 40 << 10, 'memory stays bounded while the disk grows',
              'VmHWM %d KiB, idle %d KiB' % (hwm, idle))
    got = []

    def reader():
        with open(fifo, 'rb') as f:
            got.append(f.read())
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n, 120, 'the backlog delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th.join(30)
    recs = []
    for ln in got[0].split(b'\n') if got else []:
        if ln:
            d = json.loads(ln)
            recs.append((d['r'], d['s']))
    check_eq(check_delivered(recs, {0: n}, 'backlog'), 0, 'no duplicates')
    check_eq(len(recs), n, 'every record once')


def test_damaged_store_recovered(t):
    """A torn tail is cut, a corrupt middle skipped and quarantined, and
    everything intact is delivered; sluice starts either way."""
    port = free_port()
    n = 200000
    fifo = t.path('blocked')
    os.mkfifo(fifo)
    sl = t.sluice(store_conf(t, port, sync='normal', out=file_out(t, name='blocked', fmt='json_lines')))
    snd = Sender(port, 0, limit=n)
    snd.start()
    wait_for(lambda: stored(sl) >= n, 60, 'all stored', proc=sl)
    sl.proc.kill()
    sl.wait_exit(30)
    snd.stop()
    d = t.path('store/shard-0')
    segs = sorted(f for f in os.listdir(d) if f.endswith('.seg'))
    check(len(segs) >= 2, 'the records span several segments', repr(segs))
    first, last = os.path.join(d, segs[0]), os.path.join(d, segs[-1])
    with open(first, 'r+b') as f:     # a flipped byte in the middle of the first
        f.seek(os.path.getsize(first) // 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x40]))
    os.truncate(last, os.path.getsize(last) - 100)   # a torn write at the end
    sl = t.sluice(store_conf(t, port, sync='normal'), name='again')
    st = sl.wait_stats(lambda st: st['storage']['read_chunks'] > 0 and
                       st['outputs']['file.0']['records'] >= st['storage']['read_records'] -
                       st['storage']['skipped_chunks'] * 0 and st['storage']['backlog_bytes'] == 0,
                       60, 'the intact records delivered')
    s = st['storage']
    check(s['torn_bytes'] > 0, 'the torn tail was cut', str(s))
    check(s['corrupt_bytes'] > 0 and s['quarantined'] == 1, 'the corrupt middle was skipped and '
          'quarantined', str(s))
    check(os.listdir(t.path('store/rejected')), 'a copy of the damaged segment is kept')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs, _ = read_records(t.path('out.txt'))
    lost = n - len(set(recs))
    log('  %d of %d records recovered, %d lost to the damage (%d counted torn)' %
        (len(set(recs)), n, lost, s['torn_records']))
    check(0 < lost < 20000, 'only the damaged frames were lost', '%d lost' % lost)
    check('torn write' in sl.stderr(), 'the log names the torn write')


def test_config_errors(t):
    port = free_port()
    for kv, want in [({'storage.type': 'filesystem'}, "needs [SERVICE] storage.path"),
                     ({'storage.type': 'disk'}, "invalid value 'disk' for 'storage.type'")]:
        sl = t.sluice(conf(service(t), tcp_in(port, **kv), file_out(t)), name='bad', wait=False)
        rc = sl.wait_exit(20)
        check(rc not in (None, 0), 'refused: %r' % kv, 'exit %r' % rc)
        check(want in sl.stderr() and 'bad.conf:' in sl.stderr(), 'the error names file and key',
              sl.stderr_tail(5))


def test_retries_back_off_then_deliver(t):
    """A file output that cannot open its file (a directory is in the way)
    retries with Fluent Bit's backoff (scheduler.base 0.2 s, cap 1 s: each
    wait in [0.2, min(1, 0.2 * 2^n)] s), and once the way is clear every
    record, stored meanwhile, comes out in order."""
    import time
    port = free_port()
    n = 20000
    os.mkdir(t.path('out.txt'))
    sl = t.sluice(store_conf(t, port, sync='normal', **{'scheduler.base': '0.2', 'scheduler.cap': '1'},
                             out=file_out(t, fmt='json_lines', Retry_Limit='no_limits')))
    snd = Sender(port, 0, limit=n)
    snd.start()
    sl.wait_stats(lambda st: st['outputs']['file.0']['retries'] >= 1, 30, 'a first retry')
    t0 = time.monotonic()
    sl.wait_stats(lambda st: st['outputs']['file.0']['retries'] >= 6, 30, 'five more retries')
    took = time.monotonic() - t0
    # five waits, n = 2..6: at least 5 x 0.2 s, at most 0.8 + 4 x 1 s (+ stats lag)
    check(1.0 <= took <= 5.5, 'five retries took between 1 s and 5 s', '%.2f s' % took)
    st = sl.wait_stats(lambda st: st['inputs']['tcp.0']['stored'] >= n, 30, 'all stored meanwhile')
    check_eq(st['outputs']['file.0']['records'], 0, 'nothing delivered while the file cannot open')
    os.rmdir(t.path('out.txt'))
    sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n, 30, 'all delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs, torn = read_records(t.path('out.txt'))
    check_eq(check_delivered(recs, {0: n}, 'after the retries'), 0, 'no duplicates')
    check_eq((len(recs), torn), (n, 0), 'every record once')


def limit_setup(t, action):
    """A stalled output (a FIFO nobody reads yet) with storage.total_limit_size
    40M in front of it."""
    port = free_port()
    fifo = t.path('fifo')
    os.mkfifo(fifo)
    sl = t.sluice(store_conf(t, port, sync='normal', **{'storage.full_action': action},
                             out=file_out(t, name='fifo', fmt='json_lines',
                                          **{'storage.total_limit_size': '40M'})))
    return sl, port, fifo


def drain_fifo(fifo):
    got = []

    def reader():
        with open(fifo, 'rb') as f:
            got.append(f.read())
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    return th, got


def fifo_records(got):
    recs = []
    for ln in got[0].split(b'\n') if got else []:
        if ln:
            d = json.loads(ln)
            recs.append((d['r'], d['s']))
    return recs


def test_limit_drops_oldest(t):
    """storage.total_limit_size with the default storage.full_action
    drop_oldest: the store stays near the limit (it may pass it by one
    16 MiB segment), the oldest waiting records are dropped and counted,
    the rest arrives in order once the output is back."""
    sl, port, fifo = limit_setup(t, 'drop_oldest')
    n = 800000
    snd = Sender(port, 0, limit=n)
    snd.start()
    peak = [0]

    def all_stored(st):
        peak[0] = max(peak[0], st['storage']['backlog_bytes'])
        return st['inputs']['tcp.0']['stored'] >= n
    st = sl.wait_stats(all_stored, 120, 'every record read although the output is stalled')
    s = st['storage']
    check(s['limit_dropped_records'] > 0, 'the oldest waiting records were dropped and counted', str(s))
    check(peak[0] <= 40000000 + (16 << 20) + (1 << 20), 'the store stays within the limit plus one segment',
          'peak %d bytes' % peak[0])
    th, got = drain_fifo(fifo)
    # frames already dropped for the output are counted as the reader
    # passes them: delivered + dropped reaches what was read
    st = sl.wait_stats(lambda st: st['outputs']['file.0']['records'] + st['storage']['limit_dropped_records']
                       >= n, 60, 'the rest delivered')
    dropped = st['storage']['limit_dropped_records']
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th.join(30)
    recs = fifo_records(got)
    check_eq(len(recs), n - dropped, 'delivered = stored - dropped (counted)')
    check_eq(len(set(recs)), len(recs), 'no duplicates')
    check(recs == sorted(recs), 'in order, with a gap where records were dropped')
    check('storage.total_limit_size of file.0 reached' in sl.stderr(), 'the log says why records were dropped')


def test_limit_pauses(t):
    """storage.full_action pause: at the limit the input stops reading (the
    sender is held back by TCP), nothing is dropped, and everything arrives
    once the output is back."""
    sl, port, fifo = limit_setup(t, 'pause')
    n = 800000
    snd = Sender(port, 0, limit=n)
    snd.start()

    def cur():
        st = sl.stats()
        return st['inputs']['tcp.0']['stored'] if st else None
    from harness import wait_stable
    held = wait_stable(cur, 1.0, 60, 'the input to stop at the limit', proc=sl)
    st = sl.stats()
    check(held < n and snd.is_alive(), 'the sender is held back', '%d of %d stored' % (held, n))
    # the limit is on what waits on disk for the output; the chunks it
    # holds in memory (Mem_Buf_Limit 2M, storage.backlog.mem_limit 5M)
    # are on disk too until it confirms them
    check(st['storage']['backlog_bytes'] <= 40000000 + (8 << 20), 'the store stopped near the limit',
          str(st['storage']))
    check_eq(st['storage']['limit_dropped_records'], 0, 'nothing dropped')
    check(st['storage']['limit_pauses'] > 0, 'the pause is counted', str(st['storage']))
    th, got = drain_fifo(fifo)
    sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n, 120, 'everything delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th.join(30)
    snd.stop()
    recs = fifo_records(got)
    check_eq(check_delivered(recs, {0: n}, 'paused'), 0, 'no duplicates')
    check_eq(len(recs), n, 'every record once')


def test_dead_letter_queue(t):
    """storage.keep.rejected: records an output gives up on (here Retry_Limit
    1 against a file that cannot open) are kept as msgpack events in
    <storage.path>/rejected/<tag>_<cause>_<output>_<id>.msgpack, named as
    Fluent Bit names its dead-letter files
    (https://docs.fluentbit.io/manual/administration/dead-letter-queue)."""
    import re
    from test_outputs import mp_all
    port = free_port()
    n = 5000
    os.mkdir(t.path('out.txt'))
    sl = t.sluice(conf(service(t, Shards=1, **{'storage.path': t.path('store'), 'storage.keep.rejected': 'on',
                                              'scheduler.base': '0.1', 'scheduler.cap': '0.2'}),
                       tcp_in(port), file_out(t, fmt='json_lines', Retry_Limit='1')))
    snd = Sender(port, 0, limit=n)
    snd.start()
    sl.wait_stats(lambda st: st['outputs']['file.0']['errors'] >= n, 60, 'every record given up on')
    snd.stop()
    check_eq(sl.stop(), 0, 'sluice exits 0')
    d = t.path('store/rejected')
    files = sorted(os.listdir(d))
    check(files and all(re.match(r'^tcp\.0_retries_file\.0_[0-9a-f]+\.msgpack$', f) for f in files),
          'dead-letter files named <tag>_<cause>_<output>_<id>.msgpack', repr(files[:3]))
    recs = []
    for f in sorted(files, key=lambda f: os.stat(os.path.join(d, f)).st_mtime_ns):
        with open(os.path.join(d, f), 'rb') as fh:
            recs += [ev[1]['s'] for ev in mp_all(fh.read())]
    check_eq(sorted(recs), list(range(n)), 'every record given up on is in the dead-letter queue')


def test_disk_full(t):
    """The store on a small tmpfs (56 MiB) that fills while the output is
    stalled: a clear log line, the oldest waiting records dropped and
    counted (storage.full_action drop_oldest), nothing corrupted: the rest
    arrives in order once the output is back, and a restart on the same
    store finds nothing torn or corrupt."""
    import subprocess
    small = t.path('small')
    os.mkdir(small)
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=56m', 'tmpfs', small],
                       capture_output=True, text=True)
    if r.returncode:
        from harness import skip
        skip('cannot mount a tmpfs here (%s): needs root' % r.stderr.strip())
    t.cleanups.append(lambda: subprocess.run(['umount', '-l', small]))
    port = free_port()
    fifo = t.path('fifo')
    os.mkfifo(fifo)
    text = conf(service(t, Shards=1, **{'storage.path': small + '/store'}),
                tcp_in(port, **{'storage.type': 'filesystem', 'Mem_Buf_Limit': '2M'}),
                file_out(t, name='fifo', fmt='json_lines'))
    sl = t.sluice(text)
    n = 800000
    snd = Sender(port, 0, limit=n)
    snd.start()
    st = sl.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= n, 120,
                       'every record read although the disk filled')
    s = st['storage']
    check(s['limit_dropped_records'] > 0, 'the oldest waiting records were dropped and counted', str(s))
    check('the disk is full' in sl.stderr(), 'the log says the disk is full')
    th, got = drain_fifo(fifo)
    st = sl.wait_stats(lambda st: st['outputs']['file.0']['records'] + st['storage']['limit_dropped_records']
                       >= n, 60, 'the rest delivered')
    check_eq(st['outputs']['file.0']['records'] + st['storage']['limit_dropped_records'], n,
             'delivered + dropped (counted) = read')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th.join(30)
    recs = fifo_records(got)
    check_eq(len(set(recs)), len(recs), 'no duplicates')
    check(recs == sorted(recs), 'in order, with a gap where records were dropped')
    sl = t.sluice(text, name='again')
    st = sl.wait_stats(lambda st: True, 10, 'stats after a restart')
    s = st['storage']
    check_eq((s['torn_bytes'], s['corrupt_bytes'], s['quarantined']), (0, 0, 0),
             'nothing torn or corrupt in the store after the disk was full')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_pause_on_chunks_overlimit(t):
    """storage.pause_on_chunks_overlimit on: with the output stalled the input
    stops at its memory (TCP backpressure) instead of spilling to disk, and
    what it read is stored all the same."""
    from harness import wait_stable
    port = free_port()
    fifo = t.path('fifo')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t, Shards=1, **{'storage.path': t.path('store')}),
                       tcp_in(port, **{'storage.type': 'filesystem', 'Mem_Buf_Limit': '2M',
                                       'storage.pause_on_chunks_overlimit': 'on'}),
                       file_out(t, name='fifo', fmt='json_lines')))
    n = 300000
    snd = Sender(port, 0, limit=n)
    snd.start()

    def cur():
        st = sl.stats()
        return st['inputs']['tcp.0']['records'] if st else None
    held = wait_stable(cur, 1.0, 60, 'the input to stop at its memory', proc=sl)
    st = sl.stats()
    check(held < n and snd.is_alive(), 'the sender is held back', '%d of %d read' % (held, n))
    check_eq(st['storage']['spilled_chunks'], 0, 'no chunk waited on disk instead of memory')
    check(st['inputs']['tcp.0']['stored'] > 0, 'what was read is stored', str(st['inputs']['tcp.0']))
    th, got = drain_fifo(fifo)
    sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n, 60, 'everything delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th.join(30)
    snd.stop()
    recs = fifo_records(got)
    check_eq(check_delivered(recs, {0: n}, 'paused'), 0, 'no duplicates')
    check_eq(len(recs), n, 'every record once')


def test_memrb_drops_oldest(t):
    """storage.type memrb (Fluent Bit's memory ring buffer): with the output
    stalled the input keeps reading; when its memory is full the oldest
    chunks no output has taken yet are dropped and counted (dropped,
    memrb_dropped), the newest kept; once the output is back the rest comes
    out in order, the last record sent among them."""
    port = free_port()
    fifo = t.path('fifo')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t, Shards=1), tcp_in(port, **{'storage.type': 'memrb', 'Mem_Buf_Limit': '2M'}),
                       file_out(t, name='fifo', fmt='json_lines')))
    sl.wait_stats(lambda st: True, 10, 'the first stats')
    idle = sl.rss_kb()
    n = 300000
    snd = Sender(port, 0, limit=n)
    snd.start()
    st = sl.wait_stats(lambda st: st['inputs']['tcp.0']['records'] >= n, 60,
                       'every record read although the output is stalled')
    snd.join(30)
    check(snd.error is None and snd.sent == n, 'the sender was never held back', str(snd.error))
    i = st['inputs']['tcp.0']
    check(i['memrb_dropped'] > 0 and i['dropped'] == i['memrb_dropped'],
          'the oldest chunks were dropped and counted', str(i))
    if not sanitized():
        hwm = proc_status_kb(sl.pid, 'VmHWM')
        check(hwm - idle < 20 << 10, 'memory bounded', 'VmHWM %d KiB, idle %d KiB' % (hwm, idle))
    th, got = drain_fifo(fifo)
    sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n - i['memrb_dropped'], 60,
                  'the rest delivered')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th.join(30)
    recs = fifo_records(got)
    check_eq(len(recs), n - i['memrb_dropped'], 'delivered = read - dropped (counted)')
    check(recs == sorted(recs) and len(set(recs)) == len(recs), 'in order, no duplicates')
    check_eq(recs[-1], (0, n - 1), 'the newest record is kept')


def test_limit_is_per_output(t):
    """storage.total_limit_size belongs to one output (Fluent Bit: the oldest
    chunks of that output's queue go): with a stalled output limited to 20M
    beside a stalled output without a limit, the limited one loses its
    oldest records, counted, while the other one, once back, gets every
    record."""
    port = free_port()
    f1, f2 = t.path('fifo1'), t.path('fifo2')
    os.mkfifo(f1)
    os.mkfifo(f2)
    sl = t.sluice(conf(service(t, Shards=1, **{'storage.path': t.path('store')}),
                       tcp_in(port, **{'storage.type': 'filesystem', 'Mem_Buf_Limit': '2M'}),
                       file_out(t, name='fifo1', fmt='json_lines', **{'storage.total_limit_size': '20M'}),
                       file_out(t, name='fifo2', fmt='json_lines')))
    n = 500000
    snd = Sender(port, 0, limit=n)
    snd.start()
    sl.wait_stats(lambda st: st['inputs']['tcp.0']['stored'] >= n, 120, 'every record stored')
    th1, got1 = drain_fifo(f1)
    th2, got2 = drain_fifo(f2)
    st = sl.wait_stats(lambda st: st['outputs']['file.1']['records'] >= n and
                       st['outputs']['file.0']['records'] + st['storage']['limit_dropped_records'] >= n,
                       120, 'both outputs done')
    dropped = st['storage']['limit_dropped_records']
    check(dropped > 0, 'the limited output lost its oldest records, counted', str(st['storage']))
    check_eq(sl.stop(), 0, 'sluice exits 0')
    th1.join(30)
    th2.join(30)
    r1, r2 = fifo_records(got1), fifo_records(got2)
    check_eq(len(r2), n, 'the output without a limit got every record')
    check(r2 == sorted(r2) and len(set(r2)) == n, 'in order, once')
    check_eq(len(r1), n - dropped, 'the limited one: read - dropped (counted)')
    check(r1 == sorted(r1) and r1[-1] == (0, n - 1), 'in order, the newest kept')


if __name__ == '__main__':
    main([test_kill_loop, test_replay_after_kill, test_stalled_output_spills_to_disk,
          test_damaged_store_recovered, test_config_errors, test_retries_back_off_then_deliver,
          test_limit_drops_oldest, test_limit_pauses, test_dead_letter_queue,
          test_disk_full, test_pause_on_chunks_overlimit, test_memrb_drops_oldest,
          test_limit_is_per_output])
