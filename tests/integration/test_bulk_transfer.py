"""64 MiB through the TCP proxy: both directions at once, download only, upload only.

Every byte is checked with sha256 and a byte count on both ends, and the upstream's own
counters prove the data really went through it (not a short-circuit in the proxy).
"""

import os
import socket
import threading
import unittest

import harness
from harness import MiB

SIZE = 64 * MiB
CHUNK = 256 * 1024


def send_all_then_fin(sock, data, errors):
    try:
        view = memoryview(data)
        for off in range(0, len(view), CHUNK):
            sock.sendall(view[off:off + CHUNK])
        sock.shutdown(socket.SHUT_WR)
    except OSError as e:
        errors.append(e)


class BulkTransfer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = os.urandom(SIZE)
        cls.digest = harness.sha256(cls.data)

    def test_bidirectional_echo(self):
        with harness.Upstream(harness.echo_handler, name="echo") as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--concurrency", "2"]) as px:
            c = harness.connect(px.addr())
            errors = []
            writer = threading.Thread(target=send_all_then_fin, args=(c, self.data, errors))
            writer.start()
            echoed = harness.recv_to_eof(c, timeout=60, limit=SIZE + MiB)
            writer.join(30)
            self.assertFalse(writer.is_alive(), "writer stuck")
            self.assertEqual(errors, [])
            c.close()
            self.assertEqual(len(echoed), SIZE)
            self.assertEqual(harness.sha256(echoed), self.digest)
            self.assertEqual(up.wait_results(1), [SIZE])
            self.assertEqual(up.accepted, 1)
            px.stop()

    def test_download(self):
        with harness.Upstream(harness.source_handler(self.data, SIZE), name="source") as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--concurrency", "2"]) as px:
            c = harness.connect(px.addr())
            got = harness.recv_to_eof(c, timeout=60, limit=SIZE + MiB)
            c.close()
            self.assertEqual(len(got), SIZE)
            self.assertEqual(harness.sha256(got), self.digest)
            self.assertEqual(up.wait_results(1), [SIZE])
            px.stop()

    def test_upload(self):
        with harness.Upstream(harness.sink_handler, name="sink") as up, \
                harness.Proxy(harness.proxy_config([up.endpoint]),
                              ["--concurrency", "2"]) as px:
            c = harness.connect(px.addr())
            errors = []
            send_all_then_fin(c, self.data, errors)
            self.assertEqual(errors, [])
            reply = harness.recv_to_eof(c, timeout=60, limit=4096)
            c.close()
            self.assertEqual(reply, b"%d %s\n" % (SIZE, self.digest.encode()))
            self.assertEqual(up.wait_results(1), [(SIZE, self.digest)])
            px.stop()


if __name__ == "__main__":
    harness.main()
