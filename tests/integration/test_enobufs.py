"""A starved provided-buffer ring: with 4 receive buffers per worker, many connections
receiving at once exhaust the ring within one loop turn, the kernel ends their multishot
receives with -ENOBUFS, and the engine must re-arm them — every byte still arrives, in
order, and the exit line counts the -ENOBUFS events (so the path was really taken).
"""

import hashlib
import os
import re
import threading
import unittest

import harness

CONNECTIONS = 100
PAYLOAD = 256 * 1024


class Enobufs(unittest.TestCase):
    def test_tiny_ring_loses_nothing(self):
        harness.raise_nofile(4096)
        with harness.Upstream(harness.echo_handler) as up:
            cfg = harness.proxy_config([up.endpoint])
            args = ["--concurrency", "1", "--io-buffers", "4", "--io-buffer-size", "1024"]
            with harness.Proxy(cfg, args) as px:
                errors = []
                conns = [harness.connect(px.addr(), timeout=30.0) for _ in range(CONNECTIONS)]
                payloads = [os.urandom(PAYLOAD) for _ in range(CONNECTIONS)]
                digests = [None] * CONNECTIONS

                def run(i):
                    try:
                        c = conns[i]
                        got = bytearray()
                        reader = threading.Thread(target=read_all, args=(c, got))
                        reader.start()
                        c.sendall(payloads[i])
                        c.shutdown(harness.socket.SHUT_WR)
                        reader.join(60)
                        digests[i] = hashlib.sha256(got).hexdigest()
                    except Exception as e:  # reported below, per connection
                        errors.append("conn %d: %r" % (i, e))

                threads = [threading.Thread(target=run, args=(i,)) for i in range(CONNECTIONS)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(90)
                self.assertEqual(errors, [])
                for i in range(CONNECTIONS):
                    self.assertEqual(digests[i], hashlib.sha256(payloads[i]).hexdigest(),
                                     "connection %d corrupted" % i)
                for c in conns:
                    c.close()
                log = px.stop()
        m = re.search(r"worker 0: .*enobufs=(\d+)", log)
        self.assertIsNotNone(m, log)
        self.assertGreater(int(m.group(1)), 0, "the ring never ran dry: test did not test")


def read_all(c, got):
    while True:
        d = c.recv(1 << 16)
        if not d:
            return
        got += d


if __name__ == "__main__":
    harness.main()
