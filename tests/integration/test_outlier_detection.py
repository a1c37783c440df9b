"""Envoy's outlier detection (cluster.outlier_detection) through the real binary.

Proves that:
- consecutive_5xx: of two round-robin hosts, the one answering 503 to everything stops
  getting requests (a long run of answers from the good host only) after a few of its 503s;
  once base_ejection_time has passed it gets traffic again, and is ejected again;
- local-origin failures count too (split_external_local_origin_errors false): a host whose
  port refuses connections is ejected the same way;
- max_ejection_percent 0 never ejects: the failing host keeps its share.

Timings are generous ("within N s"); interval 0.2 s, base_ejection_time 1 s.
"""

import time

import harness
from http_harness import (HttpClient, HttpUpstream, Proxy, Response, closed_port, http_config,
                          route, vhost)

HOST = (("Host", "example.com"),)
RUN = 12  # consecutive answers from the good host that round robin alone never gives


def config(endpoints, outlier):
    return http_config([vhost("v", ["*"], [route("up")])], clusters={"up": endpoints},
                       cluster_opts={"up": {"outlier_detection": outlier}})


def outlier(max_percent):
    return {"consecutive_5xx": 3, "interval": "0.2s", "base_ejection_time": "1s",
            "max_ejection_percent": max_percent}


class Requester:
    """Sends requests one after the other on a keep-alive connection (reopened when the proxy
    closes it) and keeps the statuses in order."""

    def __init__(self, addr):
        self.addr = addr
        self.client = None
        self.statuses = []

    def one(self):
        if self.client is None:
            self.client = HttpClient(self.addr)
        try:
            r = self.client.request("GET", "/", HOST)
        except AssertionError:
            self.client.close()
            self.client = None
            return
        self.statuses.append(r.status)
        if (r.header("connection") or "").lower() == "close":
            self.client.close()
            self.client = None

    def until(self, cond, timeout, pause=0.01):
        """Request until cond(statuses) holds; False after timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.one()
            if cond(self.statuses):
                return True
            time.sleep(pause)
        return False

    def close(self):
        if self.client is not None:
            self.client.close()


def good_run(statuses, start=0):
    """Index just past the first run of RUN 200s at or after start, or None."""
    n = 0
    for i in range(start, len(statuses)):
        n = n + 1 if statuses[i] == 200 else 0
        if n >= RUN:
            return i + 1
    return None


class OutlierDetection(harness.unittest.TestCase):
    def test_consecutive_5xx_ejects_and_returns(self):
        good = HttpUpstream(name="good")
        bad = HttpUpstream(lambda req: Response(503, body=b"bad"), name="bad")
        try:
            with Proxy(config([good.endpoint, bad.endpoint], outlier(50)),
                       ["--concurrency", "1"]) as px:
                rq = Requester(px.addr())
                try:
                    # Ejected: the bad host's count stops while the good one keeps serving.
                    self.assertTrue(rq.until(lambda s: good_run(s) is not None, 10),
                                    "never ejected: %r\n%s" % (rq.statuses, px.log()))
                    ejected_at = good_run(rq.statuses)
                    bad_before = len(bad.snapshot())
                    self.assertGreaterEqual(bad_before, 3)
                    self.assertLessEqual(rq.statuses[:ejected_at].count(503), 8)
                    for _ in range(5):
                        rq.one()
                    self.assertEqual(len(bad.snapshot()), bad_before)
                    px.wait_log(r"cluster 'up': 1 ejected", timeout=5)
                    # Back after base_ejection_time (1 s, checked every 0.2 s interval).
                    self.assertTrue(
                        rq.until(lambda s: 503 in s[ejected_at:], 10),
                        "never returned: %r" % rq.statuses)
                    back_at = len(rq.statuses) - 1
                    self.assertGreater(len(bad.snapshot()), bad_before)
                    # ... and ejected again after three more 503s.
                    self.assertTrue(rq.until(lambda s: good_run(s, back_at) is not None, 10),
                                    "not ejected again: %r" % rq.statuses[back_at:])
                    self.assertTrue(px.alive())
                finally:
                    rq.close()
        finally:
            good.close()
            bad.close()

    def test_connect_failures_eject(self):
        good = HttpUpstream(name="good")
        try:
            eps = [good.endpoint, ("127.0.0.1", closed_port())]
            with Proxy(config(eps, outlier(50)), ["--concurrency", "1"]) as px:
                rq = Requester(px.addr())
                try:
                    self.assertTrue(rq.until(lambda s: good_run(s) is not None, 10),
                                    "never ejected: %r\n%s" % (rq.statuses, px.log()))
                    self.assertLessEqual(rq.statuses.count(503), 8)
                finally:
                    rq.close()
        finally:
            good.close()

    def test_tcp_proxy_connect_failures_eject(self):
        """The TCP proxy reports connect outcomes too: a dead endpoint stops getting
        connections once ejected."""
        import json
        import socket

        def ident(conn, up, index):
            conn.sendall(b"A")

        with harness.Upstream(ident, name="alive") as alive:
            dead = closed_port()
            boot = {"static_resources": {
                "listeners": [{"name": "proxy", "address": {"socket_address": {
                    "address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy",
                                                    "typed_config": {
                                                        "@type": harness.TCP_PROXY_TYPE,
                                                        "stat_prefix": "t", "cluster": "up"}}]}]}],
                "clusters": [{"name": "up", "connect_timeout": "1s",
                              "outlier_detection": {"consecutive_5xx": 2, "interval": "0.2s",
                                                    "base_ejection_time": "30s",
                                                    "max_ejection_percent": 50},
                              "load_assignment": {"cluster_name": "up", "endpoints": [
                                  {"lb_endpoints": [
                                      {"endpoint": {"address": {"socket_address": {
                                          "address": "127.0.0.1", "port_value": p}}}}
                                      for p in (dead, alive.port)]}]}}]}}
            with Proxy(json.dumps(boot), ["--concurrency", "1"]) as px:
                deadline = time.monotonic() + 10
                streak = 0
                while time.monotonic() < deadline and streak < 10:
                    with socket.create_connection(px.addr(), timeout=5) as c:
                        c.settimeout(2)
                        try:
                            got = c.recv(1)
                        except OSError:
                            got = b""
                    streak = streak + 1 if got == b"A" else 0
                    time.sleep(0.02)
                self.assertGreaterEqual(streak, 10, "the dead endpoint was never ejected")

    def test_max_ejection_percent_zero_never_ejects(self):
        good = HttpUpstream(name="good")
        bad = HttpUpstream(lambda req: Response(503, body=b"bad"), name="bad")
        try:
            with Proxy(config([good.endpoint, bad.endpoint], outlier(0)),
                       ["--concurrency", "1"]) as px:
                rq = Requester(px.addr())
                try:
                    deadline = time.monotonic() + 1.5
                    while time.monotonic() < deadline:
                        rq.one()
                        time.sleep(0.01)
                    self.assertGreater(len(rq.statuses), 30)
                    self.assertIsNone(good_run(rq.statuses), rq.statuses)
                    self.assertGreaterEqual(rq.statuses.count(503), len(rq.statuses) // 2 - 2)
                    self.assertNotIn("ejected now", px.log())
                finally:
                    rq.close()
        finally:
            good.close()
            bad.close()


if __name__ == "__main__":
    harness.main()
