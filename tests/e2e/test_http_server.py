#!/usr/bin/env python3
"""test_http_server.py — [SERVICE] HTTP_Server: Fluent Bit's monitoring
endpoints and Prometheus metrics, end to end over loopback.

What Fluent Bit does, from its source (fluent/fluent-bit):
- `/`: src/http_server/flb_hs_endpoints.c endpoint_root,
  {"fluent-bit": {"version", "edition", "flags": [...]}}.
- `/api/v1/uptime`: api/v1/uptime.c, {"uptime_sec": N, "uptime_hr":
  "Fluent Bit has been running:  D day(s), H hour(s), ..."}.
- `/api/v1/metrics`: the old metrics API, {"input": {name: {records,
  bytes}}, "filter": {...}, "output": {name: {proc_records, proc_bytes,
  errors, retries, retries_failed, dropped_records, retried_records}}}
  (src/flb_input.c, flb_filter.c, flb_output.c flb_metrics_add).
- `/api/v1/metrics/prometheus`, `/api/v2/metrics/prometheus`: cmetrics'
  Prometheus text; families fluentbit_input_records_total{name=...} ...
  (flb_output.c cmt_counter_create), fluentbit_uptime (a counter without
  _total), fluentbit_process_start_time_seconds, fluentbit_build_info
  (src/flb_metrics.c).
- `/api/v2/metrics`: cmetrics' text (api/v2/metrics.c cmt_encode_text).
- `/api/v1/health`: api/v1/health.c: "ok" 200, or "error" 500 when the
  errors or retries_failed counted since the start of the last HC_Period
  exceed HC_Errors_Count / HC_Retry_Failure_Count; registered only with
  Health_Check On (api/v1/register.c).
- `/api/v1/storage`: registered only when there is a store.

The Prometheus text is read by a strict parser written here against the
exposition format (prometheus.io/docs/instrumenting/exposition_formats,
text format 0.0.4), since prometheus_client is not installable.
"""
import json
import math
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import (REPO, SLUICE, Fail, check, check_eq, conf, free_port, main, service, tcp_in,
                     wait_for, wait_stable)

# ---- a strict reader of the Prometheus text format -------------------------

METRIC_RE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL_RE = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')
# Fluent Bit's own counter without _total (src/flb_metrics.c attach_uptime),
# kept under its name so its dashboards work.
COUNTERS_WITHOUT_TOTAL = {'fluentbit_uptime'}


def _parse_labels(s, i, line):
    """Labels from s[i] == '{' to the closing '}': (dict, index after)."""
    labels = {}
    i += 1
    while True:
        if s[i] == '}':
            return labels, i + 1
        m = LABEL_RE.match(s, i)
        if not m:
            raise Fail('bad label name at %d: %r' % (i, line))
        name = m.group(0)
        if name.startswith('__'):
            raise Fail('reserved label name %r: %r' % (name, line))
        if name in labels:
            raise Fail('label %r twice: %r' % (name, line))
        i = m.end()
        if s[i:i + 2] != '="':
            raise Fail('expected =" after label %r: %r' % (name, line))
        i += 2
        val = []
        while True:
            c = s[i]
            if c == '\\':
                e = s[i + 1]
                if e not in '\\"n':
                    raise Fail('bad escape \\%s in a label value: %r' % (e, line))
                val.append('\n' if e == 'n' else e)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == '\n':
                raise Fail('newline in a label value: %r' % line)
            else:
                val.append(c)
                i += 1
        labels[name] = ''.join(val)
        if s[i] == ',':
            i += 1
        elif s[i] != '}':
            raise Fail('expected , or } after a label: %r' % line)


def _parse_value(v, line):
    if v in ('NaN', '+Inf', '-Inf'):
        return float(v.replace('Inf', 'inf'))
    if not re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', v):
        raise Fail('not a number %r: %r' % (v, line))
    return float(v)


def parse_prometheus(text):
    """{family: {'type', 'help', 'samples': {(name, labels tuple): value}}},
    failing on anything the format does not allow."""
    if text and not text.endswith('\n'):
        raise Fail('the text does not end with a newline')
    fams = {}
    series = set()
    done = set()      # families whose sample group has ended
    current = None    # the family of the last sample
    for line in text.split('\n')[:-1]:
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not METRIC_RE.fullmatch(name):
                    raise Fail('bad metric name in %r' % line)
                f = fams.setdefault(name, {'type': None, 'help': None, 'samples': {}})
                if f['samples']:
                    raise Fail('%s after samples of %s: %r' % (parts[1], name, line))
                if parts[1] == 'TYPE':
                    if f['type'] is not None:
                        raise Fail('a second TYPE for %s' % name)
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise Fail('bad TYPE line %r' % line)
                    f['type'] = parts[3]
                else:
                    if f['help'] is not None:
                        raise Fail('a second HELP for %s' % name)
                    help_text = parts[3] if len(parts) == 4 else ''
                    if re.search(r'\\[^\\n]', help_text.replace('\\\\', '')):
                        raise Fail('bad escape in HELP %r' % line)
                    f['help'] = help_text
            continue
        if not line.strip():
            raise Fail('an empty line in the text')
        m = METRIC_RE.match(line)
        if not m:
            raise Fail('bad sample line %r' % line)
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == '{':
            labels, i = _parse_labels(line, i, line)
        if i >= len(line) or line[i] != ' ':
            raise Fail('expected a space before the value: %r' % line)
        rest = line[i + 1:].split(' ')
        if not 1 <= len(rest) <= 2:
            raise Fail('expected value [timestamp]: %r' % line)
        value = _parse_value(rest[0], line)
        if len(rest) == 2 and not re.fullmatch(r'-?\d+', rest[1]):
            raise Fail('bad timestamp: %r' % line)
        fam = _family_of(fams, name)
        if fam is None:
            raise Fail('sample of %s before its TYPE line' % name)
        f = fams[fam]
        if f['type'] is None or f['help'] is None:
            raise Fail('sample of %s without HELP and TYPE before it' % name)
        if current != fam:
            if fam in done:
                raise Fail('samples of %s are not one group' % fam)
            if current:
                done.add(current)
            current = fam
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise Fail('duplicate series %r' % (key,))
        series.add(key)
        if f['type'] == 'histogram':
            _hist_sample(f, name[len(fam):], labels, value, line)
            f['samples'][key] = value
            continue
        if f['type'] == 'counter':
            if not name.endswith('_total') and name not in COUNTERS_WITHOUT_TOTAL:
                raise Fail('counter %s does not end in _total' % name)
            if value < 0 or math.isnan(value):
                raise Fail('counter %s has value %r' % (name, value))
        f['samples'][key[1]] = value
    for name, f in fams.items():
        if f['type'] is None or f['help'] is None:
            raise Fail('family %s lacks HELP or TYPE' % name)
        if f['type'] == 'histogram':
            _hist_check(name, f)
    return fams


def _family_of(fams, name):
    """The family a sample belongs to: its own name, or a histogram's for
    <name>_bucket, _sum and _count."""
    if name in fams and fams[name]['type'] != 'histogram':
        return name
    for suffix in ('_bucket', '_sum', '_count'):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and fams.get(base, {}).get('type') == 'histogram':
            return base
    return None


def _hist_sample(f, suffix, labels, value, line):
    """Collect a histogram's samples by series (labels other than le):
    f['hist'][labels] = {'buckets': [(le, v) in order], 'sum', 'count'}."""
    le = labels.pop('le', None)
    if (le is None) != (suffix != '_bucket'):
        raise Fail('le on %s samples only, and on every one: %r' % ('_bucket', line))
    if math.isnan(value) or (suffix != '_sum' and (value < 0 or value != int(value))):
        raise Fail('bad histogram value: %r' % line)
    h = f.setdefault('hist', {}).setdefault(tuple(sorted(labels.items())),
                                            {'buckets': [], 'sum': None, 'count': None})
    if suffix == '_bucket':
        h['buckets'].append((_parse_value(le, line), value))
    else:
        h[suffix[1:]] = value


def _hist_check(name, f):
    """Every series: buckets by ascending le, cumulative (non-decreasing),
    ending with le="+Inf", which equals _count; _sum present."""
    for lbl, h in f.get('hist', {}).items():
        les = [le for le, _ in h['buckets']]
        counts = [v for _, v in h['buckets']]
        if not les or les[-1] != math.inf:
            raise Fail('%s%r: no le="+Inf" bucket last' % (name, lbl))
        if les != sorted(set(les)):
            raise Fail('%s%r: le not ascending: %r' % (name, lbl, les))
        if counts != sorted(counts):
            raise Fail('%s%r: buckets not cumulative: %r' % (name, lbl, counts))
        if h['count'] is None or h['sum'] is None:
            raise Fail('%s%r: _sum or _count missing' % (name, lbl))
        if h['count'] != counts[-1]:
            raise Fail('%s%r: _count %r != +Inf bucket %r' % (name, lbl, h['count'], counts[-1]))


def prom_hist(fams, family, **labels):
    """A histogram series: {'buckets': [(le, cumulative count)], 'sum', 'count'}."""
    f = fams.get(family)
    if f is None or f['type'] != 'histogram':
        raise Fail('no histogram family %s in the scrape' % family)
    for lbl, h in f.get('hist', {}).items():
        d = dict(lbl)
        if all(d.get(k) == v for k, v in labels.items()):
            return h
    raise Fail('no series %s%r in the scrape' % (family, labels))


def prom_value(fams, family, **labels):
    name = family
    f = fams.get(name)
    if f is None:
        raise Fail('no family %s in the scrape' % name)
    for lbl, v in f['samples'].items():
        d = dict(lbl)
        if all(d.get(k) == v2 for k, v2 in labels.items()):
            return v
    raise Fail('no sample %s%r in the scrape' % (name, labels))


# ---- HTTP -----------------------------------------------------------------

def get(port, path, method='GET'):
    """(status, content type, body text)."""
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get('Content-Type'), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get('Content-Type'), e.read().decode()


def http_conf(t, port, **extra):
    return service(t, HTTP_Server='On', HTTP_Listen='127.0.0.1', HTTP_Port=port, **extra)


def null_out(**extra):
    return ('OUTPUT', [('Name', 'null'), ('Match', '*')] + [(k, str(v)) for k, v in extra.items()])


def send_lines(port, n, prefix='line'):
    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(b''.join(b'%s %d\n' % (prefix.encode(), i) for i in range(n)))
        s.shutdown(socket.SHUT_WR)
        s.recv(1)


# ---- tests ------------------------------------------------------------------

def test_endpoints(t):
    """Every endpoint's status, content type and shape."""
    hp, ip = free_port(), free_port()
    sl = t.sluice(conf(http_conf(t, hp, Health_Check='On', **{'storage.path': t.path('store')}),
                       tcp_in(ip, fmt='none', **{'storage.type': 'filesystem'}),
                       ('FILTER', [('Name', 'grep'), ('Match', '*'), ('Exclude', 'log ^drop')]),
                       null_out()))
    st, ct, body = get(hp, '/')
    check_eq((st, ct), (200, 'application/json'), '/ answers JSON')
    root = json.loads(body)
    fb = root['fluent-bit']
    check(set(fb) == {'version', 'edition', 'flags'} and isinstance(fb['flags'], list),
          "/ has Fluent Bit's shape {fluent-bit: {version, edition, flags}}", body)
    check_eq(fb['version'], subprocess.run([SLUICE, '--version'], capture_output=True,
                                           text=True).stdout.split()[1], "the version is sluice's")

    st, ct, body = get(hp, '/api/v1/uptime')
    up = json.loads(body)
    check(st == 200 and set(up) == {'uptime_sec', 'uptime_hr'} and isinstance(up['uptime_sec'], int),
          '/api/v1/uptime: {uptime_sec, uptime_hr}', body)
    check(re.fullmatch(r'Fluent Bit has been running:  \d+ days?, \d+ hours?, \d+ minutes? and \d+ seconds?',
                       up['uptime_hr']) is not None, "uptime_hr as Fluent Bit formats it", up['uptime_hr'])

    st, ct, body = get(hp, '/api/v1/metrics')
    m = json.loads(body)
    check_eq(sorted(m), ['filter', 'input', 'output'], '/api/v1/metrics sections')
    check_eq(sorted(m['input']['tcp.0']), ['bytes', 'records'], "input keys (Fluent Bit's)")
    check_eq(sorted(m['output']['null.0']),
             sorted(['proc_records', 'proc_bytes', 'errors', 'retries', 'retries_failed', 'dropped_records',
                     'retried_records']), "output keys (Fluent Bit's)")
    check_eq(sorted(m['filter']['grep.0']), ['add_records', 'drop_records'], "filter keys (Fluent Bit's)")

    for path in ('/api/v1/metrics/prometheus', '/api/v2/metrics/prometheus'):
        st, ct, body = get(hp, path)
        check_eq((st, ct), (200, 'text/plain; version=0.0.4'), path + ': Prometheus text')
        fams = parse_prometheus(body)
        for name in ('fluentbit_uptime', 'fluentbit_process_start_time_seconds', 'fluentbit_build_info',
                     'fluentbit_input_records_total', 'fluentbit_input_bytes_total',
                     'fluentbit_filter_add_records_total', 'fluentbit_filter_drop_records_total',
                     'fluentbit_output_proc_records_total', 'fluentbit_output_proc_bytes_total',
                     'fluentbit_output_errors_total', 'fluentbit_output_retries_total',
                     'fluentbit_output_retries_failed_total', 'fluentbit_output_dropped_records_total',
                     'fluentbit_output_retried_records_total', 'sluice_storage_written_records_total',
                     'sluice_input_shard_records_total', 'sluice_output_worker_records_total'):
            check(name in fams, '%s: family %s' % (path, name))
        check_eq(sorted(dict(next(iter(fams['fluentbit_build_info']['samples'])))),
                 ['hostname', 'os', 'version'], 'fluentbit_build_info labels')

    st, ct, body = get(hp, '/api/v2/metrics')
    lines = body.splitlines()
    bad = [ln for ln in lines if not re.fullmatch(
        r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z [a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? = \d+', ln)]
    check(st == 200 and lines and not bad, "/api/v2/metrics: cmetrics' text lines", repr(bad[:3]))
    check(any(' fluentbit_input_records_total{name="tcp.0"} = ' in ln for ln in lines),
          '/api/v2/metrics has fluentbit_input_records_total')

    check_eq(get(hp, '/api/v1/health')[:3], (200, 'text/plain; charset=utf-8', 'ok\n'), '/api/v1/health: ok')
    st, ct, body = get(hp, '/api/v1/storage')
    s = json.loads(body)
    check(st == 200 and s['storage_layer']['path'] == t.path('store') and
          'written_records' in s['storage_layer'], '/api/v1/storage: the store', body)
    for path in ('/nope', '/api/v1', '/api/v1/metrics/', '/api/v3/metrics'):
        check_eq(get(hp, path)[0], 404, 'unknown path %s: 404' % path)
    check_eq(get(hp, '/api/v1/metrics', method='POST')[0], 405, 'POST: 405')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_counts_match(t):
    """N records through tcp -> null: Fluent Bit's counters, sluice's and
    Stats_File say N, and every sluice_* counter equals its Stats_File
    key (one table feeds both)."""
    n = 5000
    hp, ip = free_port(), free_port()
    sl = t.sluice(conf(http_conf(t, hp, Shards=2), tcp_in(ip, fmt='none'), null_out(Workers=2)))
    send_lines(ip, n)
    st = sl.wait_stats(lambda s: s['totals']['out'] >= n, 30, 'all records out')
    # a quiet pipeline (counters unchanged for 0.3 s): Stats_File and a
    # scrape now see the same numbers
    wait_stable(lambda: json.dumps([sl.stats()[k] for k in ('inputs', 'outputs')]), 0.3, 20,
                'the counters to settle', proc=sl)
    st = sl.stats()
    fams = parse_prometheus(get(hp, '/api/v2/metrics/prometheus')[2])
    check_eq(prom_value(fams, 'fluentbit_input_records_total', name='tcp.0'), n,
             'fluentbit_input_records_total{name="tcp.0"}')
    check_eq(prom_value(fams, 'fluentbit_output_proc_records_total', name='null.0'), n,
             'fluentbit_output_proc_records_total{name="null.0"}')
    check_eq(st['inputs']['tcp.0']['records'], n, 'Stats_File input records')
    check_eq(st['outputs']['null.0']['records'], n, 'Stats_File output records')
    m = json.loads(get(hp, '/api/v1/metrics')[2])
    check_eq((m['input']['tcp.0']['records'], m['output']['null.0']['proc_records']), (n, n),
             '/api/v1/metrics records and proc_records')
    check_eq(m['input']['tcp.0']['bytes'], st['inputs']['tcp.0']['bytes'], '/api/v1/metrics bytes')
    diff = []
    for kind, key, inst in (('input', 'inputs', 'tcp.0'), ('output', 'outputs', 'null.0')):
        for k, v in st[key][inst].items():
            if not isinstance(v, int):
                continue
            name = 'sluice_%s_%s' % (kind, k)
            if name + '_total' in fams:
                name += '_total'
            got = prom_value(fams, name, name=inst)
            if got != v:
                diff.append((name, got, v))
    check(not diff, 'every sluice_* counter equals its Stats_File key', repr(diff))
    workers = [prom_value(fams, 'sluice_output_worker_records_total', name='null.0', worker=str(w))
               for w in range(2)]
    check_eq(workers, st['outputs']['null.0']['worker_records'], 'per-worker records = Stats_File')
    shards = sum(prom_value(fams, 'sluice_input_shard_records_total', name='tcp.0', shard=str(s))
                 for s in range(2))
    check_eq(shards, n, 'per-shard records sum to N')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_quoted_alias(t):
    """An Alias with a quote and a backslash: Stats_File, /api/v1/metrics
    and the Prometheus label all stay well formed (JSON string escapes;
    the exposition format's label escapes) and name it."""
    alias = 'in "edge" \\ 1'
    hp, ip = free_port(), free_port()
    sl = t.sluice(conf(http_conf(t, hp), tcp_in(ip, fmt='none', Alias=alias), null_out()))
    send_lines(ip, 10)
    st = sl.wait_stats(lambda s: s['totals']['out'] >= 10, 30, 'records out (Stats_File parses)')
    check_eq(st['inputs'][alias]['records'], 10, 'Stats_File names the alias')
    m = json.loads(get(hp, '/api/v1/metrics')[2])
    check_eq(m['input'][alias]['records'], 10, '/api/v1/metrics names the alias')
    fams = parse_prometheus(get(hp, '/api/v2/metrics/prometheus')[2])
    check_eq(prom_value(fams, 'fluentbit_input_records_total', name=alias), 10,
             'the Prometheus label carries the alias')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_health(t):
    """An http output at a closed port, no retries: each failed burst is
    one of Fluent Bit's retries_failed; past HC_Retry_Failure_Count in
    HC_Period the health is 500 "error", and 200 "ok" again once the
    failures are older than HC_Period."""
    hp, ip, dead = free_port(), free_port(), free_port()
    period = 3
    sl = t.sluice(conf(http_conf(t, hp, Health_Check='On', HC_Errors_Count=5, HC_Retry_Failure_Count=1,
                                 HC_Period=period),
                       tcp_in(ip, fmt='none'),
                       ('OUTPUT', [('Name', 'http'), ('Match', '*'), ('Host', '127.0.0.1'),
                                   ('Port', str(dead)), ('Retry_Limit', 'no_retries')])))
    check_eq(get(hp, '/api/v1/health')[::2], (200, 'ok\n'), 'healthy at start')
    for k in range(3):
        send_lines(ip, 10, 'burst%d' % k)
        sl.wait_stats(lambda s, k=k: s['outputs']['http.0']['retries_failed'] >= k + 1, 20,
                      'burst %d given up' % k)
    m = json.loads(get(hp, '/api/v1/metrics')[2])
    check(m['output']['http.0']['retries_failed'] >= 3 and m['output']['http.0']['dropped_records'] == 30,
          'retries_failed and dropped_records counted', json.dumps(m['output']))
    check_eq(get(hp, '/api/v1/health')[::2], (500, 'error\n'), 'unhealthy past HC_Retry_Failure_Count')
    t0 = time.monotonic()
    wait_for(lambda: get(hp, '/api/v1/health')[0] == 200, period + 10, 'healthy again after HC_Period')
    check(time.monotonic() - t0 >= period - 2.5, 'not before the failures left HC_Period',
          '%.1fs' % (time.monotonic() - t0))
    check_eq(get(hp, '/api/v1/health')[2], 'ok\n', 'says ok')
    sl.stop()


def test_start_errors(t):
    """A port in use and a bad HTTP_Listen stop sluice at start-up with
    the key named, before any data thread starts."""
    hp, ip = free_port(), free_port()
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(('127.0.0.1', hp))
    busy.listen(1)
    try:
        for name, svc, key in (('busy', http_conf(t, hp), 'HTTP_Port'),
                               ('badlisten', service(t, HTTP_Server='On', HTTP_Listen='not-an-ip',
                                                     HTTP_Port=free_port()), 'HTTP_Listen')):
            sl = t.sluice(conf(svc, tcp_in(ip, fmt='none'), null_out()), name=name, wait=False)
            rc = sl.wait_exit(20)
            err = sl.stderr()
            check(rc not in (None, 0), '%s: sluice refuses to start' % name, 'rc %r' % rc)
            check(key in err, '%s: the error names %s' % (name, key), err[-400:])
            check('started:' not in err, '%s: no data thread started' % name, err[-400:])
    finally:
        busy.close()


def test_server_off(t):
    """HTTP_Server off (the default): nothing listens on HTTP_Port; -H -P
    on the command line turn it on."""
    hp, ip = free_port(), free_port()
    sl = t.sluice(conf(service(t, HTTP_Port=hp), tcp_in(ip, fmt='none'), null_out()))
    s = socket.socket()
    try:
        rc = s.connect_ex(('127.0.0.1', hp))
    finally:
        s.close()
    check(rc != 0, 'HTTP_Server off: nothing listens on HTTP_Port', 'connect rc %d' % rc)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    hp2 = free_port()
    sl = t.sluice(args=['-H', '-L', '127.0.0.1', '-P', str(hp2), '-i', 'dummy', '-o', 'null'], name='cli')
    check_eq(get(hp2, '/api/v1/uptime')[0], 200, '-H -L -P: the server answers')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_doc_metrics(t):
    """docs/OPERATIONS.md's metrics list is `sluice --doc-metrics`, as
    generated from the counter tables."""
    doc = subprocess.run([SLUICE, '--doc-metrics'], capture_output=True, text=True, check=True).stdout
    with open(os.path.join(REPO, 'docs', 'OPERATIONS.md'), encoding='utf-8') as f:
        ops = f.read()
    check(doc in ops, 'docs/OPERATIONS.md holds the output of sluice --doc-metrics',
          'regenerate: sluice --doc-metrics')
    check(doc.count('| `sluice_') >= 50, 'every sluice_* family is listed', '%d' % doc.count('| `sluice_'))


if __name__ == '__main__':
    main([test_endpoints, test_counts_match, test_quoted_alias, test_health, test_start_errors, test_server_off,
          test_doc_metrics])
