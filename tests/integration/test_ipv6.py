"""IPv6: a listener on ::1 proxying to an upstream on ::1, and both mixed-family directions.

Exits 77 (ctest SKIP_RETURN_CODE) only when ::1 cannot be bound on this machine.
"""

import os
import socket
import sys
import threading
import unittest

import harness
from harness import MiB


def echo_recording_peer(conn, up, index):
    up.record(("peer", conn.getpeername()[0]))
    harness.echo_handler(conn, up, index)


class Ipv6(unittest.TestCase):
    def roundtrip(self, listen_host, upstream_host):
        data = os.urandom(4 * MiB)
        with harness.Upstream(echo_recording_peer, host=upstream_host) as up, \
                harness.Proxy(harness.proxy_config([up.endpoint], listen_host=listen_host),
                              ["--concurrency", "2"]) as px:
            host, port = px.addr()
            self.assertEqual(host, listen_host, "log did not print the listener address")
            self.assertGreater(port, 0)
            c = harness.connect((host, port))
            self.assertEqual(c.family, socket.AF_INET6 if ":" in listen_host
                             else socket.AF_INET)
            t = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
            t.start()
            got = harness.recv_to_eof(c, timeout=30, limit=len(data) + MiB)
            t.join(10)
            c.close()
            self.assertEqual(harness.sha256(got), harness.sha256(data))
            results = up.wait_results(2)
            self.assertEqual(results[0], ("peer", "::1" if ":" in upstream_host
                                          else "127.0.0.1"))
            self.assertEqual(results[1], len(data))
            px.stop()

    def test_v6_to_v6(self):
        self.roundtrip("::1", "::1")

    def test_v4_to_v6(self):
        self.roundtrip("127.0.0.1", "::1")

    def test_v6_to_v4(self):
        self.roundtrip("::1", "127.0.0.1")


if __name__ == "__main__":
    if not harness.ipv6_available():
        print("::1 is not available here; skipping")
        sys.exit(harness.SKIP)
    harness.main()
