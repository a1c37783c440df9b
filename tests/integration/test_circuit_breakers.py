"""Envoy's circuit breakers (circuit_breakers.thresholds, DEFAULT priority) through the binary.

Proves that:
- max_requests: with 2 requests held by the origin, a 3rd gets 503 "upstream connect error or
  disconnect/reset before headers. reset reason: overflow" at once, and the origin never sees
  it; once the held ones finish, requests flow again;
- max_connections: 1 connection busy with a held request, a 2nd request that would need a
  new connection overflows the same way;
- max_retries: 0 turns off retries that the route's retry_policy would make (the 503 of the
  failing host reaches the client, the origin sees each request once);
- the limits are cluster-wide: the counts come back to zero (the same requests pass later).
"""

import threading

import harness
from http_harness import HttpUpstream, Proxy, Response, http_config, http_request, route, vhost

HOST = (("Host", "example.com"),)
OVERFLOW = (b"upstream connect error or disconnect/reset before headers. "
            b"reset reason: overflow")


def config(ups, thresholds, retry=None):
    r = route("up")
    if retry:
        r["route"]["retry_policy"] = retry
    return http_config([vhost("v", ["*"], [r])], clusters={"up": [u.endpoint for u in ups]},
                       cluster_opts={"up": {"circuit_breakers": {"thresholds": [thresholds]}}})


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

    def test_max_connections(self):
        release = threading.Event()
        with HttpUpstream(holding(release), name="up") as up, \
                Proxy(config([up], {"max_connections": 1}), ["--concurrency", "1"]) as px:
            threads, results = self.held_requests(px, 1)
            up.wait_requests(1)
            r = http_request(px.addr(), "GET", "/second", HOST)
            self.assertEqual((r.status, r.body), (503, OVERFLOW))
            release.set()
            for t in threads:
                t.join(20)
            self.assertEqual(results, [200])
            # The one connection is pooled and reused: sequential requests pass.
            for _ in range(5):
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
