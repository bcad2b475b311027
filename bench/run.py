#!/usr/bin/env python3
"""logshipd's benchmark: ships N generated lines of ~200 bytes to a
counting sink and reports throughput and cost.

  bench/run.py [--lines N] [--compression gzip|none] [--workers W]
               [--logshipd PATH] [--max-connections N] [--adaptive]
               [--batch ENTRIES] [--sink-capacity C --sink-service-ms S]
               [--journal]

With --journal the same lines are entries of a journal directory, written
once with systemd-journal-remote (MESSAGE, a unit, PRIORITY 6), which a
type: journald source reads: the journal's cost next to the files'.

With --sink-capacity the sink serves at most C requests at once, S ms
each, and answers 503 to the rest: an intake near overload, for comparing
a fixed max_connections with adaptive concurrency (--adaptive).

--repeat N runs it N times and reports the run of median CPU, with the
lowest and highest: on a shared (virtual) machine one run's CPU seconds
vary by 10% or more.

Reported: wall lines/s (from start to the last entry received), CPU
seconds per million lines of logshipd alone (user+sys, from wait4), peak
RSS, and bytes on the wire (request bodies as sent). The sink is measured
the same way, so that it is known not to be the bottleneck.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import http, wait_file  # noqa: E402
TOP = os.path.dirname(HERE)


# Ten rules a user carries over from the Datadog Agent: three excludes
# (health checks, a noisy debug logger, load balancer pings) and seven
# masks (emails, card numbers, bearer tokens, AWS keys, secrets in
# key=value pairs, US SSNs, passwords in URLs). bench/rules-micro.c times
# the same ten alone (keep the two the same).
RULES = r"""    log_processing_rules:
      - {type: exclude_at_match, name: health, pattern: 'GET /(health|ready)z? '}
      - {type: exclude_at_match, name: noisy, pattern: 'com\.example\.noisy'}
      - {type: exclude_at_match, name: lb_ping, pattern: 'ELB-HealthChecker'}
      - {type: mask_sequences, name: email, replace_placeholder: '[email]', pattern: '[\w.+-]+@[\w-]+\.[\w.]+'}
      - {type: mask_sequences, name: card, replace_placeholder: '[card]', pattern: '\b(?:\d[ -]?){13,16}\b'}
      - {type: mask_sequences, name: bearer, replace_placeholder: 'Bearer [token]', pattern: '(?i)bearer\s+[\w.~+/-]+=*'}
      - {type: mask_sequences, name: aws_key, replace_placeholder: '[aws-key]', pattern: '\bAKIA[0-9A-Z]{16}\b'}
      - {type: mask_sequences, name: secret, replace_placeholder: '$1=[secret]', pattern: '(?i)\b(secret|token|api_key)=\S+'}
      - {type: mask_sequences, name: ssn, replace_placeholder: '[ssn]', pattern: '\b\d{3}-\d{2}-\d{4}\b'}
      - {type: mask_sequences, name: url_pass, replace_placeholder: '://$1:[pass]@', pattern: '://([^:/\s]+):[^@/\s]+@'}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--compression", default="gzip")
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--logshipd", default=os.path.join(TOP, "build",
                                                         "logshipd"))
    ap.add_argument("--dir", default="/tmp/logshipd-bench")
    ap.add_argument("--max-connections", type=int, default=0)
    ap.add_argument("--adaptive", action="store_true")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--buffer", default="",
                    help="max_buffer_bytes (default: logshipd's)")
    ap.add_argument("--sink-capacity", type=int, default=0)
    ap.add_argument("--sink-service-ms", type=float, default=0)
    ap.add_argument("--zlib-sample", type=int, default=10,
                    help="gzip: compare every K-th body with zlib level 6 "
                    "(0: off)")
    ap.add_argument("--save-bodies",
                    help="keep the sampled bodies in this directory")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--source-keys", default="",
                    help="more keys of the source, one YAML line each, "
                    "separated by ';' (e.g. 'file_tags: false')")
    ap.add_argument("--rules", action="store_true",
                    help="ten typical log_processing_rules on the source "
                    "(the cost of issue 15's rules)")
    ap.add_argument("--journal", action="store_true",
                    help="read the lines from a journal (type: journald)")
    a = ap.parse_args()
    if a.repeat > 1:
        return repeat(a.repeat)

    os.makedirs(a.dir, exist_ok=True)
    data = os.path.join(a.dir, "input-%d.log" % a.lines)
    if not os.path.exists(data):
        print("generating %d lines into %s" % (a.lines, data))
        subprocess.check_call([sys.executable,
                               os.path.join(TOP, "scripts", "gen-logs.py"),
                               "--out", data + ".tmp", "--count",
                               str(a.lines)])
        os.rename(data + ".tmp", data)
    size = os.path.getsize(data)
    if a.journal:
        source = ('    type: journald\n    directory: "%s"\n'
                  % make_journal(a, data))
    else:
        source = '    paths: ["%s"]\n' % data

    run = os.path.join(a.dir, "run")
    subprocess.call(["rm", "-rf", run])
    os.makedirs(run)
    portf = os.path.join(run, "port")
    sink = subprocess.Popen([sys.executable, os.path.join(HERE, "sink.py"),
                             "--port-file", portf,
                             "--capacity", str(a.sink_capacity),
                             "--service-ms", str(a.sink_service_ms),
                             "--zlib-sample", str(a.zlib_sample)]
                            + (["--save", a.save_bodies] if a.save_bodies
                               else []))
    try:
        wait_file(portf, time.monotonic() + 10)
        port = int(open(portf).read())
        conf = os.path.join(run, "logshipd.yaml")
        with open(conf, "w") as f:
            f.write("""state_dir: %(run)s/state
shutdown_timeout: 30s
metrics: { listen: "" }
%(buffer)s
sources:
  - name: bench
%(source)s    service: bench
    ddsource: bench
    tags: ["env:bench"]
%(srckeys)s%(rules)sdestinations:
  - name: sink
    type: datadog
    url: http://127.0.0.1:%(port)d/api/v2/logs
    api_key_env: DD_API_KEY
    workers: %(workers)d
    compression: %(comp)s
    compression_level: %(level)d
    max_connections: %(maxc)d
    adaptive_concurrency: %(adaptive)s
    batch: { max_entries: %(batch)d }
    retry: { initial: 100ms, max: 5s }
""" % {"run": run, "source": source, "port": port, "workers": a.workers,
                "comp": a.compression, "level": a.level,
                "maxc": a.max_connections or a.workers,
                "adaptive": "true" if a.adaptive else "false",
                "batch": a.batch,
                "buffer": "max_buffer_bytes: " + a.buffer if a.buffer
                else "",
                "rules": RULES if a.rules else "",
                "srckeys": "".join("    %s\n" % k.strip() for k in
                                   a.source_keys.split(";") if k.strip())})
        env = dict(os.environ, DD_API_KEY="bench")
        t0 = time.monotonic()
        ls = subprocess.Popen([a.logshipd, "-d"] + (["-vv"] if os.environ.get("BENCH_DEBUG") else []) + ["-c", conf], env=env,
                              stderr=open(os.path.join(run, "log"), "w"))
        deadline = t0 + 600
        while True:
            st = http(port, "/stats")
            if st["entries"] >= a.lines:
                break
            if ls.poll() is not None or time.monotonic() > deadline:
                sys.exit("logshipd stopped or timed out at %d entries"
                         % st["entries"])
            time.sleep(0.05)
        wall = st["last"] - t0
        ls.send_signal(signal.SIGTERM)
        _, status, ru = os.wait4(ls.pid, 0)
        cpu = ru.ru_utime + ru.ru_stime
        print("logshipd %s, %d workers, %d lines (%.1f MB, %.0f B/line)%s"
              % (a.compression, a.workers, a.lines, size / 1e6,
                 size / a.lines, ", from a journal" if a.journal else ""))
        print("  wall            %.2f s   %.0f lines/s" % (wall,
                                                        a.lines / wall))
        print("  cpu (user+sys)  %.2f s   %.2f s per million lines"
              "   %.0f lines per cpu-second"
              % (cpu, cpu * 1e6 / a.lines, a.lines / cpu))
        print("  peak rss        %.1f MiB" % (ru.ru_maxrss / 1024))
        print("  wire bytes      %d (%.3f of %d uncompressed), %d requests,"
              " %.0f entries/request"
              % (st["wire_bytes"], st["wire_bytes"] / max(st["raw_bytes"], 1),
                 st["raw_bytes"], st["requests"],
                 st["entries"] / max(st["requests"], 1)))
        if a.zlib_sample and a.compression == "gzip":
            z = http(port, "/zlib6")
            print("  vs zlib 6       %.4f (%d sampled bodies: %d bytes sent,"
                  " %d by zlib level 6)"
                  % (z["wire"] / max(z["zlib6"], 1), z["samples"],
                     z["wire"], z["zlib6"]))
        print("  exit status     %d, entries received %d"
              % (os.waitstatus_to_exitcode(status), st["entries"]))
        if a.sink_capacity:
            retries = "?"
            for ln in open(os.path.join(run, "log")):
                if "destination sink:" in ln and "retries=" in ln:
                    retries = ln.split("retries=")[1].split()[0]
            print("  sink            capacity %d, %g ms per request: %d "
                  "answered 503 busy, at most %d at once; logshipd "
                  "retries %s"
                  % (a.sink_capacity, a.sink_service_ms, st["busy"],
                     st["max_inflight"], retries))
    finally:
        sink.terminate()
        sink.wait()


def make_journal(a, data):
    """The lines of data as a journal directory (made once, kept beside
    the input): systemd-journal-remote writes it from the export format."""
    jdir = os.path.join(a.dir, "journal-%d" % a.lines)
    if os.path.exists(os.path.join(jdir, "done")):
        return jdir
    remote = next((p for p in ("/lib/systemd/systemd-journal-remote",
                               "/usr/lib/systemd/systemd-journal-remote")
                   if os.access(p, os.X_OK)), None)
    if remote is None:
        sys.exit("--journal needs systemd-journal-remote (scripts/deps.sh)")
    subprocess.call(["rm", "-rf", jdir])
    os.makedirs(jdir)
    print("writing %d journal entries into %s" % (a.lines, jdir))
    now = int(time.time() * 1e6) - a.lines
    p = subprocess.Popen([remote, "-o", os.path.join(jdir, "x.journal"),
                          "-"], stdin=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    with open(data, "rb") as f:
        buf = []
        for i, line in enumerate(f):
            buf.append(b"__REALTIME_TIMESTAMP=%d\n_SYSTEMD_UNIT=bench.service"
                       b"\nSYSLOG_IDENTIFIER=bench\n_PID=4242\n"
                       b"PRIORITY=6\nMESSAGE=%s\n" % (now + i, line))
            if len(buf) == 10000:
                p.stdin.write(b"".join(buf))
                buf = []
        p.stdin.write(b"".join(buf))
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("systemd-journal-remote failed")
    open(os.path.join(jdir, "done"), "w").close()
    return jdir


def repeat(n):
    """Runs this script n times (the other arguments as given) and prints
    the output of the run with the median CPU time, then the spread."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip or arg == "--repeat" or arg.startswith("--repeat="):
            skip = arg == "--repeat"
            continue
        argv.append(arg)
    runs = []
    for i in range(n):
        out = subprocess.run([sys.executable, os.path.abspath(__file__)]
                             + argv, stdout=subprocess.PIPE, check=True,
                             universal_newlines=True).stdout
        m = re.search(r"cpu \(user\+sys\)\s+([0-9.]+) s", out)
        runs.append((float(m.group(1)), out))
        print("run %d: %.2f CPU-s" % (i + 1, runs[-1][0]), flush=True)
    runs.sort(key=lambda r: r[0])
    print(runs[len(runs) // 2][1], end="")
    print("  over %d runs    cpu median %.2f s, lowest %.2f, highest %.2f"
          % (n, runs[len(runs) // 2][0], runs[0][0], runs[-1][0]))


if __name__ == "__main__":
    main()
