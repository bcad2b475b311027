#!/usr/bin/env python3
"""logshipd under a long intake outage: memory, recovery and cost.

  bench/outage.py [--minutes M] [--warmup S] [--rate L] [--logshipd PATH]
                  [--workers W] [--retry-max D] [--dir DIR]

A writer appends --rate lines/s (200 bytes each, numbered) to one file.
After --warmup seconds with the sink up, the sink (bench/sink.py)
answers 503 for --minutes; then it is up again while the writer goes on.
logshipd runs with its default max_buffer_bytes (32MiB). Its RSS is sampled
every second. Reported: peak RSS (warm-up, outage, recovery), RSS at the
end of the outage, recovery time (sink up -> first 2xx; sink up -> every
line written before the sink came up delivered), lines written/received,
CPU seconds (per phase from /proc, total from wait4).

  python3 bench/outage.py --minutes 1     # a quick check, ~2 minutes
  python3 bench/outage.py                 # 10 minutes of outage
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import cpu_s, http, mib, reap, rss_kib, wait_file  # noqa: E402
TOP = os.path.dirname(HERE)
LINE = 200  # bytes per line, newline included: written = size // LINE


def writer(path, rate):
    """The writer process: rate lines/s until SIGTERM."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    head = "2026-11-23T10:00:00.000Z INFO bench-outage %010d "
    pad = "x" * (LINE - 1 - len(head % 0))
    t0 = time.monotonic()
    n = 0
    while not stop:
        want = int((time.monotonic() - t0) * rate)
        if want > n:
            os.write(fd, "".join(head % i + pad + "\n"
                                 for i in range(n, want)).encode())
            n = want
        time.sleep(0.005)
    os.close(fd)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10,
                    help="length of the outage (10)")
    ap.add_argument("--warmup", type=float, default=30,
                    help="seconds with the sink up before the outage (30)")
    ap.add_argument("--rate", type=int, default=10000,
                    help="lines written per second (10000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--retry-max", default="60s",
                    help="the destination's retry.max (60s, the daemon's "
                    "default; the 1s probe, not this, bounds sink up -> "
                    "first 2xx)")
    ap.add_argument("--recovery-timeout", type=float, default=1800)
    ap.add_argument("--logshipd", default=os.path.join(TOP, "build-dev",
                                                         "logshipd"))
    ap.add_argument("--dir", default="/tmp/logshipd-bench-outage")
    ap.add_argument("--writer", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.writer:
        return writer(a.writer[0], int(a.writer[1]))

    run = a.dir
    subprocess.call(["rm", "-rf", run])
    os.makedirs(os.path.join(run, "logs"))
    log = os.path.join(run, "logs", "app.log")
    portf = os.path.join(run, "port")
    procs = []
    sink = subprocess.Popen([sys.executable,
                             os.path.join(HERE, "sink.py"),
                             "--port-file", portf])
    procs.append(sink)
    try:
        wait_file(portf, time.monotonic() + 10)
        port = int(open(portf).read())
        conf = os.path.join(run, "logshipd.yaml")
        with open(conf, "w") as f:
            f.write("""state_dir: %(run)s/state
shutdown_timeout: 30s
metrics: { listen: "" }
scan_interval: 1s
sources:
  - name: bench
    paths: ["%(run)s/logs/*.log"]
    service: bench
destinations:
  - name: sink
    type: datadog
    url: http://127.0.0.1:%(port)d/api/v2/logs
    api_key_env: DD_API_KEY
    workers: %(workers)d
    retry: { max: %(rmax)s }
""" % {"run": run, "port": port, "workers": a.workers,
                "rmax": a.retry_max})
        env = dict(os.environ, DD_API_KEY="bench")
        ls = subprocess.Popen([a.logshipd, "-d", "-c", conf, "-s", "10"],
                              env=env,
                              stderr=open(os.path.join(run, "log"), "w"))
        procs.append(ls)
        wr = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                               "--writer", log, str(a.rate)])
        procs.append(wr)
        t0 = time.monotonic()
        print("logshipd %s, %d lines/s of %d bytes, warm-up %.0f s, outage"
              " %.1f min, max_buffer_bytes 32MiB (default), retry.max %s, "
              "%d workers; in %s" % (a.logshipd, a.rate, LINE, a.warmup,
                                     a.minutes, a.retry_max, a.workers, run),
              flush=True)

        def written():
            return os.path.getsize(log) // LINE if os.path.exists(log) else 0

        def sample_until(end, label):
            peak, last, nxt = 0, 0, time.monotonic()
            while True:
                if ls.poll() is not None:
                    sys.exit("logshipd exited (%s) during the %s"
                             % (ls.returncode, label))
                last = rss_kib(ls.pid)
                peak = max(peak, last)
                nxt += 1.0
                if nxt > end:
                    break
                time.sleep(max(0.0, nxt - time.monotonic()))
            return peak, last

        warm_peak, warm_last = sample_until(t0 + a.warmup, "warm-up")
        cpu0 = cpu_s(ls.pid)
        st = http(port, "/control", json.dumps({"down": True}).encode())
        t_down = time.monotonic()
        behind = written() - st["entries"]
        print("warm-up: RSS %s (peak %s), %d lines delivered, %d behind; "
              "sink down" % (mib(warm_last), mib(warm_peak), st["entries"],
                             behind), flush=True)
        out_peak, out_last = sample_until(t_down + a.minutes * 60, "outage")
        cpu1 = cpu_s(ls.pid)
        w_up = written()
        st = http(port, "/control", json.dumps({"down": False}).encode())
        t_up, got_up = st["up_at"], st["entries"]
        print("outage: peak RSS %s, %s at its end; %d lines written, %d "
              "delivered, %d requests refused; sink up"
              % (mib(out_peak), mib(out_last), w_up, st["entries"],
                 st["refused"]), flush=True)

        # Recovery: sample RSS, poll the sink, until every line written
        # before the sink came up was delivered.
        rec_peak, nxt = 0, time.monotonic()
        while True:
            st = http(port, "/stats")
            if st["entries"] >= w_up:
                caught_up, first_ok = st["last"], st["first_ok_after_up"]
                break
            if ls.poll() is not None:
                sys.exit("logshipd exited (%s) in the recovery"
                         % ls.returncode)
            if time.monotonic() - t_up > a.recovery_timeout:
                sys.exit("no recovery after %.0f s: %d of %d lines"
                         % (a.recovery_timeout, st["entries"], w_up))
            if time.monotonic() >= nxt:
                rec_peak = max(rec_peak, rss_kib(ls.pid))
                nxt += 1.0
            time.sleep(0.05)
        cpu2 = cpu_s(ls.pid)
        wr.send_signal(signal.SIGTERM)
        wr.wait(30)
        total = written()
        end = time.monotonic() + 120
        while True:
            st = http(port, "/stats")
            if st["entries"] >= total or time.monotonic() > end:
                break
            time.sleep(0.05)
        ls.send_signal(signal.SIGTERM)
        _, status, ru = os.wait4(ls.pid, 0)
        ls.returncode = os.waitstatus_to_exitcode(status)
        cpu = ru.ru_utime + ru.ru_stime

        print("results")
        print("  peak RSS          %s (warm-up %s, outage %s, recovery %s);"
              " maxrss %s" % (mib(max(warm_peak, out_peak, rec_peak)),
                              mib(warm_peak), mib(out_peak), mib(rec_peak),
                              mib(ru.ru_maxrss)))
        print("  RSS, outage end   %s" % mib(out_last))
        backlog = w_up - got_up
        print("  recovery          first 2xx %.2f s after sink up; backlog "
              "of %d lines delivered %.2f s after sink up (%.0f lines/s,"
              " while the writer went on)"
              % (first_ok - t_up, backlog, caught_up - t_up,
                 backlog / max(caught_up - t_up, 1e-9)))
        print("  lines             written %d, received %d%s"
              % (total, st["entries"],
                 "" if st["entries"] == total else
                 "  (MISMATCH: %+d)" % (st["entries"] - total)))
        print("  cpu (user+sys)    %.2f s total: warm-up %.2f, outage %.2f,"
              " recovery %.2f, rest %.2f"
              % (cpu, cpu0, cpu1 - cpu0, cpu2 - cpu1, cpu - cpu2))
        print("  exit status       %d; log in %s/log"
              % (ls.returncode, run))
        return 0 if st["entries"] == total and ls.returncode == 0 else 1
    finally:
        reap(procs)


if __name__ == "__main__":
    sys.exit(main())
