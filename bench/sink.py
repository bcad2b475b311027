#!/usr/bin/env python3
"""A fast counting sink for the benchmarks: accepts Datadog-style POSTs,
counts entries and bytes, keeps nothing. Much cheaper per entry than the
fake intake of the tests, which parses and records every entry. For
bench/outage.py it can be switched down: while down it reads each request
and answers 503, counting nothing but the refusals.

  sink.py --port-file FILE             serve on 127.0.0.1 (ephemeral port)
          [--latency]                   for each entry with a "lat T" token
                                       (T: CLOCK_MONOTONIC ns when it was
                                       written), how long it took to arrive:
                                       GET /latency gives the percentiles
                                       (bench/live.py)
          [--track]                     also parse each entry and keep, per
                                       "soak W S" token in its message, a
                                       bitmap of the S seen for writer W:
                                       GET /track gives the missing and the
                                       duplicated (bench/soak.py)
  POST /control {"mode": {"status": N, "retry_after": S, "delay_ms": D}}
                                       answers every request so (a fault);
                {"mode": null} back to normal
          [--capacity C --service-ms S] an intake that serves at most C
                                       requests at once, each taking S ms,
                                       and answers 503 to the others
                                       ("busy"): for adaptive concurrency
          [--zlib-sample K [--save DIR]]
                                       every K-th gzip body is also
                                       compressed with zlib level 6, the
                                       reference for bytes on the wire:
                                       GET /zlib6 after the run (bodies
                                       are kept in memory until then;
                                       --save writes them to DIR)
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
import re
import socket
import threading
import time
import zlib

lock = threading.Lock()
stats = {"requests": 0, "entries": 0, "wire_bytes": 0, "raw_bytes": 0,
         "first": 0.0, "last": 0.0, "down": False, "refused": 0,
         "up_at": 0.0, "first_ok_after_up": 0.0, "busy": 0,
         "inflight": 0, "max_inflight": 0}
capacity, service_s = 0, 0.0
track = None  # {writer: [bytearray bitmap, dups, max_seq]} with --track
mode = None
TOKEN = re.compile(rb"soak (\d+) (\d+)")
LAT = re.compile(rb"lat (\d{6,})")
latencies = None  # ms, with --latency
zlib_sample, save_dir = 0, None
samples = []  # (wire bytes, body) of every K-th gzip body
gzip_bodies = 0


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
            if self.path == "/track":
                body = json.dumps(track_report()).encode()
            elif self.path == "/latency":
                body = json.dumps(latency_report()).encode()
            elif self.path == "/zlib6":
                body = json.dumps(zlib6_report()).encode()
            else:
                body = json.dumps(stats).encode()
        self.reply(200, body)

    def control(self, raw):
        req = json.loads(raw or b"{}")
        with lock:
            if "mode" in req:
                global mode
                mode = req["mode"]
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
        with lock:
            m = mode
        if m:
            if m.get("delay_ms"):
                time.sleep(m["delay_ms"] / 1000.0)  # a slow intake
            if m.get("status"):
                with lock:
                    stats["refused"] += 1
                self.send_response(int(m["status"]))
                if m.get("retry_after") is not None:
                    self.send_header("Retry-After", str(m["retry_after"]))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                return
        with lock:
            busy = capacity and stats["inflight"] >= capacity
            if busy:
                stats["busy"] += 1
            else:
                stats["inflight"] += 1
                stats["max_inflight"] = max(stats["max_inflight"],
                                            stats["inflight"])
        if busy:
            return self.reply(503, b'{"error":"busy"}')
        try:
            if service_s:
                time.sleep(service_s)  # the intake's work on the request
            self.accept(raw, t)
        finally:
            # Before the answer: the client may send again at once.
            with lock:
                stats["inflight"] -= 1
        self.reply(202, b"{}")

    def accept(self, raw, t):
        data = raw
        if self.headers.get("Content-Encoding") == "gzip":
            data = zlib.decompress(raw, 47)
        elif self.headers.get("Content-Encoding") == "zstd":
            import zstandard  # Debian: python3-zstandard
            data = zstandard.ZstdDecompressor().decompress(raw)
        # An entry is an object with a "message" key; NDJSON or an array.
        entries = data.count(b'{"message":')
        if latencies is not None:
            now_ns = time.monotonic_ns()
            lat = [(now_ns - int(t)) / 1e6 for t in LAT.findall(data)]
            with lock:
                latencies.extend(lat)
        if track is not None:
            seen = [(int(w), int(s)) for w, s in TOKEN.findall(data)]
            with lock:
                for w, s in seen:
                    t = track.setdefault(w, [bytearray(1 << 20), 0, -1])
                    if s // 8 >= len(t[0]):
                        t[0].extend(bytearray(max(len(t[0]), s // 8 + 1)))
                    if t[0][s // 8] & (1 << (s % 8)):
                        t[1] += 1
                    t[0][s // 8] |= 1 << (s % 8)
                    t[2] = max(t[2], s)
        if zlib_sample and self.headers.get("Content-Encoding") == "gzip":
            self.sample(raw, data)
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


    def sample(self, raw, data):
        global gzip_bodies
        with lock:
            if gzip_bodies % zlib_sample == 0:
                samples.append((len(raw), data))
            gzip_bodies += 1


def zlib6_report():
    """Every K-th gzip body, compressed again with zlib level 6 (after
    the run: the sink must not take CPU from the shipper it measures)."""
    wire = ref = 0
    for i, (n, data) in enumerate(samples):
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        wire += n
        ref += len(z.compress(data) + z.flush())
        if save_dir:
            with open(os.path.join(save_dir, "body-%d.json" % i), "wb") as f:
                f.write(data)
    return {"samples": len(samples), "wire": wire,
            "zlib6": ref}


def latency_report():
    """Percentiles of the entries' latencies, in ms."""
    v = sorted(latencies)
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50": v[len(v) // 2], "p90": v[len(v) * 9 // 10],
            "p99": v[len(v) * 99 // 100], "max": v[-1]}


def track_report():
    """Per writer: the highest seq seen, how many below it are missing,
    and how many arrived more than once."""
    out = {}
    for w, (bits, dups, top) in track.items():
        have = sum(bin(b).count("1") for b in bits)
        out[str(w)] = {"max": top, "seen": have, "dups": dups,
                       "missing_below_max": top + 1 - have}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--capacity", type=int, default=0)
    ap.add_argument("--service-ms", type=float, default=0)
    ap.add_argument("--track", action="store_true")
    ap.add_argument("--latency", action="store_true")
    ap.add_argument("--zlib-sample", type=int, default=0)
    ap.add_argument("--save")
    a = ap.parse_args()
    global capacity, service_s, track, latencies, zlib_sample, save_dir
    zlib_sample, save_dir = a.zlib_sample, a.save
    if a.track:
        track = {}
    if a.latency:
        latencies = []
    capacity, service_s = a.capacity, a.service_ms / 1000.0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
