#!/usr/bin/env python3
"""A fake Datadog-style logs intake for logshipd's end-to-end tests.

It speaks the contract of shared/datadog-intake.md 1.2-1.5 on loopback:

  POST /api/v2/logs      Datadog: JSON array of objects (or one object),
                         DD-API-KEY checked, gzip/deflate/identity bodies,
                         413 over --max-bytes (uncompressed) or
                         --max-entries, 400 on bad JSON or an entry with no
                         string "message", 202 "{}" when accepted.
  POST <any other path>  generic http destination: NDJSON (or a JSON array
                         when Content-Type is application/json and the body
                         starts with '['); 200 when accepted.

Test control (never counted as intake requests):

  POST /_control  {"path": P, "script": [step, ...]}   queue scripted answers
                  {"path": P, "default": step|null}     answer when no script
                  {"reset": true [, "path": P]}         forget scripts/defaults
                  {"clear": true}                       forget entries, stats
        step = {"status": N, "times": K, "retry_after": "3",
                "drop": true, "delay_ms": MS, "body": TEXT}
        Faults (each answers nothing usable; the entries are not kept):
          "body": "<html>"       with "status": 200, an answer that is not
                                 JSON (a captive portal, a wrong proxy)
          "headers": {K: V}      extra answer headers, e.g. with
                                 "status": 302, {"Location": "/elsewhere"}
          "body_bytes": N        a body of N bytes ("x"), e.g. 10 MB with a
                                 500 (the client must not keep it all)
          "reset": true          reads "reset_after" bytes of the body
                                 (default: half), then resets the
                                 connection (RST), never answering
          "truncate": true       answers "status" (default 202) with a
                                 Content-Length larger than what it sends,
                                 then closes the connection
          "stall": true          reads the body, then neither answers nor
                                 closes until the client gives up (or
                                 "stall_ms", default 120000, passes)
        Refusal modes (also serve flags; each applies to every path):
                  {"poison": MARKER|null}   400 to a body whose decoded
                                            text holds MARKER (--poison)
                  {"refuse_all": true|false} 400 to every body (a storm);
                                            false heals (--refuse-all)
                  {"refuse_zstd": N|null}   answer N (415 or 400) to a
                                            zstd body, undecoded
                                            (--refuse-zstd N)
        The refused bodies' entries are kept as "rejected", like a
        scripted answer's.
  GET  /_entries?path=P[&kind=rejected]   recorded entries, arrival order
  GET  /_stats                            counters and a log of requests

Scripted and default answers apply only once the request body was read
(a "reset" step is taken when the request's headers are in, and reads only
part of it). A scripted status answers without recording; the entries it
carried, if they parse, are kept as "rejected" so tests can tell which lines
were refused. The faults record their kind as the request's status in
/_stats ("reset", "truncate", "stall"); "tls_errors" counts failed TLS
handshakes.

serve --tls-cert FILE --tls-key FILE serves HTTPS instead (the client
commands then connect with TLS and do not verify the certificate). With
--tls-client-ca FILE as well, the handshake requires a client certificate
signed by that CA (mTLS); the client commands then present the one named by
the environment variables INTAKE_CLIENT_CERT and INTAKE_CLIENT_KEY.

serve --require-header 'Name: value' (repeatable): every intake request
without that header and value is answered 401 (counted, entries not kept),
like a collector that wants a bearer token or basic auth.

Each request's headers are in /_stats' requests_log ("headers"), except the
values of DD-API-KEY, Authorization and Proxy-Authorization.

The same file is the command-line client the shell tests use: count,
entries, messages, stats, control, post and check (see --help).
Standard library only.
"""

import argparse
import codecs
import collections
import gzip
import http.client
import http.server
import json
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import zlib

DATADOG_PATH = "/api/v2/logs"
CONTROL_PATHS = ("/_control", "/_entries", "/_stats", "/_health")
SECRET_HEADERS = ("dd-api-key", "authorization", "proxy-authorization")


# logshipd replaces every byte of an invalid UTF-8 sequence with U+FFFD;
# Python's "replace" handler replaces a maximal subpart with one U+FFFD.
# "perbyte" resumes after the first bad byte, so each one gets its own.
def _perbyte(err):
    return ("\ufffd", err.start + 1)


codecs.register_error("perbyte", _perbyte)


class BadRequest(Exception):
    def __init__(self, status, why):
        Exception.__init__(self, why)
        self.status = status
        self.why = why


class State:
    """Everything the server remembers; every field under lock."""

    def __init__(self, api_key, max_entries, max_bytes, require=()):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.require = list(require)  # [(name, value)]: 401 without
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.scripts = collections.defaultdict(collections.deque)
        self.defaults = {}
        self.poison = None  # a marker: 400 to bodies that hold it
        self.refuse_all = False  # 400 to everything
        self.refuse_zstd = None  # a status for zstd bodies
        self.clear()

    def clear(self):
        self.entries = collections.defaultdict(list)
        self.rejected = collections.defaultdict(list)
        self.requests = 0
        self.by_status = collections.Counter()
        self.requests_log = []
        self.inflight = 0
        self.max_concurrent = 0
        self.tls_errors = 0

    def next_step(self, path, early=False):
        """The scripted (else default) answer for this request, or None.
        early: before the body is read, only a "reset" step is taken."""
        with self.lock:
            q = self.scripts.get(path)
            while q:
                step = q[0]
                if step["_left"] <= 0:
                    q.popleft()
                    continue
                if early and not step.get("reset"):
                    return None
                step["_left"] -= 1
                if step["_left"] <= 0:
                    q.popleft()
                return step
            step = self.defaults.get(path)
            if early and not (step and step.get("reset")):
                return None
            return step

    def control(self, req):
        if not isinstance(req, dict):
            raise BadRequest(400, "control: want a JSON object")
        path = req.get("path")
        with self.lock:
            if req.get("clear"):
                self.clear()
            if "poison" in req:
                self.poison = req["poison"]
            if "refuse_all" in req:
                self.refuse_all = bool(req["refuse_all"])
            if "refuse_zstd" in req:
                self.refuse_zstd = req["refuse_zstd"]
            if req.get("reset"):
                if path is None:
                    self.scripts.clear()
                    self.defaults.clear()
                else:
                    self.scripts.pop(path, None)
                    self.defaults.pop(path, None)
            if "script" in req:
                if path is None or not isinstance(req["script"], list):
                    raise BadRequest(400, "control: script needs path, list")
                for s in req["script"]:
                    step = check_step(s)
                    step["_left"] = int(s.get("times", 1))
                    self.scripts[path].append(step)
            if "default" in req:
                if path is None:
                    raise BadRequest(400, "control: default needs path")
                if req["default"] is None:
                    self.defaults.pop(path, None)
                else:
                    self.defaults[path] = check_step(req["default"])


def check_step(s):
    if not isinstance(s, dict):
        raise BadRequest(400, "control: a step is a JSON object")
    known = {"status", "times", "retry_after", "drop", "delay_ms", "body",
             "headers", "body_bytes", "reset", "reset_after", "truncate",
             "stall", "stall_ms"}
    extra = set(s) - known
    if extra:
        raise BadRequest(400, "control: unknown step keys %s" % sorted(extra))
    return dict(s)


def decode_body(raw, encoding, limit):
    """Uncompresses raw per Content-Encoding; 413 past limit bytes."""
    enc = (encoding or "identity").strip().lower()
    if enc in ("", "identity", "none"):
        data = raw
    elif enc == "zstd":
        try:
            import zstandard  # Debian: python3-zstandard
        except ImportError:
            raise BadRequest(415, "zstd: no python3-zstandard here")
        try:
            data = zstandard.ZstdDecompressor().decompress(
                raw, max_output_size=limit + 1)
        except zstandard.ZstdError as e:
            raise BadRequest(400, "bad zstd body: %s" % e)
    elif enc in ("gzip", "x-gzip", "deflate"):
        data = b""
        rest = raw
        # gzip may hold several members; deflate is zlib-wrapped or raw.
        wbits = 16 + zlib.MAX_WBITS if enc != "deflate" else zlib.MAX_WBITS
        if enc == "deflate" and raw[:1] and (raw[0] & 0x0F) != 8:
            wbits = -zlib.MAX_WBITS
        while rest:
            d = zlib.decompressobj(wbits)
            try:
                data += d.decompress(rest, limit + 1 - len(data))
            except zlib.error as e:
                raise BadRequest(400, "bad %s body: %s" % (enc, e))
            if len(data) > limit:
                raise BadRequest(413, "above %d bytes uncompressed" % limit)
            if not d.eof:
                raise BadRequest(400, "truncated %s body" % enc)
            rest = d.unused_data
            if enc == "deflate":
                break
    else:
        raise BadRequest(415, "unsupported Content-Encoding %r" % encoding)
    if len(data) > limit:
        raise BadRequest(413, "above %d bytes uncompressed" % limit)
    return data


def parse_entries(path, data, content_type):
    """The list of entries of a decoded body, or BadRequest(400)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadRequest(400, "body is not UTF-8: %s" % e)
    ctype = (content_type or "").split(";")[0].strip().lower()
    if path == DATADOG_PATH or (ctype == "application/json"
                                and text.lstrip().startswith("[")):
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise BadRequest(400, "bad JSON: %s" % e)
        entries = doc if isinstance(doc, list) else [doc]
    else:
        entries = []
        for n, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except ValueError as e:
                raise BadRequest(400, "NDJSON line %d: %s" % (n, e))
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            raise BadRequest(400, "entry %d is not an object" % i)
        if not isinstance(e.get("message"), str):
            raise BadRequest(400, "entry %d has no string message" % i)
    return entries


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-intake/1"

    def setup(self):
        ctx = self.server.tls
        if ctx is not None:
            # The handshake here, in the request's thread: a client that
            # refuses the certificate fails only its own connection.
            try:
                self.request = ctx.wrap_socket(self.request,
                                               server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.server.state.lock:
                    self.server.state.tls_errors += 1
                self.log_message("TLS handshake: %s", e)
                raise
            self.connection = self.request
        super().setup()
        # Headers and body go out as two writes: without TCP_NODELAY,
        # Nagle and the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self):
        super().finish()
        if self.server.tls is not None:
            # The TLS socket replaced the server's: close it here.
            try:
                self.connection.close()
            except OSError:
                pass

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("intake: %s\n" % (fmt % args))

    def finish_rec(self):
        """Ends the bookkeeping of the request under way, if any: before
        the answer's first byte, so a client that sends its next request
        as soon as it has the answer is never counted twice as in flight."""
        rec, self._rec = getattr(self, "_rec", None), None
        if rec is None:
            return
        st = self.server.state
        rec["t_end"] = time.monotonic()
        with st.lock:
            st.inflight -= 1
            st.requests += 1
            st.by_status[rec["status"]] += 1
            st.requests_log.append(rec)

    def answer(self, status, body=b"{}", headers=None,
               ctype="application/json"):
        self.finish_rec()
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def reset(self, step):
        """Reads part of the body, then resets the connection (RST)."""
        n = int(self.headers.get("Content-Length") or 0)
        part = int(step.get("reset_after", n // 2))
        if part > 0:
            self.rfile.read(min(part, n) if n else part)
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        # The socket closes once the buffered reader lets go of it; with
        # SO_LINGER 0 (and unread bytes) the close is a reset.
        self.rfile.close()
        self.connection.close()

    def stall(self, step):
        """Neither answers nor closes until the client does (or stall_ms)."""
        end = time.monotonic() + step.get("stall_ms", 120000) / 1000.0
        self.close_connection = True
        while time.monotonic() < end:
            r, _, _ = select.select([self.connection], [], [], 0.2)
            if r:
                try:
                    if not self.connection.recv(65536):
                        return  # the client closed
                except OSError:
                    return

    def truncated(self, status, body, headers):
        """Promises more body than it sends, then closes."""
        self.finish_rec()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body) + 4096))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    # -- control endpoints ---------------------------------------------
    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/_entries":
            path = q.get("path", [DATADOG_PATH])[0]
            kind = q.get("kind", ["accepted"])[0]
            with st.lock:
                src = st.rejected if kind == "rejected" else st.entries
                body = json.dumps(src.get(path, []))
            self.answer(200, body)
        elif url.path == "/_stats":
            with st.lock:
                body = json.dumps({
                    "requests": st.requests,
                    "by_status": {str(k): v for k, v in
                                  sorted(st.by_status.items(),
                                         key=lambda kv: str(kv[0]))},
                    "entries": {p: len(v) for p, v in st.entries.items()},
                    "rejected": {p: len(v) for p, v in st.rejected.items()},
                    "max_concurrent": st.max_concurrent,
                    "tls_errors": st.tls_errors,
                    "requests_log": st.requests_log,
                })
            self.answer(200, body)
        elif url.path == "/_health":
            self.answer(200, "{}")
        else:
            self.answer(404, '{"error":"not found"}')

    # -- the intake -------------------------------------------------------
    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_control":
            try:
                self.server.state.control(json.loads(self.read_body() or b"{}"))
            except ValueError as e:
                return self.answer(400, json.dumps({"error": str(e)}))
            except BadRequest as e:
                return self.answer(e.status, json.dumps({"error": e.why}))
            return self.answer(200, "{}")
        if url.path in CONTROL_PATHS:
            return self.answer(405, '{"error":"method"}')
        st = self.server.state
        with st.lock:
            st.inflight += 1
            st.max_concurrent = max(st.max_concurrent, st.inflight)
        rec = {"t": time.monotonic(), "path": url.path, "status": None,
               "entries": 0,
               "encoding": self.headers.get("Content-Encoding", "identity"),
               "bytes": 0,
               "headers": {k: ("(secret)" if k.lower() in SECRET_HEADERS
                               else v) for k, v in self.headers.items()}}
        self._rec = rec
        try:
            self.intake(url.path, rec)
        finally:
            self.finish_rec()  # when there was no answer

    do_PUT = do_POST

    def intake(self, path, rec):
        st = self.server.state
        step = st.next_step(path, early=True)
        if step is not None:
            rec["status"] = "reset"
            self.reset(step)
            return
        try:
            raw = self.read_body()
        except (OSError, ValueError) as e:
            rec["status"] = "read-error"
            self.close_connection = True
            self.log_message("reading body: %s", e)
            return
        rec["bytes"] = len(raw)
        step = st.next_step(path)
        if step is not None:
            if step.get("delay_ms"):
                time.sleep(step["delay_ms"] / 1000.0)
            if step.get("drop"):
                rec["status"] = "drop"
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if step.get("stall"):
                rec["status"] = "stall"
                self.finish_rec()
                self.stall(step)
                return
            if step.get("status") is not None or step.get("truncate"):
                status = int(step.get("status", 202))
                rec["status"] = "truncate" if step.get("truncate") \
                    else status
                entries = self.try_parse(path, raw)
                rec["entries"] = len(entries)
                with st.lock:
                    st.rejected[path].extend(entries)
                headers = dict(step.get("headers", {}))
                if step.get("retry_after") is not None:
                    headers["Retry-After"] = str(step["retry_after"])
                if step.get("body_bytes") is not None:
                    body = b"x" * int(step["body_bytes"])
                else:
                    body = step.get("body",
                                    '{"error":"scripted %d"}' % status)
                if isinstance(body, str):
                    body = body.encode()
                if step.get("truncate"):
                    self.truncated(status, body, headers)
                else:
                    self.answer(status, body, headers)
                return
        status, body, n = self.accept(path, raw)
        rec["status"] = status
        rec["entries"] = n  # parsed, whether accepted or not
        self.answer(status, body)

    def try_parse(self, path, raw):
        try:
            data = decode_body(raw, self.headers.get("Content-Encoding"),
                               self.server.state.max_bytes)
            return parse_entries(path, data, self.headers.get("Content-Type"))
        except BadRequest:
            return []

    def refusal(self, data):
        """Why a refusal mode refuses this decoded body, or None."""
        st = self.server.state
        with st.lock:
            poison, storm = st.poison, st.refuse_all
        if storm:
            return "refusing everything (refuse_all)"
        if poison and poison.encode() in data:
            return "poison entry (%s)" % poison
        return None

    def accept(self, path, raw):
        st = self.server.state
        entries = []
        try:
            for name, value in st.require:
                if self.headers.get(name) != value:
                    raise BadRequest(401, "missing or wrong %s" % name)
            if st.api_key is not None and path == DATADOG_PATH and \
                    self.headers.get("DD-API-KEY") != st.api_key:
                raise BadRequest(403, "invalid API key")
            enc = (self.headers.get("Content-Encoding") or "").strip()
            with st.lock:
                refuse_zstd = st.refuse_zstd
            if refuse_zstd is not None and enc.lower() == "zstd":
                raise BadRequest(int(refuse_zstd),
                                 "Content-Encoding zstd not taken here")
            data = decode_body(raw, self.headers.get("Content-Encoding"),
                               st.max_bytes)
            entries = parse_entries(path, data,
                                    self.headers.get("Content-Type"))
            if len(entries) > st.max_entries:
                raise BadRequest(413, "%d entries, above %d" %
                                 (len(entries), st.max_entries))
            refusal = self.refusal(data)
            if refusal is not None:
                with st.lock:
                    st.rejected[path].extend(entries)
                raise BadRequest(400, refusal)
        except BadRequest as e:
            self.log_message("%s: %d %s", path, e.status, e.why)
            return e.status, json.dumps({"error": e.why}), len(entries)
        with st.lock:
            st.entries[path].extend(entries)
        return (202 if path == DATADOG_PATH else 200), "{}", len(entries)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls = None

    def handle_error(self, request, client_address):
        # A refused handshake or a reset is a test's fault, not a bug here:
        # one line, not a traceback.
        e = sys.exc_info()[1]
        if isinstance(e, OSError):
            if not self.quiet:
                sys.stderr.write("intake: %s: %s\n" % (client_address[0], e))
            return
        super().handle_error(request, client_address)


def serve(args):
    require = []
    for h in args.require_header:
        name, sep, value = h.partition(":")
        if not sep:
            raise SystemExit("intake: --require-header wants 'Name: value'")
        require.append((name.strip(), value.strip()))
    state = State(args.api_key, args.max_entries, args.max_bytes, require)
    state.poison = args.poison
    state.refuse_all = args.refuse_all
    state.refuse_zstd = args.refuse_zstd
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = state
    srv.quiet = args.quiet
    if args.tls_cert:
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            srv.tls.verify_mode = ssl.CERT_REQUIRED
            srv.tls.load_verify_locations(args.tls_client_ca)
    tls_mark = args.port_file + ".tls"
    if srv.tls is not None:
        open(tls_mark, "w").close()
    elif os.path.exists(tls_mark):
        os.unlink(tls_mark)
    port = srv.server_address[1]
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1})
    t.start()
    if not args.quiet:
        sys.stderr.write("intake: listening on 127.0.0.1:%d\n" % port)
    while not stop.wait(1.0):
        pass
    srv.shutdown()
    t.join()
    srv.server_close()
    return 0


# -- the client side --------------------------------------------------------
def port_of(args):
    with open(args.port_file) as f:
        return int(f.read().strip())


def connect(args):
    """A connection to the intake: TLS (unverified) when it serves TLS."""
    if os.path.exists(args.port_file + ".tls"):
        ctx = ssl._create_unverified_context()
        if os.environ.get("INTAKE_CLIENT_CERT"):
            ctx.load_cert_chain(os.environ["INTAKE_CLIENT_CERT"],
                                os.environ.get("INTAKE_CLIENT_KEY"))
        return http.client.HTTPSConnection(
            "127.0.0.1", port_of(args), timeout=60, context=ctx)
    return http.client.HTTPConnection("127.0.0.1", port_of(args), timeout=60)


def request(args, method, path, body=None, headers=None):
    c = connect(args)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise SystemExit("intake: %s %s: %d %s" %
                             (method, path, r.status, data.decode()))
        return json.loads(data)
    finally:
        c.close()


def get_entries(args, path, rejected=False):
    q = urllib.parse.urlencode({"path": path,
                                "kind": "rejected" if rejected else "accepted"})
    return request(args, "GET", "/_entries?" + q)


def cmd_count(args):
    print(len(get_entries(args, args.path, args.rejected)))
    return 0


def cmd_entries(args):
    out = sys.stdout
    for e in get_entries(args, args.path, args.rejected):
        out.write(json.dumps(e, ensure_ascii=True) + "\n")
    return 0


def cmd_messages(args):
    out = sys.stdout.buffer
    for e in get_entries(args, args.path, args.rejected):
        out.write(e["message"].encode("utf-8", "backslashreplace") + b"\n")
    return 0


def cmd_stats(args):
    print(json.dumps(request(args, "GET", "/_stats"), indent=1))
    return 0


def cmd_control(args):
    json.loads(args.json)  # fail here, not on the server
    request(args, "POST", "/_control", args.json.encode(),
            {"Content-Type": "application/json"})
    return 0


def cmd_post(args):
    """Sends a body (stdin or --data-file) and prints each answer's status."""
    data = open(args.data_file, "rb").read() if args.data_file \
        else sys.stdin.buffer.read()
    headers = {"Content-Type": args.content_type}
    if args.gzip:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    elif args.deflate:
        data = zlib.compress(data)
        headers["Content-Encoding"] = "deflate"
    for h in args.header:
        k, _, v = h.partition(":")
        headers[k.strip()] = v.strip()
    c = connect(args)
    rc = 0
    for _ in range(args.repeat):
        t0 = time.monotonic()
        try:
            c.request("POST", args.path, body=data, headers=headers)
            r = c.getresponse()
            r.read()
            extra = ""
            if args.show_retry_after:
                extra = " retry-after=%s" % r.getheader("Retry-After")
            print("%d%s%s" % (r.status, extra,
                              " %.3f" % (time.monotonic() - t0)
                              if args.time else ""))
        except (OSError, http.client.HTTPException) as e:
            print("error %s" % type(e).__name__)
            rc = 1
            c.close()
    c.close()
    return rc


def read_lines(fname, decode):
    with open(fname, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [ln.decode("utf-8", decode) for ln in lines]


def cmd_check(args):
    """Exit 0 only when received messages equal the expected lines exactly."""
    expect = read_lines(args.expect, args.decode)
    if args.first is not None:
        if args.first > len(expect):
            print("--first %d: %s has only %d lines" %
                  (args.first, args.expect, len(expect)))
            return 1
        expect = expect[:args.first]
    got = get_entries(args, args.path, args.rejected)
    bad = []
    if args.with_status:
        keyed = []
        for ln in expect:
            st, sep, msg = ln.partition("\t")
            if not sep:
                print("--with-status: line without a tab: %r" % ln[:80])
                return 2
            keyed.append((st, msg))
        want = collections.Counter(keyed)
        have = collections.Counter((e.get("status"), e["message"])
                                   for e in got)
    else:
        want = collections.Counter(expect)
        have = collections.Counter(e["message"] for e in got)
    missing = want - have
    extra = have - want
    duplicated = collections.Counter({k: v for k, v in extra.items()
                                      if k in want})
    unexpected = collections.Counter({k: v for k, v in extra.items()
                                      if k not in want})
    nexp, ngot = sum(want.values()), sum(have.values())
    nmiss, ndup, nunexp = (sum(missing.values()), sum(duplicated.values()),
                           sum(unexpected.values()))
    print("%d expected, %d received, %d missing, %d duplicated, "
          "%d unexpected" % (nexp, ngot, nmiss, ndup, nunexp))

    def show(label, counter):
        for k, n in list(counter.items())[:args.show]:
            s = repr(k)
            if len(s) > 160:
                s = s[:160] + "...(%d chars)" % len(s)
            print("  %s x%d: %s" % (label, n, s))

    show("missing", missing)
    show("duplicated", duplicated)
    show("unexpected", unexpected)
    for e in got:
        if args.status is not None and e.get("status") != args.status:
            bad.append("status %r != %r: %r" % (e.get("status"), args.status,
                                                 e["message"][:80]))
        for kv in args.field:
            k, _, v = kv.partition("=")
            have_v = e.get(k)
            if not isinstance(have_v, str):
                have_v = json.dumps(have_v)
            if have_v != v:
                bad.append("field %s=%r, want %r: %r" %
                           (k, have_v, v, e["message"][:80]))
    if bad:
        print("%d field mismatches" % len(bad))
        for b in bad[:args.show]:
            print("  " + b)
    ok = not (nmiss or ndup or nunexp or bad) and nexp == ngot
    return 0 if ok else 1


def main(argv):
    p = argparse.ArgumentParser(prog="intake.py", description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="run the fake intake")
    s.add_argument("--port-file", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--api-key")
    s.add_argument("--max-entries", type=int, default=1000)
    s.add_argument("--max-bytes", type=int, default=5000000)
    s.add_argument("--quiet", action="store_true")
    s.add_argument("--tls-cert", help="serve HTTPS with this certificate")
    s.add_argument("--tls-key", help="the key of --tls-cert")
    s.add_argument("--tls-client-ca", metavar="FILE",
                   help="require a client certificate signed by this CA")
    s.add_argument("--require-header", action="append", default=[],
                   metavar="'NAME: VALUE'",
                   help="401 to intake requests without this header")
    s.add_argument("--poison", metavar="MARKER",
                   help="answer 400 to bodies that hold MARKER")
    s.add_argument("--refuse-all", action="store_true",
                   help="answer 400 to every body (until a control "
                   "{\"refuse_all\": false} heals it)")
    s.add_argument("--refuse-zstd", type=int, metavar="STATUS",
                   help="answer STATUS (415, 400) to zstd bodies")
    s.set_defaults(fn=serve)

    def client(name, fn, help_):
        c = sub.add_parser(name, help=help_)
        c.add_argument("--port-file", required=True)
        c.set_defaults(fn=fn)
        return c

    def with_path(c):
        c.add_argument("--path", default=DATADOG_PATH)
        c.add_argument("--rejected", action="store_true",
                       help="entries of scripted (refused) answers")
        return c

    with_path(client("count", cmd_count, "print the number of entries"))
    with_path(client("entries", cmd_entries, "print entries as JSON lines"))
    with_path(client("messages", cmd_messages, "print each entry's message"))
    client("stats", cmd_stats, "print the server's stats")
    c = client("control", cmd_control, "send a /_control request")
    c.add_argument("json")
    c = client("post", cmd_post, "POST a body read from stdin")
    c.add_argument("--path", default=DATADOG_PATH)
    c.add_argument("--data-file")
    c.add_argument("--content-type", default="application/json")
    c.add_argument("--gzip", action="store_true")
    c.add_argument("--deflate", action="store_true")
    c.add_argument("--header", action="append", default=[])
    c.add_argument("--repeat", type=int, default=1,
                   help="send N times on one keep-alive connection")
    c.add_argument("--time", action="store_true")
    c.add_argument("--show-retry-after", action="store_true")
    c = with_path(client("check", cmd_check,
                         "compare received messages with a file's lines"))
    c.add_argument("--expect", required=True)
    c.add_argument("--first", type=int,
                   help="expect only the first N lines of the file")
    c.add_argument("--with-status", action="store_true",
                   help="expect lines are STATUS<TAB>MESSAGE")
    c.add_argument("--status", help="every entry has this status")
    c.add_argument("--field", action="append", default=[],
                   help="k=v: every entry's field k equals v")
    c.add_argument("--decode", default="perbyte",
                   choices=["perbyte", "replace", "strict"],
                   help="how invalid UTF-8 in the file is read "
                   "(perbyte: one U+FFFD per bad byte, like logshipd)")
    c.add_argument("--show", type=int, default=5)

    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        sys.exit(1)
