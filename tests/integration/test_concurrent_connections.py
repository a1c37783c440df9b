"""2,000 connections through the proxy, all open at the same time.

Each connection carries a unique message that must come back on the same connection (no
cross-talk between sessions), and the upstream must see all 2,000 open at once before any is
closed.  Afterwards every upstream connection must be closed by the proxy (no leaks).
"""

import selectors
import time
import unittest

import harness

N = 2000


class ConcurrentConnections(unittest.TestCase):
    def test_2000_concurrent(self):
        limit = harness.raise_nofile(4 * N)
        self.assertGreaterEqual(limit, 2 * N + 100,
                                "RLIMIT_NOFILE hard limit too low for %d connections" % N)
        with harness.SelectorEchoServer() as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--concurrency", "2"]) as px:
            conns = []
            try:
                for _ in range(N):
                    conns.append(harness.connect(px.addr(), timeout=10))
                msgs = {}
                for i, c in enumerate(conns):
                    msgs[c] = b"connection %05d says hello %s\n" % (i, b"x" * (i % 50))
                    c.sendall(msgs[c])
                    c.setblocking(False)
                received = {c: b"" for c in conns}
                sel = selectors.DefaultSelector()
                for c in conns:
                    sel.register(c, selectors.EVENT_READ)
                done = 0
                deadline = time.monotonic() + 30
                while done < N:
                    self.assertLess(time.monotonic(), deadline,
                                    "only %d of %d echoes within 30 s" % (done, N))
                    for key, _ in sel.select(1.0):
                        c = key.fileobj
                        data = c.recv(4096)
                        self.assertTrue(data, "connection closed before its echo")
                        received[c] += data
                        self.assertTrue(msgs[c].startswith(received[c]),
                                        "wrong bytes on a connection: %r" % received[c])
                        if received[c] == msgs[c]:
                            sel.unregister(c)
                            done += 1
                sel.close()
                with up.lock:
                    accepted, active, max_active = up.accepted, up.active, up.max_active
                self.assertEqual(accepted, N)
                self.assertEqual(active, N, "upstream connections closed while clients open")
                self.assertEqual(max_active, N)
            finally:
                for c in conns:
                    c.close()
            deadline = time.monotonic() + 15
            while True:
                with up.lock:
                    active = up.active
                if active == 0:
                    break
                self.assertLess(time.monotonic(), deadline,
                                "%d upstream connections still open 15 s after the "
                                "clients closed" % active)
                time.sleep(0.05)
            px.stop()


if __name__ == "__main__":
    harness.main()
