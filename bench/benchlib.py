"""What the benchmarks share: talking to the sink, waiting for a file,
reading a process's memory and CPU from /proc, and stopping what they
started."""
import json
import os
import subprocess
import sys
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def http(port, path, body=None):
    """GET (or POST body to) the sink on 127.0.0.1:port; its JSON answer."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def wait_file(path, deadline):
    """Until path exists and is not empty; exits past deadline."""
    while not (os.path.exists(path) and os.path.getsize(path) > 0):
        if time.monotonic() > deadline:
            sys.exit("timed out waiting for " + path)
        time.sleep(0.05)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds of pid so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def mib(kib):
    return "%.1f MiB" % (kib / 1024)


def reap(procs):
    """Stops what is still running of procs, the last started first."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
