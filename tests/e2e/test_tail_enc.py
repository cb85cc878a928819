#!/usr/bin/env python3
"""test_tail_enc.py — the tail input's `unicode.encoding`, `generic.encoding`
and `ignore_active_older_files`, against Fluent Bit's documentation
(https://docs.fluentbit.io/manual/data-pipeline/inputs/tail: "unicode.encoding:
Set the Unicode character encoding of the file data ... UTF-16LE, UTF-16BE,
auto", "generic.encoding: Set the non-Unicode encoding of the file data.
Supported values: ShiftJIS, UHC, GBK, GB18030, Big5, Win866, Win874,
Win1250 ... Win1256", "ignore_active_older_files: Ignore files that are older
than the value set in ignore_older even if the file is being ingested") and
its source (plugins/in_tail/tail_config.c for the accepted values,
tail_file.c process_content for the conversion and flb_tail_file_purge for
letting go of quiet files, src/simdutf/flb_simdutf_connector.cpp for the
BOM).

- UTF-16LE with a BOM, hundreds of KiB (lines cross the 128 KiB reads) and
  lines appended in pieces that cut a character in two: UTF-8 records, every
  line once, Offset_Key the line's byte offset in the file;
- auto: a UTF-16BE file without BOM, a UTF-8 file with a BOM and a plain
  one, in one input;
- ShiftJIS and GBK samples -> UTF-8; an invalid byte becomes U+FFFD and is
  counted as malformed, its neighbours intact;
- bad values and both keys at once refuse to start, naming the key;
- UTF-16 with a DB: the offset is the file's byte offset, a restart reads
  only what was appended; multiline.parser joins the converted lines;
- ignore_active_older_files: a followed file that went quiet for
  Ignore_Older is let go (a line written to it and its mtime set back is not
  read), and read on from where it was let go once written again; without
  the key the same line is read.
"""
import json
import os
import subprocess
import time

from harness import SLUICE, check, check_eq, conf, file_out, main, service, wait_for, wait_stable


def tail_in(path, **extra):
    kv = dict(Name='tail', Path=path, Refresh_Interval='1', Read_from_Head='on')
    kv.update((k, str(v)) for k, v in extra.items())
    return ('INPUT', list(kv.items()))


def records(t, name='out.txt'):
    p = t.path(name)
    if not os.path.exists(p):
        return []
    with open(p, 'rb') as f:
        data = f.read()
    return [json.loads(x) for x in data[:data.rfind(b'\n') + 1].splitlines()]


def write(path, data, mode='ab'):
    with open(path, mode) as f:
        f.write(data)


def text_line(i):
    # 2-, 3- and 4-byte UTF-8 characters (a surrogate pair in UTF-16)
    return 'line %06d héllo 日本語 😀 %s' % (i, 'x' * (i % 53))


def test_utf16le_bom_big_and_split(t):
    log = t.path('w.log')
    n = 8000                                    # ~600 KiB of UTF-16: many reads
    lines = [text_line(i) for i in range(n)]
    raw = b'\xff\xfe'
    offs = []
    for ln in lines:
        offs.append(len(raw))
        raw += (ln + '\r\n').encode('utf-16-le')
    write(log, raw, 'wb')
    sl = t.sluice(conf(service(t), tail_in(log, Offset_Key='off', **{'unicode.encoding': 'UTF-16LE'}),
                       file_out(t, fmt='json_lines')))
    wait_for(lambda: len(records(t)) >= n, 30, 'the file read')
    # Appended in pieces: the first cuts the emoji's surrogate pair, the
    # second a code unit in two; each piece is seen by sluice before the next.
    tail = (text_line(n) + '\n').encode('utf-16-le')
    cut1 = tail.index('😀'.encode('utf-16-le')) + 2
    pieces = [tail[:cut1], tail[cut1:cut1 + 3], tail[cut1 + 3:]]
    offs.append(len(raw))
    for p in pieces:
        write(log, p)
        # Pacing, not a synchronisation: sluice (inotify) reads each piece
        # on its own, its line unfinished, and reads it again with the next.
        time.sleep(0.1)
    wait_for(lambda: len(records(t)) >= n + 1, 15, 'the line written in pieces')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = records(t)
    check_eq([r['log'] for r in recs], lines + [text_line(n)],
             'every line once, in order, as UTF-8 (BOM and CR dropped)')
    check_eq([r['off'] for r in recs], offs, 'Offset_Key: the line\'s byte offset in the UTF-16 file')


def test_auto_per_file(t):
    d = t.path('d')
    os.mkdir(d)
    be, u8bom, u8 = (os.path.join(d, x) for x in ('be.log', 'bom8.log', 'plain.log'))
    write(be, ''.join('be %d ünï\n' % i for i in range(3)).encode('utf-16-be'))
    write(u8bom, b'\xef\xbb\xbf' + ''.join('bom %d ünï\n' % i for i in range(3)).encode())
    write(u8, ''.join('plain %d ünï\n' % i for i in range(3)).encode())
    sl = t.sluice(conf(service(t), tail_in(d + '/*.log', Path_Key='p', **{'unicode.encoding': 'auto'}),
                       file_out(t, fmt='json_lines')))
    wait_for(lambda: len(records(t)) >= 9, 15, 'the three files read')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    got = {}
    for r in records(t):
        got.setdefault(os.path.basename(r['p']), []).append(r['log'])
    check_eq(got, {'be.log': ['be %d ünï' % i for i in range(3)],
                   'bom8.log': ['bom %d ünï' % i for i in range(3)],
                   'plain.log': ['plain %d ünï' % i for i in range(3)]},
             'UTF-16BE without BOM detected, UTF-8 BOM skipped, UTF-8 unchanged')


def test_generic_sjis_gbk_and_invalid(t):
    sj, gb = t.path('sj.log'), t.path('gb.log')
    sj_lines = ['日本語のログ %d' % i for i in range(500)]
    gb_lines = ['中文日志 %d' % i for i in range(500)]
    write(sj, ''.join(x + '\n' for x in sj_lines).encode('shift_jis') + b'bad \x81\nafter\n')
    write(gb, ''.join(x + '\n' for x in gb_lines).encode('gbk'))
    # GB18030: the file's last line ends in the start of a 4-byte character
    # cut by its LF (invalid, not a character waiting for its bytes).
    g18 = t.path('g18.log')
    write(g18, '中文 😀\n'.encode('gb18030') + b'end \x81\x30\n')
    sl = t.sluice(conf(service(t),
                       tail_in(sj, Tag='sj', **{'generic.encoding': 'ShiftJIS'}),
                       tail_in(gb, Tag='gb', **{'generic.encoding': 'GBK'}),
                       tail_in(g18, Tag='g18', **{'generic.encoding': 'GB18030'}),
                       file_out(t, name='sj.txt', fmt='json_lines', match='sj'),
                       file_out(t, name='gb.txt', fmt='json_lines', match='gb'),
                       file_out(t, name='g18.txt', fmt='json_lines', match='g18')))
    wait_for(lambda: len(records(t, 'sj.txt')) >= 502 and len(records(t, 'gb.txt')) >= 500 and
             len(records(t, 'g18.txt')) >= 2, 15, 'the three files read')
    check_eq([r['log'] for r in records(t, 'g18.txt')], ['中文 😀', 'end \ufffd0'],
             'GB18030 -> UTF-8; a character cut by an LF is invalid, the line not held back')
    sl.wait_stats(lambda st: st['inputs']['tail.0']['malformed'] >= 1, 10, 'the bad byte counted')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t, 'sj.txt')], sj_lines + ['bad \ufffd', 'after'],
             'ShiftJIS -> UTF-8; the invalid byte as U+FFFD, the next line intact')
    check_eq([r['log'] for r in records(t, 'gb.txt')], gb_lines, 'GBK -> UTF-8')
    check('invalid ShiftJIS sequence' in sl.stderr(), 'the invalid sequence logged')


def test_bad_values_refused(t):
    log = t.path('x.log')
    write(log, b'x\n')
    for kv, key in (({'unicode.encoding': 'UTF-32'}, 'unicode.encoding'),
                    ({'generic.encoding': 'EBCDIC'}, 'generic.encoding'),
                    ({'unicode.encoding': 'auto', 'generic.encoding': 'GBK'}, 'generic.encoding')):
        path = t.path('bad.conf')
        with open(path, 'w') as f:
            f.write(conf(service(t), tail_in(log, **kv), file_out(t)))
        p = subprocess.run([SLUICE, '-c', path, '--dry-run'], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode != 0 and key in p.stderr, 'refused, naming %s: %r' % (key, kv),
              p.stderr[-400:])


def ignore_active(t, on):
    log = t.path('q.log')
    write(log, b'first\n')
    svc = service(t, Log_Level='debug')
    sl = t.sluice(conf(svc, tail_in(log, Ignore_Older='5', Refresh_Interval='60',
                                    ignore_active_older_files='on' if on else 'off'),
                       file_out(t, fmt='json_lines')))
    wait_for(lambda: len(records(t)) >= 1, 15, 'the first line read')
    old = time.time() - 100
    os.utime(log, (old, old))                  # quiet for longer than Ignore_Older
    if on:
        wait_for(lambda: 'let go (ignore_active_older_files)' in sl.stderr(), 10,
                 'the quiet file let go')
    else:
        # Three checks (one a second) that would have let it go.
        wait_for(lambda: 'following %s' % log in sl.stderr(), 5, 'the file followed')
        wait_stable(lambda: sl.stderr().count('let go'), 3.5, 10, 'no file let go')
    write(log, b'second\n')
    os.utime(log, (old, old))
    return sl, log


def test_ignore_active_older_files_on(t):
    sl, log = ignore_active(t, True)
    check_eq(wait_stable(lambda: len(records(t)), 2.5, 10, 'nothing more read'), 1,
             'the line written to the file let go (mtime still old) is not read')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_ignore_active_resumes_where_let_go(t):
    """Written again while sluice runs: found by the next scan and read on
    from where it was let go (not from its start, as a new file would be)."""
    log = t.path('q.log')
    write(log, b'first\n')
    sl = t.sluice(conf(service(t, Log_Level='debug'),
                       tail_in(log, Ignore_Older='5', Refresh_Interval='1',
                               ignore_active_older_files='on'),
                       file_out(t, fmt='json_lines')))
    wait_for(lambda: len(records(t)) >= 1, 15, 'the first line read')
    old = time.time() - 100
    os.utime(log, (old, old))
    wait_for(lambda: 'let go (ignore_active_older_files)' in sl.stderr(), 10, 'the quiet file let go')
    write(log, b'second\n')                    # fresh mtime: the next scan finds it
    wait_for(lambda: len(records(t)) >= 2, 10, 'the new line read')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t)], ['first', 'second'],
             'read on from where it was let go, nothing twice')


def test_ignore_active_older_files_off(t):
    sl, log = ignore_active(t, False)
    wait_for(lambda: len(records(t)) >= 2, 10, 'the line written to the quiet file read')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t)], ['first', 'second'], 'the file still followed')


def test_utf16_db_restart_and_multiline(t):
    """The DB keeps byte offsets in the UTF-16 file: a restart reads only
    what was appended meanwhile. multiline.parser joins converted lines."""
    import sqlite3
    log, db = t.path('m.log'), t.path('tail.db')
    first = ['Traceback (most recent call last):', '  File "a.py", line 1, in <module>',
             'ValueError: bad', 'plain line ünï']
    raw = b'\xff\xfe' + ''.join(x + '\n' for x in first).encode('utf-16-le')
    write(log, raw, 'wb')
    inp = tail_in(log, DB=db, **{'unicode.encoding': 'UTF-16LE', 'multiline.parser': 'python'})
    sl = t.sluice(conf(service(t), inp, file_out(t, fmt='json_lines')))
    wait_for(lambda: len(records(t)) >= 2, 15, 'the traceback and the plain line')

    def db_off():
        with sqlite3.connect(db) as c:
            rows = c.execute('SELECT offset FROM in_tail_files').fetchall()
        return rows[0][0] if rows else None
    wait_for(lambda: db_off() == len(raw), 10, 'the DB offset at the file\'s byte size')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    more = ''.join(x + '\n' for x in ['after restart 日本', 'second ü']).encode('utf-16-le')
    write(log, more)
    sl = t.sluice(conf(service(t), inp, file_out(t, name='again.txt', fmt='json_lines')),
                  name='again')
    wait_for(lambda: len(records(t, 'again.txt')) >= 2, 15, 'the appended lines')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    check_eq([r['log'] for r in records(t)], ['\n'.join(first[:3]) + '\n', first[3] + '\n'],
             'multiline.parser python over the converted lines (Fluent Bit\'s "\\n" ends)')
    check_eq([r['log'] for r in records(t, 'again.txt')], ['after restart 日本\n', 'second ü\n'],
             'after a restart only the appended lines, from the DB\'s byte offset')


if __name__ == '__main__':
    main([test_utf16le_bom_big_and_split, test_auto_per_file, test_generic_sjis_gbk_and_invalid,
          test_bad_values_refused, test_ignore_active_older_files_on,
          test_ignore_active_resumes_where_let_go, test_ignore_active_older_files_off,
          test_utf16_db_restart_and_multiline])
