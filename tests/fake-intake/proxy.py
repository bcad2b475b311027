#!/usr/bin/env python3
"""A small proxy on loopback for logshipd's end-to-end tests.

One port speaks three proxy protocols, told apart by the first byte:

  HTTP forward   "POST http://host:port/path HTTP/1.1": each request is
                 sent on to host:port (origin-form) and its answer relayed
                 back; keep-alive on both sides. Counted one by one.
  HTTP CONNECT   "CONNECT host:port HTTP/1.1": a tunnel (TLS inside, not
                 looked into). Counted per tunnel, with the target.
  SOCKS5         no authentication; CONNECT by IPv4 address or by name
                 (socks5h). Counted per tunnel, with the target.

Targets are looked up in --map NAME:PORT=127.0.0.1:PORT first, so a test can
name a host that resolves nowhere (and so cannot be reached but through the
proxy), or a Datadog intake host that must never be reached for real. A
target that is not mapped must be a loopback address; anything else is
refused (HTTP 403, SOCKS reply 2): no traffic leaves loopback.

  GET /_proxy_stats   (origin-form, to the proxy itself) counters:
      {"requests": N (forwarded HTTP requests), "tunnels": N,
       "refused": N, "targets": {"host:port": N, ...},
       "kinds": {"forward": N, "connect": N, "socks5": N}}

serve --port-file F [--map NAME:PORT=ADDR:PORT ...]; the port is written
to F. "stats --port-file F" prints the counters. Standard library only.
"""

import argparse
import collections
import http.client
import ipaddress
import json
import os
import select
import signal
import socket
import socketserver
import struct
import sys
import threading

LOCK = threading.Lock()
STATS = {"requests": 0, "tunnels": 0, "refused": 0,
         "targets": collections.Counter(), "kinds": collections.Counter()}
MAP = {}


def count(kind, target, tunnel):
    with LOCK:
        STATS["kinds"][kind] += 1
        STATS["targets"][target] += 1
        STATS["tunnels" if tunnel else "requests"] += 1


def resolve(host, port):
    """Where host:port goes: the map, else a loopback address, else None."""
    host = host.strip("[]").lower()
    key = "%s:%d" % (host, port)
    if key in MAP:
        return MAP[key]
    try:
        if ipaddress.ip_address(host).is_loopback:
            return (host, port)
    except ValueError:
        pass
    with LOCK:
        STATS["refused"] += 1
    return None


def relay(a, b):
    """Copies bytes both ways until one side closes."""
    socks = [a, b]
    while True:
        r, _, _ = select.select(socks, [], [], 120)
        if not r:
            return
        for s in r:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            (b if s is a else a).sendall(data)


def read_head(f):
    """The request or status line and the headers, or None at EOF."""
    line = f.readline(65537)
    if not line:
        return None
    headers = []
    while True:
        h = f.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        headers.append(h)
    return line, headers


def read_exact(f, n):
    b = b""
    while len(b) < n:
        d = f.read(n - len(b))
        if not d:
            raise OSError("short body")
        b += d
    return b


def header(headers, name):
    for h in headers:
        k, _, v = h.decode("latin-1").partition(":")
        if k.strip().lower() == name:
            return v.strip()
    return None


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        first = c.recv(1, socket.MSG_PEEK)
        if not first:
            return
        if first == b"\x05":
            return self.socks5(c)
        # Unbuffered, so a CONNECT tunnel starts with nothing read ahead.
        f = c.makefile("rb", buffering=0)
        upstream = {}
        try:
            while True:
                head = read_head(f)
                if head is None:
                    return
                line, headers = head
                method, target, _ = line.decode("latin-1").split(" ", 2)
                if method == "CONNECT":
                    return self.connect(c, f, target)
                if target == "/_proxy_stats":
                    self.stats(c)
                    continue
                if not self.forward(c, f, method, target, headers, upstream):
                    return
        finally:
            for u in upstream.values():
                u.close()

    def stats(self, c):
        with LOCK:
            body = json.dumps({k: (dict(v) if isinstance(v, dict) else v)
                               for k, v in STATS.items()}).encode()
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def connect(self, c, f, target):
        host, _, port = target.rpartition(":")
        dest = resolve(host, int(port))
        if dest is None:
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            u = socket.create_connection(dest, timeout=10)
        except OSError:
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        count("connect", target.lower(), True)
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        # f is unbuffered: nothing the client sent after the head is held.
        u.settimeout(None)
        try:
            relay(c, u)
        finally:
            u.close()

    def forward(self, c, f, method, target, headers, upstream):
        """One absolute-form request; False when the connection ends."""
        if not target.startswith("http://"):
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
            return False
        rest = target[len("http://"):]
        hostport, slash, path = rest.partition("/")
        host, _, port = hostport.rpartition(":") if ":" in hostport \
            else (hostport, "", "80")
        dest = resolve(host, int(port))
        n = int(header(headers, "content-length") or 0)
        body = read_exact(f, n)
        if dest is None:
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return True
        u = upstream.get(dest)
        if u is None:
            u = http.client.HTTPConnection(dest[0], dest[1], timeout=60)
            upstream[dest] = u
        hdrs = {}
        for h in headers:
            k, _, v = h.decode("latin-1").partition(":")
            if k.strip().lower() in ("proxy-connection", "connection"):
                continue
            hdrs[k.strip()] = v.strip()
        u.request(method, "/" + path, body=body, headers=hdrs)
        r = u.getresponse()
        data = r.read()
        count("forward", hostport.lower(), False)
        out = [b"HTTP/1.1 %d %s\r\n" % (r.status, r.reason.encode())]
        for k, v in r.getheaders():
            if k.lower() in ("content-length", "connection",
                             "transfer-encoding"):
                continue
            out.append(("%s: %s\r\n" % (k, v)).encode("latin-1"))
        out.append(b"Content-Length: %d\r\n\r\n" % len(data))
        c.sendall(b"".join(out) + data)
        return True

    def socks5(self, c):
        def recvn(n):
            b = b""
            while len(b) < n:
                d = c.recv(n - len(b))
                if not d:
                    raise OSError("socks: short read")
                b += d
            return b

        ver, nm = recvn(2)
        recvn(nm)
        c.sendall(b"\x05\x00")  # no authentication
        ver, cmd, _, atyp = recvn(4)
        if atyp == 1:
            host = socket.inet_ntoa(recvn(4))
        elif atyp == 3:
            host = recvn(recvn(1)[0]).decode()
        elif atyp == 4:
            host = socket.inet_ntop(socket.AF_INET6, recvn(16))
        else:
            c.sendall(b"\x05\x08\x00\x01" + b"\0" * 6)
            return
        port = struct.unpack("!H", recvn(2))[0]
        dest = resolve(host, port) if cmd == 1 else None
        if dest is None:
            c.sendall(b"\x05\x02\x00\x01" + b"\0" * 6)
            return
        try:
            u = socket.create_connection(dest, timeout=10)
        except OSError:
            c.sendall(b"\x05\x05\x00\x01" + b"\0" * 6)
            return
        count("socks5", "%s:%d" % (host.lower(), port), True)
        c.sendall(b"\x05\x00\x00\x01" + b"\0" * 6)
        u.settimeout(None)
        try:
            relay(c, u)
        finally:
            u.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        sys.stderr.write("proxy: %s: %s\n" % (client_address[0], e))


def serve(args):
    for m in args.map:
        frm, _, to = m.partition("=")
        host, _, port = to.rpartition(":")
        MAP[frm.lower()] = (host, int(port))
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever,
                         kwargs={"poll_interval": 0.1})
    t.start()
    sys.stderr.write("proxy: listening on 127.0.0.1:%d\n" % port)
    while not stop.wait(1.0):
        pass
    srv.shutdown()
    t.join()
    srv.server_close()
    return 0


def stats(args):
    with open(args.port_file) as f:
        port = int(f.read().strip())
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/_proxy_stats")
    print(c.getresponse().read().decode())
    return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port-file", required=True)
    s.add_argument("--map", action="append", default=[],
                   metavar="NAME:PORT=ADDR:PORT")
    s.set_defaults(fn=serve)
    s = sub.add_parser("stats")
    s.add_argument("--port-file", required=True)
    s.set_defaults(fn=stats)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
