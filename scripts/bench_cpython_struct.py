#!/usr/bin/env python3
"""CPython's `struct` on the records benches/codec.rs measures: pack+unpack, ns per record.

Prints one JSON object {"chapter": ns, "ten": ns} so scripts/bench-codec can compute ratios.
"""
import json
import struct
import timeit

CASES = {
    "chapter": ("I 2s f", (1, b"ab", 2.7)),
    "ten": ("<I H h q Q d f 4s B ?",
            (4_000_000_000, 65_000, -30_000, -9_000_000_000_000,
             18_000_000_000_000_000_000, 2.5e300, 2.7, b"abcd", 200, True)),
}


def measure(fmt, values):
    s = struct.Struct(fmt)  # parse-once, as portsock's Struct
    pack, unpack = s.pack, s.unpack

    def once():
        unpack(pack(*values))

    n = 200_000
    best = min(timeit.repeat(once, number=n, repeat=5))
    return best / n * 1e9


print(json.dumps({name: measure(*case) for name, case in CASES.items()}))
