#!/usr/bin/env python3
"""Writes realistic log lines of mixed severities, for the demo and bench.

Plain-text lines (timestamp, LEVEL, words, hex ids, numbers) and JSON lines
(with a "level" field), so that both ways logshipd finds a severity are
exercised, and compressors see realistic entropy.

  gen-logs.py --out FILE --count N          write N lines and stop
  gen-logs.py --dir DIR --rate R            append R lines/s to DIR/*.log
                                            until killed
"""
import argparse
import json
import os
import random
import signal
import sys
import time

LEVELS = [("INFO", 60), ("DEBUG", 15), ("WARN", 12), ("ERROR", 8),
          ("NOTICE", 3), ("FATAL", 1), ("CRIT", 1)]
WORDS = ("request user order payment cache miss hit session token upstream "
         "timeout retry connect database query rows latency shard replica "
         "checkout cart inventory price tax shipping invoice refund queue "
         "worker job scheduled completed failed started accepted").split()


def pick_level(rng):
    r = rng.randrange(100)
    for name, weight in LEVELS:
        if r < weight:
            return name
        r -= weight
    return "INFO"


def line(rng, i, as_json):
    level = pick_level(rng)
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(10, 20)))
    rid = "%016x" % rng.getrandbits(64)
    ms = rng.randrange(1, 5000)
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    if as_json:
        return json.dumps({"ts": ts, "level": level.lower(), "msg": words,
                           "request_id": rid, "duration_ms": ms, "seq": i},
                          separators=(",", ":"))
    return "%s.%03d %s [%s] %s id=%s took=%dms seq=%d" % (
        ts, ms % 1000, level, "svc-%d" % (i % 7), words, rid, ms, i)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--dir")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json-every", type=int, default=4,
                    help="one line in N is JSON (0: none)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    def is_json(i):
        return a.json_every > 0 and i % a.json_every == 0

    if a.out:
        with open(a.out, "a", buffering=1 << 20) as f:
            for i in range(a.count):
                f.write(line(rng, i, is_json(i)) + "\n")
        return
    os.makedirs(a.dir, exist_ok=True)
    files = [open(os.path.join(a.dir, n), "a", buffering=1)
             for n in ("app.log", "api.log", "worker.log")]
    i = 0
    start = time.monotonic()
    try:
        while a.count == 0 or i < a.count:
            files[i % 3].write(line(rng, i, i % 3 == 1) + "\n")
            i += 1
            ahead = i / a.rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
