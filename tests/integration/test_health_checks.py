"""Active health checking (cluster.health_checks[]) through the real binary.

Proves that:
- an HTTP health check keeps traffic off a host whose health path answers 503 (ejected at
  once: an unexpected status ignores unhealthy_threshold, as in Envoy), and that traffic
  returns to it once the path answers 200 again (after healthy_threshold successes);
- the check request is "GET <path>" with Host = the cluster's name by default,
  User-Agent: Envoy/HC, and, when configured, the given host and request_headers_to_add, with
  request_headers_to_remove applied;
- a TCP check ejects a host that stops listening (connection refused) while traffic keeps
  flowing to the other one, and restores it when it listens again on the same port;
- endpoint health_check_config.port_value sends the checks to that port instead;
- unhealthy_threshold: one failed check (a connection closed without an answer) does not
  eject; three in a row do.
Intervals are 0.1 s; every wait is an upper bound ("within N seconds"), never a timing.
"""

import socket
import threading
import time

import harness
from http_harness import HttpUpstream, Proxy, Response, http_config, http_request, route, vhost

HOST = (("Host", "example.com"),)
HEALTH = "/healthz"


class Origin:
    """An HttpUpstream whose health path answers what `health` says (a status, or a callable
    returning a Response / bytes); every other path answers 200 with the origin's name."""

    def __init__(self, name, health=200):
        self.name = name
        self.health = health
        self.up = HttpUpstream(self._respond, name=name)

    def _respond(self, req):
        if req.target == HEALTH:
            h = self.health
            return h(req) if callable(h) else Response(h, [], b"hc")
        return Response(200, [("x-from", self.name)], self.name.encode())

    @property
    def endpoint(self):
        return self.up.endpoint

    def traffic(self):
        return [r for r in self.up.snapshot() if r.target != HEALTH]

    def checks(self):
        return [r for r in self.up.snapshot() if r.target == HEALTH]

    def wait_checks(self, n, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.checks()) >= n:
                return self.checks()
            time.sleep(0.01)
        raise AssertionError("%s got %d health checks, expected %d within %.0fs"
                             % (self.name, len(self.checks()), n, timeout))

    def close(self):
        self.up.close()


class PortUpstream(harness.Upstream):
    """harness.Upstream on a chosen port (so a host can come back where it was)."""

    def __init__(self, handler, port, name):
        super().__init__(handler, name=name)  # port 0 first: sets every field up
        self.stopping.set()
        self.sock.close()
        self.acceptor.join(2)
        self.stopping.clear()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(128)
        self.sock.settimeout(0.1)
        self.port = port
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self.acceptor.start()


def health_check(kind="http", **extra):
    hc = {"timeout": "1s", "interval": "0.1s", "no_traffic_interval": "0.1s",
          "unhealthy_threshold": 2, "healthy_threshold": 2}
    if kind == "http":
        hc["http_health_check"] = {"path": HEALTH}
    else:
        hc["tcp_health_check"] = {}
    hc.update(extra)
    return hc


def config(origins, hc, hc_ports=None):
    """Cluster 'up' over origins with one health check; hc_ports[i] (if given and not None)
    is origin i's health_check_config.port_value."""
    eps = [{"endpoint": {"address": {"socket_address": {"address": o.endpoint[0],
                                                          "port_value": o.endpoint[1]}}}}
           for o in origins]
    for e, p in zip(eps, hc_ports or []):
        if p is not None:
            e["endpoint"]["health_check_config"] = {"port_value": p}
    opts = {"health_checks": [hc],
            "load_assignment": {"cluster_name": "up", "endpoints": [{"lb_endpoints": eps}]}}
    return http_config([vhost("v", ["*"], [route("up")])], clusters={"up": [origins[0].endpoint]},
                       cluster_opts={"up": opts})


def send(px, n):
    """n requests; returns how many each origin answered (by x-from)."""
    seen = {}
    for i in range(n):
        r = http_request(px.addr(), "GET", "/r/%d" % i, HOST)
        assert r.status == 200, r
        seen[r.header("x-from")] = seen.get(r.header("x-from"), 0) + 1
    return seen


def host_re(origin):
    return r"host 127\.0\.0\.1:%d " % origin.endpoint[1]


class HealthChecks(harness.unittest.TestCase):
    def run_proxy(self, cfg):
        return Proxy(cfg, ["--concurrency", "1"])

    def test_http_check_ejects_503_and_restores(self):
        a, b = Origin("a"), Origin("b", health=503)
        try:
            with self.run_proxy(config([a, b], health_check())) as px:
                px.wait_log(host_re(b) + r"is unhealthy \(first check failed: HTTP status 503\)")
                self.assertEqual(send(px, 20), {"a": 20})
                self.assertEqual(len(b.traffic()), 0)
                b.health = 200
                px.wait_log(host_re(b) + r"is now healthy \(2 consecutive successes\)", 10)
                seen = send(px, 20)
                self.assertEqual(seen, {"a": 10, "b": 10}, seen)
                # A healthy host that starts answering 503 is ejected at once.
                b.health = 503
                px.wait_log(host_re(b) + r"is now unhealthy \(1 consecutive failure: "
                            r"HTTP status 503\)", 10)
                self.assertEqual(send(px, 10), {"a": 10})
                # The default request: GET <path>, Host = the cluster's name, Envoy/HC.
                chk = b.checks()[0]
                self.assertEqual((chk.method, chk.version), ("GET", "HTTP/1.1"))
                self.assertEqual(chk.header("host"), "up")
                self.assertEqual(chk.header("user-agent"), "Envoy/HC")
        finally:
            a.close()
            b.close()

    def test_http_check_host_and_headers(self):
        a = Origin("a")
        hc = health_check(http_health_check={
            "path": HEALTH, "host": "health.example",
            "request_headers_to_add": [
                {"header": {"key": "x-hc-token", "value": "s3cret"}},
                {"header": {"key": "user-agent", "value": "probe/1"},
                 "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
            "request_headers_to_remove": ["connection"]})
        try:
            with self.run_proxy(config([a], hc)) as px:
                chk = a.wait_checks(2)[-1]
                self.assertEqual(chk.target, HEALTH)
                self.assertEqual(chk.header("host"), "health.example")
                self.assertEqual(chk.header("x-hc-token"), "s3cret")
                self.assertEqual(chk.header_all("user-agent"), ["probe/1"])
                self.assertIsNone(chk.header("connection"))
                self.assertEqual(send(px, 3), {"a": 3})
        finally:
            a.close()

    def test_tcp_check_ejects_closed_listener_and_restores(self):
        a = Origin("a")
        b = Origin("b")
        port = b.endpoint[1]
        try:
            with self.run_proxy(config([a, b], health_check("tcp"))) as px:
                self.assertEqual(send(px, 10), {"a": 5, "b": 5})
                b.close()  # stops listening: connection refused from now on
                px.wait_log(host_re(b) + r"is now unhealthy \(2 consecutive failures: "
                            r"connection refused\)", 10)
                self.assertEqual(send(px, 10), {"a": 10})
                # Back on the same port.
                b.up._up.close()
                b.up._up = PortUpstream(b.up._handle, port, "b")
                px.wait_log(host_re(b) + r"is now healthy \(2 consecutive successes\)", 10)
                seen = send(px, 10)
                self.assertEqual(seen, {"a": 5, "b": 5}, seen)
        finally:
            a.close()
            b.close()

    def test_health_check_port(self):
        a, b = Origin("a"), Origin("b")
        side = Origin("side", health=503)  # a's health_check_config.port_value
        cfg = config([a, b], health_check(), hc_ports=[side.endpoint[1]])
        try:
            with self.run_proxy(cfg) as px:
                px.wait_log(host_re(a) + r"is unhealthy \(first check failed: HTTP status 503\)")
                self.assertEqual(send(px, 6), {"b": 6})
                self.assertEqual(len(a.checks()), 0)
                self.assertGreater(len(side.checks()), 0)
        finally:
            for o in (a, b, side):
                o.close()

    def test_unhealthy_threshold(self):
        a = Origin("a")
        failures = {"left": 1}
        lock = threading.Lock()

        def flaky(req):
            with lock:
                if failures["left"] > 0:
                    failures["left"] -= 1
                    return b""  # close without an answer: a network failure
            return Response(200, [], b"ok")

        b = Origin("b")
        try:
            with self.run_proxy(config([a, b], health_check(unhealthy_threshold=3))) as px:
                px.wait_log(host_re(b) + r"is now healthy \(first check passed\)")
                n = len(b.checks())
                b.health = flaky
                b.wait_checks(n + 4)  # the failed one and three good ones
                self.assertNotRegex(px.log(), host_re(b) + "is now unhealthy")
                self.assertEqual(send(px, 10), {"a": 5, "b": 5})
                # Failing for good: ejected after exactly three.
                with lock:
                    failures["left"] = 1 << 30
                px.wait_log(host_re(b) + r"is now unhealthy \(3 consecutive failures: "
                            r"connection closed before a complete response\)", 10)
                self.assertEqual(send(px, 10), {"a": 10})
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    harness.main()
