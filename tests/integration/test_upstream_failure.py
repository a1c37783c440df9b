"""Upstream down or unreachable: the proxy must close the downstream, not leave it hanging.

Refused: the endpoint is a bound, non-listening port, so the connect gets an RST.
Black hole: the endpoint is a listen(0) socket whose accept queue is full, so the kernel
drops the proxy's SYN and the connect hangs until the cluster's connect_timeout fires.
The time bounds are guards against a hang, not speed measurements.
"""

import time
import unittest

import harness

CONNECT_TIMEOUT_S = 0.5


class UpstreamFailure(unittest.TestCase):
    def check_closed(self, px, bound_s, n=3):
        clients = [harness.connect(px.addr()) for _ in range(n)]
        t0 = time.monotonic()
        for c in clients:
            c.sendall(b"anyone there?\n")
        for c in clients:
            how = harness.wait_closed(c, bound_s - (time.monotonic() - t0))
            self.assertIn(how, ("eof", "reset"),
                          "downstream still open %.1fs after connecting" % bound_s)
            c.close()
        return time.monotonic() - t0

    def test_connect_refused(self):
        with harness.ClosedPort() as down, \
                harness.Proxy(harness.proxy_config([down.endpoint],
                                                   connect_timeout="%gs" % CONNECT_TIMEOUT_S),
                              ["-l", "debug"]) as px:
            self.check_closed(px, bound_s=2.0)
            px.wait_log(r"upstream 127\.0\.0\.1:%d connect failed" % down.endpoint[1])
            # The proxy is still healthy afterwards.
            self.check_closed(px, bound_s=2.0, n=1)
            px.stop()

    def test_connect_timeout_black_hole(self):
        with harness.BlackHole() as hole, \
                harness.Proxy(harness.proxy_config([hole.endpoint],
                                                   connect_timeout="%gs" % CONNECT_TIMEOUT_S),
                              ["-l", "debug"]) as px:
            elapsed = self.check_closed(px, bound_s=CONNECT_TIMEOUT_S + 3.0)
            px.wait_log(r"upstream 127\.0\.0\.1:%d connect timeout" % hole.endpoint[1])
            # Closing before connect_timeout would mean the black hole did not work (or the
            # proxy gave up early); allow for timer granularity.
            self.assertGreaterEqual(elapsed, CONNECT_TIMEOUT_S - 0.1)
            px.stop()


if __name__ == "__main__":
    harness.main()
