#!/usr/bin/env python3
"""A loopback HTTP server that answers every GET/POST/HEAD with 200 and
appends "METHOD PATH" per request to LOG: the peer a client-only binary
(the load generator) talks to in the empty-root test, so the test can see
that the binary really sends traffic from its empty root.

Usage: stub_http.py PORT LOG   (binds 127.0.0.1 only)
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"<!doctype html><title>stub</title>ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path}\n")

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, *args) -> None:  # quiet
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
