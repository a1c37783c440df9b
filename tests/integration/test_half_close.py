"""Half-close passes through the proxy in both directions.

A FIN from one side must reach the other only after all data before it, and must not end
the session: the other direction keeps flowing until it closes too (Envoy's tcp_proxy
half-close semantics).
"""

import os
import socket
import time
import unittest

import harness
from harness import MiB

PAYLOAD = os.urandom(2 * MiB)
REPLY = b"reply after your FIN\n" * 1000
LATE = b"client data after upstream FIN\n" * 1000


def read_then_reply(conn, up, index):
    """Read to EOF, pause (the proxy must keep the session), reply, close."""
    got = []
    while True:
        data = conn.recv(256 * 1024)
        if not data:
            break
        got.append(data)
    up.record(("eof", b"".join(got)))
    time.sleep(0.3)
    conn.sendall(REPLY)
    up.record(("replied", len(REPLY)))


def fin_first_then_read(conn, up, index):
    """Send PAYLOAD and FIN first, then keep reading what the client sends until its EOF."""
    conn.sendall(PAYLOAD)
    conn.shutdown(socket.SHUT_WR)
    conn.settimeout(10)
    got = []
    while True:
        data = conn.recv(256 * 1024)
        if not data:
            break
        got.append(data)
    up.record(b"".join(got))


class HalfClose(unittest.TestCase):
    def test_client_fin_first(self):
        with harness.Upstream(read_then_reply) as up, \
                harness.Proxy(harness.proxy_config([up.endpoint])) as px:
            c = harness.connect(px.addr())
            c.sendall(PAYLOAD)
            c.shutdown(socket.SHUT_WR)
            results = up.wait_results(1, timeout=10)
            self.assertEqual(results[0][0], "eof")
            self.assertEqual(len(results[0][1]), len(PAYLOAD))
            self.assertEqual(results[0][1], PAYLOAD, "upstream saw EOF before all the data")
            # The reply is written 0.3 s after the upstream saw our FIN.
            got = harness.recv_to_eof(c, timeout=10)
            self.assertEqual(got, REPLY)
            self.assertEqual(up.wait_results(2)[1], ("replied", len(REPLY)))
            c.close()
            px.stop()

    def test_upstream_fin_first(self):
        with harness.Upstream(fin_first_then_read) as up, \
                harness.Proxy(harness.proxy_config([up.endpoint])) as px:
            c = harness.connect(px.addr())
            got = harness.recv_to_eof(c, timeout=10)
            self.assertEqual(got, PAYLOAD)
            # Our side is still open for writing: send after the upstream's FIN arrived.
            time.sleep(0.3)
            c.sendall(LATE)
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(up.wait_results(1, timeout=10), [LATE])
            # Both directions finished: the proxy must now close its socket entirely, so
            # writing more gets a reset instead of being silently swallowed.
            self.assertTrue(harness.wait_write_fails(c, 5), "downstream socket not closed")
            c.close()
            px.stop()


if __name__ == "__main__":
    harness.main()
