"""tcp_proxy idle_timeout: an idle session is closed, an active one is not.

With idle_timeout 1s an idle connection must be closed on both sides within ~3 s (a bound
against a hang, with slack for timer granularity), while a connection that moves a few bytes
every 300 ms must survive well past the timeout.
"""

import time
import unittest

import harness

IDLE_S = 1.0


class IdleTimeout(unittest.TestCase):
    def proxy(self, up):
        return harness.Proxy(harness.proxy_config([up.endpoint], idle_timeout="1s"))

    def test_idle_connection_closed(self):
        with harness.Upstream(harness.echo_handler) as up, self.proxy(up) as px:
            c = harness.connect(px.addr())
            c.sendall(b"ping\n")
            self.assertEqual(harness.recv_exact(c, 5, timeout=5), b"ping\n")
            t0 = time.monotonic()
            how = harness.wait_closed(c, 3.0)
            elapsed = time.monotonic() - t0
            self.assertIn(how, ("eof", "reset"), "idle connection still open after 3 s")
            self.assertGreater(elapsed, IDLE_S - 0.2, "closed before the idle timeout")
            # The upstream side was closed too (the echo handler saw EOF and finished).
            self.assertEqual(up.wait_results(1, timeout=3), [5])
            c.close()
            px.stop()

    def test_active_connection_survives(self):
        with harness.Upstream(harness.echo_handler) as up, self.proxy(up) as px:
            c = harness.connect(px.addr())
            t0 = time.monotonic()
            n = 0
            while time.monotonic() - t0 < 2.5:
                msg = b"tick %d\n" % n
                c.sendall(msg)
                self.assertEqual(harness.recv_exact(c, len(msg), timeout=2), msg,
                                 "active connection broken after %.1fs"
                                 % (time.monotonic() - t0))
                n += 1
                time.sleep(0.3)
            self.assertGreaterEqual(n, 7)
            self.assertEqual(up.accepted, 1)
            # Once it goes quiet the timeout applies again.
            self.assertIn(harness.wait_closed(c, 3.0), ("eof", "reset"))
            c.close()
            px.stop()


if __name__ == "__main__":
    harness.main()
