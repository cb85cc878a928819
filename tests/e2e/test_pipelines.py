#!/usr/bin/env python3
"""test_pipelines.py — the two pipelines issue 14 names, each one config
written as a Fluent Bit user writes it (only paths, hosts and ports are
this test's), run end to end against real sinks on loopback:

1. tail (Path glob, Parser, DB) -> kafka (Brokers, Topics, Format json,
   Message_Key), against the librdkafka mock cluster: every line becomes
   one message with the static key, and a restart with the DB resumes
   where it stopped (no line lost, none repeated after a clean stop).

2. tail (Path_Key, Parser json, DB, Mem_Buf_Limit, Skip_Long_Lines,
   Refresh_Interval) -> grep (level ERROR|FATAL) -> record_modifier
   (${SERVICE_ID}, ${ENVIRONMENT}) -> multiline (java, python, nodejs)
   -> http (URI, Format json, Header Authorization Bearer ${TOKEN},
   Retry_Limit, net.keepalive) + opensearch (Index, HTTP_User,
   HTTP_Passwd, tls On, tls.verify On, Retry_Limit). Only ERROR and FATAL
   records reach the sinks, the ${ENV} fields are set, each stack trace is
   one record, the Authorization header is on every request, and the
   OpenSearch sink (test_es_out.FakeES: it parses every bulk body
   strictly) got valid bulk bodies over TLS verified against the test CA.
   `nodejs` is not one of Fluent Bit's built-in multiline parsers, so the
   configuration defines it in its Parsers_File, as a Fluent Bit user must.

Fluent Bit's documentation for the keys: docs.fluentbit.io/manual
pipeline/inputs/tail, pipeline/filters/{grep,record-modifier,multiline-
stacktrace}, pipeline/outputs/{kafka,http,opensearch}.
"""
import base64
import json
import os
import sqlite3

from certs import certs, server_ctx
from harness import check, check_eq, main, wait_for
from kafka_util import MockCluster, wait_consume
from test_es_out import FakeES
from test_http_out import Sink, records_of

TAIL_KAFKA = """\
[SERVICE]
    Flush        1
    Log_Level    info
    Stats_File   stats.json

[INPUT]
    Name    tail
    Path    {dir}/*.log
    Parser  json
    DB      {dir}/tail.db
    Tag     kube.app

[OUTPUT]
    Name        kafka
    Match       kube.*
    Brokers     {brokers}
    Topics      app-logs
    Format      json
    Message_Key app
"""

TAIL_HTTP_OPENSEARCH = """\
[SERVICE]
    Flush        1
    Log_Level    info
    Parsers_File parsers.conf
    Stats_File   stats.json

[INPUT]
    Name              tail
    Path              {dir}/*.log
    Path_Key          file
    Parser            json
    DB                {dir}/tail.db
    Mem_Buf_Limit     50MB
    Skip_Long_Lines   On
    Refresh_Interval  10
    Tag               app

[FILTER]
    Name   grep
    Match  app
    Regex  level ERROR|FATAL

[FILTER]
    Name    record_modifier
    Match   app
    Record  service_id ${{SERVICE_ID}}
    Record  environment ${{ENVIRONMENT}}

[FILTER]
    Name                  multiline
    Match                 app
    multiline.key_content message
    multiline.parser      java,python,nodejs

[OUTPUT]
    Name           http
    Match          app
    Host           127.0.0.1
    Port           {http_port}
    URI            /api/v1/logs
    Format         json
    Header         Authorization Bearer ${{TOKEN}}
    Retry_Limit    5
    net.keepalive  on

[OUTPUT]
    Name         opensearch
    Match        app
    Host         127.0.0.1
    Port         {os_port}
    Index        app-logs
    HTTP_User    admin
    HTTP_Passwd  s3cret
    tls          On
    tls.verify   On
    tls.ca_file  {ca}
    Retry_Limit  5
"""

PARSERS = r"""
[MULTILINE_PARSER]
    name          nodejs
    type          regex
    flush_timeout 1000
    rule "start_state" "/^[A-Za-z]*Error: /"  "cont"
    rule "cont"        "/^\s+at /"            "cont"
"""


def followed(db):
    """Files the tail input has opened, from its DB (Fluent Bit's
    in_tail_files table): a file there at start is followed from its end,
    so lines must be appended only once it is open."""
    if not os.path.exists(db):
        return set()
    c = sqlite3.connect(db)
    try:
        return {r[0] for r in c.execute('SELECT name FROM in_tail_files')}
    except sqlite3.Error:
        return set()
    finally:
        c.close()


def append(path, objs):
    with open(path, 'a') as f:
        f.write(''.join(json.dumps(o) + '\n' for o in objs))


def test_tail_to_kafka(t):
    mc = MockCluster(t, ['app-logs:3'])
    t.cleanups.append(mc.stop)
    d = t.path('logs')
    os.mkdir(d)
    files = [os.path.join(d, n) for n in ('a.log', 'b.log')]
    for f in files:
        open(f, 'w').close()      # there at start: followed from their end (empty)
    text = TAIL_KAFKA.format(dir=d, brokers=mc.bootstrap)
    sl = t.sluice(text)
    wait_for(lambda: followed(os.path.join(d, 'tail.db')) == set(files), 15, 'both files followed',
             proc=sl)
    n = 2000
    for i in range(0, n, 500):
        for k, f in enumerate(files):
            append(f, [{'seq': j, 'file': k, 'msg': 'event %d' % j} for j in range(i + k, i + 500, 2)])
    msgs = wait_consume(mc.bootstrap, 'app-logs', n, 60, proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    vals = [json.loads(m['v']) for m in msgs]
    check_eq(sorted(v['seq'] for v in vals), list(range(n)), 'every line once, across both files')
    check(all(m['k'] == 'app' for m in msgs), 'Message_Key app on every message')
    check(all('@timestamp' in v and v['msg'] == 'event %d' % v['seq'] for v in vals),
          'Format json: the parsed fields and @timestamp (Fluent Bit\'s Timestamp_Key)', str(vals[0]))
    # Lines written while sluice is down are read after the DB's offsets.
    append(files[0], [{'seq': j, 'file': 0, 'msg': 'event %d' % j} for j in range(n, n + 300)])
    sl = t.sluice(text, name='again')
    msgs = wait_consume(mc.bootstrap, 'app-logs', n + 300, 60, proc=sl)
    check_eq(sl.stop(), 0, 'sluice exits 0')
    seqs = sorted(json.loads(m['v'])['seq'] for m in msgs)
    check_eq(seqs, list(range(n + 300)), 'after a restart: the new lines once, nothing repeated')


JAVA = ['java.lang.IllegalStateException: payment gateway refused',
        '\tat com.example.pay.Gateway.charge(Gateway.java:42)',
        '\tat com.example.pay.Main.main(Main.java:7)']
PYTHON = ['Traceback (most recent call last):',
          '  File "/app/worker.py", line 12, in <module>',
          '    main()',
          'ValueError: bad input']
NODE = ["TypeError: Cannot read properties of undefined (reading 'id')",
        '    at handler (/app/index.js:10:5)',
        '    at process (/app/index.js:20:3)']


def test_tail_grep_http_opensearch(t):
    with open(t.path('parsers.conf'), 'w') as f:
        f.write(PARSERS)
    os.environ.update(SERVICE_ID='checkout-7', ENVIRONMENT='staging', TOKEN='tok-123')
    sink = Sink()
    fake = FakeES(tls_ctx=server_ctx('server'))
    t.cleanups += [sink.close, fake.close]
    d = t.path('logs')
    os.mkdir(d)
    log = os.path.join(d, 'app.log')
    open(log, 'w').close()
    text = TAIL_HTTP_OPENSEARCH.format(dir=d, http_port=sink.port, os_port=fake.port,
                                       ca=certs().p('ca.crt'))
    sl = t.sluice(text)
    wait_for(lambda: followed(os.path.join(d, 'tail.db')) == {log}, 15, 'the file followed', proc=sl)
    lines = ([('INFO', 'service started'), ('ERROR', 'payment failed for order 17')] +
             [('ERROR', x) for x in JAVA] + [('DEBUG', 'retrying')] +
             [('ERROR', x) for x in PYTHON] + [('FATAL', 'out of memory')] +
             [('ERROR', x) for x in NODE] + [('WARN', 'slow request'), ('ERROR', 'last one')])
    # seq: FakeES counts documents by it (each joined trace keeps its first line's)
    append(log, [{'level': lv, 'message': m, 'seq': i} for i, (lv, m) in enumerate(lines)])
    want = [('ERROR', 'payment failed for order 17'), ('ERROR', '\n'.join(JAVA)),
            ('ERROR', '\n'.join(PYTHON)), ('FATAL', 'out of memory'), ('ERROR', '\n'.join(NODE)),
            ('ERROR', 'last one')]

    def http_recs():
        return [r for req in sink.accepted() for r in records_of(req, 'json')]
    wait_for(lambda: len(http_recs()) >= len(want) and len(fake.docs()) >= len(want), 60,
             'records at both sinks', proc=sl)
    st = sl.stats()
    check_eq(sl.stop(), 0, 'sluice exits 0')
    recs = http_recs()
    check_eq([(r['level'], r['message']) for r in recs], want,
             'http: only ERROR/FATAL, each stack trace one record, in order')
    check(all(r['service_id'] == 'checkout-7' and r['environment'] == 'staging' and r['file'] == log
              for r in recs), 'record_modifier set the ${ENV} fields; Path_Key the file', str(recs[0]))
    check(all(req['headers'].get('Authorization') == 'Bearer tok-123' for req in sink.all()),
          'Authorization: Bearer ${TOKEN} on every request')
    check(all(req['path'] == '/api/v1/logs' for req in sink.all()), 'URI')
    docs = fake.docs()
    check_eq([(s['level'], s['message']) for _, _, s in docs], want,
             'opensearch: the same records, valid bulk bodies (parsed strictly) over verified TLS')
    check(all(meta['_index'] == 'app-logs' for _, meta, _ in docs), 'Index app-logs', str(docs[0]))
    auth = 'Basic ' + base64.b64encode(b'admin:s3cret').decode()
    check(all(r['headers'].get('Authorization') == auth for r in fake.reqs()), 'HTTP_User/HTTP_Passwd')
    check_eq(st['filters']['grep.0']['drop_records'], 3, 'grep dropped the INFO, DEBUG and WARN records')


if __name__ == '__main__':
    main([test_tail_to_kafka, test_tail_grep_http_opensearch])
