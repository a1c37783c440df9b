"""Envoy's router retries through ringway's HTTP connection manager, as client and origins see it.

Proves that:
- a route retry_policy (retry_on 5xx) turns a 503 from one host into the 200 of another, and
  the request body reaches the second host intact (the request is replayed);
- x-envoy-retry-on / x-envoy-max-retries request headers enable retries on a route without a
  policy, and are not forwarded upstream;
- retries never exceed num_retries: with every host failing, each request reaches the origins
  exactly 1 + num_retries times, and the client gets the last answer (503);
- connect-failure retries move past an endpoint nobody listens on;
- per_try_timeout abandons a hanging host and the retry answers; so does
  per_try_idle_timeout for a host that goes quiet;
- retriable-status-codes retries exactly the listed codes, other errors pass through;
- gateway-error retries 502/503/504 but not a 500;
- without a policy nothing is retried.
"""

import hashlib
import os
import threading

import harness
from http_harness import (HttpUpstream, Proxy, Response, closed_port, http_config, http_request,
                          route, vhost)

HOST = (("Host", "example.com"),)


def fixed(status, name):
    return HttpUpstream(lambda req: Response(status, [("x-from", name)], name.encode()),
                        name=name)


def echo_sha(name):
    """200 whose body is the SHA-256 of the request body."""
    return HttpUpstream(lambda req: Response(200, [("x-from", name)],
                                             hashlib.sha256(req.body).hexdigest().encode()),
                        name=name)


def config(endpoints, retry_policy=None):
    r = route("up")
    if retry_policy is not None:
        r["route"]["retry_policy"] = retry_policy
    return http_config([vhost("v", ["*"], [r])], clusters={"up": endpoints})


class Retries(harness.unittest.TestCase):
    def test_policy_5xx_replays_body_on_another_host(self):
        with fixed(503, "bad") as bad, echo_sha("good") as good, \
                Proxy(config([bad.endpoint, good.endpoint],
                             {"retry_on": "5xx", "num_retries": 2}),
                      ["--concurrency", "1"]) as px:
            for i in range(8):
                body = os.urandom(50000 + i)
                r = http_request(px.addr(), "POST", "/p/%d" % i, HOST, body=body)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, hashlib.sha256(body).hexdigest().encode())
            # Round robin sends every other first try to the bad host; each was retried.
            self.assertGreaterEqual(len(bad.requests), 1)
            self.assertEqual(len(good.requests), 8)
            for req in bad.requests + good.requests:
                self.assertIsNone(req.header("x-envoy-retry-on"))

    def test_attempt_count(self):
        bad = fixed(503, "bad")
        good = HttpUpstream(lambda req: Response(200, [], (req.header("x-envoy-attempt-count")
                                                           or "-").encode()), name="good")
        r = route("up")
        r["route"]["retry_policy"] = {"retry_on": "5xx", "num_retries": 2}
        cfg = http_config([vhost("v", ["*"], [r], include_request_attempt_count=True,
                                 include_attempt_count_in_response=True)],
                          clusters={"up": [bad.endpoint, good.endpoint]})
        with bad, good, Proxy(cfg, ["--concurrency", "1"]) as px:
            seen = set()
            for i in range(6):
                resp = http_request(px.addr(), "POST", "/a", HOST, body=b"x" * 1000)
                self.assertEqual(resp.status, 200)
                # The upstream saw the try's number; the client sees it too.
                self.assertEqual(resp.header("x-envoy-attempt-count"), resp.body.decode())
                seen.add(resp.body)
            # Round robin alternates and each request takes two picks: every first try lands
            # on the failing host, every answer comes from the second try.
            self.assertEqual(seen, {b"2"}, seen)
            self.assertEqual(len(bad.requests), 6)
            for q in bad.requests:
                self.assertEqual(q.header("x-envoy-attempt-count"), "1")
                self.assertEqual(len(q.body), 1000)

    def test_request_headers_enable_retries(self):
        with fixed(503, "bad") as bad, fixed(200, "good") as good, \
                Proxy(config([bad.endpoint, good.endpoint]), ["--concurrency", "1"]) as px:
            for _ in range(6):
                r = http_request(px.addr(), "GET", "/h",
                                 HOST + (("x-envoy-retry-on", "5xx"),
                                         ("x-envoy-max-retries", "1")))
                self.assertEqual((r.status, r.body), (200, b"good"))
            for req in bad.requests + good.requests:
                self.assertIsNone(req.header("x-envoy-retry-on"))
                self.assertIsNone(req.header("x-envoy-max-retries"))
            # The same route without the headers: the 503 passes through.
            statuses = {http_request(px.addr(), "GET", "/h", HOST).status for _ in range(4)}
            self.assertIn(503, statuses)

    def test_retry_budget_is_never_exceeded(self):
        with fixed(503, "a") as a, fixed(503, "b") as b, \
                Proxy(config([a.endpoint, b.endpoint], {"retry_on": "5xx", "num_retries": 2}),
                      ["--concurrency", "1"]) as px:
            for i in range(5):
                r = http_request(px.addr(), "GET", "/b/%d" % i, HOST)
                self.assertEqual(r.status, 503)
                self.assertIn(r.body, (b"a", b"b"))  # the last try's answer, forwarded
            tries = [q.target for q in a.requests + b.requests]
            for i in range(5):
                self.assertEqual(tries.count("/b/%d" % i), 3, tries)

    def test_connect_failure(self):
        with fixed(200, "good") as good, \
                Proxy(config([("127.0.0.1", closed_port()), good.endpoint],
                             {"retry_on": "connect-failure", "num_retries": 1}),
                      ["--concurrency", "1"]) as px:
            for _ in range(6):
                r = http_request(px.addr(), "GET", "/c", HOST)
                self.assertEqual((r.status, r.body), (200, b"good"))

    def test_per_try_timeout(self):
        release = threading.Event()
        hang = HttpUpstream(lambda req: release.wait(10) and None, name="hang")
        with hang, fixed(200, "good") as good, \
                Proxy(config([hang.endpoint, good.endpoint],
                             {"retry_on": "5xx", "num_retries": 1, "per_try_timeout": "0.3s"}),
                      ["--concurrency", "1"]) as px:
            try:
                for _ in range(4):
                    r = http_request(px.addr(), "GET", "/t", HOST, timeout=10)
                    self.assertEqual((r.status, r.body), (200, b"good"))
                self.assertGreaterEqual(len(hang.requests), 1)
            finally:
                release.set()

    def test_per_try_idle_timeout(self):
        release = threading.Event()
        quiet = HttpUpstream(lambda req: release.wait(10) and None, name="quiet")
        with quiet, fixed(200, "good") as good, \
                Proxy(config([quiet.endpoint, good.endpoint],
                             {"retry_on": "5xx", "num_retries": 1,
                              "per_try_idle_timeout": "0.3s"}),
                      ["--concurrency", "1"]) as px:
            try:
                for _ in range(4):
                    r = http_request(px.addr(), "GET", "/i", HOST, timeout=10)
                    self.assertEqual((r.status, r.body), (200, b"good"))
                self.assertGreaterEqual(len(quiet.requests), 1)
            finally:
                release.set()

    def test_retriable_status_codes(self):
        with fixed(418, "teapot") as t, fixed(200, "good") as good, \
                Proxy(config([t.endpoint, good.endpoint],
                             {"retry_on": "retriable-status-codes", "num_retries": 1,
                              "retriable_status_codes": [418]}),
                      ["--concurrency", "1"]) as px:
            for _ in range(4):
                self.assertEqual(http_request(px.addr(), "GET", "/s", HOST).status, 200)
        with fixed(500, "err") as e, fixed(200, "good") as good, \
                Proxy(config([e.endpoint, good.endpoint],
                             {"retry_on": "retriable-status-codes", "num_retries": 1,
                              "retriable_status_codes": [418]}),
                      ["--concurrency", "1"]) as px:
            statuses = [http_request(px.addr(), "GET", "/s", HOST).status for _ in range(4)]
            self.assertIn(500, statuses)

    def test_gateway_error_skips_500(self):
        with fixed(502, "gw") as gw, fixed(200, "good") as good, \
                Proxy(config([gw.endpoint, good.endpoint],
                             {"retry_on": "gateway-error", "num_retries": 1}),
                      ["--concurrency", "1"]) as px:
            for _ in range(4):
                self.assertEqual(http_request(px.addr(), "GET", "/g", HOST).status, 200)
        with fixed(500, "err") as e, fixed(200, "good") as good, \
                Proxy(config([e.endpoint, good.endpoint],
                             {"retry_on": "gateway-error", "num_retries": 1}),
                      ["--concurrency", "1"]) as px:
            statuses = [http_request(px.addr(), "GET", "/g", HOST).status for _ in range(4)]
            self.assertIn(500, statuses)

    def test_no_policy_no_retry(self):
        with fixed(503, "bad") as bad, \
                Proxy(config([bad.endpoint]), ["--concurrency", "1"]) as px:
            for i in range(3):
                self.assertEqual(http_request(px.addr(), "GET", "/n%d" % i, HOST).status, 503)
            self.assertEqual(len(bad.requests), 3)


if __name__ == "__main__":
    harness.main()
