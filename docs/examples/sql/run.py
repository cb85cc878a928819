#!/usr/bin/env python3
"""run.py — run one Streams_File against a few records and print the results.

The examples of docs/SQL.md were produced with it:

    docs/examples/sql/run.py docs/examples/sql/tumbling.conf docs/examples/sql/app.jsonl

It starts build/sluice (or $SLUICE) with
  [INPUT]  tcp, Format none, Tag app.web (--tag), each line becoming {"log": line}
  [FILTER] parser (json): the line's JSON object becomes the record; its
           "time" key, "YYYY-MM-DDTHH:MM:SSZ", becomes the record's time and
           is removed (a line without "time" keeps the time it arrived)
  [OUTPUT] null, Match * (so that no input record is reported unrouted)
  [OUTPUT] stdout, Format json_lines, json_date_format iso8601, Match sql.*
           (--match, a comma-separated list): the results, one JSON object per line
sends the lines of the input file over TCP, stops sluice with SIGTERM
(--wait seconds after the last line, default 3) and prints what it wrote.
A line "sleep N" in the input file pauses N seconds instead of sending; a
line "# ..." is skipped. --stats prints the "stream_tasks" counters of the
Stats_File at the end, --shards N runs N shards (default 1).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SLUICE = os.environ.get('SLUICE', os.path.join(HERE, '..', '..', '..', 'build', 'sluice'))

CONF = """[SERVICE]
    Flush            0.05
    Grace            5
    Log_Level        {log_level}
    Shards           {shards}
    Streams_File     {streams}
    Stats_File       {stats}
    Stats_Interval   0.1

[PARSER]
    Name             json_time
    Format           json
    Time_Key         time
    Time_Format      %Y-%m-%dT%H:%M:%SZ

[INPUT]
    Name             tcp
    Listen           127.0.0.1
    Port             {port}
    Format           none
    Tag              {tag}

[FILTER]
    Name             parser
    Match            *
    Key_Name         log
    Parser           json_time

[OUTPUT]
    Name             null
    Match            *

"""

OUT = """
[OUTPUT]
    Name             stdout
    Match            {match}
    Format           json_lines
    json_date_format iso8601
"""


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('streams')
    ap.add_argument('input')
    ap.add_argument('--tag', default='app.web')
    ap.add_argument('--match', default='sql.*')
    ap.add_argument('--shards', type=int, default=1)
    ap.add_argument('--wait', type=float, default=3.0)
    ap.add_argument('--stats', action='store_true')
    ap.add_argument('--log-level', default='warn')
    a = ap.parse_args()

    d = tempfile.mkdtemp(prefix='sluice-sql-')
    port = free_port()
    conf = os.path.join(d, 'sluice.conf')
    stats = os.path.join(d, 'stats.json')
    with open(conf, 'w') as f:
        f.write(CONF.format(log_level=a.log_level, shards=a.shards,
                            streams=os.path.abspath(a.streams), stats=stats, port=port,
                            tag=a.tag))
        for m in a.match.split(','):
            f.write(OUT.format(match=m))
    p = subprocess.Popen([SLUICE, '-c', conf], stdout=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            sock = socket.create_connection(('127.0.0.1', port))
            break
        except OSError:
            if p.poll() is not None or time.monotonic() > deadline:
                sys.exit('sluice did not start (exit status %s)' % p.poll())
            time.sleep(0.05)
    with open(a.input) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('sleep '):
                time.sleep(float(line.split()[1]))
                continue
            sock.sendall((line + '\n').encode())
    time.sleep(a.wait)
    sock.close()
    st = None
    if a.stats:
        with open(stats) as f:
            st = json.load(f).get('stream_tasks')
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=30)
    shutil.rmtree(d, ignore_errors=True)
    sys.stdout.write(out.decode())
    if st is not None:
        print('stream_tasks: ' + json.dumps(st))
    sys.exit(p.returncode)


if __name__ == '__main__':
    main()
