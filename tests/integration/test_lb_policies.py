"""Cluster load-balancing policies and route hash policies through the real binary.

Proves that:
- ROUND_ROBIN honours load_balancing_weight exactly: weights 1:2:3 over 600 requests on one
  worker give 100/200/300;
- LEAST_REQUEST steers away from a host holding requests: with one of two hosts never
  answering, it gets well under the half plain round robin would give it;
- RANDOM spreads over every host;
- RING_HASH and MAGLEV with a header hash_policy send every request carrying the same value
  to the same host, and different values to different hosts;
- a cookie hash_policy with a ttl sets the cookie (Set-Cookie with Max-Age and Path) when the
  request has none, and requests presenting it stick to one host;
- connection_properties.source_ip pins a client address to one host;
- priority levels follow Envoy: all traffic on priority 0 while it is healthy, 30% spilling to
  priority 1 when half of priority 0 is unhealthy (overprovisioning 1.4), all of it when
  priority 0 is down (health_status UNHEALTHY / DRAINING);
- locality_weighted_lb_config shares traffic between localities by their weights, and a
  locality without a weight gets none;
- the TCP proxy picks with the cluster's policy too (weighted round robin by connections).
"""

import json
import socket
import threading
import time

import harness
from http_harness import (HttpClient, HttpUpstream, Proxy, Response, http_config, http_request,
                          route, vhost)

HOST = (("Host", "example.com"),)


def named(name, hold=None):
    def respond(req):
        if hold is not None:
            hold.wait(15)
        return Response(200, [("x-host", name)], name.encode())
    return HttpUpstream(respond, name=name)


def config(ups, policy="ROUND_ROBIN", weights=None, hash_policy=None, cluster_extra=None):
    r = route("up")
    if hash_policy:
        r["route"]["hash_policy"] = hash_policy
    eps = [{"endpoint": {"address": {"socket_address": {"address": u.endpoint[0],
                                                          "port_value": u.endpoint[1]}}}}
           for u in ups]
    for e, w in zip(eps, weights or []):
        e["load_balancing_weight"] = w
    opts = {"lb_policy": policy,
            "load_assignment": {"cluster_name": "up", "endpoints": [{"lb_endpoints": eps}]}}
    opts.update(cluster_extra or {})
    return http_config([vhost("v", ["*"], [r])], clusters={"up": [ups[0].endpoint]},
                       cluster_opts={"up": opts})


def counts(ups):
    return [len(u.requests) for u in ups]


class Policies(harness.unittest.TestCase):
    def test_weighted_round_robin_exact(self):
        ups = [named("a"), named("b"), named("c")]
        try:
            with Proxy(config(ups, weights=[1, 2, 3]), ["--concurrency", "1"]) as px:
                with HttpClient(px.addr()) as c:
                    for i in range(600):
                        self.assertEqual(c.request("GET", "/%d" % i, HOST).status, 200)
                self.assertEqual(counts(ups), [100, 200, 300])
        finally:
            for u in ups:
                u.close()

    def test_least_request_avoids_busy_host(self):
        hold = threading.Event()
        busy, idle = named("busy", hold), named("idle")
        try:
            with Proxy(config([busy, idle], "LEAST_REQUEST"), ["--concurrency", "1"]) as px:
                results = []

                def one(i):
                    try:
                        r = http_request(px.addr(), "GET", "/l/%d" % i, HOST, timeout=20)
                        results.append(r.body)
                    except OSError as e:
                        results.append(e)

                threads = []
                for i in range(80):
                    t = threading.Thread(target=one, args=(i,))
                    t.start()
                    threads.append(t)
                # Requests on the busy host stay active; the idle one answers at once.
                time.sleep(1.0)
                hold.set()
                for t in threads:
                    t.join(30)
                self.assertEqual(len(results), 80)
                self.assertLess(len(busy.requests), 32, counts([busy, idle]))
        finally:
            hold.set()
            busy.close()
            idle.close()

    def test_random_uses_every_host(self):
        ups = [named("a"), named("b"), named("c")]
        try:
            with Proxy(config(ups, "RANDOM"), ["--concurrency", "1"]) as px:
                with HttpClient(px.addr()) as c:
                    for i in range(300):
                        c.request("GET", "/r", HOST)
                for n in counts(ups):
                    self.assertGreater(n, 50, counts(ups))
        finally:
            for u in ups:
                u.close()

    def sticky_by_header(self, policy):
        ups = [named("h%d" % i) for i in range(4)]
        try:
            with Proxy(config(ups, policy, hash_policy=[{"header": {"header_name": "x-user"}}]),
                       ["--concurrency", "2"]) as px:
                seen = {}
                for user in range(40):
                    hosts = {http_request(px.addr(), "GET", "/s",
                                          HOST + (("x-user", "u%d" % user),)).body
                             for _ in range(4)}
                    self.assertEqual(len(hosts), 1, (user, hosts))
                    seen[user] = hosts.pop()
                self.assertGreater(len(set(seen.values())), 1)
        finally:
            for u in ups:
                u.close()

    def test_ring_hash_header(self):
        self.sticky_by_header("RING_HASH")

    def test_maglev_header(self):
        self.sticky_by_header("MAGLEV")

    def test_cookie_is_set_and_sticks(self):
        ups = [named("h%d" % i) for i in range(4)]
        try:
            with Proxy(config(ups, "RING_HASH", hash_policy=[
                    {"cookie": {"name": "route", "ttl": "3600s", "path": "/"}}]),
                       ["--concurrency", "1"]) as px:
                r = http_request(px.addr(), "GET", "/c", HOST)
                cookie = r.header("set-cookie")
                self.assertIsNotNone(cookie)
                self.assertRegex(cookie, r'^route="[0-9a-f]{16}"; Max-Age=3600; Path=/; HttpOnly$')
                value = cookie.split(";")[0]
                bodies = {http_request(px.addr(), "GET", "/c", HOST + (("Cookie", value),)).body
                          for _ in range(10)}
                self.assertEqual(len(bodies), 1)
                again = http_request(px.addr(), "GET", "/c", HOST + (("Cookie", value),))
                self.assertIsNone(again.header("set-cookie"))
        finally:
            for u in ups:
                u.close()

    def test_source_ip(self):
        ups = [named("h%d" % i) for i in range(4)]
        try:
            with Proxy(config(ups, "MAGLEV", hash_policy=[
                    {"connection_properties": {"source_ip": True}}]),
                       ["--concurrency", "2"]) as px:
                bodies = {http_request(px.addr(), "GET", "/i", HOST).body for _ in range(20)}
                self.assertEqual(len(bodies), 1)
        finally:
            for u in ups:
                u.close()


class Priorities(harness.unittest.TestCase):
    """Envoy's priority levels: overprovisioning factor 1.4, spill-over, health_status."""

    def run_split(self, p0_status):
        ups = [named("a"), named("b"), named("c")]
        try:
            def ep(u, status=None):
                e = {"endpoint": {"address": {"socket_address": {"address": u.endpoint[0],
                                                                   "port_value": u.endpoint[1]}}}}
                if status:
                    e["health_status"] = status
                return e
            groups = [{"priority": 0, "lb_endpoints": [ep(ups[0], p0_status[0]),
                                                         ep(ups[1], p0_status[1])]},
                      {"priority": 1, "lb_endpoints": [ep(ups[2])]}]
            cfg = config(ups[:1], cluster_extra={"load_assignment": {"cluster_name": "up",
                                                                       "endpoints": groups}})
            with Proxy(cfg, ["--concurrency", "1"]) as px:
                with HttpClient(px.addr()) as c:
                    for i in range(1000):
                        c.request("GET", "/p", HOST)
                return counts(ups)
        finally:
            for u in ups:
                u.close()

    def test_all_healthy_stays_on_priority_0(self):
        a, b, c = self.run_split([None, None])
        self.assertEqual(c, 0)
        self.assertEqual(a + b, 1000)

    def test_half_healthy_spills_30_percent(self):
        # P0 health = min(100, 1.4 x 50%) = 70%: 70% stays, 30% spills to P1.
        a, b, c = self.run_split([None, "UNHEALTHY"])
        self.assertEqual(b, 0)
        self.assertTrue(620 <= a <= 780, (a, b, c))
        self.assertEqual(a + c, 1000)

    def test_priority_0_down_fails_over(self):
        a, b, c = self.run_split(["UNHEALTHY", "DRAINING"])
        self.assertEqual((a, b, c), (0, 0, 1000))


class Localities(harness.unittest.TestCase):
    def test_locality_weights(self):
        """locality_weighted_lb_config: localities share traffic by their weights (1:3), a
        locality without a weight gets none."""
        ups = [named("a"), named("b"), named("c")]
        try:
            def group(u, weight):
                g = {"locality": {"zone": u.name},
                     "lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                         "address": u.endpoint[0], "port_value": u.endpoint[1]}}}}]}
                if weight:
                    g["load_balancing_weight"] = weight
                return g
            cfg = config(ups[:1], cluster_extra={
                "common_lb_config": {"locality_weighted_lb_config": {}},
                "load_assignment": {"cluster_name": "up",
                                    "endpoints": [group(ups[0], 1), group(ups[1], 3),
                                                  group(ups[2], None)]}})
            with Proxy(cfg, ["--concurrency", "1"]) as px:
                with HttpClient(px.addr()) as c:
                    for i in range(1000):
                        c.request("GET", "/z", HOST)
                a, b, c_ = counts(ups)
                self.assertEqual(c_, 0)
                self.assertTrue(170 <= a <= 330, (a, b, c_))
                self.assertEqual(a + b, 1000)
        finally:
            for u in ups:
                u.close()


class TcpPolicy(harness.unittest.TestCase):
    def test_tcp_proxy_weighted(self):
        def ident(name):
            def handler(conn, up, index):
                conn.sendall(name)
            return harness.Upstream(handler, name=name.decode())
        a, b = ident(b"A"), ident(b"B")
        try:
            eps = [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1",
                                                                  "port_value": u.port}}},
                    "load_balancing_weight": w} for u, w in ((a, 1), (b, 3))]
            boot = {"static_resources": {
                "listeners": [{"name": "proxy", "address": {"socket_address": {
                    "address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy",
                                                    "typed_config": {
                                                        "@type": harness.TCP_PROXY_TYPE,
                                                        "stat_prefix": "t",
                                                        "cluster": "up"}}]}]}],
                "clusters": [{"name": "up", "connect_timeout": "1s",
                              "load_assignment": {"cluster_name": "up",
                                                  "endpoints": [{"lb_endpoints": eps}]}}]}}
            with Proxy(json.dumps(boot), ["--concurrency", "1"]) as px:
                got = []
                for _ in range(40):
                    with socket.create_connection(px.addr(), timeout=5) as s:
                        got.append(s.recv(1))
                self.assertEqual(got.count(b"A"), 10)
                self.assertEqual(got.count(b"B"), 30)
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    harness.main()
