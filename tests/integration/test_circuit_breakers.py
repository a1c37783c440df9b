"""Envoy's circuit breakers (circuit_breakers.thresholds, DEFAULT priority) through the binary.

Proves that:
- max_requests: with 2 requests held by the origin, a 3rd gets 503 "upstream connect error or
  disconnect/reset before headers. reset reason: overflow" at once, and the origin never sees
  it; once the held ones finish, requests flow again;
- max_connections + max_pending_requests (Envoy's pending queue): a request that finds the
  cluster at max_connections waits in the pool's queue and gets the connection its
  predecessor releases (the origin sees one connection); once max_pending_requests requests
  wait, the next overflows with 503 UO; max_pending_requests 0 overflows whatever needs a
  new connection; a waiter whose client leaves, or whose route timeout fires (504), leaves
  the queue (upstream_rq_pending_active back to 0, upstream_rq_cancelled);
- max_retries: 0 turns off retries that the route's retry_policy would make (the 503 of the
  failing host reaches the client, the origin sees each request once);
- the limits are cluster-wide: the counts come back to zero (the same requests pass later).
"""

import json
import socket
import struct
import threading
import time

import harness
from http_harness import (HttpUpstream, Proxy, Response, encode_request, http_config,
                          http_request, route, vhost)

HOST = (("Host", "example.com"),)
OVERFLOW = (b"upstream connect error or disconnect/reset before headers. "
            b"reset reason: overflow")


def config(ups, thresholds, retry=None, admin=False):
    r = route("up")
    if retry:
        r["route"]["retry_policy"] = retry
    # /wait: a short route timeout (a request waiting in the pending queue times out);
    # /hold: none (the held request outlives the waiters).
    wait = route("up", prefix="/wait")
    wait["route"]["timeout"] = "0.5s"
    hold = route("up", prefix="/hold")
    hold["route"]["timeout"] = "0s"
    boot = json.loads(http_config(
        [vhost("v", ["*"], [wait, hold, r])], clusters={"up": [u.endpoint for u in ups]},
        cluster_opts={"up": {"circuit_breakers": {"thresholds": [thresholds]}}}))
    if admin:
        boot["admin"] = {"address": {"socket_address": {"address": "127.0.0.1",
                                                        "port_value": 0}}}
    return json.dumps(boot)


def stat(px, name):
    r = http_request(px.addr("admin"), "GET", "/stats?filter=" + name, (("Host", "admin"),))
    for line in r.body.decode().splitlines():
        k, _, v = line.partition(": ")
        if k == "cluster.up." + name:
            return int(v)
    raise AssertionError("no cluster.up.%s in %r" % (name, r.body))


def wait_stat(px, name, value, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stat(px, name) == value:
            return
        time.sleep(0.01)
    raise AssertionError("cluster.up.%s is %d, expected %d" % (name, stat(px, name), value))


def holding(release):
    def respond(req):
        if req.target.startswith("/hold"):
            release.wait(15)
        return Response(200, [], b"ok")
    return respond


class CircuitBreakers(harness.unittest.TestCase):
    def held_requests(self, px, n):
        threads, results = [], []
        for i in range(n):
            t = threading.Thread(target=lambda i=i: results.append(
                http_request(px.addr(), "GET", "/hold/%d" % i, HOST, timeout=20).status))
            t.start()
            threads.append(t)
        return threads, results

    def test_max_requests(self):
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_requests": 2}), ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 2)
            up.wait_requests(2)
            r = http_request(px.addr(), "GET", "/third", HOST)
            self.assertEqual((r.status, r.body), (503, OVERFLOW))
            self.assertEqual([q.target for q in up.requests if q.target == "/third"], [])
            release.set()
            for t in threads:
                t.join(20)
            self.assertEqual(results, [200, 200])
            for _ in range(5):
                self.assertEqual(http_request(px.addr(), "GET", "/after", HOST).status, 200)

    def test_max_connections_waits_in_pending_queue(self):
        # Before the pending queue this request overflowed at once; like Envoy it now waits
        # (max_pending_requests defaults to 1024) for the one connection to be released.
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_connections": 1}, admin=True),
                      ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 1)
            up.wait_requests(1)
            second = []
            t = threading.Thread(target=lambda: second.append(
                http_request(px.addr(), "GET", "/second", HOST, timeout=20)))
            t.start()
            wait_stat(px, "upstream_rq_pending_active", 1)
            self.assertEqual(second, [])
            self.assertEqual(len(up.snapshot()), 1)
            release.set()
            t.join(20)
            for t in threads:
                t.join(20)
            self.assertEqual(results, [200])
            self.assertEqual(second[0].status, 200)
            self.assertEqual(up.accepted, 1)
            # The one connection is pooled and reused: sequential requests pass.
            for _ in range(5):
                self.assertEqual(http_request(px.addr(), "GET", "/after", HOST).status, 200)
            self.assertEqual(up.accepted, 1)
            self.assertEqual(stat(px, "upstream_rq_pending_active"), 0)

    def test_pending_queue_slow_upstream(self):
        def slow(req):
            time.sleep(0.3)
            return Response(200, [], b"ok")
        with HttpUpstream(slow, name="up") as up, \
                Proxy(config([up], {"max_connections": 1, "max_pending_requests": 2},
                             admin=True), ["--concurrency", "1"]) as px:
            # The first request is on the connection before the other two come: a request
            # whose connection is still being opened counts as pending too (as in Envoy),
            # so 3 at the very same instant would be 1 connecting + 1 waiting + 1 overflow.
            results = []
            threads = [threading.Thread(target=lambda i=i: results.append(
                http_request(px.addr(), "GET", "/s/%d" % i, HOST, timeout=20).status))
                for i in range(3)]
            threads[0].start()
            up.wait_requests(1)
            for t in threads[1:]:
                t.start()
            for t in threads:
                t.join(20)
            self.assertEqual(results, [200, 200, 200])
            self.assertEqual(up.accepted, 1)  # served one after the other on one connection
            self.assertEqual(stat(px, "upstream_rq_pending_total"), 3)
            self.assertEqual(stat(px, "upstream_rq_pending_active"), 0)

    def test_pending_queue_overflow(self):
        # max_connections 1, max_pending_requests 2: one request on the connection, two
        # waiting; the 4th overflows.
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_connections": 1, "max_pending_requests": 2},
                             admin=True), ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 1)
            up.wait_requests(1)
            more, more_results = self.held_requests(px, 2)
            wait_stat(px, "upstream_rq_pending_active", 2)
            r = http_request(px.addr(), "GET", "/fourth", HOST)
            self.assertEqual((r.status, r.body), (503, OVERFLOW))
            self.assertEqual(stat(px, "upstream_rq_pending_overflow"), 1)
            release.set()
            for t in threads + more:
                t.join(20)
            self.assertEqual(results + more_results, [200, 200, 200])
            self.assertEqual(up.accepted, 1)
            self.assertNotIn("/fourth", [q.target for q in up.snapshot()])
            self.assertEqual(stat(px, "upstream_rq_pending_active"), 0)

    def test_pending_boundary(self):
        # max_pending_requests 1: one waiter, the next overflows.
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_connections": 1, "max_pending_requests": 1},
                             admin=True), ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 1)
            up.wait_requests(1)
            more, more_results = self.held_requests(px, 1)
            wait_stat(px, "upstream_rq_pending_active", 1)
            r = http_request(px.addr(), "GET", "/third", HOST)
            self.assertEqual((r.status, r.body), (503, OVERFLOW))
            release.set()
            for t in threads + more:
                t.join(20)
            self.assertEqual(results + more_results, [200, 200])
        # max_pending_requests 0 (Envoy accepts it): every request that needs a new
        # connection is pending first, so it overflows.
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_pending_requests": 0}),
                      ["--concurrency", "1"]) as px:
            r = http_request(px.addr(), "GET", "/first", HOST)
            self.assertEqual((r.status, r.body), (503, OVERFLOW))
            self.assertEqual(up.accepted, 0)

    def test_waiter_client_disconnect_leaves_queue(self):
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_connections": 1, "max_pending_requests": 1},
                             admin=True), ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 1)
            up.wait_requests(1)
            with socket.create_connection(px.addr(), timeout=5) as sk:
                sk.sendall(encode_request("GET", "/gone", HOST))
                wait_stat(px, "upstream_rq_pending_active", 1)
                # A reset, not a FIN: after a complete request a half-close still gets its
                # response (proxy/http_conn.c on_eof), so only a reset is a disconnect.
                sk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            wait_stat(px, "upstream_rq_pending_active", 0)
            self.assertEqual(stat(px, "upstream_rq_cancelled"), 1)
            # The queue has room again: a new waiter is accepted, then served.
            more, more_results = self.held_requests(px, 1)
            wait_stat(px, "upstream_rq_pending_active", 1)
            release.set()
            for t in threads + more:
                t.join(20)
            self.assertEqual(results + more_results, [200, 200])
            self.assertNotIn("/gone", [q.target for q in up.snapshot()])
            self.assertEqual(http_request(px.addr(), "GET", "/after", HOST).status, 200)
            self.assertEqual(stat(px, "upstream_rq_pending_active"), 0)

    def test_waiter_route_timeout(self):
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_connections": 1}, admin=True),
                      ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 1)
            up.wait_requests(1)
            start = time.monotonic()
            r = http_request(px.addr(), "GET", "/wait", HOST, timeout=10)
            self.assertEqual((r.status, r.body), (504, b"upstream request timeout"))
            self.assertLess(time.monotonic() - start, 5)
            self.assertEqual(stat(px, "upstream_rq_pending_active"), 0)
            release.set()
            for t in threads:
                t.join(20)
            self.assertEqual(results, [200])
            self.assertNotIn("/wait", [q.target for q in up.snapshot()])
            self.assertEqual(http_request(px.addr(), "GET", "/after", HOST).status, 200)

    def test_max_retries_zero_disables_retries(self):
        bad = HttpUpstream(lambda req: Response(503, [], b"bad"), name="bad")
        good = HttpUpstream(lambda req: Response(200, [], b"good"), name="good")
        with bad, good, Proxy(config([bad, good], {"max_retries": 0},
                                     {"retry_on": "5xx", "num_retries": 3}),
                              ["--concurrency", "1"]) as px:
            statuses = [http_request(px.addr(), "GET", "/r/%d" % i, HOST).status
                        for i in range(6)]
            self.assertIn(503, statuses)
            self.assertEqual(len(bad.requests) + len(good.requests), 6)


if __name__ == "__main__":
    harness.main()
