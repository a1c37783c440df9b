"""The echo network filter and the embedded default config.

The default config is the quick start's promise: with nothing else running, port 10000
proxies to an echo service on 10001.  Those ports are fixed by design there, so that test
is skipped when either is taken on this machine instead of fighting over it.  The echo
filter itself is tested on kernel-chosen ports.
"""

import socket
import threading
import unittest

import harness

ECHO_TYPE = "type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo"


def echo_config():
    return """static_resources:
  listeners:
  - name: echo
    per_connection_buffer_limit_bytes: 65536
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.echo
        typed_config: {"@type": %s}
""" % ECHO_TYPE


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def roundtrip(addr, payload, timeout=10.0):
    """Send payload while reading (echo pushes back when nobody reads), half-close, read
    until EOF; returns what came back."""
    got = bytearray()
    with socket.create_connection(addr, timeout=timeout) as c:
        reader = threading.Thread(target=lambda: read_all(c, got))
        reader.start()
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        reader.join(timeout)
        if reader.is_alive():
            raise AssertionError("no EOF after %d of %d bytes" % (len(got), len(payload)))
    return bytes(got)


def read_all(c, got):
    while True:
        d = c.recv(1 << 16)
        if not d:
            return
        got += d


class Echo(unittest.TestCase):
    def test_echo_filter_large_and_half_close(self):
        # 8 MiB through a 64 KiB limit: reading must pause and resume, nothing lost, and the
        # FIN comes back after the last byte.
        payload = bytes(range(256)) * (32 * 1024)
        with harness.Proxy(echo_config()) as px:
            addr = px.addr("echo")
            for _ in range(3):
                self.assertEqual(roundtrip(addr, payload), payload)
            px.stop()

    def test_default_config_echoes_through_the_proxy(self):
        if not (port_free(10000) and port_free(10001)):
            self.skipTest("ports 10000/10001 are taken on this machine")
        with harness.Proxy(None, ["--concurrency", "2"]) as px:
            self.assertEqual(px.addr("proxy"), ("127.0.0.1", 10000))
            self.assertEqual(px.addr("echo"), ("127.0.0.1", 10001))
            for i in range(10):
                msg = b"hello %d\n" % i
                self.assertEqual(roundtrip(("127.0.0.1", 10000), msg), msg)
            log = px.stop()
            self.assertIn("embedded default", log)

    def test_validate_default(self):
        r = harness.run_ringway(["--mode", "validate"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration '<embedded default>' OK", r.stdout)
        r = harness.run_ringway(["--print-default-config"])
        self.assertEqual(r.returncode, 0)
        self.assertIn(ECHO_TYPE, r.stdout)


if __name__ == "__main__":
    harness.main()
