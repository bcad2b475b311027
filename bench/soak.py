#!/usr/bin/env python3
"""logshipd soak: a long run of mixed load, rotations, reloads and intake
faults; checks that nothing is lost or doubled and that memory stays flat.

  bench/soak.py [--minutes M] [--rate L] [--logshipd PATH] [--dir DIR]

Three writers append numbered lines ("soak W S") of mixed levels at --rate
lines/s each: w0 never rotates; w1 is rotated by rename every 45 s (the
writer reopens at once, like logrotate's create); w2 is rotated by rename
every 70 s and keeps writing to the renamed file for 2 s before reopening
(an application that reopens late). Old rotations are deleted. The sink
(bench/sink.py --track) records which lines arrived. Every 2 minutes the
intake misbehaves: 503 for 20 s, then 429 with Retry-After: 3 for 15 s,
then 800 ms per answer for 15 s. Every 5 minutes logshipd gets a SIGHUP
(a reload of the same file). Its RSS is sampled every second.

At the end the writers stop, the intake is healthy, and the run waits for
every line; then SIGTERM. Pass: no line missing, none doubled, exit 0,
and the peak RSS of the last third of the run within 25% (+8 MiB) of the
first third's (after a 1-minute warm-up).
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
from benchlib import http, reap, rss_kib  # noqa: E402
TOP = os.path.dirname(HERE)
LEVELS = ["INFO"] * 6 + ["DEBUG"] * 2 + ["WARN", "ERROR"]
FAULTS = [(60, None), (20, {"status": 503}),
          (15, {"status": 429, "retry_after": 3}),
          (15, {"delay_ms": 800}), (10, None)]  # 120 s a cycle


def writer(w, path, rate, every, late, out):
    """Writer w: rate lines/s to path; every s (0: never) renames path to
    path.1 (dropping the previous .1), writing late s more to the old file
    before reopening. On SIGTERM writes its count to out."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    fd = os.open(path, flags, 0o644)
    pad = "x" * 120
    t0 = time.monotonic()
    n, next_rot, reopen_at = 0, t0 + every if every else None, None
    while not stop:
        now = time.monotonic()
        if next_rot and now >= next_rot:
            if os.path.exists(path + ".1"):
                os.unlink(path + ".1")
            os.rename(path, path + ".1")
            reopen_at = now + late
            next_rot = now + every
        if reopen_at is not None and now >= reopen_at:
            os.close(fd)
            fd = os.open(path, flags, 0o644)
            reopen_at = None
        want = int((now - t0) * rate)
        if want > n:
            os.write(fd, "".join(
                "2026-11-23T10:00:00.000Z %s soak %d %d %s\n"
                % (LEVELS[i % len(LEVELS)], w, i, pad)
                for i in range(n, want)).encode())
            n = want
        time.sleep(0.01)
    os.close(fd)
    with open(out, "w") as f:
        f.write("%d\n" % n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--logshipd", default=os.path.join(TOP, "build",
                                                         "logshipd"))
    ap.add_argument("--dir", default="/tmp/logshipd-soak")
    ap.add_argument("--writer", nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.writer:
        w, path, rate, every, late, out = a.writer
        return writer(int(w), path, float(rate), float(every), float(late),
                      out)

    run = a.dir
    subprocess.call(["rm", "-rf", run])
    os.makedirs(os.path.join(run, "logs"))
    portf = os.path.join(run, "port")
    procs = []
    sink = subprocess.Popen([sys.executable, os.path.join(HERE, "sink.py"),
                             "--port-file", portf, "--track"])
    procs.append(sink)
    try:
        end = time.monotonic() + 10
        while not os.path.exists(portf):
            if time.monotonic() > end:
                sys.exit("the sink did not start")
            time.sleep(0.05)
        port = int(open(portf).read())
        conf = os.path.join(run, "logshipd.yaml")
        with open(conf, "w") as f:
            f.write("""state_dir: %(run)s/state
shutdown_timeout: 30s
metrics: { listen: "" }
scan_interval: 1s
sources:
  - name: soak
    paths: ["%(run)s/logs/*.log"]
    service: soak
destinations:
  - name: sink
    type: datadog
    url: http://127.0.0.1:%(port)d/api/v2/logs
    api_key_env: DD_API_KEY
    workers: 2
""" % {"run": run, "port": port})
        env = dict(os.environ, DD_API_KEY="soak")
        ls = subprocess.Popen([a.logshipd, "-d", "-c", conf, "-s", "30"],
                              env=env,
                              stderr=open(os.path.join(run, "log"), "w"))
        procs.append(ls)
        writers = []
        for w, (every, late) in enumerate([(0, 0), (45, 0), (70, 2)]):
            out = os.path.join(run, "w%d.count" % w)
            writers.append((out, subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--writer",
                 str(w), os.path.join(run, "logs", "w%d.log" % w),
                 str(a.rate), str(every), str(late), out])))
            procs.append(writers[-1][1])
        print("soak: logshipd %s, %d writers x %d lines/s, %.0f min; in %s"
              % (a.logshipd, len(writers), a.rate, a.minutes, run),
              flush=True)

        t0 = time.monotonic()
        t_end = t0 + a.minutes * 60
        rss = []  # (t, kib)
        fault_i, fault_at, next_hup, hups = 0, t0, t0 + 300, 0
        next_report = t0 + 300
        http(port, "/control", json.dumps({"mode": None}).encode())
        while time.monotonic() < t_end:
            now = time.monotonic()
            if ls.poll() is not None:
                sys.exit("logshipd exited (%s)" % ls.returncode)
            rss.append((now - t0, rss_kib(ls.pid)))
            if now >= fault_at:
                secs, mode = FAULTS[fault_i % len(FAULTS)]
                http(port, "/control", json.dumps({"mode": mode}).encode())
                fault_i += 1
                fault_at = now + secs
            if now >= next_hup:
                ls.send_signal(signal.SIGHUP)
                hups += 1
                next_hup = now + 300
            if now >= next_report:
                st = http(port, "/stats")
                print("  %5.0f s: RSS %.1f MiB (peak so far %.1f), %d "
                      "entries, %d refused"
                      % (now - t0, rss[-1][1] / 1024,
                         max(k for _, k in rss) / 1024, st["entries"],
                         st["refused"]), flush=True)
                next_report = now + 300
            time.sleep(1)

        http(port, "/control", json.dumps({"mode": None}).encode())
        counts = []
        for out, p in writers:
            p.send_signal(signal.SIGTERM)
            p.wait(30)
            counts.append(int(open(out).read()))
        total = sum(counts)
        end = time.monotonic() + 600
        while True:
            tr = http(port, "/track")
            got = sum(tr.get(str(w), {}).get("seen", 0)
                      for w in range(len(counts)))
            if got >= total or time.monotonic() > end:
                break
            time.sleep(0.5)
        ls.send_signal(signal.SIGTERM)
        _, status, ru = os.wait4(ls.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        tr = http(port, "/track")
        st = http(port, "/stats")

        missing = dups = 0
        for w, n in enumerate(counts):
            t = tr.get(str(w), {"max": -1, "seen": 0, "dups": 0})
            missing += n - t["seen"]
            dups += t["dups"]
        third = a.minutes * 60 / 3
        first = max([k for t, k in rss if 60 <= t < third] or [0])
        last = max([k for t, k in rss if t >= 2 * third] or [0])
        flat = last <= first * 1.25 + 8 * 1024
        print("results")
        print("  lines       written %d (%s), received %d distinct; "
              "missing %d, duplicated %d"
              % (total, " + ".join(map(str, counts)),
                 total - missing, missing, dups))
        print("  faults      %d requests refused (503, 429), %d reloads"
              % (st["refused"], hups))
        print("  RSS         peak %.1f MiB; first third %.1f MiB, last "
              "third %.1f MiB: %s"
              % (max(k for _, k in rss) / 1024, first / 1024, last / 1024,
                 "flat" if flat else "GROWING"))
        print("  cpu         %.1f s user+sys (%.2f s per million lines)"
              % (ru.ru_utime + ru.ru_stime,
                 (ru.ru_utime + ru.ru_stime) * 1e6 / max(total, 1)))
        print("  exit status %d; log in %s/log" % (code, run))
        return 0 if missing == 0 and dups == 0 and flat and code == 0 else 1
    finally:
        reap(procs)


if __name__ == "__main__":
    sys.exit(main())
