"""The HTTP filters before the router: envoy.filters.http.local_ratelimit and
envoy.filters.http.fault, through the real binary.

Proves that:
- a token bucket of N tokens admits exactly N requests in a burst (well inside one fill
  interval) and answers the rest 429 "local_rate_limited" without reaching the origin, with
  x-ratelimit-limit/-remaining/-reset when enable_x_ratelimit_headers is DRAFT_VERSION_03 and
  the filter's response_headers_to_add on the 429; tokens come back after the fill interval;
- the bucket is shared by every worker (--concurrency 2, many connections);
- filter_enforced 0% only counts: nothing is refused;
- a route's typed_per_filter_config override has its own bucket;
- fault abort 100% answers the configured status with "fault filter abort" and the origin sees
  nothing; header_abort takes the status from x-envoy-fault-abort-request;
- fault delay holds the request (and its body) for the delay, then forwards it intact;
- fault headers[] limit injection to matching requests.
"""

import time

import harness
from http_harness import (HttpClient, HttpUpstream, Proxy, Response, http_config, http_request,
                          route, vhost)

HOST = (("Host", "example.com"),)
RL_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router."
                                    "v3.Router"}}


def pct(n):
    return {"numerator": n, "denominator": "HUNDRED"}


def ratelimit(tokens, fill="60s", enforced=100, headers=True, extra=None):
    cfg = {"@type": RL_TYPE, "stat_prefix": "rl",
           "token_bucket": {"max_tokens": tokens, "tokens_per_fill": tokens,
                            "fill_interval": fill},
           "filter_enabled": {"default_value": pct(100)},
           "filter_enforced": {"default_value": pct(enforced)}}
    if headers:
        cfg["enable_x_ratelimit_headers"] = "DRAFT_VERSION_03"
    cfg.update(extra or {})
    return {"name": "envoy.filters.http.local_ratelimit", "typed_config": cfg}


def fault(cfg):
    c = {"@type": FAULT_TYPE}
    c.update(cfg)
    return {"name": "envoy.filters.http.fault", "typed_config": c}


def config(up, filters, routes=None):
    routes = routes or [route("up")]
    return http_config([vhost("v", ["*"], routes)], clusters={"up": [up.endpoint]},
                       hcm={"http_filters": filters + [ROUTER]})


class LocalRateLimit(harness.unittest.TestCase):
    def test_bucket_admits_exactly_max_tokens(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [ratelimit(5, extra={"response_headers_to_add": [
                    {"header": {"key": "x-limited-by", "value": "ringway"}}]})]),
                      ["--concurrency", "1"]) as px:
            with HttpClient(px.addr()) as c:
                got = [c.request("GET", "/r/%d" % i, HOST) for i in range(8)]
            self.assertEqual([r.status for r in got], [200] * 5 + [429] * 3)
            self.assertEqual(got[5].body, b"local_rate_limited")
            self.assertEqual(got[5].header("x-limited-by"), "ringway")
            self.assertIsNone(got[0].header("x-limited-by"))
            self.assertEqual(got[0].header("x-ratelimit-limit"), "5")
            self.assertEqual(got[0].header("x-ratelimit-remaining"), "4")
            self.assertEqual(got[4].header("x-ratelimit-remaining"), "0")
            self.assertEqual(got[6].header("x-ratelimit-remaining"), "0")
            self.assertTrue(0 < int(got[6].header("x-ratelimit-reset")) <= 60)
            self.assertEqual(len(up.requests), 5)

    def test_tokens_refill(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [ratelimit(2, fill="0.3s", headers=False)]),
                      ["--concurrency", "1"]) as px:
            first = [http_request(px.addr(), "GET", "/a", HOST).status for _ in range(3)]
            self.assertEqual(first, [200, 200, 429])
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.35)
                if http_request(px.addr(), "GET", "/b", HOST).status == 200:
                    break
            else:
                self.fail("no token came back after the fill interval")

    def test_shared_by_all_workers(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [ratelimit(10, headers=False)]),
                      ["--concurrency", "2"]) as px:
            statuses = [http_request(px.addr(), "GET", "/w/%d" % i, HOST).status
                        for i in range(30)]
            self.assertEqual(statuses.count(200), 10, statuses)
            self.assertEqual(statuses.count(429), 20)

    def test_not_enforced_only_counts(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [ratelimit(1, enforced=0)]), ["--concurrency", "1"]) as px:
            statuses = [http_request(px.addr(), "GET", "/n", HOST).status for _ in range(5)]
            self.assertEqual(statuses, [200] * 5)

    def test_route_override_has_its_own_bucket(self):
        limited = route("up", prefix="/limited")
        limited["typed_per_filter_config"] = {
            "envoy.filters.http.local_ratelimit": ratelimit(1, headers=False)["typed_config"]}
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [ratelimit(100, headers=False)], [limited, route("up")]),
                      ["--concurrency", "1"]) as px:
            self.assertEqual([http_request(px.addr(), "GET", "/limited", HOST).status
                              for _ in range(3)], [200, 429, 429])
            self.assertEqual([http_request(px.addr(), "GET", "/other", HOST).status
                              for _ in range(3)], [200, 200, 200])


class Fault(harness.unittest.TestCase):
    def test_abort(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [fault({"abort": {"http_status": 418, "percentage": pct(100)}})]),
                      ["--concurrency", "1"]) as px:
            r = http_request(px.addr(), "GET", "/f", HOST)
            self.assertEqual((r.status, r.body), (418, b"fault filter abort"))
            self.assertEqual(len(up.requests), 0)

    def test_header_abort(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [fault({"abort": {"header_abort": {}, "percentage": pct(100)}})]),
                      ["--concurrency", "1"]) as px:
            r = http_request(px.addr(), "GET", "/f",
                             HOST + (("x-envoy-fault-abort-request", "503"),))
            self.assertEqual(r.status, 503)
            self.assertEqual(http_request(px.addr(), "GET", "/f", HOST).status, 200)
            self.assertEqual(len(up.requests), 1)

    def test_delay_holds_request_and_body(self):
        with HttpUpstream(lambda req: Response(200, [], req.body), name="up") as up, \
                Proxy(config(up, [fault({"delay": {"fixed_delay": "0.4s",
                                                   "percentage": pct(100)}})]),
                      ["--concurrency", "1"]) as px:
            body = b"x" * 100000
            t0 = time.monotonic()
            r = http_request(px.addr(), "POST", "/d", HOST, body=body, timeout=10)
            self.assertEqual((r.status, r.body), (200, body))
            self.assertGreaterEqual(time.monotonic() - t0, 0.35)  # the delay happened

    def test_headers_limit_injection(self):
        with HttpUpstream(name="up") as up, \
                Proxy(config(up, [fault({"abort": {"http_status": 500, "percentage": pct(100)},
                                         "headers": [{"name": "x-chaos",
                                                      "exact_match": "yes"}]})]),
                      ["--concurrency", "1"]) as px:
            self.assertEqual(http_request(px.addr(), "GET", "/h",
                                          HOST + (("x-chaos", "yes"),)).status, 500)
            self.assertEqual(http_request(px.addr(), "GET", "/h", HOST).status, 200)


if __name__ == "__main__":
    harness.main()
