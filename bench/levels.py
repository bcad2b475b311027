#!/usr/bin/env python3
"""Compressors side by side on the bodies logshipd sent: for each saved
body (bench/run.py --compression gzip --save-bodies DIR keeps every
--zlib-sample-th body, uncompressed), the bytes and the CPU time of zlib
level 6 (the reference: what Fluent Bit sends) and of libdeflate at each
level, gzip-wrapped as on the wire.

  levels.py DIR [--levels 1-9] [--zstd-levels 1-9] [--repeat N] [--split K]

Prints, per compressor and level: bytes, bytes relative to zlib level 6,
bytes per line, and compressor CPU seconds per million lines (one core,
the best of N passes, process CPU time), so that a level can be chosen by
measurement; then zstd at each of --zstd-levels (python3-zstandard, the
system libzstd), one frame per body as logshipd sends it.
libdeflate is called through ctypes (libdeflate.so.0, the library
logshipd links), zlib through Python's own module (the system zlib).
--split K cuts each body into K pieces compressed apart (both compressors
alike), to see how the ratio depends on the size of a body.
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import sys
import time
import zlib


def load_bodies(d, split):
    names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
    bodies, lines = [], 0
    for n in names:
        with open(os.path.join(d, n), "rb") as f:
            b = f.read()
        lines += len(json.loads(b))
        step = -(-len(b) // split)
        bodies.extend(b[i:i + step] for i in range(0, len(b), step))
    return bodies, lines, len(names)


def libdeflate():
    name = ctypes.util.find_library("deflate") or "libdeflate.so.0"
    lib = ctypes.CDLL(name)
    lib.libdeflate_alloc_compressor.restype = ctypes.c_void_p
    lib.libdeflate_alloc_compressor.argtypes = [ctypes.c_int]
    lib.libdeflate_free_compressor.argtypes = [ctypes.c_void_p]
    lib.libdeflate_gzip_compress.restype = ctypes.c_size_t
    lib.libdeflate_gzip_compress.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                             ctypes.c_size_t, ctypes.c_void_p,
                                             ctypes.c_size_t]
    return lib


def parse_levels(spec):
    """"6-8" or "6,7" into a list of levels."""
    lo_hi = [int(x) for x in spec.replace(",", "-").split("-")]
    if "," in spec:
        return lo_hi
    return list(range(lo_hi[0], lo_hi[-1] + 1))


def best_of(repeat, one_pass):
    """(bytes, best CPU seconds) of `repeat` passes over every body."""
    best = None
    for _ in range(repeat):
        t0 = time.process_time()
        size = one_pass()
        t = time.process_time() - t0
        best = t if best is None else min(best, t)
    return size, best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--levels", default="1-9",
                    help="libdeflate levels, e.g. 6-8 or 6,7 (default 1-9)")
    ap.add_argument("--zstd-levels", default="1-9",
                    help="zstd levels (default 1-9; none: skip)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--split", type=int, default=1)
    a = ap.parse_args()
    levels = parse_levels(a.levels)
    zlevels = [] if a.zstd_levels == "none" else parse_levels(a.zstd_levels)

    bodies, lines, nbodies = load_bodies(a.dir, max(a.split, 1))
    if not bodies:
        sys.exit("levels.py: no *.json bodies in %s" % a.dir)
    raw = sum(len(b) for b in bodies)
    print("%d bodies in %d pieces, %d lines, %d bytes of JSON (%.0f per line)"
          % (nbodies, len(bodies), lines, raw, raw / lines))

    def zlib6():
        n = 0
        for b in bodies:
            z = zlib.compressobj(6, zlib.DEFLATED, 31)
            n += len(z.compress(b)) + len(z.flush())
        return n

    ref, t = best_of(a.repeat, zlib6)
    print("%-14s %12s %8s %9s %14s" % ("", "bytes", "vs zlib6", "B/line",
                                       "CPU s/M lines"))
    row = "%-14s %12d %8.4f %9.1f %14.2f"
    print(row % ("zlib 6", ref, 1.0, ref / lines, t * 1e6 / lines))

    lib = libdeflate()
    cap = max(len(b) for b in bodies) * 2 + 1024
    out = ctypes.create_string_buffer(cap)
    for level in levels:
        c = lib.libdeflate_alloc_compressor(level)
        if not c:
            sys.exit("levels.py: libdeflate refuses level %d" % level)

        def one(c=c):
            n = 0
            for b in bodies:
                k = lib.libdeflate_gzip_compress(c, b, len(b), out, cap)
                if k == 0:
                    sys.exit("levels.py: libdeflate output over %d" % cap)
                n += k
            return n

        size, t = best_of(a.repeat, one)
        lib.libdeflate_free_compressor(c)
        print(row % ("libdeflate %d" % level, size, size / ref, size / lines,
                     t * 1e6 / lines))
    if zlevels:
        import zstandard
    for level in zlevels:
        cctx = zstandard.ZstdCompressor(level=level)

        def onez(cctx=cctx):
            return sum(len(cctx.compress(b)) for b in bodies)

        size, t = best_of(a.repeat, onez)
        print(row % ("zstd %d" % level, size, size / ref, size / lines,
                     t * 1e6 / lines))


if __name__ == "__main__":
    main()
