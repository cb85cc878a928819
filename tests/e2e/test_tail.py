#!/usr/bin/env python3
"""test_tail.py — the `tail` input end to end, against Fluent Bit's
documented behaviour (https://docs.fluentbit.io/manual/data-pipeline/inputs/tail)
and its source (plugins/in_tail/tail_file.c for the record and rotation,
tail_sql.h / tail_db.c for the DB).

- appended lines are delivered once, in order, as {"path", "off", "log"}
  (Path_Key, Offset_Key: the line's first byte, as tail_file.c packs it);
- rotation by rename and by copytruncate while a writer keeps appending:
  every line exactly once;
- DB: kill -9 between batches loses nothing and repeats at most what was
  in flight; a clean stop repeats nothing;
- a DB written with Fluent Bit's own schema (created here with sqlite3) is
  read and its offset honoured;
- a 10 MB line: skipped with Skip_Long_Lines (its neighbours kept); without
  it the file stops at that line, as in Fluent Bit;
- 1,000 files over 2 shards; files created after start (at once in a
  directory named literally, by the Refresh_Interval scan under a glob).
"""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

from harness import SLUICE, check, check_eq, conf, file_out, main, service, wait_for


def tail_in(path, refresh=1, **extra):
    kv = [('Name', 'tail'), ('Path', path), ('Refresh_Interval', str(refresh))]
    kv += [(k, str(v)) for k, v in extra.items()]
    return ('INPUT', kv)


def records(t, name='out.txt'):
    """The complete lines of an output file: one being written as we
    read is left for the next look (it would not parse)."""
    p = t.path(name)
    if not os.path.exists(p):
        return []
    with open(p, 'rb') as f:
        data = f.read()
    return [json.loads(x) for x in data[:data.rfind(b'\n') + 1].splitlines()]


def append(path, lines):
    with open(path, 'ab') as f:
        f.write(b''.join(ln.encode() + b'\n' for ln in lines))


def out_count(sl):
    st = sl.stats()
    return st['totals']['out'] if st else 0


def test_append_once_in_order_with_keys(t):
    log = t.path('app.log')
    append(log, ['before start'])        # not read: Read_from_Head off
    db = t.path('tail.db')
    sl = t.sluice(conf(service(t), tail_in(log, Path_Key='path', Offset_Key='off', DB=db),
                       file_out(t)))
    n = 20000
    offs, off = [], os.path.getsize(log)
    # The file's DB row appears when sluice has opened it (at its end).
    wait_for(lambda: os.path.exists(db) and db_offset(db) == [(log, off, os.stat(log).st_ino, 0)],
             10, 'the file followed from its end')
    # Lines appended in batches while sluice follows the file.
    for b in range(0, n, 1000):
        batch = ['line %06d %s' % (i, 'x' * (i % 37)) for i in range(b, b + 1000)]
        for ln in batch:
            offs.append(off)
            off += len(ln) + 1
        append(log, batch)
    sl.wait_stats(lambda st: st['totals']['out'] >= n, 60, 'all lines out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = records(t)
    check_eq([r['log'] for r in recs], ['line %06d %s' % (i, 'x' * (i % 37)) for i in range(n)],
             'every appended line once, in order, nothing from before the start')
    check_eq([r['off'] for r in recs], offs, 'Offset_Key: each line\'s first byte in its file')
    check(all(r['path'] == log for r in recs), 'Path_Key: the path as found')
    check_eq(list(recs[0]), ['path', 'off', 'log'], 'keys in Fluent Bit\'s order (tail_file.c)')


class Writer(threading.Thread):
    """Appends numbered lines to `path` and rotates it every `every` lines
    with `rotate(i)`; stops after `total` lines."""

    def __init__(self, path, total, every, rotate, pause_every=200):
        super().__init__(daemon=True)
        self.path, self.total, self.every, self.rotate = path, total, every, rotate
        self.pause_every = pause_every
        self.error = None

    def run(self):
        try:
            f = open(self.path, 'ab', buffering=0)
            for i in range(self.total):
                if i and i % self.every == 0:
                    f.close()
                    self.rotate(i)
                    f = open(self.path, 'ab', buffering=0)
                f.write(b'seq %07d\n' % i)
                if i % self.pause_every == 0:
                    time.sleep(0.001)   # pace the writer (not a synchronisation)
            f.close()
        except Exception as e:   # reported by the test
            self.error = e


def check_once(t, total, what):
    got = [int(r['log'].split()[1]) for r in records(t)]
    dup = len(got) - len(set(got))
    missing = sorted(set(range(total)) - set(got))
    check(not missing and not dup, what, 'missing %d (first %s), duplicates %d' %
          (len(missing), missing[:5], dup))
    return got


def test_rotation_rename_under_load(t):
    log = t.path('app.log')
    open(log, 'wb').close()
    sl = t.sluice(conf(service(t, Shards=2), tail_in(log, Rotate_Wait=2, Read_from_Head='on'),
                       file_out(t)))
    total, every = 60000, 10000

    def rotate(i):
        os.rename(log, t.path('app.log.%d' % (i // every)))
    w = Writer(log, total, every, rotate)
    w.start()
    w.join(120)
    check(w.error is None, 'writer ran', repr(w.error))
    sl.wait_stats(lambda st: st['totals']['out'] >= total, 60, 'every line out')
    wait_for(lambda: out_count(sl) >= total, 1, 'settled')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = check_once(t, total, 'rename rotation: every line exactly once')
    # Within one file order holds; each file is one shard's.
    for k in range(total // every):
        seg = [s for s in got if s // every == k]
        check_eq(seg, sorted(seg), 'order kept within rotated file %d' % k)


def test_rotation_copytruncate_under_load(t):
    log = t.path('app.log')
    open(log, 'wb').close()
    sl = t.sluice(conf(service(t), tail_in(log, Read_from_Head='on'), file_out(t)))
    total, every = 40000, 8000

    def rotate(i):
        # copytruncate as logrotate does it; the copy is not followed.
        # Waiting for sluice to have read what is there is the test's
        # part: copytruncate loses what the reader had not read yet,
        # in Fluent Bit too.
        wait_for(lambda: out_count(sl) >= i, 30, 'lines before rotation %d read' % (i // every))
        with open(log, 'rb') as src, open(t.path('app.log.%d' % (i // every)), 'wb') as dst:
            dst.write(src.read())
        os.truncate(log, 0)
    w = Writer(log, total, every, rotate)
    w.start()
    w.join(180)
    check(w.error is None, 'writer ran', repr(w.error))
    sl.wait_stats(lambda st: st['totals']['out'] >= total, 60, 'every line out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = check_once(t, total, 'copytruncate: every line exactly once')
    check_eq(got, sorted(got), 'in order through the truncations')


def db_offset(path):
    c = sqlite3.connect(path)
    try:
        return c.execute('SELECT name, offset, inode, rotated FROM in_tail_files').fetchall()
    finally:
        c.close()


def test_db_restart_kill9(t):
    log, db = t.path('app.log'), t.path('tail.db')
    open(log, 'wb').close()
    cfg = conf(service(t), tail_in(log, DB=db), file_out(t))
    sl = t.sluice(cfg)
    batch, batches = 5000, 4
    seq = 0
    for b in range(batches):
        append(log, ['seq %07d' % i for i in range(seq, seq + batch)])
        seq += batch
        if b % 2 == 0:
            # kill -9 at once: the DB may lag what was delivered
            wait_for(lambda: len(records(t)) >= seq - 100, 30, 'batch %d mostly out' % b)
            sl.proc.send_signal(signal.SIGKILL)
            sl.proc.wait()
        else:
            # a clean stop: the DB has everything delivered
            wait_for(lambda: len(records(t)) >= seq, 30, 'batch %d out' % b)
            check_eq(sl.stop(), 0, 'sluice exits 0')
            size = os.path.getsize(log)
            check_eq([r[1] for r in db_offset(db)], [size], 'clean stop: DB offset at the end')
        sl = t.sluice(cfg, name='sluice%d' % b)
    wait_for(lambda: len(set(r['log'] for r in records(t))) >= seq, 30, 'all out after restarts')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = [int(r['log'].split()[1]) for r in records(t)]
    missing = set(range(seq)) - set(got)
    dup = len(got) - len(set(got))
    check(not missing, 'kill -9 between batches: nothing lost', '%d missing' % len(missing))
    # In flight at a kill: at most the input's memory (Mem_Buf_Limit 8M,
    # ~64 chunks) -- far more than a batch; a batch is the bound here.
    check(dup <= batch * 2, 'duplicates bounded (%d after 2 kills)' % dup)
    check_eq(db_offset(db)[0][1], os.path.getsize(log), 'final DB offset: the end')


def test_fluent_bit_db_is_honoured(t):
    """A DB file Fluent Bit wrote: its table as tail_sql.h creates it
    (SQL_CREATE_FILES), a row as tail_db.c inserts it; sluice starts at
    the stored offset and writes its own progress into the same row."""
    log, db = t.path('app.log'), t.path('fb.db')
    lines = ['fb %03d' % i for i in range(100)]
    append(log, lines)
    start = sum(len(ln) + 1 for ln in lines[:60])
    c = sqlite3.connect(db)
    c.execute('CREATE TABLE IF NOT EXISTS in_tail_files ('
              '  id      INTEGER PRIMARY KEY,'
              '  name    TEXT NOT NULL,'
              '  offset  INTEGER,'
              '  inode   INTEGER,'
              '  created INTEGER,'
              '  rotated INTEGER DEFAULT 0'
              ');')
    c.execute('INSERT INTO in_tail_files (name, offset, inode, created) VALUES (?, ?, ?, ?)',
              (log, start, os.stat(log).st_ino, int(time.time())))
    c.commit()
    c.close()
    # Read_from_Head would read all of it: the DB offset wins.
    sl = t.sluice(conf(service(t), tail_in(log, DB=db, Read_from_Head='on'), file_out(t)))
    append(log, ['fb new'])
    sl.wait_stats(lambda st: st['totals']['out'] >= 41, 30, 'lines after the offset out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t)], lines[60:] + ['fb new'],
             'reading starts at the offset Fluent Bit stored')
    rows = db_offset(db)
    check_eq(len(rows), 1, 'the same row is used, none added')
    check_eq(rows[0][1], os.path.getsize(log), 'the offset moved to the end')


def test_long_line(t):
    skip, stop = t.path('skip.log'), t.path('stop.log')
    big = 'L' * (10 * 1000 * 1000)
    for p in (skip, stop):
        append(p, ['first', big, 'after'])
    sl = t.sluice(conf(service(t),
                       tail_in(skip, Read_from_Head='on', Skip_Long_Lines='on', Tag='skip'),
                       tail_in(stop, Read_from_Head='on', Tag='stop'),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir),
                                   ('Format', 'plain')])))
    wait_for(lambda: len(records(t, 'skip')) >= 2 and len(records(t, 'stop')) >= 1, 30,
             'records out')
    append(skip, ['later'])
    wait_for(lambda: len(records(t, 'skip')) >= 3, 30, 'line after the skipped one')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t, 'skip')], ['first', 'after', 'later'],
             'Skip_Long_Lines: the 10 MB line skipped, its neighbours kept')
    check_eq([r['log'] for r in records(t, 'stop')], ['first'],
             'without Skip_Long_Lines the file stops at the long line (Fluent Bit\'s default)')
    check('longer than Buffer_Max_Size' in sl.stderr(), 'the stop is logged')


def test_thousand_files_two_shards(t):
    d = t.path('logs')
    os.mkdir(d)
    nfiles, per = 1000, 5
    for k in range(nfiles):
        append(os.path.join(d, 'f%04d.log' % k), ['f%04d %d' % (k, i) for i in range(per)])
    append(os.path.join(d, 'skip.gz'), ['excluded'])
    sl = t.sluice(conf(service(t, Shards=2),
                       tail_in(d + '/*.log, ' + d + '/*.gz', Read_from_Head='on',
                               Exclude_Path='*.gz', Path_Key='path'),
                       file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= nfiles * per, 60, 'all lines out')
    for k in range(0, nfiles, 10):
        append(os.path.join(d, 'f%04d.log' % k), ['f%04d %d' % (k, per)])
    sl.wait_stats(lambda st: st['totals']['out'] >= nfiles * per + nfiles // 10, 60, 'appends out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = records(t)
    check_eq(len(recs), nfiles * per + nfiles // 10, 'every line once, the excluded file not read')
    by = {}
    for r in recs:
        f, i = r['log'].split()
        by.setdefault(f, []).append(int(i))
    badpath = [r for r in recs if r['path'] != os.path.join(d, r['log'].split()[0] + '.log')]
    check(not badpath, 'Path_Key: each record names its file', str(badpath[:3]))
    bad = [f for f, s in by.items() if s != list(range(len(s)))]
    check(len(by) == nfiles and not bad, 'each file complete and in order', str(bad[:5]))


def test_files_created_after_start(t):
    d, sub = t.path('d'), t.path('glob1')
    os.mkdir(d)
    os.mkdir(sub)
    # A file in each directory from before the start: once a line appended
    # to it is out, the first scan is over, so the files below are created
    # after it (else, on a slow machine, the first scan could find them and
    # read them from their end, as files found at start are).
    for m in (os.path.join(d, 'm.log'), os.path.join(sub, 'm.log')):
        open(m, 'wb').close()
    sl = t.sluice(conf(service(t),
                       tail_in(d + '/*.log', refresh=600, Tag='direct'),
                       tail_in(t.path('glob*') + '/*.log', Tag='globbed'),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir),
                                   ('Format', 'plain')])))
    append(os.path.join(d, 'm.log'), ['marker'])
    append(os.path.join(sub, 'm.log'), ['marker'])
    wait_for(lambda: len(records(t, 'direct')) >= 1 and len(records(t, 'globbed')) >= 1, 15,
             'the first scan over')

    def lines(tag):
        got = [r['log'] for r in records(t, tag)]
        check_eq(got.count('marker'), 1, '%s: the marker line once' % tag)
        return [x for x in got if x != 'marker']
    # Created after start: read from its start (Fluent Bit reads files
    # discovered after the first scan from the head).
    append(os.path.join(d, 'new.log'), ['new 1', 'new 2'])
    append(os.path.join(sub, 'late.log'), ['late 1'])
    wait_for(lambda: len(records(t, 'direct')) >= 3 and len(records(t, 'globbed')) >= 2, 15,
             'new files read')
    append(os.path.join(d, 'new.log'), ['new 3'])
    wait_for(lambda: len(records(t, 'direct')) >= 4, 15, 'appends to the new file')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq(lines('direct'), ['new 1', 'new 2', 'new 3'],
             'a file created after start, in a directory named literally (found through '
             'inotify: Refresh_Interval is 600 s)')
    check_eq(lines('globbed'), ['late 1'],
             'a file created after start under a glob directory (Refresh_Interval scan)')


def fb_tag(tag, path):
    """Fluent Bit's tag of a file for a Tag with '*' (plugins/in_tail/
    tail_file.c, tag_compose): prefix + path + suffix, '/', '\\' and ':'
    as '.', a leading one dropped, '..' folded, other '*' and a trailing
    '.' dropped. docs.fluentbit.io/manual/pipeline/inputs/tail (Tag:
    "the full path with the slashes replaced by dots")."""
    out = ''
    for ch in tag.replace('*', path, 1):
        c = '.' if ch in '/\\:' else ch
        if c == '*' or (c == '.' and (ch != '.' if not out else out[-1] == '.')):
            continue
        out += c
    return out.rstrip('.') if out.endswith('.') else out


def test_tag_star_per_file(t):
    """Tag kube.* (Kubernetes' configs): each file's records carry
    kube.<its path, dots for slashes>, so outputs route per file; the
    multiline path takes the same tags."""
    d = t.path('containers')
    os.mkdir(d)
    a, b = os.path.join(d, 'app_ns_a.log'), os.path.join(d, 'app_ns_b.log')
    append(a, ['a1', 'a2'])
    append(b, ['b1'])
    ta, tb = fb_tag('kube.*', a), fb_tag('kube.*', b)
    check_eq(ta, 'kube.' + a.lstrip('/').replace('/', '.'), 'the expected tag (sanity)')
    sl = t.sluice(conf(service(t), tail_in(d + '/*.log', Tag='kube.*', Read_from_Head='on'),
                       ('OUTPUT', [('Name', 'file'), ('Match', 'kube.*'), ('Path', t.dir),
                                   ('Format', 'plain')]),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*_b.log'), ('Path', t.dir),
                                   ('File', 'only_b'), ('Format', 'plain')])))
    wait_for(lambda: len(records(t, ta)) >= 2 and len(records(t, tb)) >= 1, 15, 'a file per tag')
    append(a, ['a3'])
    wait_for(lambda: len(records(t, ta)) >= 3, 15, 'an append keeps its tag')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t, ta)], ['a1', 'a2', 'a3'], "a's records under a's tag")
    check_eq([r['log'] for r in records(t, tb)], ['b1'], "b's records under b's tag")
    check_eq([r['log'] for r in records(t, 'only_b')], ['b1'], 'Match on the file name part of the tag')


def test_tag_compose_rules(t):
    """in_tail_tag against Fluent Bit's rules on odd paths, through the
    real binary: leading separators, '..', ':' and a suffix after '*'."""
    d = t.path('odd:dir')
    os.mkdir(d)
    f = os.path.join(d, 'x..y.log')
    append(f, ['z'])
    tag = fb_tag('pre.*.suf', f)
    sl = t.sluice(conf(service(t), tail_in(f, Tag='pre.*.suf', Read_from_Head='on'),
                       ('OUTPUT', [('Name', 'file'), ('Match', '*'), ('Path', t.dir), ('Format', 'plain')])))
    wait_for(lambda: len(records(t, tag)) >= 1, 15, 'the record in the file named by its tag %s' % tag)
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_tag_regex(t):
    """Tag_Regex: Tag's <name> parts from the path's named groups (Fluent
    Bit's tail_file.c tag_compose; the example of
    docs.fluentbit.io/manual/pipeline/filters/kubernetes, "Custom tags for
    enhanced filtering"); a group not in the regex is "_"; a path the
    regex does not match is still followed (Fluent Bit skips the file),
    every <name> "_"; a bad regex stops start-up naming the key."""
    d = t.path('containers')
    os.mkdir(d)
    pod = os.path.join(d, 'myapp-6d7f9c8b5-x2x7k_prod_web-0123456789abcdef.log')
    odd = os.path.join(d, 'nounderscores.log')
    append(pod, ['p1'])
    append(odd, ['o1'])
    # the docs' regex held to the file name ('^.*/', no '/' in the parts):
    # it is not anchored, and this test's directory has underscores of its
    # own (/var/log/containers has none)
    regex = (r'^.*/(?<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_'
             r'(?<namespace_name>[^_/]+)_(?<container_name>[^/]+)-[^/]*$')
    tin = tail_in(d + '/*.log', Tag='kube.<namespace_name>.<pod_name>.<container_name>.<nope>',
                  Tag_Regex=regex, Read_from_Head='on')
    sl = t.sluice(conf(service(t), tin, ('OUTPUT', [('Name', 'file'), ('Match', 'kube.*'),
                                                    ('Path', t.dir), ('Format', 'plain')])))
    want = 'kube.prod.myapp-6d7f9c8b5-x2x7k.web._'
    wait_for(lambda: records(t, want) and records(t, 'kube._._._._'), 15,
             'files named by the composed tags')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t, want)], ['p1'], 'kube.<namespace>.<pod>.<container>')
    check_eq([r['log'] for r in records(t, 'kube._._._._')], ['o1'], 'no match: followed, "_" parts')
    check('Tag_Regex does not match' in sl.stderr(), 'the unmatched path is logged')
    cfg = t.path('bad.conf')
    with open(cfg, 'w') as f:
        f.write(conf(service(t), tail_in(pod, Tag='x.<a>', Tag_Regex='(?<a>[')))
    p = subprocess.run([SLUICE, '--dry-run', '-c', cfg], capture_output=True, text=True, timeout=30)
    check(p.returncode != 0 and 'Tag_Regex' in p.stderr and 'bad.conf:' in p.stderr,
          'a bad Tag_Regex stops start-up naming file:line and the key', p.stderr.strip())


def test_exit_on_eof(t):
    """Exit_On_Eof (Fluent Bit's tail: stop once the file is read to its
    end; docs.fluentbit.io/manual/pipeline/inputs/tail): sluice stops by
    itself, exit status 0, every line of both files delivered."""
    a, b = t.path('a.log'), t.path('b.log')
    append(a, ['a%d' % i for i in range(3000)])
    append(b, ['b%d' % i for i in range(2000)])
    sl = t.sluice(conf(service(t, Shards=2), tail_in(t.path('*.log'), Read_from_Head='on', Exit_On_Eof='on'),
                       file_out(t, 'out.txt', 'json_lines', match='*')))
    rc = sl.wait_exit(60)
    check_eq(rc, 0, 'sluice stopped by itself, status 0')
    check('Exit_On_Eof: every file read to its end' in sl.stderr(), 'the log says why', sl.stderr_tail())
    got = [r['log'] for r in records(t)]
    check_eq(sorted(got), sorted(['a%d' % i for i in range(3000)] + ['b%d' % i for i in range(2000)]),
             'every line delivered once')


def test_ignore_older(t):
    """Ignore_Older 1d: a file last modified two days ago is not followed,
    a fresh one is (Fluent Bit's docs: "Ignores files older than
    ignore_older. Supports m, h, d (minutes, hours, days) syntax")."""
    d = t.path('d')
    os.mkdir(d)
    old, new = os.path.join(d, 'old.log'), os.path.join(d, 'new.log')
    append(old, ['old line'])
    append(new, ['new line'])
    two_days = time.time() - 2 * 86400
    os.utime(old, (two_days, two_days))
    sl = t.sluice(conf(service(t), tail_in(d + '/*.log', Read_from_Head='on', Ignore_Older='1d'),
                       file_out(t)))
    wait_for(lambda: len(records(t)) >= 1, 15, 'the fresh file read')
    # A later line of the fresh file comes after anything the first scan
    # opened, the old file included had it been followed.
    append(new, ['new line 2'])
    wait_for(lambda: len(records(t)) >= 2, 15, 'the appended line read')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t)], ['new line', 'new line 2'],
             'only the file modified within 1d')


def test_instance_log_level(t):
    """Log_Level on an input decides for its own messages, whatever the
    service's level, as Fluent Bit's flb_plg_* do (src/flb_log.h:
    flb_plg_debug checks ins->log_level). tail logs "following <path>" at
    debug when it opens a file."""
    a, b = t.path('a.log'), t.path('b.log')
    append(a, ['x'])
    append(b, ['x'])
    sl = t.sluice(conf(service(t, Log_Level='info'),
                       tail_in(a, Tag='a', Log_Level='debug'),
                       tail_in(b, Tag='b', Read_from_Head='on'),
                       file_out(t)))
    wait_for(lambda: len(records(t)) >= 1, 15, 'b read')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    err = sl.stderr()
    check('[debug] [sluice] [tail.0] shard' in err and 'following %s' % a in err,
          'an input at Log_Level debug logs its debug lines under a service at info', err[-2000:])
    check('following %s' % b not in err, 'an input without Log_Level keeps the service\'s (info)')
    sl = t.sluice(conf(service(t, Log_Level='debug'),
                       tail_in(a, Tag='a', Log_Level='warn'),
                       file_out(t)), name='quiet')
    wait_for(lambda: '[debug]' in sl.stderr(), 15, 'the service logs at debug')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check('following %s' % a not in sl.stderr(),
          'an input at Log_Level warn stays quiet under a service at debug')


def test_parser_and_backpressure(t):
    """A pre-written file far larger than Mem_Buf_Limit: reading pauses
    when the input's chunks are all out and resumes as they come back;
    every line once, in order. Parser json: the parsed fields after
    Offset_Key and Path_Key (tail_file.c, flb_tail_pack_line_map); a line
    the parser does not match is kept under Key."""
    log = t.path('app.log')
    n = 200000
    with open(log, 'w') as f:
        for i in range(n):
            f.write('{"seq":%d,"msg":"%s"}\n' % (i, 'm' * (i % 50)) if i != 7 else 'not json\n')
    with open(t.path('parsers.conf'), 'w') as f:
        f.write('[PARSER]\n    Name   j\n    Format json\n')
    sl = t.sluice(conf(service(t, Parsers_File=t.path('parsers.conf')),
                       tail_in(log, Read_from_Head='on', Parser='j', Key='raw', Path_Key='p',
                               Offset_Key='o', Mem_Buf_Limit='300k'),
                       file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= n, 120, 'all lines out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = records(t)
    check_eq(len(recs), n, 'every line once')
    # plugins/in_tail/tail_file.c flb_tail_pack_line_map: the parsed map,
    # then path_key, then offset_key
    check_eq(list(recs[0]), ['seq', 'msg', 'p', 'o'], 'the fields, then Path_Key, Offset_Key')
    check_eq(recs[7], {'o': recs[6]['o'] + len('{"seq":6,"msg":"mmmmmm"}') + 1, 'p': log,
                       'raw': 'not json'}, 'an unmatched line kept under Key')
    seqs = [r['seq'] for r in recs if 'seq' in r]
    check_eq(seqs, [i for i in range(n) if i != 7], 'in order through the pauses')


TRACE = ['ERROR java.lang.IllegalStateException: boom',
         '\tat com.example.App.run(App.java:10)',
         '\tat com.example.App.main(App.java:5)']


def test_multiline_parser(t):
    """multiline.parser java on raw lines: a stack trace is one record
    (Fluent Bit's ml_flush_callback in tail_file.c), with Offset_Key its
    first line's offset; lines around it pass alone; a trace left open at
    the end of the file is flushed after the parser's flush timeout. With
    a DB, the offset stays before lines held in an open group. Every
    record ends with "\n", the plain lines too: the built-ins have no
    key_content, so src/multiline/flb_ml.c's breakline_prepare adds it at
    each flush (flb_ml_flush_stream_group), and a line that matches no
    rule is flushed through a group as well (flb_ml_append_text)."""
    log, db = t.path('app.log'), t.path('tail.db')
    lines = ['first line'] + TRACE + ['middle line'] + TRACE
    append(log, lines)
    sl = t.sluice(conf(service(t), tail_in(log, Read_from_Head='on', Offset_Key='o', DB=db,
                                           **{'multiline.parser': 'java'}), file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= 4, 30, 'four records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = records(t)
    trace = '\n'.join(TRACE) + '\n'
    check_eq([r['log'] for r in recs], ['first line\n', trace, 'middle line\n', trace],
             'each stack trace one record, the plain lines alone, all ending with "\\n"')
    check_eq(recs[1]['o'], len('first line') + 1, 'Offset_Key: the trace\'s first line')
    check_eq(db_offset(db)[0][1], os.path.getsize(log), 'DB offset at the end once all delivered')


DOCS_LOG = ['single line...',
            'Dec 14 06:41:08 Exception in thread "main" java.lang.RuntimeException: '
            'Something has gone wrong, aborting!',
            '    at com.myproject.module.MyProject.badMethod(MyProject.java:22)',
            '    at com.myproject.module.MyProject.oneMoreMethod(MyProject.java:18)',
            '    at com.myproject.module.MyProject.anotherMethod(MyProject.java:14)',
            '    at com.myproject.module.MyProject.someMethod(MyProject.java:10)',
            '    at com.myproject.module.MyProject.main(MyProject.java:6)',
            'another line...']


def test_multiline_docs_example(t):
    """Fluent Bit's docs page "Multiline parsing"
    (administration/configuring-fluent-bit/multiline-parsing.md): tail with
    the multiline-regex-test parser over its test.log (written with CR LF
    here: tail drops the CR as tail_file.c does) gives "single line...\n",
    the trace joined with "\n" and ending with "\n", "another line...\n".
    A [MULTILINE_PARSER] with key_content keeps no final "\n"
    (breakline_prepare returns when the instance has a key_content), and
    endswith joins raw lines with "\n" (tests/internal/multiline.c,
    endswith_input / endswith_output)."""
    with open(t.path('parsers.conf'), 'w') as f:
        f.write('[MULTILINE_PARSER]\n    name multiline-regex-test\n    type regex\n'
                '    flush_timeout 1000\n'
                '    rule "start_state" "/([a-zA-Z]+ \\d+ \\d+\\:\\d+\\:\\d+)(.*)/" "cont"\n'
                '    rule "cont" "/^\\s+at.*/" "cont"\n'
                '[MULTILINE_PARSER]\n    name kc\n    type regex\n    flush_timeout 1000\n'
                '    key_content log\n'
                '    rule "start_state" "/([a-zA-Z]+ \\d+ \\d+\\:\\d+\\:\\d+)(.*)/" "cont"\n'
                '    rule "cont" "/^\\s+at.*/" "cont"\n'
                '[MULTILINE_PARSER]\n    name bs\n    type endswith\n    match_string \\\n'
                '    negate on\n    flush_timeout 1000\n')
    logs = [t.path(n) for n in ('docs.log', 'kc.log', 'bs.log')]
    with open(logs[0], 'wb') as f:
        f.write(b''.join(ln.encode() + b'\r\n' for ln in DOCS_LOG))
    append(logs[1], DOCS_LOG)
    append(logs[2], ['1a. some multiline log \\', '1b. some multiline log',
                     '2a. another multiline log\\', '2b. another multiline log',
                     '3a. non multiline 1', '4a. non multiline 2'])
    ins = [tail_in(lg, Read_from_Head='on', Tag='t%d' % i,
                   **{'multiline.parser': mp})
           for i, (lg, mp) in enumerate(zip(logs, ('multiline-regex-test', 'kc', 'bs')))]
    outs = [file_out(t, name='o%d.txt' % i, match='t%d' % i) for i in range(3)]
    sl = t.sluice(conf(service(t, Parsers_File=t.path('parsers.conf')), *ins, *outs))
    sl.wait_stats(lambda st: st['totals']['out'] >= 10, 30, 'ten records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    trace = '\n'.join(DOCS_LOG[1:7])
    check_eq([r['log'] for r in records(t, 'o0.txt')],
             ['single line...\n', trace + '\n', 'another line...\n'],
             'the docs\' output: every record ends with "\\n"')
    check_eq([r['log'] for r in records(t, 'o1.txt')],
             ['single line...', trace, 'another line...'],
             'key_content set: lines joined with "\\n", no final "\\n"')
    check_eq([r['log'] for r in records(t, 'o2.txt')],
             ['1a. some multiline log \\\n1b. some multiline log\n',
              '2a. another multiline log\\\n2b. another multiline log\n',
              '3a. non multiline 1\n', '4a. non multiline 2\n'],
             'endswith on raw lines: joined with "\\n", each ending with "\\n"')


def test_multiline_backpressure(t):
    """Groups that complete while the input's memory is out are kept and
    emitted first when it is back: every record once, in order. Traces
    back to back (a group closed by the next one's first line) and after
    plain lines (closed by a line that passes alone)."""
    log = t.path('app.log')
    n = 30000
    want = []
    with open(log, 'w') as f:
        for i in range(n):
            if i % 2:
                f.write('plain %d\n' % i)
                want.append('plain %d\n' % i)
            f.write('ERROR java.lang.IllegalStateException: e%d\n'
                    '\tat com.example.App.run(App.java:10)\n' % i)
            want.append('ERROR java.lang.IllegalStateException: e%d\n'
                        '\tat com.example.App.run(App.java:10)\n' % i)
    sl = t.sluice(conf(service(t), tail_in(log, Read_from_Head='on', Mem_Buf_Limit='300k',
                                           **{'multiline.parser': 'java'}), file_out(t)))
    sl.wait_stats(lambda st: st['totals']['out'] >= len(want), 60, 'all records out')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = [r['log'] for r in records(t)]
    check(got == want, 'every record once, in order, through the pauses',
          'got %d records, first difference at %s' % (
              len(got), next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), None)))


def test_stat_watcher_and_delete(t, inotify='false'):
    log = t.path('app.log')
    append(log, ['one'])
    sl = t.sluice(conf(service(t), tail_in(log, Inotify_Watcher=inotify, Read_from_Head='on'),
                       file_out(t)))
    wait_for(lambda: len(records(t)) >= 1, 15, 'first line')
    append(log, ['two'])
    wait_for(lambda: len(records(t)) >= 2, 15, 'append seen by stat polling')
    append(log, ['three'])
    os.unlink(log)
    wait_for(lambda: len(records(t)) >= 3, 15, 'lines written just before the delete')
    append(log, ['recreated'])
    wait_for(lambda: len(records(t)) >= 4, 15, 'the recreated file')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t)], ['one', 'two', 'three', 'recreated'],
             'Inotify_Watcher %s: appends, a deleted file read to its end, its successor read'
             % inotify)


def test_inotify_delete(t):
    test_stat_watcher_and_delete(t, inotify='true')


def test_db_with_filesystem_store(t):
    """tail with storage.type filesystem: the DB offset moves once lines are
    in the store (issue 13: "accepted by the store or every output"), even
    while the output cannot take them; after kill -9 the store replays them
    and tail resumes after them: every line once."""
    log, db = t.path('app.log'), t.path('tail.db')
    open(log, 'wb').close()
    fifo = t.path('blocked')
    os.mkfifo(fifo)           # nobody reads it: the output blocks
    svc = service(t, **{'storage.path': t.path('store')})
    inp = tail_in(log, DB=db, **{'storage.type': 'filesystem'})
    sl = t.sluice(conf(svc, inp, file_out(t, name='blocked')))
    n = 20000
    append(log, ['seq %07d' % i for i in range(n)])
    sl.wait_stats(lambda st: st['inputs']['tail.0']['stored'] >= n, 30, 'every line stored')
    size = os.path.getsize(log)
    wait_for(lambda: db_offset(db) and db_offset(db)[0][1] == size, 30,
             'the DB offset at the end while nothing was delivered')
    check_eq(out_count(sl), 0, 'nothing delivered: the output is blocked')
    sl.proc.send_signal(signal.SIGKILL)
    sl.proc.wait()
    sl = t.sluice(conf(svc, inp, file_out(t)), name='again')
    wait_for(lambda: len(records(t)) >= n, 30, 'the stored lines replayed')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = [int(r['log'].split()[1]) for r in records(t)]
    check_eq(got, list(range(n)), 'every line once, in order (replayed, not read again)')


if __name__ == '__main__':
    main([test_append_once_in_order_with_keys, test_rotation_rename_under_load,
          test_rotation_copytruncate_under_load, test_db_restart_kill9,
          test_fluent_bit_db_is_honoured, test_long_line, test_thousand_files_two_shards,
          test_files_created_after_start, test_tag_star_per_file, test_tag_compose_rules, test_tag_regex,
          test_exit_on_eof,
          test_ignore_older, test_instance_log_level, test_parser_and_backpressure,
          test_multiline_parser, test_multiline_docs_example, test_multiline_backpressure, test_stat_watcher_and_delete, test_inotify_delete, test_db_with_filesystem_store])
