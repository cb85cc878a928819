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
"""
import json
import os

from harness import check_eq, conf, file_out, main, read_lines, service

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


if __name__ == '__main__':
    main([test_doc_example_from_head, test_rule_matching_its_own_output])
