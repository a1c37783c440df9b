"""SIGTERM drains: listeners close at once, open connections finish, then a clean exit.

Also: --drain-time-s bounds the wait for a connection that never finishes, and a second
SIGTERM cuts the drain short.  Exit code 0 in every case.
"""

import os
import signal
import socket
import time
import unittest

import harness
from harness import MiB


def assert_refused_soon(test, addr, timeout=3.0):
    """New connections must be refused once the listeners are closed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = harness.connect(addr, timeout=1)
        except ConnectionRefusedError:
            return
        s.close()
        test.assertLess(time.monotonic(), deadline,
                        "listener still accepting %.1fs after SIGTERM" % timeout)
        time.sleep(0.05)


class Drain(unittest.TestCase):
    def test_open_connection_finishes_then_exit(self):
        data = os.urandom(4 * MiB)
        with harness.Upstream(harness.echo_handler) as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--drain-time-s", "20", "--concurrency", "2"]) as px:
            c = harness.connect(px.addr())
            c.sendall(data[:MiB])
            self.assertEqual(harness.recv_exact(c, MiB), data[:MiB])
            px.signal(signal.SIGTERM)
            px.wait_log(r"draining")
            # The open connection keeps working during the drain.
            c.sendall(data[MiB:])
            self.assertEqual(harness.recv_exact(c, len(data) - MiB, timeout=20), data[MiB:])
            time.sleep(0.3)
            self.assertTrue(px.alive(), "exited while a connection was still open")
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(harness.recv_to_eof(c, timeout=10), b"")
            c.close()
            self.assertEqual(up.wait_results(1), [len(data)])
            t0 = time.monotonic()
            self.assertEqual(px.wait(5), 0, px.log())
            self.assertLess(time.monotonic() - t0, 5)

    def test_new_connections_refused_while_draining(self):
        # Every worker's listening socket must go: with SO_REUSEPORT a socket left open by
        # one worker still completes handshakes for its share of new connections.
        for workers in ("1", "2"):
            with self.subTest(concurrency=workers), \
                    harness.Upstream(harness.echo_handler) as up, \
                    harness.Proxy(harness.proxy_config([up.endpoint]),
                                  ["--drain-time-s", "20", "--concurrency", workers]) as px:
                c = harness.connect(px.addr())
                c.sendall(b"hello\n")
                self.assertEqual(harness.recv_exact(c, 6), b"hello\n")
                px.signal(signal.SIGTERM)
                px.wait_log(r"draining")
                try:
                    assert_refused_soon(self, px.addr())
                    self.assertTrue(px.alive(), "exited while a connection was still open")
                    self.assertEqual(up.accepted, 1)
                finally:
                    c.close()
                self.assertEqual(px.wait(5), 0, px.log())

    def test_drain_deadline_closes_idle_connection(self):
        with harness.Upstream(harness.echo_handler) as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--drain-time-s", "1"]) as px:
            c = harness.connect(px.addr())
            c.sendall(b"hello\n")
            self.assertEqual(harness.recv_exact(c, 6), b"hello\n")
            t0 = time.monotonic()
            px.signal(signal.SIGTERM)
            self.assertEqual(px.wait(4), 0, px.log())
            elapsed = time.monotonic() - t0
            self.assertGreater(elapsed, 0.8, "did not wait for the drain deadline")
            self.assertIn(harness.wait_closed(c, 2), ("eof", "reset"))
            c.close()

    def test_second_sigterm_exits_promptly(self):
        with harness.Upstream(harness.echo_handler) as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--drain-time-s", "60"]) as px:
            c = harness.connect(px.addr())
            c.sendall(b"hello\n")
            self.assertEqual(harness.recv_exact(c, 6), b"hello\n")
            px.signal(signal.SIGTERM)
            px.wait_log(r"draining")
            time.sleep(0.5)
            self.assertTrue(px.alive(), "did not wait for the open connection")
            t0 = time.monotonic()
            px.signal(signal.SIGTERM)
            self.assertEqual(px.wait(3), 0, px.log())
            self.assertLess(time.monotonic() - t0, 3)
            self.assertIn(harness.wait_closed(c, 2), ("eof", "reset"))
            c.close()


if __name__ == "__main__":
    harness.main()
