#!/usr/bin/env python3
"""logshipd live: lines written at a steady rate, shipped as they come.

  bench/live.py [--rate L] [--files N] [--seconds S] [--compression C]
                [--max-wait D] [--logshipd PATH]
                [--shipper "CMD with {logs} {url} {dir}"]
  bench/live.py --sink-capacity

A writer appends --rate lines/s of ~200 bytes, spread over --files files
(1,000 files appended slowly, or 10 appended fast), for --seconds. Each
line carries the CLOCK_MONOTONIC time it was written; the sink (sink.py
--latency) notes when it arrives. Reported: the latency from write to
intake (p50, p90, p99, max), CPU seconds per million lines of the shipper
alone (user+sys, from wait4), its peak RSS, and bytes on the wire.

--shipper runs another shipper on the same input instead of logshipd, for
side-by-side ratios: the command is run through the shell with {logs} (a
glob of the input files), {url} (the sink's Datadog-style intake URL),
{port} and {dir} (a scratch directory) filled in, and DD_API_KEY set. It
must ship what appears in the files and stop on SIGTERM.

--sink-capacity measures the sink itself: 4 client threads post 1000-entry
bodies as fast as they can for 5 s, per encoding; a shipper that comes
near these figures is measuring the sink, not itself.
"""
import argparse
import gzip
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import http, mib, reap, rss_kib, wait_file  # noqa: E402
TOP = os.path.dirname(HERE)
WORDS = ("request shipping database queue user started query worker "
         "completed price job replica refund hit checkout invoice").split()
LEVELS = ["INFO"] * 7 + ["DEBUG", "WARN", "ERROR"]


def writer(logs, nfiles, rate, seconds):
    """rate lines/s over nfiles files for seconds; prints the count."""
    fds = [os.open(os.path.join(logs, "app-%04d.log" % i),
                   os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
           for i in range(nfiles)]
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        want = int((time.monotonic() - t0) * rate)
        while n < want:
            # One write a line: every line's time is its own.
            w = " ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(14))
            line = ("2026-11-23T10:00:00.000Z %s [svc-%d] %s id=%016x lat "
                    "%d\n" % (LEVELS[n % len(LEVELS)], n % 8, w,
                              n * 2654435761 % (1 << 64),
                              time.monotonic_ns()))
            os.write(fds[n % nfiles], line.encode())
            n += 1
        time.sleep(0.001)
    for fd in fds:
        os.close(fd)
    print(n)


def sink_capacity(port):
    body = ("[" + ",".join(
        '{"message":"2026-11-23T10:00:00.000Z INFO %s","status":"info"}'
        % (" ".join(WORDS) * 2) for _ in range(1000)) + "]").encode()
    try:
        import zstandard
        zs = zstandard.ZstdCompressor(level=1).compress(body)
    except ImportError:
        zs = None
    for enc, data in (("identity", body), ("gzip", gzip.compress(body, 6)),
                      ("zstd", zs)):
        if data is None:
            continue
        done = []
        stop = time.monotonic() + 5

        def client():
            n = 0
            while time.monotonic() < stop:
                req = urllib.request.Request(
                    "http://127.0.0.1:%d/api/v2/logs" % port, data=data,
                    headers={"Content-Encoding": enc})
                urllib.request.urlopen(req, timeout=30).read()
                n += 1000
            done.append(n)
        ts = [threading.Thread(target=client) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        print("sink capacity, %s bodies of 1000 entries: %.0f entries/s"
              % (enc, sum(done) / 5))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--files", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--compression", default="gzip")
    ap.add_argument("--max-wait", default="1s")
    ap.add_argument("--logshipd", default=os.path.join(TOP, "build",
                                                         "logshipd"))
    ap.add_argument("--shipper")
    ap.add_argument("--dir", default="/tmp/logshipd-live")
    ap.add_argument("--sink-capacity", action="store_true")
    ap.add_argument("--writer", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.writer:
        return writer(a.writer[0], int(a.writer[1]), float(a.writer[2]),
                      float(a.writer[3]))

    run = a.dir
    subprocess.call(["rm", "-rf", run])
    logs = os.path.join(run, "logs")
    os.makedirs(logs)
    portf = os.path.join(run, "port")
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "sink.py"),
                               "--port-file", portf, "--latency"])]
    try:
        wait_file(portf, time.monotonic() + 10)
        port = int(open(portf).read())
        if a.sink_capacity:
            return sink_capacity(port)
        url = "http://127.0.0.1:%d/api/v2/logs" % port
        env = dict(os.environ, DD_API_KEY="bench")
        if a.shipper:
            cmd = a.shipper.format(logs=os.path.join(logs, "*.log"),
                                   url=url, port=port, dir=run)
            name = shlex.split(cmd)[0]
            # exec: wait4 measures the shipper, not a shell.
            ls = subprocess.Popen(["/bin/sh", "-c", "exec " + cmd], env=env,
                                  stderr=open(os.path.join(run, "log"), "w"))
        else:
            conf = os.path.join(run, "logshipd.yaml")
            with open(conf, "w") as f:
                f.write("""state_dir: %(run)s/state
shutdown_timeout: 30s
metrics: { listen: "" }
sources:
  - name: live
    paths: ["%(logs)s/*.log"]
destinations:
  - name: sink
    type: datadog
    url: %(url)s
    api_key_env: DD_API_KEY
    compression: %(comp)s
    batch: { max_wait: %(wait)s }
""" % {"run": run, "logs": logs, "url": url, "comp": a.compression,
                    "wait": a.max_wait})
            name = "logshipd"
            ls = subprocess.Popen([a.logshipd, "-d", "-c", conf], env=env,
                                  stderr=open(os.path.join(run, "log"), "w"))
        procs.append(ls)
        time.sleep(1)  # the shipper's start-up is not what is measured
        out = os.path.join(run, "written")
        wr = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                               "--writer", logs, str(a.files), str(a.rate),
                               str(a.seconds)], stdout=open(out, "w"))
        procs.append(wr)
        peak = 0
        while wr.poll() is None:
            peak = max(peak, rss_kib(ls.pid))
            time.sleep(0.5)
        n = int(open(out).read())
        end = time.monotonic() + 120
        while http(port, "/stats")["entries"] < n:
            if time.monotonic() > end or ls.poll() is not None:
                sys.exit("%s stopped or timed out" % name)
            peak = max(peak, rss_kib(ls.pid))
            time.sleep(0.1)
        ls.send_signal(signal.SIGTERM)
        _, status, ru = os.wait4(ls.pid, 0)
        cpu = ru.ru_utime + ru.ru_stime
        st, lat = http(port, "/stats"), http(port, "/latency")
        print("%s, %d lines/s over %d files for %.0f s (%d lines), %s"
              % (name, a.rate, a.files, a.seconds, n,
                 "" if a.shipper else "compression " + a.compression +
                 ", max_wait " + a.max_wait))
        print("  latency         p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, "
              "max %.0f ms (write to intake)"
              % (lat["p50"], lat["p90"], lat["p99"], lat["max"]))
        print("  cpu (user+sys)  %.2f s   %.2f s per million lines"
              % (cpu, cpu * 1e6 / n))
        print("  peak rss        %s" % mib(max(peak, ru.ru_maxrss)))
        print("  wire bytes      %d in %d requests; %d entries received"
              % (st["wire_bytes"], st["requests"], st["entries"]))
        return 0 if st["entries"] == n else 1
    finally:
        reap(procs)


if __name__ == "__main__":
    sys.exit(main())
