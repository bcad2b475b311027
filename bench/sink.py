#!/usr/bin/env python3
"""A fast counting sink for the benchmarks: accepts Datadog-style POSTs,
counts entries and bytes, keeps nothing. Much cheaper per entry than the
fake intake of the tests, which parses and records every entry. For
bench/outage.py it can be switched down: while down it reads each request
and answers 503, counting nothing but the refusals.

  sink.py --port-file FILE             serve on 127.0.0.1 (ephemeral port)
  POST /control {"down": true|false}   switch; answers the stats
  GET  /stats                          {"requests", "entries", "wire_bytes",
                                        "raw_bytes", "first", "last", "down",
                                        "refused", "up_at", "first_ok_after_up"}

Times are time.monotonic() (CLOCK_MONOTONIC: comparable between processes
on Linux). "up_at" is the last down->up switch, "first_ok_after_up" the
arrival of the first request answered 2xx after it (0 until then).
"""
import argparse
import http.server
import json
import os
import socket
import threading
import time
import zlib

lock = threading.Lock()
stats = {"requests": 0, "entries": 0, "wire_bytes": 0, "raw_bytes": 0,
         "first": 0.0, "last": 0.0, "down": False, "refused": 0,
         "up_at": 0.0, "first_ok_after_up": 0.0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body are two writes: without this, Nagle and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            body = json.dumps(stats).encode()
        self.reply(200, body)

    def control(self, raw):
        req = json.loads(raw or b"{}")
        with lock:
            if "down" in req:
                down = bool(req["down"])
                if stats["down"] and not down:
                    stats["up_at"] = time.monotonic()
                    stats["first_ok_after_up"] = 0.0
                stats["down"] = down
            body = json.dumps(stats).encode()
        self.reply(200, body)

    def do_POST(self):
        t = time.monotonic()
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if self.path == "/control":
            return self.control(raw)
        with lock:
            down = stats["down"]
            if down:
                stats["refused"] += 1
        if down:
            return self.reply(503, b'{"error":"down"}')
        data = raw
        if self.headers.get("Content-Encoding") == "gzip":
            data = zlib.decompress(raw, 47)
        # An entry is an object with a "message" key; NDJSON or an array.
        entries = data.count(b'{"message":')
        now = time.monotonic()
        with lock:
            stats["requests"] += 1
            stats["entries"] += entries
            stats["wire_bytes"] += len(raw)
            stats["raw_bytes"] += len(data)
            if not stats["first"]:
                stats["first"] = now
            stats["last"] = now
            if stats["up_at"] and not stats["first_ok_after_up"]:
                stats["first_ok_after_up"] = t
        self.reply(202, b"{}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
