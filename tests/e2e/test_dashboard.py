#!/usr/bin/env python3
"""test_dashboard.py — docs/grafana/sluice.json queries only metrics that
sluice serves.

The dashboard is read as Grafana would import it (valid JSON, Grafana 9+
schema: __inputs with DS_PROMETHEUS, panels of type row, timeseries or
stat, each data panel with a datasource and targets). Every metric name
in every target's PromQL and in the templating queries is extracted by a
small tokenizer, and must appear in a real scrape of sluice's
/api/v1/metrics/prometheus and /api/v2/metrics/prometheus (Fluent Bit's
endpoints: src/http_server/api/v1/metrics.c, api/v2/metrics.c) from a
pipeline that has every kind of family: inputs, a filter, outputs with
workers, the store (storage.path) and a SQL task (Streams_File). A metric
counts when it is a sample name in the scrape, or a histogram family's
_bucket/_sum/_count.

The tokenizer is checked first on fixtures, so the test cannot pass by
extracting nothing.
"""
import json
import os
import re
import socket
import urllib.request

from harness import REPO, Fail, check, check_eq, conf, file_out, free_port, main, service, tcp_in, wait_for

DASHBOARD = os.path.join(REPO, 'docs', 'grafana', 'sluice.json')

# PromQL words that are not metric names: keywords, and the label lists of
# by/without/on/ignoring/group_left/group_right are skipped with them.
KEYWORDS = {'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless',
            'offset', 'atan2', 'inf', 'nan'}
LABEL_LIST = {'by', 'without', 'on', 'ignoring', 'group_left', 'group_right'}
IDENT = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')


def metric_names(expr):
    """Metric names in a PromQL expression: identifiers that are not a
    function or aggregation (followed by '(' or by a by/without clause),
    not a keyword, not a label
    in a by (...) list, and not inside {...} matchers, [...] ranges or
    strings; Grafana's $variables are dropped."""
    names = set()
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in '"\'`':                       # a string literal
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == '\\' else 1
            i = j + 1
        elif c in '{[':                       # label matchers, a range or subquery
            close = '}' if c == '{' else ']'
            j = expr.find(close, i)
            if j < 0:
                raise Fail('unclosed %s in %r' % (c, expr))
            i = j + 1
        elif c == '$':                        # $instance, ${var}, $__rate_interval
            m = re.compile(r'\$\{[^}]*\}|\$[a-zA-Z0-9_]+').match(expr, i)
            i = m.end() if m else i + 1
        elif c.isdigit() or (c == '.' and i + 1 < n and expr[i + 1].isdigit()):
            m = re.compile(r'[0-9.]+([eE][-+]?[0-9]+)?[a-zA-Z]*').match(expr, i)  # 0.99, 5m, 1e3
            i = m.end()
        elif IDENT.match(expr, i):
            m = IDENT.match(expr, i)
            word, i = m.group(0), m.end()
            j = i
            while j < n and expr[j].isspace():
                j += 1
            if word.lower() in LABEL_LIST and j < n and expr[j] == '(':
                i = expr.index(')', j) + 1    # by (name, shard): labels, not metrics
            elif word.lower() in KEYWORDS or (j < n and expr[j] == '('):
                pass                          # a keyword, or a function / aggregation
            elif re.compile(r'(by|without)\s*\(', re.I).match(expr, j):
                pass                          # an aggregation before its clause: sum by (..) (..)
            else:
                names.add(word)
        else:
            i += 1
    return names


def template_metrics(var):
    """label_values(metric, label) / query_result(expr) / metrics(re) in a
    templating query."""
    q = var.get('query')
    q = q.get('query', '') if isinstance(q, dict) else (q or '')
    m = re.fullmatch(r'\s*label_values\(\s*([^,()]+?)\s*,\s*\w+\s*\)\s*', q)
    if m:
        return metric_names(m.group(1))
    m = re.fullmatch(r'\s*query_result\((.*)\)\s*', q)
    return metric_names(m.group(1)) if m else set()


def test_extractor_fixtures(t):
    """The tokenizer on expressions like the dashboard's: it finds the
    metric names and nothing else."""
    cases = [
        ('sum by (name) (rate(fluentbit_input_records_total{instance=~"$instance"}[$__rate_interval]))',
         {'fluentbit_input_records_total'}),
        ('sum(increase(fluentbit_output_errors_total{instance=~"$instance"}[$__range])) + '
         'sum(increase(fluentbit_output_retries_failed_total[5m]))',
         {'fluentbit_output_errors_total', 'fluentbit_output_retries_failed_total'}),
        ('histogram_quantile(0.99, sum by (le, name) (rate(x_seconds_bucket{name!="a b"}[1m])))',
         {'x_seconds_bucket'}),
        ('a_total / on (name) group_left (worker) b_total > bool 0', {'a_total', 'b_total'}),
        ('min(fluentbit_uptime{instance=~"${instance}"}) offset 1h', {'fluentbit_uptime'}),
        ('sum without (shard) (sluice_input_shard_records_total)', {'sluice_input_shard_records_total'}),
        ('rate(x_total[5m:30s]) * 1e3', {'x_total'}),
    ]
    for expr, want in cases:
        check_eq(metric_names(expr), want, 'metrics of %s' % expr)
    check_eq(template_metrics({'query': {'query': 'label_values(fluentbit_build_info, instance)'}}),
             {'fluentbit_build_info'}, 'label_values(metric, label)')


def load_dashboard():
    with open(DASHBOARD, encoding='utf-8') as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError as e:
        raise Fail('docs/grafana/sluice.json is not valid JSON: %s' % e)


def dashboard_metrics(d):
    """{metric: [panel titles]} over every target and templating query."""
    used = {}
    for p in all_panels(d):
        for tg in p.get('targets', []):
            for m in metric_names(tg['expr']):
                used.setdefault(m, []).append(p['title'])
    for var in d['templating']['list']:
        for m in template_metrics(var):
            used.setdefault(m, []).append('variable $' + var['name'])
    return used


def all_panels(d):
    for p in d['panels']:
        yield p
        yield from p.get('panels', [])      # a collapsed row holds its panels


def test_schema(t):
    """Valid JSON in Grafana 9+'s shape; every data panel has a Prometheus
    datasource (the import's ${DS_PROMETHEUS}) and PromQL targets."""
    d = load_dashboard()
    check_eq([i['name'] for i in d['__inputs']], ['DS_PROMETHEUS'], '__inputs: DS_PROMETHEUS')
    check_eq(d['__inputs'][0]['pluginId'], 'prometheus', 'the input is a Prometheus datasource')
    check(d['schemaVersion'] >= 36, 'schemaVersion of Grafana 9 or later', str(d['schemaVersion']))
    check(d.get('uid') and d.get('title'), 'uid and title')
    ds = {'type': 'prometheus', 'uid': '${DS_PROMETHEUS}'}
    data = [p for p in all_panels(d) if p['type'] != 'row']
    check(len(data) >= 10, 'the dashboard has data panels', str(len(data)))
    kinds = {p['type'] for p in all_panels(d)}
    check(kinds <= {'row', 'timeseries', 'stat'}, 'panel types are row, timeseries, stat', repr(kinds))
    ids = [p['id'] for p in all_panels(d)]
    check_eq(len(ids), len(set(ids)), 'panel ids are unique')
    for p in data:
        what = 'panel %r' % p['title']
        check(p.get('datasource') == ds, what + ': datasource ${DS_PROMETHEUS}', repr(p.get('datasource')))
        check(p.get('targets') and all(tg.get('expr') and tg.get('refId') and tg.get('datasource') == ds
                                       for tg in p['targets']), what + ': targets with expr, refId, datasource')
        g = p['gridPos']
        check(g['x'] + g['w'] <= 24 and g['w'] > 0 and g['h'] > 0, what + ': gridPos within 24 columns')
    names = [v['name'] for v in d['templating']['list']]
    check('instance' in names, 'templating: $instance', repr(names))
    for p in data:
        for tg in p['targets']:
            check('$instance' in tg['expr'] or '${instance}' in tg['expr'],
                  'panel %r %s: filtered by $instance' % (p['title'], tg['refId']))
    used = dashboard_metrics(d)
    check('fluentbit_input_records_total' in used and len(used) >= 10,
          'the extractor finds the dashboard\'s metrics', '%d metrics' % len(used))


def scrape(port, path):
    """(sample names, histogram families) of a Prometheus text scrape."""
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=10) as r:
        text = r.read().decode()
    samples, hists = set(), set()
    for line in text.splitlines():
        if line.startswith('# TYPE '):
            _, _, name, kind = line.split(' ', 3)
            if kind == 'histogram':
                hists.add(name)
        elif line and not line.startswith('#'):
            samples.add(re.match(r'[a-zA-Z_:][a-zA-Z0-9_:]*', line).group(0))
    return samples, hists


def served(metric, samples, hists):
    if metric in samples:
        return True
    for suffix in ('_bucket', '_sum', '_count'):
        if metric.endswith(suffix) and metric[:-len(suffix)] in hists:
            return True
    return metric in hists


STREAMS = """
[STREAM_TASK]
    Name copy
    Exec CREATE STREAM copy WITH (tag='sql.copy') AS SELECT log FROM TAG:'app.*';
"""


def test_metrics_exist(t):
    """A pipeline with every kind of family; each metric the dashboard
    queries is in both Prometheus endpoints' scrape."""
    used = dashboard_metrics(load_dashboard())
    check('fluentbit_input_records_total' in used, 'the dashboard queries fluentbit_input_records_total')
    with open(t.path('streams.conf'), 'w') as f:
        f.write(STREAMS)
    hp, ip = free_port(), free_port()
    sl = t.sluice(conf(service(t, HTTP_Server='On', HTTP_Listen='127.0.0.1', HTTP_Port=hp, Shards=2,
                               Streams_File='streams.conf', **{'storage.path': t.path('store')}),
                       tcp_in(ip, fmt='none', Tag='app.x', **{'storage.type': 'filesystem'}),
                       ('FILTER', [('Name', 'grep'), ('Match', 'app.*'), ('Exclude', 'log ^drop')]),
                       file_out(t, match='app.*', Workers=2),
                       ('OUTPUT', [('Name', 'null'), ('Match', 'sql.*')])))
    n = 500
    with socket.create_connection(('127.0.0.1', ip)) as s:
        s.sendall(b''.join(b'line %d\n' % i for i in range(n)))
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
    sl.wait_stats(lambda st: st['outputs']['file.0']['records'] >= n, 30, 'the records out')
    for path in ('/api/v1/metrics/prometheus', '/api/v2/metrics/prometheus'):
        samples, hists = wait_for(lambda: scrape(hp, path), 10, 'a scrape of ' + path, proc=sl)
        missing = {m: used[m] for m in sorted(used) if not served(m, samples, hists)}
        check(not missing, '%s: every metric the dashboard queries is served (%d)' % (path, len(used)),
              'missing: ' + json.dumps(missing))
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_extractor_fixtures, test_schema, test_metrics_exist])
