#!/usr/bin/env python3
"""test_status_page.py — the status page at `/` (runtime/dp_http_page.html),
rendered by a real headless browser, and `/` unchanged for everyone else.

- A browser (Accept names text/html) gets the page: text/html, no-store.
  Debian's chromium loads it from a running sluice, runs its script (which
  fetches /api/v1/metrics, /api/v1/uptime, /api/v1/storage), and the DOM
  it dumps has the input's, filter's and output's instance names and the
  record count in the cells the page marks with data-name / data-key /
  data-value. An instance name with markup in it (an Alias) shows as text,
  not as elements: the page writes names with textContent.
- Any other client gets Fluent Bit's JSON at `/` exactly as before: its
  src/http_server/flb_hs_endpoints.c endpoint_root answers
  {"fluent-bit": {"version", "edition", "flags"}} as application/json to
  every GET / whatever the Accept (Fluent Bit has no page). Checked for no
  Accept (Fluent Bit's clients, urllib), */* (curl), application/json,
  JSON preferred by q, and text/html with q=0.

Skips (77) the browser test only when no chromium is installed; CI
installs it (scripts/deps.sh).
"""
import html.parser
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import (Fail, check, check_eq, conf, file_out, free_port, log, main, popen, service, skip,
                     tcp_in, wait_for)

BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
ALIAS_IN = 'in<b>&"x'     # markup in a name: must come out as text
ALIAS_OUT = 'to-file'


def get(port, path, accept=None, method='GET'):
    """(status, headers, body text)."""
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path), method=method)
    if accept is not None:
        req.add_header('Accept', accept)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def send_lines(port, n):
    with socket.create_connection(('127.0.0.1', port)) as s:
        s.sendall(b''.join(b'line %d\n' % i for i in range(n)))
        s.shutdown(socket.SHUT_WR)
        s.recv(1)


def http_conf(t, port, **extra):
    return service(t, HTTP_Server='On', HTTP_Listen='127.0.0.1', HTTP_Port=port, **extra)


def pipeline(t, hp, ip):
    return conf(http_conf(t, hp, **{'storage.path': t.path('store')}),
                tcp_in(ip, fmt='none', Alias=ALIAS_IN, **{'storage.type': 'filesystem'}),
                ('FILTER', [('Name', 'grep'), ('Match', '*'), ('Exclude', 'log ^drop')]),
                file_out(t, Alias=ALIAS_OUT),
                ('OUTPUT', [('Name', 'null'), ('Match', '*')]))


class PageDom(html.parser.HTMLParser):
    """From the dumped DOM: {section id: {row data-name: {cell data-key:
    (data-value, text)}}} for the page's tables and the storage grid;
    the tags seen inside a name cell; hidden sections; #state's text."""
    SECTIONS = ('inputs', 'filters', 'outputs', 'storage')

    def __init__(self):
        super().__init__()
        self.tables = {s: {} for s in self.SECTIONS}
        self.hidden = set()
        self.tags_in_names = []
        self.state = ''
        self._stack = []          # (tag, attrs) of open elements
        self._cell = None         # [section, row, key, value, text parts]

    def _find(self, key):
        for tag, a in reversed(self._stack):
            if key in a:
                return a[key]
        return None

    def _section(self):
        for tag, a in reversed(self._stack):
            if a.get('id') in self.SECTIONS:
                return a['id']
        return None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'section' and 'hidden' in a and a.get('id'):
            self.hidden.add(a['id'])
        if self._cell is not None:
            self.tags_in_names.append(tag)
        void = tag in ('meta', 'br', 'img', 'input', 'link', 'hr')
        if not void:
            self._stack.append((tag, a))
        sec = self._section()
        if sec and 'data-key' in a and not void:
            row = self._find('data-name')
            self._cell = [sec, row, a['data-key'], a.get('data-value'), []]

    def handle_endtag(self, tag):
        while self._stack:
            t, a = self._stack.pop()
            if self._cell is not None and 'data-key' in a:
                sec, row, key, value, text = self._cell
                self.tables[sec].setdefault(row, {})[key] = (value, ''.join(text))
                self._cell = None
            if t == tag:
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[4].append(data)
        if any(a.get('id') == 'state' for _, a in self._stack):
            self.state += data


def chromium():
    for name in ('chromium', 'chromium-browser'):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(t, url, extra=()):
    """chromium --headless --dump-dom: the DOM after the page's script ran
    for 5 s of virtual time (virtual time does not pass while a fetch is
    pending, so the first poll's answers are in). Root needs
    --no-sandbox; /dev/shm is small in containers."""
    cmd = [chromium(), '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--no-first-run', '--user-data-dir=' + t.path('chromium-profile'),
           '--virtual-time-budget=5000'] + list(extra) + ['--dump-dom', url]
    p = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)   # our own session: chromium and its children
        p.communicate()
        raise Fail('chromium did not finish within 120 s')
    if p.returncode != 0:
        raise Fail('chromium exited with %d: %s' % (p.returncode, err.decode(errors='replace')[-800:]))
    return out.decode()


def test_page_in_browser(t):
    """N records in through tcp, out to file and null; the page as chromium
    renders it shows the instances and N in their cells."""
    if not chromium():
        skip('chromium is not installed (scripts/deps.sh installs it)')
    n = 1234
    hp, ip = free_port(), free_port()
    sl = t.sluice(pipeline(t, hp, ip))
    st, hdr, body = get(hp, '/', BROWSER_ACCEPT)
    check_eq((st, hdr.get('Content-Type'), hdr.get('Cache-Control')),
             (200, 'text/html; charset=utf-8', 'no-store'), 'a browser gets the page, not cached')
    check(body.startswith('<!doctype html>') and 'src=' not in body and '<link' not in body,
          'the page is self-contained HTML (no external script or stylesheet)')
    send_lines(ip, n)

    def counts():
        m = json.loads(get(hp, '/api/v1/metrics')[2])
        return (m['input'][ALIAS_IN]['records'], m['output'][ALIAS_OUT]['proc_records'],
                m['output']['null.0']['proc_records'])
    wait_for(lambda: counts() == (n, n, n), 30, '%d records in and out of both outputs' % n, proc=sl)

    # the first render may be a poll ahead of a slow (sanitized) sluice: dump
    # again until the page reports an update, within a deadline
    doms = []

    def rendered():
        d = PageDom()
        d.feed(dump_dom(t, 'http://127.0.0.1:%d/' % hp))
        doms.append(d)
        return d if d.state.startswith('updated') else None
    d = wait_for(rendered, 90, 'the page to render a poll', proc=sl, interval=0.5)
    log('  dumped the DOM %d time(s); #state: %r' % (len(doms), d.state))

    ins, outs, flts = d.tables['inputs'], d.tables['outputs'], d.tables['filters']
    check_eq(sorted(ins), [ALIAS_IN], 'the inputs table has one row, named as the input')
    check_eq(ins[ALIAS_IN]['name'][1], ALIAS_IN, 'the name cell shows the name as text, markup and all')
    check_eq(d.tags_in_names, [], 'no element made from a name (textContent, not innerHTML)')
    check_eq(ins[ALIAS_IN]['records'][0], str(n), 'input records cell: data-value N')
    check_eq(ins[ALIAS_IN]['records'][1].replace(',', ''), str(n), 'input records cell shows N')
    check(int(ins[ALIAS_IN]['bytes'][0]) >= n * len('line 0\n'), 'input bytes cell', ins[ALIAS_IN]['bytes'][0])
    check('records_per_sec' in ins[ALIAS_IN], 'input records/s column')

    check_eq(sorted(outs), sorted([ALIAS_OUT, 'null.0']), 'the outputs table: both outputs')
    for o in (ALIAS_OUT, 'null.0'):
        check_eq(outs[o]['proc_records'][0], str(n), '%s proc_records cell: N' % o)
        check_eq(outs[o]['proc_records'][1].replace(',', ''), str(n), '%s proc_records shows N' % o)
        for k in ('errors', 'retries', 'retries_failed', 'dropped_records'):
            check_eq(outs[o][k][0], '0', '%s %s cell: 0' % (o, k))
        check('proc_records_per_sec' in outs[o], '%s records/s column' % o)

    check('filters-section' not in d.hidden and sorted(flts) == ['grep.0'], 'the filters table: grep.0')
    check_eq(flts['grep.0']['drop_records'][0], '0', 'grep.0 drop_records: 0')

    check('storage-section' not in d.hidden, 'the storage section is shown with storage.path')
    check_eq(d.tables['storage']['written_records']['value'][0], str(n), 'storage written_records: N')
    check('backlog_bytes' in d.tables['storage'], 'storage buffer use (backlog_bytes) shown')
    check_eq(sl.stop(), 0, 'sluice exits 0')


def test_root_json_unchanged(t):
    """Everyone but a browser gets Fluent Bit's JSON at `/`, as before the
    page existed; HEAD and the negotiation's edges."""
    hp, ip = free_port(), free_port()
    sl = t.sluice(conf(http_conf(t, hp), tcp_in(ip, fmt='none'), ('OUTPUT', [('Name', 'null'), ('Match', '*')])))
    for accept in (None, '*/*', 'application/json', 'application/json, text/html;q=0.5',
                   'text/html;q=0, */*', 'text/plain', 'application/*'):
        st, hdr, body = get(hp, '/', accept)
        check_eq((st, hdr.get('Content-Type')), (200, 'application/json'), 'Accept %r: JSON' % accept)
        fb = json.loads(body)['fluent-bit']
        check(set(fb) == {'version', 'edition', 'flags'}, "Accept %r: Fluent Bit's shape" % accept, body)
        check(hdr.get('Cache-Control') is None and hdr.get('Vary') == 'Accept',
              'Accept %r: Vary: Accept, no Cache-Control' % accept)
    for accept in (BROWSER_ACCEPT, 'text/html', 'TEXT/HTML; q=0.9, application/json; q=0.9',
                   'application/json;q=0.5, text/html'):
        st, hdr, body = get(hp, '/', accept)
        check_eq((st, hdr.get('Content-Type'), hdr.get('Cache-Control')),
                 (200, 'text/html; charset=utf-8', 'no-store'), 'Accept %r: the page' % accept)
        check('<table id="inputs"' in body, 'Accept %r: the page body' % accept)
    st, hdr, body = get(hp, '/', BROWSER_ACCEPT, method='HEAD')
    check_eq((st, hdr.get('Content-Type'), body), (200, 'text/html; charset=utf-8', ''), 'HEAD / from a browser')
    check_eq(get(hp, '/api/v1/metrics', BROWSER_ACCEPT)[1].get('Content-Type'), 'application/json',
             'other paths answer JSON to a browser too')
    check_eq(sl.stop(), 0, 'sluice exits 0')


if __name__ == '__main__':
    main([test_root_json_unchanged, test_page_in_browser])
