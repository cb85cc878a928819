#!/usr/bin/env python3
"""test_lua_nest.py — the lua and nest filters end to end, through the real
binary.

- JSON lines over TCP go through a Lua script (from a file, found next to
  the configuration) that adds a key, drops some records (-1) and splits
  one into two (an array of records: the second goes through the emitter),
  then through nest, which moves the k* keys under a map. Every record is
  checked field by field, and the emitted one went through nest too.
- A script that fails at run time: logged at error, once per 10 s per
  shard, under the filter's own Log_Level.
- Bad configurations stop sluice with the file, line and cause.
"""
import json
import socket

from harness import check, check_eq, conf, file_out, free_port, main, read_lines, service, tcp_in

SCRIPT = """
function cb(tag, ts, r)
  if r.drop then return -1, ts, r end
  r.seen = tag
  if r.split then
    return 2, ts, { r, { kx = 'second', seen = tag } }
  end
  return 2, ts, r
end
"""


def records(path):
    return [json.loads(x) for x in read_lines(path)]


def test_lua_then_nest(t):
    with open(t.path('f.lua'), 'w') as f:
        f.write(SCRIPT)
    port = free_port()
    text = conf(service(t),
                tcp_in(port, fmt='json', Tag='app'),
                ('FILTER', [('Name', 'lua'), ('Match', 'app'), ('script', 'f.lua'),
                            ('call', 'cb')]),
                ('FILTER', [('Name', 'nest'), ('Match', 'app'), ('Operation', 'nest'),
                            ('Wildcard', 'k*'), ('Nest_under', 'n')]),
                file_out(t, fmt='plain', match='app'))
    sl = t.sluice(text)
    s = socket.create_connection(('127.0.0.1', port))
    sent = [{'k1': 'a', 'msg': 'one'}, {'drop': 1, 'k1': 'gone'},
            {'k2': 'b', 'split': True}, {'msg': 'plain'}]
    s.sendall(''.join(json.dumps(x) + '\n' for x in sent).encode())
    s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 4, 20, 'four records out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    got = records(t.path('out.txt'))
    # Lua's table order is not the input's: compare as dicts, the nested
    # map last (nest appends it).
    norm = sorted(json.dumps(r, sort_keys=True) for r in got)
    want = [{'msg': 'one', 'seen': 'app', 'n': {'k1': 'a'}},
            {'split': True, 'seen': 'app', 'n': {'k2': 'b'}},
            {'msg': 'plain', 'seen': 'app'},
            {'seen': 'app', 'n': {'kx': 'second'}}]
    check_eq(norm, sorted(json.dumps(r, sort_keys=True) for r in want),
             'lua added seen, dropped one, split one (the emitted copy nested too)')
    for r in got:
        if 'n' in r:
            check_eq(list(r)[-1], 'n', 'the nested map is the last key')


def test_log_level(t):
    """A script error at run time is logged at error, as Fluent Bit's
    filter_lua/lua.c does (flb_plg_error), under that filter's own
    Log_Level (flb_plg_* check ins->log_level): logged at Log_Level error,
    silent at off, the service's level (info) without the key. One line
    per 10 s per shard, not one per record; the records pass unchanged."""
    code = "function cb(tag, ts, r) error('boom in ' .. tag) end"
    ports = [free_port() for _ in range(3)]
    lua = lambda tag, **kv: ('FILTER', [('Name', 'lua'), ('Match', tag), ('code', code),
                                        ('call', 'cb')] + list(kv.items()))
    sl = t.sluice(conf(service(t, Shards='1'),
                       *[tcp_in(p, fmt='json', Tag=tag) for p, tag in zip(ports, 'abc')],
                       lua('a', Log_Level='error'), lua('b', Log_Level='off'), lua('c'),
                       file_out(t)))
    n = 1000
    for p in ports:
        s = socket.create_connection(('127.0.0.1', p))
        s.sendall(''.join(json.dumps({'i': i}) + '\n' for i in range(n)).encode())
        s.close()
    sl.wait_stats(lambda st: st['totals']['out'] >= 3 * n, 30, 'every record out')
    check_eq(sl.stop(), 0, 'sluice exits 0 on SIGTERM')
    check_eq(sorted(r['i'] for r in records(t.path('out.txt'))),
             sorted(list(range(n)) * 3), 'every record kept unchanged')
    err = sl.stderr().splitlines()
    a = [ln for ln in err if '[lua.0]' in ln]
    b = [ln for ln in err if '[lua.1]' in ln or 'boom in b' in ln]
    c = [ln for ln in err if '[lua.2]' in ln]
    check(len(a) == 1 and '[error]' in a[0] and 'boom in a' in a[0],
          'Log_Level error: the error logged once (1,000 records, one shard, one line per 10 s)',
          '\n'.join(a) or '\n'.join(err[-20:]))
    check_eq(b, [], 'Log_Level off: nothing logged')
    check(len(c) == 1 and 'boom in c' in c[0], 'no Log_Level: the service\'s (info) logs it',
          '\n'.join(c))


def bad(t, sections, want):
    port = free_port()
    sl = t.sluice(conf(service(t), tcp_in(port), *sections, file_out(t)), wait=False)
    rc = sl.wait_exit(20)
    check(rc not in (None, 0), 'sluice refuses to start: %s' % want, 'rc=%r' % rc)
    err = sl.stderr()
    check(want in err, 'the error says %r' % want, err[-600:])


def test_bad_configs(t):
    bad(t, [('FILTER', [('Name', 'lua'), ('Match', '*'), ('script', 'missing.lua'),
                        ('call', 'cb')])], 'script: cannot read')
    bad(t, [('FILTER', [('Name', 'lua'), ('Match', '*'), ('code', 'function x() end'),
                        ('call', 'cb')])], "no function 'cb'")
    bad(t, [('FILTER', [('Name', 'nest'), ('Match', '*'), ('Operation', 'nest'),
                        ('Wildcard', 'a*')])], 'needs Nest_under')


if __name__ == '__main__':
    main([test_lua_then_nest, test_log_level, test_bad_configs])
