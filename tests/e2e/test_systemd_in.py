#!/usr/bin/env python3
"""test_systemd_in.py — the `systemd` input end to end, against Fluent
Bit's documented behaviour
(https://docs.fluentbit.io/manual/data-pipeline/inputs/systemd) and its
source (fluent/fluent-bit plugins/in_systemd/systemd.c for the record and
the tag, systemd_config.c for the keys, filters and where reading starts,
systemd_db.h / systemd_db.c for the DB).

The journal is made here, without a journald: Python writes entries in
the journal export format and systemd-journal-remote (Debian package
systemd-journal-remote) turns them into DIR/x.journal, appending when the
file exists; `Path` points at DIR.

- every entry delivered once, in order, with its fields as strings and its
  realtime timestamp as the record's time; a value with a newline (the
  export format's binary form); a key twice becomes an array (systemd.c
  since Fluent Bit 2.2: cfl_kvlist arrays);
- entries appended while sluice runs are read;
- Systemd_Filter with Systemd_Filter_Type And and Or;
- Strip_Underscores and Lowercase; Tag with '*' expanded with
  _SYSTEMD_UNIT, "unknown" without one (tag_compose in systemd.c), and
  filters matching the expanded tag;
- Read_From_Tail: only entries written after the start;
  Read_Since_Minutes_Ago: only entries of the last so many minutes;
- a journal far over Mem_Buf_Limit and a blocked output: reading pauses
  and resumes, every entry once, in order;
- DB: a clean stop repeats nothing and leaves the last entry's cursor in
  Fluent Bit's in_systemd_cursor table; kill -9 loses nothing and repeats
  at most one batch; a DB written with Fluent Bit's schema (with its
  "(null)" first row, and with a real cursor) is honoured;
- a bad Path or Systemd_Filter is a configuration error naming the key.
"""
import json
import os
import re
import signal
import sqlite3
import struct
import subprocess
import threading
import time

from harness import (check, check_eq, conf, main, read_lines, service, skip, wait_for,
                     wait_stable)

JREMOTE = '/lib/systemd/systemd-journal-remote'
BOOT = '0123456789abcdef0123456789abcdef'
T0 = 1700000000000000          # realtime of entry 0, microseconds


def need_tools():
    if not os.access(JREMOTE, os.X_OK):
        skip('systemd-journal-remote is not installed (scripts/deps.sh installs it)')


def export_entry(fields, usec, mono):
    """One entry in the journal export format
    (https://systemd.io/JOURNAL_EXPORT_FORMATS/): KEY=VALUE lines, or for a
    value with a newline KEY, LF, little-endian 64-bit length, bytes, LF."""
    out = [b'__REALTIME_TIMESTAMP=%d\n' % usec, b'__MONOTONIC_TIMESTAMP=%d\n' % mono,
           ('_BOOT_ID=%s\n' % BOOT).encode()]
    for k, v in fields:
        v = v.encode()
        if b'\n' in v:
            out.append(k.encode() + b'\n' + struct.pack('<Q', len(v)) + v + b'\n')
        else:
            out.append(k.encode() + b'=' + v + b'\n')
    return b''.join(out) + b'\n'


class Journal:
    """DIR/x.journal, written through systemd-journal-remote. Entry i has
    realtime T0 + i seconds + i microseconds, MESSAGE "m<i>" unless given."""

    def __init__(self, t, name='j'):
        self.dir = t.path(name)
        os.mkdir(self.dir)
        self.file = os.path.join(self.dir, 'x.journal')
        self.n = 0

    def usec(self, i):
        return T0 + i * 1000001

    def add(self, entries, usec=None):
        """entries: lists of (key, value); MESSAGE m<i> added when absent.
        usec: the realtime of each entry (default T0 + i s + i us).
        Returns the indexes written."""
        data = []
        first = self.n
        for e, fields in enumerate(entries):
            i = self.n
            if not any(k == 'MESSAGE' for k, _ in fields):
                fields = [('MESSAGE', 'm%d' % i)] + list(fields)
            data.append(export_entry(fields, usec[e] if usec else self.usec(i), 1000 + i))
            self.n += 1
        p = subprocess.run([JREMOTE, '--output=' + self.file, '-'], input=b''.join(data),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if p.returncode != 0:
            raise AssertionError('systemd-journal-remote: %s' % p.stderr.decode()[-500:])
        return list(range(first, self.n))

    def add_n(self, n, **fields):
        return self.add([list(fields.items())] * n)

    def cursors(self):
        """The cursor of every entry, in order, as journalctl prints them."""
        p = subprocess.run(['journalctl', '--file', self.file, '-o', 'export', '--no-pager'],
                           stdout=subprocess.PIPE, check=True)
        return [ln[9:].decode() for ln in p.stdout.split(b'\n') if ln.startswith(b'__CURSOR=')]


def systemd_in(path, **extra):
    kv = [('Name', 'systemd'), ('Path', path)]
    for k, v in extra.items():
        if isinstance(v, (list, tuple)):
            kv += [(k, str(x)) for x in v]
        else:
            kv.append((k, str(v)))
    return ('INPUT', kv)


def out_file(t, name='out.txt', match='*'):
    # Format out_file: "TAG: [TIME, {record}]", so tag and time are seen.
    return ('OUTPUT', [('Name', 'file'), ('Match', match), ('Path', t.dir), ('File', name),
                       ('Format', 'out_file')])


LINE = re.compile(r'^(\S+): \[([0-9.]+), (\{.*\})\]$')


def records(t, name='out.txt'):
    """[(tag, time string, record)] of the output file."""
    p = t.path(name)
    out = []
    for ln in (read_lines(p) if os.path.exists(p) else []):
        ln = ln.decode()
        m = LINE.match(ln)
        if not m:
            raise AssertionError('unexpected output line %r' % ln[:200])
        out.append((m.group(1), m.group(2), json.loads(m.group(3))))
    return out


def msgs(t, name='out.txt'):
    return [r['MESSAGE'] if 'MESSAGE' in r else r.get('message') for _, _, r in records(t, name)]


def wait_count(t, n, what, sl, name='out.txt', timeout=60):
    wait_for(lambda: len(records(t, name)) >= n, timeout, what, proc=sl)


def test_fields_time_and_appends(t):
    need_tools()
    j = Journal(t)
    j.add([[('_SYSTEMD_UNIT', 'a.service'), ('PRIORITY', '6'), ('_PID', '42')],
           [('MESSAGE', 'two\nlines'), ('SYSLOG_IDENTIFIER', 'x')],
           [('TAGS', 'first'), ('TAGS', 'second'), ('CODE_LINE', '7')],
           [('MESSAGE', 'caf\u00e9 \u2603')]])
    j.add_n(996)
    sl = t.sluice(conf(service(t), systemd_in(j.dir, Tag='sd'), out_file(t)))
    wait_count(t, 1000, '1000 entries', sl)
    recs = records(t)
    check_eq(len(recs), 1000, 'every entry once')
    check_eq([r.get('MESSAGE') for _, _, r in recs[4:]], ['m%d' % i for i in range(4, 1000)],
             'in order')
    check_eq(recs[0][2], {'MESSAGE': 'm0', '_SYSTEMD_UNIT': 'a.service', 'PRIORITY': '6',
                          '_PID': '42', '_BOOT_ID': BOOT}, 'fields as strings, underscores kept')
    check_eq(recs[1][2]['MESSAGE'], 'two\nlines', 'a value with a newline')
    check_eq(recs[2][2]['TAGS'], ['first', 'second'], 'a key twice: an array of its values')
    check_eq(recs[3][2]['MESSAGE'], 'caf\u00e9 \u2603', 'UTF-8 value')
    want_times = ['%d.%06d000' % divmod(j.usec(i), 1000000) for i in range(1000)]
    check_eq([tm for _, tm, _ in recs], want_times, "time: the entry's realtime timestamp")
    check(all(tag == 'sd' for tag, _, _ in recs), 'tag as configured')
    # Appended while running: read (inotify on the journal directory).
    for b in range(3):
        j.add_n(200)
        wait_count(t, 1000 + 200 * (b + 1), 'appended batch %d' % b, sl)
    check_eq(msgs(t)[4:], ['m%d' % i for i in range(4, 1600)], 'appends: each once, in order')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_filters_and_or(t):
    need_tools()
    j = Journal(t)
    units = ['a.service', 'b.service', 'c.service']
    want_and, want_or = [], []
    ents = []
    for i in range(60):
        u, prio = units[i % 3], str(i % 4)
        ents.append([('_SYSTEMD_UNIT', u), ('PRIORITY', prio)])
        if u == 'a.service' and prio == '3':
            want_and.append('m%d' % i)
        if u == 'b.service' or prio == '3':
            want_or.append('m%d' % i)
    j.add(ents)
    sl = t.sluice(conf(
        service(t),
        systemd_in(j.dir, Tag='and', Systemd_Filter_Type='And',
                   Systemd_Filter=['_SYSTEMD_UNIT=a.service', 'PRIORITY=3']),
        systemd_in(j.dir, Tag='or', Systemd_Filter_Type='Or',
                   Systemd_Filter=['_SYSTEMD_UNIT=b.service', 'PRIORITY=3']),
        systemd_in(j.dir, Tag='dflt', Systemd_Filter=['_SYSTEMD_UNIT=c.service',
                                                       '_SYSTEMD_UNIT=a.service']),
        out_file(t, 'and.txt', 'and'), out_file(t, 'or.txt', 'or'), out_file(t, 'dflt.txt', 'dflt')))
    wait_count(t, len(want_or), 'Or records', sl, 'or.txt')
    wait_count(t, len(want_and), 'And records', sl, 'and.txt')
    wait_count(t, 40, 'default (Or) records', sl, 'dflt.txt')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq(msgs(t, 'and.txt'), want_and, 'And: entries matching every filter')
    check_eq(msgs(t, 'or.txt'), want_or, 'Or: entries matching any filter')
    check_eq(msgs(t, 'dflt.txt'), ['m%d' % i for i in range(60) if i % 3 != 1],
             'default type Or')


def test_strip_lowercase_and_tag_star(t):
    need_tools()
    j = Journal(t)
    j.add([[('_SYSTEMD_UNIT', 'a.service'), ('_PID', '1'), ('FOO_BAR', 'x')],
           [('_SYSTEMD_UNIT', 'b.service')],
           [('SYSLOG_IDENTIFIER', 'kernel')],
           [('_SYSTEMD_UNIT', 'a.service')]])
    sl = t.sluice(conf(
        service(t),
        systemd_in(j.dir, Tag='unit.*.log', Strip_Underscores='on'),
        systemd_in(j.dir, Tag='low', Lowercase='on', Strip_Underscores='on'),
        # Filters see each record's own tag: this one drops b.service's.
        ('FILTER', [('Name', 'grep'), ('Match', 'unit.b.service.log'), ('Exclude', 'MESSAGE .')]),
        out_file(t, 'star.txt', 'unit.*'), out_file(t, 'low.txt', 'low')))
    wait_count(t, 3, 'tagged records', sl, 'star.txt')
    wait_count(t, 4, 'lowercased records', sl, 'low.txt')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    star = records(t, 'star.txt')
    check_eq([tag for tag, _, _ in star],
             ['unit.a.service.log', 'unit.unknown.log', 'unit.a.service.log'],
             "'*' in Tag: the entry's _SYSTEMD_UNIT, 'unknown' without one; a filter "
             "matching one unit's tag removed its record")
    check_eq(star[0][2], {'MESSAGE': 'm0', 'SYSTEMD_UNIT': 'a.service', 'PID': '1',
                          'FOO_BAR': 'x', 'BOOT_ID': BOOT}, 'Strip_Underscores: one leading _ off')
    low = records(t, 'low.txt')
    check_eq(low[0][2], {'message': 'm0', 'systemd_unit': 'a.service', 'pid': '1',
                         'foo_bar': 'x', 'boot_id': BOOT}, 'Lowercase (after Strip_Underscores)')
    check(all(tag == 'low' for tag, _, _ in low), 'a Tag without * is kept')


def test_read_from_tail(t):
    need_tools()
    j = Journal(t)
    j.add_n(500, OLD='1')
    sl = t.sluice(conf(service(t), systemd_in(j.dir, Tag='sd', Read_From_Tail='on'),
                       out_file(t)))

    # Where sluice starts reading is decided on its shard after 'started':
    # write markers until one arrives, then the entries to check.
    def marker():
        j.add([[('MARK', '1')]])
        return any('MARK' in r for _, _, r in records(t))
    wait_for(marker, 30, 'a marker written after the start', proc=sl, interval=0.2)
    new = j.add_n(300, NEW='1')
    wait_for(lambda: any(r.get('MESSAGE') == 'm%d' % new[-1] for _, _, r in records(t)), 30,
             'the new entries', proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = [r for _, _, r in records(t)]
    check(not any('OLD' in r for r in recs), 'no entry from before the start')
    check_eq([r['MESSAGE'] for r in recs if 'NEW' in r], ['m%d' % i for i in new],
             'every entry written after the start, once')


def test_read_since_minutes_ago(t):
    """Read_Since_Minutes_Ago 30: entries of the last half hour only
    (systemd_config.c seeks to now - 30 min)."""
    need_tools()
    j = Journal(t)
    now = int(time.time() * 1000000)
    ages_min = [120, 90, 45, 29, 10, 1]
    j.add([[]] * len(ages_min), usec=[now - a * 60000000 for a in ages_min])
    sl = t.sluice(conf(service(t), systemd_in(j.dir, Tag='sd', Read_Since_Minutes_Ago=30),
                       out_file(t)))
    wait_count(t, 3, 'recent entries', sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq(msgs(t), ['m3', 'm4', 'm5'], 'only the entries of the last 30 minutes')


def test_backpressure(t):
    """A journal far larger than Mem_Buf_Limit and an output that takes
    nothing (a FIFO nobody reads yet): reading pauses once the input's
    memory is out, and goes on as chunks come back; every entry once, in
    order."""
    need_tools()
    j = Journal(t)
    n = 30000
    j.add_n(n, PAD='p' * 300)
    fifo = t.path('blocked')
    os.mkfifo(fifo)
    sl = t.sluice(conf(service(t), systemd_in(j.dir, Tag='sd', Mem_Buf_Limit='300k'),
                       out_file(t, 'blocked')))
    taken = wait_stable(lambda: (sl.stats() or {}).get('inputs', {}).get('systemd.0', {})
                        .get('records', 0), 1.0, 30, 'the input paused')
    check(0 < taken < n // 4, 'paused: the input took a bounded part (%d of %d)' % (taken, n))
    lines = []

    def reader():
        while len(lines) < n:
            with open(fifo, 'rb') as f:
                for ln in f:
                    lines.append(ln)
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    wait_for(lambda: len(lines) >= n, 120, 'every entry once the output reads', proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = [json.loads(LINE.match(ln.decode().rstrip('\n')).group(3))['MESSAGE'] for ln in lines]
    check_eq(got, ['m%d' % i for i in range(n)], 'every entry once, in order, through the pause')


def db_rows(path):
    c = sqlite3.connect(path)
    try:
        return c.execute('SELECT cursor, updated FROM in_systemd_cursor').fetchall()
    finally:
        c.close()


def test_db_resume_kill9_and_clean_stop(t):
    need_tools()
    j = Journal(t)
    db = t.path('sd.db')
    cfg = conf(service(t), systemd_in(j.dir, Tag='sd', DB=db, Max_Entries=500), out_file(t))

    def db_index():
        rows = db_rows(db) if os.path.exists(db) else []
        return j.cursors().index(rows[0][0]) if rows else -1

    def run_from(name):
        """Start sluice; the index of the first entry it delivers."""
        n0 = len(records(t))
        sl = t.sluice(cfg, name=name)
        wait_for(lambda: len(records(t)) > n0, 60, '%s delivers' % name, proc=sl)
        return sl, int(msgs(t)[n0][1:])

    # 1. While running, the DB follows delivery: a kill -9 once all is
    #    delivered repeats nothing.
    j.add_n(3000)
    sl, first = run_from('run0')
    check_eq(first, 0, 'a new DB: from the start')
    wait_for(lambda: db_index() == j.n - 1, 60, "the DB cursor reaches the last entry's", proc=sl)
    sl.proc.send_signal(signal.SIGKILL)
    sl.proc.wait()
    # 2. kill -9 in the middle of a large batch: reading resumes right
    #    after the DB's cursor; what was delivered after it comes again.
    batch = 20000
    j.add_n(batch)
    sl, first = run_from('run1')
    check_eq(first, 3000, 'after a kill -9 with the DB up to date: nothing repeated')
    wait_for(lambda: len(records(t)) >= 3000 + 5000, 60, 'part of the batch out', proc=sl)
    sl.proc.send_signal(signal.SIGKILL)
    sl.proc.wait()
    k = db_index()
    delivered = max(int(m[1:]) for m in msgs(t))
    check(3000 <= k + 1 <= delivered + 1, 'the DB cursor lags delivery, never leads it',
          'cursor at %d, delivered up to %d' % (k, delivered))
    sl, first = run_from('run2')
    check_eq(first, k + 1, 'after kill -9 in a batch: reading resumes after the DB cursor')
    wait_for(lambda: len(set(msgs(t))) >= j.n, 60, 'the rest of the batch', proc=sl)
    # 3. Appended while running, then a clean stop: the DB has it all.
    j.add_n(1000)
    wait_for(lambda: len(set(msgs(t))) >= j.n, 60, 'entries appended while running', proc=sl)
    check_eq(sl.stop(), 0, 'a clean stop exits 0')
    check_eq(db_index(), j.n - 1, "after a clean stop: the last entry's cursor in the DB")
    j.add_n(1000)
    sl, first = run_from('run3')
    check_eq(first, j.n - 1000, 'after a clean stop: nothing repeated')
    wait_for(lambda: len(set(msgs(t))) >= j.n, 60, 'the new entries', proc=sl)
    check_eq(sl.stop(), 0, 'a clean stop exits 0')
    got = msgs(t)
    missing = set('m%d' % i for i in range(j.n)) - set(got)
    check(not missing, 'two kills -9 and restarts: no entry lost', '%d missing' % len(missing))
    dup = len(got) - len(set(got))
    check(dup <= batch, 'duplicates: at most one batch (%d, the entries delivered after the '
          'cursor at the kill)' % dup)
    check_eq(dup, delivered - k, 'exactly the entries delivered after the DB cursor repeated')
    rows = db_rows(db)
    check_eq(len(rows), 1, "one row in Fluent Bit's in_systemd_cursor table")
    check_eq(rows[0][0], j.cursors()[-1], "the DB cursor: the last entry's")


def test_fluent_bit_db_is_honoured(t):
    need_tools()
    j = Journal(t)
    j.add_n(100)
    # As Fluent Bit's systemd_db.c creates it: its first start inserts a
    # row whose cursor printf made "(null)" -- no cursor: read everything.
    db = t.path('fb.db')
    c = sqlite3.connect(db)
    c.execute('CREATE TABLE IF NOT EXISTS in_systemd_cursor (  cursor  TEXT NOT NULL,  '
              'updated INTEGER);')
    c.execute("INSERT INTO in_systemd_cursor (cursor, updated)  VALUES ('(null)', 1);")
    c.commit()
    c.close()
    sl = t.sluice(conf(service(t), systemd_in(j.dir, Tag='sd', DB=db), out_file(t)), name='null')
    wait_count(t, 100, 'all entries', sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq(msgs(t), ['m%d' % i for i in range(100)], "'(null)' cursor: from the start")
    # A cursor Fluent Bit stored: reading goes on after that entry.
    c = sqlite3.connect(db)
    c.execute('UPDATE in_systemd_cursor SET cursor=?, updated=2;', (j.cursors()[59],))
    c.commit()
    c.close()
    os.unlink(t.path('out.txt'))
    sl = t.sluice(conf(service(t), systemd_in(j.dir, Tag='sd', DB=db), out_file(t)), name='fb')
    wait_count(t, 40, 'entries after the cursor', sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq(msgs(t), ['m%d' % i for i in range(60, 100)], "Fluent Bit's cursor honoured")


def test_bad_config(t):
    need_tools()
    j = Journal(t)
    notdir = t.path('file')
    open(notdir, 'w').close()
    cases = [
        (systemd_in(t.path('missing')), 'Path', 'a Path that does not exist'),
        (systemd_in(notdir), 'Path', 'a Path that is a file'),
        (systemd_in(j.dir, Systemd_Filter=['_SYSTEMD_UNIT=a.service', 'nonsense']),
         'Systemd_Filter', 'a filter without FIELD=VALUE'),
        (systemd_in(j.dir, Systemd_Filter_Type='Xor'), 'Systemd_Filter_Type',
         'an unknown filter type'),
    ]
    for i, (inp, key, what) in enumerate(cases):
        sl = t.sluice(conf(service(t), inp, out_file(t)), name='bad%d' % i, wait=False)
        rc = sl.wait_exit(30)
        check(rc not in (None, 0), '%s: sluice refuses to start' % what, 'rc=%r' % rc)
        err = sl.stderr()
        check("'%s'" % key in err and '[INPUT] systemd' in err, '%s: the error names %s'
              % (what, key), err[-400:])


if __name__ == '__main__':
    main([test_fields_time_and_appends, test_filters_and_or, test_strip_lowercase_and_tag_star,
          test_read_from_tail, test_read_since_minutes_ago, test_backpressure, test_db_resume_kill9_and_clean_stop, test_fluent_bit_db_is_honoured,
          test_bad_config])
