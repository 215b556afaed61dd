#!/usr/bin/python3
"""Opens N idle HTTP/2 connections (h2c, prior knowledge) to 127.0.0.1:PORT and holds them.

Each connection sends the client preface and an empty SETTINGS frame, waits for the server's
SETTINGS and acknowledges it, then stays silent. Connections open in batches of BATCH (each batch
waits for its SETTINGS), so a slow acceptor is paced instead of overflowing its backlog.

Prints "ready K CLOSED" once every connection has been answered (or the timeout passed), then holds
everything open until its standard input closes or it gets SIGTERM.

    bench/idle_conns.py N PORT [TIMEOUT_S]
"""
import resource
import selectors
import signal
import socket
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
BATCH = 250


def main():
    n, port = int(sys.argv[1]), int(sys.argv[2])
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if hard != resource.RLIM_INFINITY and hard < want:
        print(f"fd limit {hard} is below {want}", file=sys.stderr)
        return 2
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    deadline = time.monotonic() + timeout
    held, answered, closed = [], 0, 0
    sel = selectors.DefaultSelector()
    while len(held) < n and time.monotonic() < deadline:
        batch = []
        for _ in range(min(BATCH, n - len(held))):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(PREFACE)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
            batch.append(s)
        held.extend(batch)
        waiting = len(batch)
        while waiting and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                s, buf = key.fileobj, key.data
                try:
                    chunk = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    sel.unregister(s)
                    closed += 1
                    waiting -= 1
                    continue
                buf += chunk
                while len(buf) >= 9:
                    length = int.from_bytes(buf[0:3], "big")
                    ftype, flags = buf[3], buf[4]
                    if len(buf) < 9 + length:
                        break
                    del buf[:9 + length]
                    if ftype == 4 and not flags & 1:
                        s.setblocking(True)
                        s.sendall(SETTINGS_ACK)
                        s.setblocking(False)
                        sel.unregister(s)
                        answered += 1
                        waiting -= 1
                        break
    print(f"ready {answered} {closed}", flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    for s in held:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
