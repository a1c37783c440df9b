"""HTTP requests follow a STRICT_DNS cluster's answers without a restart.

A tiny DNS server on 127.0.0.1 (test_dns_cluster.DnsServer: UDP, A records for
svc.ringway.test from a table the test changes) is the cluster's only resolver, configured
either with the deprecated dns_resolvers or with typed_dns_resolver_config (c-ares
resolvers).  Two HTTP origins listen on 127.0.0.2 and 127.0.0.3 with the same port (DNS gives
addresses; the port is the endpoint's port_value) and name themselves in each answer.

What this proves (Envoy's behaviour): requests reach the address DNS gives; when the answer
changes (dns_refresh_rate 0.5s) new requests reach the new address — on fresh client
connections and on a keep-alive client connection that stays open across the change (the
host is picked per request, and connections pooled to the removed host are not reused).
"""

import socket
import threading
import time
import unittest

import http_harness as hh
from http_harness import HttpClient, Proxy
from test_dns_cluster import NAME, DnsServer

HOST = (("Host", "example.com"),)


class NamedOrigin:
    """Keep-alive HTTP/1.1 origin on a given (host, port) that answers every request (no
    bodies expected: GETs) with 200 and body '<host> <target>'.  .requests counts them."""

    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.accepted = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            conn.settimeout(30)
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                target = head.split(b" ")[1]
                with self.lock:
                    self.requests += 1
                body = self.host.encode() + b" " + target
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def start_origins():
    """Origins on 127.0.0.2 and 127.0.0.3 sharing one port (retried if .3 has it taken)."""
    for _ in range(20):
        a = NamedOrigin("127.0.0.2", 0)
        try:
            return a, NamedOrigin("127.0.0.3", a.port)
        except OSError:
            a.close()
    raise AssertionError("no port free on both 127.0.0.2 and 127.0.0.3")


def dns_config(dns_port, port, typed):
    resolver = hh.socket_address("127.0.0.1", dns_port)
    opts = {"type": "STRICT_DNS", "dns_refresh_rate": "0.5s", "dns_lookup_family": "V4_ONLY"}
    if typed:
        opts["typed_dns_resolver_config"] = {
            "name": "envoy.network.dns_resolver.cares",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3."
                         "CaresDnsResolverConfig",
                "resolvers": [resolver],
            },
        }
    else:
        opts["dns_resolvers"] = [resolver]
    return hh.http_config([hh.vhost("local", ["*"], [hh.route("up")])],
                          clusters={"up": [(NAME, port)]}, cluster_opts={"up": opts})


def served_by(addr, target="/which"):
    r = hh.http_request(addr, "GET", target, HOST)
    if r.status != 200:
        return "status %d" % r.status
    return r.body.decode().split(" ")[0]


def wait_served_by(addr, want, timeout=6.0):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = served_by(addr)
        if got == want:
            return
        time.sleep(0.1)
    raise AssertionError("requests still reach %r, want %r" % (got, want))


class HttpDns(unittest.TestCase):
    def setUp(self):
        self.dns = DnsServer()
        self.a, self.b = start_origins()

    def tearDown(self):
        self.a.close()
        self.b.close()
        self.dns.close()

    def follow_answers(self, typed):
        self.dns.set(["127.0.0.2"])
        with Proxy(dns_config(self.dns.port, self.a.port, typed), ["--concurrency", "1"]) as px:
            # Start-up waited for the first answer: the first request already goes to A.
            for i in range(5):
                self.assertEqual(served_by(px.addr(), "/a/%d" % i), "127.0.0.2")
            with HttpClient(px.addr()) as kept:
                r = kept.request("GET", "/kept/before", HOST)
                self.assertEqual(r.body, b"127.0.0.2 /kept/before")

                self.dns.set(["127.0.0.3"])
                wait_served_by(px.addr(), "127.0.0.3")
                before_b = self.a.requests
                for i in range(5):
                    self.assertEqual(served_by(px.addr(), "/b/%d" % i), "127.0.0.3")
                # The keep-alive client connection follows too.
                r = kept.request("GET", "/kept/after", HOST)
                self.assertEqual((r.status, r.body), (200, b"127.0.0.3 /kept/after"))
            self.assertEqual(self.a.requests, before_b, "A still served after the change")
            self.assertGreaterEqual(self.b.requests, 7)
            px.stop()

    def test_dns_resolvers(self):
        self.follow_answers(typed=False)

    def test_typed_dns_resolver_config(self):
        self.follow_answers(typed=True)


if __name__ == "__main__":
    hh.main()
