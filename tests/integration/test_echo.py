"""The echo network filter and the embedded default config.

The default config is the quick start's promise: with nothing else running, port 10000
serves HTTP with routing (a welcome page, /api/ proxied to the backend listener on 10001, a
redirect) and 10002 proxies TCP to an echo service on 10003.  Those ports are fixed by
design there, so that test is skipped when one is taken instead of fighting over it.  The echo
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


def http_get(addr, path):
    """One GET with Connection: close; returns (status, head text, body)."""
    with socket.create_connection(addr, timeout=5) as c:
        c.sendall(b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                  % (path.encode(), addr[0].encode(), addr[1]))
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), head.decode("latin-1").lower(), body


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

    def test_default_config_routes_and_echoes(self):
        ports = (10000, 10001, 10002, 10003, 9901)
        if not all(port_free(p) for p in ports):
            self.skipTest("ports 10000-10003 or 9901 are taken on this machine")
        with harness.Proxy(None, ["--concurrency", "2"]) as px:
            self.assertEqual(px.addr("http"), ("127.0.0.1", 10000))
            self.assertEqual(px.addr("tcp"), ("127.0.0.1", 10002))
            # The welcome page, a proxied route to the second listener, a redirect.
            status, head, body = http_get(("127.0.0.1", 10000), "/")
            self.assertEqual(status, 200)
            self.assertIn(b"Welcome to ringway", body)
            status, head, body = http_get(("127.0.0.1", 10000), "/api/hello")
            self.assertEqual(status, 200)
            self.assertEqual(body, b"hello from the backend listener on 127.0.0.1:10001\n")
            self.assertIn("x-routed-by: ringway route /api/ -> cluster backend", head)
            self.assertIn("x-envoy-upstream-service-time:", head)
            status, head, _ = http_get(("127.0.0.1", 10000), "/docs")
            self.assertEqual(status, 302)
            self.assertIn("location: http://127.0.0.1:10000/", head)
            for i in range(10):
                msg = b"hello %d\n" % i
                self.assertEqual(roundtrip(("127.0.0.1", 10002), msg), msg)
            # The admin listener: the dashboard and the stats of what was just sent.
            self.assertEqual(px.addr("admin"), ("127.0.0.1", 9901))
            status, _, body = http_get(("127.0.0.1", 9901), "/")
            self.assertEqual(status, 200)
            self.assertIn(b"<canvas", body)
            status, _, body = http_get(("127.0.0.1", 9901), "/stats?filter=downstream_rq_total")
            self.assertEqual(status, 200)
            self.assertIn(b"http.ingress_http.downstream_rq_total: 3", body)
            # The echo listener behind the TCP proxy counts its 10 connections too.
            status, _, body = http_get(("127.0.0.1", 9901),
                                       "/stats?filter=listener.127.0.0.1_1000%5B23%5D"
                                       ".downstream_cx_total")
            self.assertIn(b"listener.127.0.0.1_10002.downstream_cx_total: 10", body)
            self.assertIn(b"listener.127.0.0.1_10003.downstream_cx_total: 10", body)
            log = px.stop()
            self.assertIn("embedded default", log)

    def test_validate_default(self):
        r = harness.run_ringway(["--mode", "validate"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration '<embedded default>' OK", r.stdout)
        r = harness.run_ringway(["--print-default-config"])
        self.assertEqual(r.returncode, 0)
        self.assertIn(ECHO_TYPE, r.stdout)
        self.assertIn("http_connection_manager.v3.HttpConnectionManager", r.stdout)


if __name__ == "__main__":
    harness.main()
