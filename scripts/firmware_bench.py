"""The firmware benchmark's client and its table (scripts/firmware-test, scripts/firmware-bench).

  firmware_bench.py throughput IP PORT         1 MiB echoed over one TCP connection, every byte
                                               checked; prints `throughput: ...` and `result: KiB/s`
  firmware_bench.py roundtrips IP PORT SECS    16-byte round trips on one connection for SECS
                                               seconds, each echo checked; prints `round trips: ...`
                                               and `result: per second`
  firmware_bench.py table FILE                 FILE holds `<image> <kind> <figure>` lines (the
                                               rounds); prints best and median of each image and
                                               the async/blocking ratios of both, goal >= 0.9
"""

import socket
import statistics
import sys
import threading
import time

SIZE = 1 << 20
PROBE = b"0123456789abcdef"


def throughput(fw):
    message = bytes((i * 2654435761 >> 24) & 0xFF for i in range(SIZE))
    sock = socket.create_connection(fw, timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.monotonic()
    sender = threading.Thread(target=sock.sendall, args=(message,))
    sender.start()
    got = bytearray()
    while len(got) < SIZE:
        data = sock.recv(65536)
        if not data:
            break
        got += data
    t1 = time.monotonic()
    sender.join()
    sock.close()
    if bytes(got) != message:
        raise SystemExit(f"1 MiB echo: {len(got)} bytes back, or they differ")
    secs = t1 - t0
    kib_s = SIZE / secs / 1024
    print(f"throughput: 1 MiB echoed in {secs:.2f} s = {kib_s:.0f} KiB/s each way")
    print(f"result: {kib_s:.1f}")


def roundtrips(fw, limit):
    sock = socket.create_connection(fw, timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    n, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < limit:
        sock.sendall(PROBE)
        got = b""
        while len(got) < len(PROBE):
            data = sock.recv(16)
            if not data:
                raise SystemExit(f"round trip {n + 1}: connection closed after {len(got)} bytes")
            got += data
        if got != PROBE:
            raise SystemExit("round trip: the echo differs")
        n += 1
    secs = time.monotonic() - t0
    sock.close()
    if n == 0:
        raise SystemExit("round trips: none completed")
    rate = n / secs
    print(f"round trips: {n} of 16 bytes in {secs:.2f} s = {rate:.0f}/s ({secs / n * 1e3:.2f} ms each)")
    print(f"result: {rate:.1f}")


def table(path):
    rounds = {}
    with open(path) as f:
        for line in f:
            image, kind, figure = line.split()
            rounds.setdefault((kind, image), []).append(float(figure))
    kinds = [("throughput", "1 MiB TCP echo, KiB/s each way"), ("roundtrips", "16-byte round trips/s")]
    print("| measure | image | rounds | best | median | every round |")
    print("|---|---|---|---|---|---|")
    for kind, label in kinds:
        for image in ("blocking", "async"):
            xs = rounds.get((kind, image), [])
            if not xs:
                continue
            every = ", ".join(f"{x:.0f}" for x in xs)
            print(f"| {label} | {image} | {len(xs)} | {max(xs):.0f} | {statistics.median(xs):.0f} | {every} |")
    print()
    print("| async / blocking | of best | of median | goal |")
    print("|---|---|---|---|")
    for kind, label in kinds:
        b, a = rounds.get((kind, "blocking")), rounds.get((kind, "async"))
        if not a or not b:
            continue
        best = max(a) / max(b)
        med = statistics.median(a) / statistics.median(b)
        print(f"| {label} | {best:.2f}× | {med:.2f}× | ≥ 0.9× |")


def main(argv):
    usage = "usage: firmware_bench.py throughput IP PORT | roundtrips IP PORT SECS | table FILE"
    if len(argv) == 3 and argv[0] == "throughput":
        throughput((argv[1], int(argv[2])))
    elif len(argv) == 4 and argv[0] == "roundtrips":
        roundtrips((argv[1], int(argv[2])), float(argv[3]))
    elif len(argv) == 2 and argv[0] == "table":
        table(argv[1])
    else:
        raise SystemExit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
