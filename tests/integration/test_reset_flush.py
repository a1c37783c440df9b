"""When one side of a TCP proxy session fails (here: the upstream resets), the bytes the proxy
already received from it are still delivered to the other side, then a FIN — Envoy's
close(FlushWrite).  Dropping them would truncate a response the upstream did send.

The client does not read at first and the listener's buffer limit is large, so most of the
32 MiB sits in the proxy's chain (beyond what kernel socket buffers can hold) when the RST
arrives; the client must still get every byte, in order, and a clean EOF.
"""

import socket
import struct
import time
import unittest

import harness

TOTAL = 32 * 1024 * 1024
PATTERN = bytes(range(251)) * ((TOTAL // 251) + 1)


def send_then_reset(conn, up, index):
    conn.sendall(PATTERN[:TOTAL])
    time.sleep(1.0)  # let the proxy read all of it before the reset
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST


class ResetFlush(unittest.TestCase):
    def test_upstream_reset_still_delivers_received_bytes(self):
        with harness.Upstream(send_then_reset) as up:
            cfg = harness.proxy_config([up.endpoint], down_buffer_limit=64 * 1024 * 1024)
            with harness.Proxy(cfg, ["--concurrency", "1"]) as px:
                c = harness.connect(px.addr(), timeout=20.0, rcvbuf=4096)
                up.wait_accepted(1)
                time.sleep(2.0)  # upstream has sent everything and reset by now
                got = bytearray()
                while True:
                    d = c.recv(1 << 20)  # a reset here would raise and fail the test
                    if not d:
                        break
                    got += d
                c.close()
                self.assertEqual(len(got), TOTAL)
                self.assertTrue(got == PATTERN[:TOTAL], "bytes out of order or corrupted")
                px.stop()


if __name__ == "__main__":
    harness.main()
