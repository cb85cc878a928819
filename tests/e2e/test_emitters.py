#!/usr/bin/env python3
"""test_emitters.py — where records a filter makes go next, and how many.

Fluent Bit's rewrite_tag hands re-tagged records to its emitter input,
which feeds them to the head of the filter chain under their new tag
(src/flb_filter.c: every filter whose Match covers the tag, in order;
plugins/filter_rewrite_tag/rewrite_tag.c). The documented example
(docs.fluentbit.io/manual/data-pipeline/filters/rewrite-tag, "Configuration
example": Rule $tool ^(fluent)$ from.$TAG.new.$tool.$sub['s1']['s2'].out
false) is run here with a filter placed *before* rewrite_tag that matches
only the new tag: Fluent Bit applies it to the re-tagged records, so must
sluice. A rule matching its own output (Fluent Bit loops there) emits once.

emitter_storage.type filesystem (rewrite_tag's and multiline's key,
docs.fluentbit.io .../filters/rewrite-tag, .../filters/multiline-stacktrace:
the emitter input's storage.type): the emitted records go through the
filesystem store as a filesystem input's do, counted once; a restart
replays what the outputs had not taken; without [SERVICE] storage.path it
is a start-up error naming the key's file and line.
"""
import json
import os

from harness import check, check_eq, conf, file_out, main, read_lines, service

DOC_RECORD = '{"tool": "fluent", "sub": {"s1": {"s2": "bit"}}}'


def records(path):
    return [json.loads(x) for x in read_lines(path)]


def dummy(tag, record, samples):
    return ('INPUT', [('Name', 'dummy'), ('Dummy', record), ('Samples', samples), ('Rate', 1000),
                      ('Tag', tag)])


def run(t, sections, n_out):
    sl = t.sluice(conf(service(t), *sections))
    sl.wait_stats(lambda st: st['totals']['out'] >= n_out, 15, '%d records out' % n_out)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    return sl


def test_doc_example_from_head(t):
    n = 5
    run(t, [dummy('test_tag', DOC_RECORD, n),
            ('FILTER', [('Name', 'record_modifier'), ('Match', 'from.*'),
                        ('Record', 'seen before rewrite_tag')]),
            ('FILTER', [('Name', 'rewrite_tag'), ('Match', 'test_tag'),
                        ('Rule', "$tool ^(fluent)$ from.$TAG.new.$tool.$sub['s1']['s2'].out false"),
                        ('Emitter_Name', 're_emitted')]),
            ('FILTER', [('Name', 'modify'), ('Match', 'from.test_tag.new.fluent.bit.out'),
                        ('Add', 'after yes')]),
            file_out(t, name='from.out', match='from.*'),
            file_out(t, name='orig.out', match='test_tag')], n)
    want = {'tool': 'fluent', 'sub': {'s1': {'s2': 'bit'}}, 'seen': 'before rewrite_tag', 'after': 'yes'}
    check_eq(records(t.path('from.out')), [want] * n,
             're-tagged records pass the filters before and after rewrite_tag that match the new '
             'tag (tag built from $TAG, $tool and $sub[\'s1\'][\'s2\'])')
    check_eq(read_lines(t.path('orig.out')) if os.path.exists(t.path('orig.out')) else [], [],
             'KEEP false: the originals are gone')


def test_rule_matching_its_own_output(t):
    n = 4
    run(t, [dummy('app', '{"level":"ERROR"}', n),
            ('FILTER', [('Name', 'rewrite_tag'), ('Match', '*'),
                        ('Rule', '$level ^ERROR$ alert.$TAG true')]),
            file_out(t, name='all.out', fmt='out_file')], 2 * n)
    lines = [x.decode().split(':', 1)[0] for x in read_lines(t.path('all.out'))]
    check_eq(sorted(lines), ['alert.app'] * n + ['app'] * n,
             'each record copied once: the filter never re-reads what it emitted')


def test_emitter_storage_filesystem(t):
    n = 20
    store = t.path('store')

    def sections(out):
        return [service(t, Shards=1, **{'storage.path': store, 'storage.sync': 'full'}),
                dummy('app', '{"level":"ERROR","log":"boom"}', n),
                ('FILTER', [('Name', 'rewrite_tag'), ('Match', 'app'),
                            ('Rule', '$level ^ERROR$ alert.$TAG false'),
                            ('Emitter_Storage.type', 'filesystem')]),
                ('FILTER', [('Name', 'multiline'), ('Match', 'alert.*'),
                            ('multiline.parser', 'java'), ('multiline.key_content', 'log'),
                            ('emitter_storage.type', 'filesystem')]),
                out]
    # an output that cannot write: what the emitters made waits in the store
    blocked = t.path('blocked')
    os.mkfifo(blocked)          # a FIFO nobody reads: the worker blocks in open
    sl = t.sluice(conf(*sections(file_out(t, name='blocked', match='alert.*'))))
    # written at the write, counted on the emitter once synced (storage.sync
    # full): a Stats_File may fall between the two, so wait for both
    st = sl.wait_stats(lambda st: st['storage']['written_records'] >= n and
                       st['inputs'].get('emitter_for_multiline.0', {}).get('records', 0) >= n, 20,
                       'the emitted records stored')
    em = {k: v for k, v in st['inputs'].items() if k.startswith('emitter_for_')}
    check_eq(sorted(em), ['emitter_for_multiline.0', 'emitter_for_rewrite_tag.0'],
             'both emitters are inputs')
    check_eq(em['emitter_for_multiline.0'].get('records'), n,
             'the multiline emitter\'s records counted once (when stored)')
    check_eq(st['storage']['written_records'], n,
             'written once: rewrite_tag\'s emitted records are taken by multiline (its chunks '
             'reach the store empty), multiline\'s are stored')
    sl.proc.kill()
    sl.wait_exit(30)
    # a restart with an output that works: the stored records are replayed
    # (after their filters: not filtered again), and the new ones follow
    sl = t.sluice(conf(*sections(file_out(t, name='alert.out', match='alert.*'))), name='again')
    st = sl.wait_stats(lambda st: st['totals']['out'] >= 2 * n, 20, 'replayed and new records out')
    check_eq(st['storage']['replayed_records'], n, 'every stored emitted record replayed')
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = records(t.path('alert.out'))
    check_eq(recs, [{'level': 'ERROR', 'log': 'boom'}] * (2 * n),
             'the records the emitters made, replayed then new')
    # without storage.path: refused at start-up, naming the key
    for i, (flt, key) in enumerate([('rewrite_tag', 'Emitter_Storage.type'),
                                    ('multiline', 'emitter_storage.type')]):
        kv = [('Name', flt), ('Match', '*'), (key, 'filesystem')]
        kv += [('Rule', '$a ^x$ y false')] if flt == 'rewrite_tag' else [('multiline.parser', 'java')]
        sl = t.sluice(conf(service(t), dummy('app', '{"a":"x"}', 1), ('FILTER', kv),
                           file_out(t)), name='bad%d' % i, wait=False)
        rc = sl.wait_exit(20)
        err = sl.stderr()
        with open(t.path('bad%d.conf' % i)) as f:
            line = 1 + [x.split()[0] if x.split() else '' for x in f.read().splitlines()].index(key)
        check(rc not in (None, 0) and 'bad%d.conf:%d: [FILTER] %s: \'emitter_storage.type '
              'filesystem\' needs [SERVICE] storage.path' % (i, line, flt) in err,
              '%s without storage.path: refused, naming file:line of the key' % flt, err[-300:])


if __name__ == '__main__':
    main([test_doc_example_from_head, test_rule_matching_its_own_output,
          test_emitter_storage_filesystem])
