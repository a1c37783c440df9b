"""Backpressure keeps the proxy's memory bounded when one side outruns the other.

Slow reader: the upstream writes as fast as it can (up to 512 MiB) while the client reads
nothing for 2 s and then only ~3 MiB/s.  Fast writer: the client writes as fast as it can
(up to 512 MiB) into an upstream that never reads.

Bound: the proxy's VmRSS may grow at most 64 MiB above its baseline.  The baseline is taken
after a 32 MiB warm-up echo on a --concurrency 1 proxy, so the provided-buffer ring
(1024 x 32 KiB = 32 MiB per worker) and the buffer pool are already touched; what remains
is the 1 MiB per-connection limit plus buffers in flight (measured: under 1 MiB).  Without
backpressure the proxy would read the whole 512 MiB into memory within a second or two.
The bytes the fast side got rid of are also bounded (socket buffers + proxy limit, < 96 MiB),
which shows the stall really propagated back to the writer rather than memory merely being
freed late.
"""

import os
import selectors
import socket
import threading
import time
import unittest

import harness
from harness import MiB

SOURCE_TOTAL = 512 * MiB
RSS_GROWTH_LIMIT_KIB = 64 * 1024
IN_FLIGHT_LIMIT = 96 * MiB
BLOCK = os.urandom(8 * MiB)


class RssSampler:
    def __init__(self, pid):
        self.pid = pid
        self.max = harness.rss_kib(pid)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.wait(0.02):
            try:
                self.max = max(self.max, harness.rss_kib(self.pid))
            except (OSError, AssertionError):
                return

    def close(self):
        self.stop.set()
        self.t.join(2)
        return self.max


def warm_up(px):
    """32 MiB echoed through the proxy: touches the buffer ring and the pool."""
    data = os.urandom(32 * MiB)
    c = harness.connect(px.addr())
    t = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
    t.start()
    got = harness.recv_to_eof(c, timeout=60, limit=len(data) + MiB)
    t.join(30)
    c.close()
    assert got == data, "warm-up echo corrupted"
    time.sleep(0.3)


def first_echo_then(handler):
    """Connection 0 is the warm-up echo; the next one gets `handler`."""
    def dispatch(conn, up, index):
        (harness.echo_handler if index == 0 else handler)(conn, up, index)
    return dispatch


def hold_small_rcvbuf(conn, up, index):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    harness.hold_handler(conn, up, index)


class Backpressure(unittest.TestCase):
    def start(self, up):
        return harness.Proxy(harness.proxy_config([up.endpoint]), ["--concurrency", "1"])

    def test_slow_reader_fast_upstream(self):
        src = harness.source_handler(BLOCK, SOURCE_TOTAL, sndbuf=64 * 1024)
        with harness.Upstream(first_echo_then(src)) as up, self.start(up) as px:
            warm_up(px)
            base = px.rss_kib()
            sampler = RssSampler(px.pid)
            c = harness.connect(px.addr(), rcvbuf=64 * 1024)
            up.wait_accepted(2)
            time.sleep(2.0)  # not reading at all
            stalled_at = up.sent
            # Read slowly, checking the bytes: they must be the source's repeating block.
            got = 0
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                data = harness.recv_exact(c, 64 * 1024, timeout=5)
                off = got % len(BLOCK)
                expect = (BLOCK + BLOCK)[off:off + len(data)]
                self.assertEqual(data, expect, "corrupted at byte %d" % got)
                got += len(data)
                time.sleep(0.02)
            top = sampler.close()
            in_flight = up.sent - got
            c.close()
            px.stop()
        growth = top - base
        print("slow reader: baseline %d KiB, peak %d KiB (+%d KiB); upstream wrote %.1f MiB "
              "while the client read none, %.1f MiB in flight at the end"
              % (base, top, growth, stalled_at / MiB, in_flight / MiB))
        self.assertGreater(stalled_at, 2 * MiB, "the source did not even fill the proxy")
        self.assertLess(stalled_at, IN_FLIGHT_LIMIT, "no backpressure toward the upstream")
        self.assertLess(in_flight, IN_FLIGHT_LIMIT)
        self.assertLess(growth, RSS_GROWTH_LIMIT_KIB)

    def test_fast_writer_upstream_never_reads(self):
        with harness.Upstream(first_echo_then(hold_small_rcvbuf)) as up, \
                self.start(up) as px:
            warm_up(px)
            base = px.rss_kib()
            sampler = RssSampler(px.pid)
            c = harness.connect(px.addr(), sndbuf=64 * 1024)
            up.wait_accepted(2)
            c.setblocking(False)
            sel = selectors.DefaultSelector()
            sel.register(c, selectors.EVENT_WRITE)
            view = memoryview(BLOCK)
            sent = 0
            stalled = False
            end = time.monotonic() + 4.0
            while sent < SOURCE_TOTAL and time.monotonic() < end:
                if not sel.select(1.0):
                    stalled = True  # not writable for a full second: backpressure
                    break
                try:
                    off = sent % len(view)
                    sent += c.send(view[off:off + MiB])
                except BlockingIOError:
                    pass
            sel.close()
            time.sleep(0.5)  # let the proxy settle on whatever it has buffered
            top = sampler.close()
            # The upstream goes first: with our FIN alone the proxy would rightly keep
            # trying to deliver the queued bytes until the drain deadline.
            up.close()
            c.close()
            px.stop()
        growth = top - base
        print("fast writer: baseline %d KiB, peak %d KiB (+%d KiB); client wrote %.1f MiB "
              "before stalling" % (base, top, growth, sent / MiB))
        self.assertTrue(stalled, "client wrote %.1f MiB without ever blocking" % (sent / MiB))
        self.assertGreater(sent, 2 * MiB)
        self.assertLess(sent, IN_FLIGHT_LIMIT)
        self.assertLess(growth, RSS_GROWTH_LIMIT_KIB)


if __name__ == "__main__":
    harness.main()
