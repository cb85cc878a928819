#!/usr/bin/env python3
"""http_sink.py — the HTTP server of sluice_bench.py's syslog-tcp-http
scenario: HTTP/1.1 keep-alive on 127.0.0.1, a port of its own choosing
printed on the first line of stdout, every request's body read and
discarded, 200 with an empty body; a request to .../_bulk (the
syslog-tcp-opensearch scenario) gets the bulk API's all-accepted answer. One thread per connection (sluice opens
one per output worker). Its CPU is its own, not sluice's. Stops on SIGTERM
or when stdin closes.
"""
import http.server
import socket
import sys
import threading


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY the
        # second waits for the client's delayed ACK (40 ms per request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *a):
        pass

    def do_POST(self):
        left = int(self.headers.get('Content-Length') or 0)
        while left > 0:
            got = self.rfile.read(min(left, 1 << 20))
            if not got:
                return
            left -= len(got)
        body = b'{"took":1,"errors":false,"items":[]}' if self.path.split('?')[0].endswith('/_bulk') else b''
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_PUT = do_POST


def main():
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    sys.stdin.read()   # until the benchmark closes our stdin
    srv.shutdown()


if __name__ == '__main__':
    main()
