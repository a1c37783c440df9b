"""Error handling of ringway's HttpConnectionManager: Envoy's statuses and local-reply bodies.

Proves that:
- no virtual host / no route -> 404 with an empty body;
- an endpoint that refuses connections -> 503 "upstream connect error or disconnect/reset
  before headers. reset reason: connection failure" (newer Envoy words it "remote connection
  failure" and may append ", transport failure reason: ..."; both are accepted);
- a cluster without endpoints -> 503 "no healthy upstream";
- route timeout 0.5s with an origin that never answers -> 504 "upstream request timeout",
  and the upstream connection is closed;
- an origin answering garbage -> 502 "... reset reason: protocol error"; an origin closing
  before any byte -> 503 "... reset reason: connection termination";
- malformed requests (bad method token, missing or duplicate Host, CL+TE, bad
  Content-Length, obs-fold, bare CR, space before colon, NUL) -> 400, the connection is
  closed, nothing reaches the origin;
- a request head over max_request_headers_kb, or more headers than max_headers_count ->
  431; at the limit it is served;
- HTTP/1.0 is refused with 426 unless http_protocol_options.accept_http_10; then it is
  served and the connection closes unless the client asked for keep-alive;
- after every one of these the same proxy (its workers) still serves a normal request.
"""

import re
import time

from http_harness import (
    ClosedPort,
    HttpClient,
    HttpTestCase,
    HttpUpstream,
    assert_serves,
    encode_request,
    http_config,
    http_raw,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)

RESET_PREFIX = "upstream connect error or disconnect/reset before headers. reset reason: "
CONNECT_FAILURE_RE = re.compile(
    "^" + re.escape(RESET_PREFIX)
    + r"(remote )?connection failure(, transport failure reason: .+)?$")


class UpstreamErrors(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.ok = cls.keep(HttpUpstream(name="ok"))
        cls.hold = cls.keep(HttpUpstream(lambda req: None, name="hold"))
        cls.garbage1 = cls.keep(HttpUpstream(lambda req: b"HTTP/1.1 abc\r\n\r\n", name="g1"))
        cls.garbage2 = cls.keep(HttpUpstream(lambda req: b"NOTHTTP\r\n\r\n", name="g2"))
        cls.garbage3 = cls.keep(HttpUpstream(lambda req: b"HTTP/1.1 abc\r\n", name="g3"))
        cls.garbage4 = cls.keep(HttpUpstream(
            lambda req: b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\nhello", name="g4"))
        cls.drop = cls.keep(HttpUpstream(lambda req: b"", name="drop"))
        cls.closed = cls.keep(ClosedPort())
        clusters = {
            "ok": [cls.ok.endpoint],
            "hold": [cls.hold.endpoint],
            "garbage1": [cls.garbage1.endpoint],
            "garbage2": [cls.garbage2.endpoint],
            "garbage3": [cls.garbage3.endpoint],
            "garbage4": [cls.garbage4.endpoint],
            "drop": [cls.drop.endpoint],
            "refused": [cls.closed.endpoint],
            "empty": [],
        }
        routes = [
            route("ok", prefix="/ok"),
            route("refused", prefix="/refused"),
            route("empty", prefix="/empty"),
            route(prefix="/slow", action={"route": {"cluster": "hold", "timeout": "0.5s"}}),
            route("garbage1", prefix="/garbage1"),
            route("garbage2", prefix="/garbage2"),
            route("garbage3", prefix="/garbage3"),
            route("garbage4", prefix="/garbage4"),
            route("drop", prefix="/drop"),
            # No catch-all route: anything else in this virtual host is "no route".
        ]
        cfg = http_config([vhost("main", ["example.com"], routes)], clusters)
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def tearDown(self):
        # After every error case the same proxy still serves a normal request.
        self.assert_alive(self.proxy)
        assert_serves(self, self.addr, target="/ok")

    def get(self, target, host="example.com"):
        return http_request(self.addr, "GET", target, [("Host", host)], timeout=10)

    def test_no_virtual_host_is_404(self):
        r = self.get("/ok", host="unknown.test")
        self.assertEqual((r.status, r.body), (404, b""), r)

    def test_no_route_is_404(self):
        r = self.get("/nothing-here")
        self.assertEqual((r.status, r.body), (404, b""), r)

    def test_connection_refused_is_503(self):
        r = self.get("/refused")
        self.assertEqual(r.status, 503, r)
        self.assertRegex(r.body.decode(), CONNECT_FAILURE_RE)

    def test_no_endpoints_is_503(self):
        r = self.get("/empty")
        self.assertEqual((r.status, r.body), (503, b"no healthy upstream"), r)
        self.assertEqual(r.header_all("content-length"), ["19"])
        self.assertEqual(r.header("content-type"), "text/plain")

    def test_route_timeout_is_504(self):
        before = len(self.hold.snapshot())
        r = self.get("/slow")
        self.assertEqual((r.status, r.body), (504, b"upstream request timeout"), r)
        # The request did reach the origin, and the proxy gave up on that connection.
        self.assertEqual(len(self.hold.snapshot()), before + 1)
        self.assertTrue(wait_until(lambda: self.hold.active == 0, 5.0),
                        "the upstream connection of a timed-out request stayed open")

    def test_garbage_status_line_is_502(self):
        r = self.get("/garbage1")
        self.assertEqual((r.status, r.body.decode()), (502, RESET_PREFIX + "protocol error"), r)

    def test_not_http_is_502(self):
        r = self.get("/garbage2")
        self.assertEqual((r.status, r.body.decode()), (502, RESET_PREFIX + "protocol error"), r)

    def test_truncated_status_line_then_close_is_502(self):
        r = self.get("/garbage3")
        self.assertEqual((r.status, r.body.decode()), (502, RESET_PREFIX + "protocol error"), r)

    def test_bad_content_length_from_upstream_is_502(self):
        r = self.get("/garbage4")
        self.assertEqual((r.status, r.body.decode()), (502, RESET_PREFIX + "protocol error"), r)

    def test_upstream_closes_before_response_is_503(self):
        r = self.get("/drop")
        self.assertEqual((r.status, r.body.decode()),
                         (503, RESET_PREFIX + "connection termination"), r)

    def test_errors_on_a_keep_alive_connection(self):
        # Upstream failures are per request: the client connection goes on.
        with HttpClient(self.addr, timeout=10) as c:
            for target, status in (("/empty", 503), ("/ok", 200), ("/drop", 503),
                                   ("/garbage1", 502), ("/nothing", 404), ("/ok", 200)):
                r = c.request("GET", target)
                self.assertEqual(r.status, status, (target, r))


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


# Each of these is refused by the codec with 400 (RFC 9112 / Envoy's HTTP/1 codec).
BAD_REQUESTS = {
    "bad_method_token": b"G(T / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    "missing_host": b"GET /ok HTTP/1.1\r\nUser-Agent: t\r\n\r\n",
    "two_hosts": b"GET /ok HTTP/1.1\r\nHost: example.com\r\nHost: example.com\r\n\r\n",
    "cl_and_te": (b"POST /ok HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "bad_content_length": b"POST /ok HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5x\r\n\r\n",
    "negative_content_length": (b"POST /ok HTTP/1.1\r\nHost: example.com\r\n"
                                b"Content-Length: -1\r\n\r\n"),
    "conflicting_content_lengths": (b"POST /ok HTTP/1.1\r\nHost: example.com\r\n"
                                    b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    "obs_fold": b"GET /ok HTTP/1.1\r\nHost: example.com\r\nX-A: a\r\n b\r\n\r\n",
    "bare_cr": b"GET /ok HTTP/1.1\r\nHost: example.com\r\nX-A: a\rb\r\n\r\n",
    "space_before_colon": b"GET /ok HTTP/1.1\r\nHost: example.com\r\nX-A : a\r\n\r\n",
    "nul_in_header": b"GET /ok HTTP/1.1\r\nHost: example.com\r\nX-A: a\x00b\r\n\r\n",
}


class MalformedRequests(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.ok = cls.keep(HttpUpstream(name="ok"))
        cfg = http_config([vhost("main", ["*"], [route("ok")])], {"ok": [cls.ok.endpoint]})
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def check_rejected(self, raw, status):
        before = len(self.ok.snapshot())
        r, closed = http_raw(self.addr, raw)
        self.assertEqual(r.status, status, r)
        self.assertTrue(closed, "the connection stayed open after a %d" % status)
        self.assertEqual(len(self.ok.snapshot()), before, "a bad request reached the origin")
        self.assert_alive(self.proxy)
        assert_serves(self, self.addr)

    def test_bad_requests_are_400(self):
        for name, raw in BAD_REQUESTS.items():
            with self.subTest(name):
                self.check_rejected(raw, 400)

    def test_bad_request_after_a_good_one_on_the_same_connection(self):
        with HttpClient(self.addr) as c:
            self.assertEqual(c.request("GET", "/first").status, 200)
            c.send(BAD_REQUESTS["space_before_colon"])
            self.assertEqual(c.read_response().status, 400)
            self.assertTrue(c.read_eof(2.0))
        assert_serves(self, self.addr)

    def test_http10_refused_by_default(self):
        # Envoy's http_protocol_options.accept_http_10 is false by default: 426.
        self.check_rejected(b"GET /ok HTTP/1.0\r\nHost: example.com\r\n\r\n", 426)


class Limits(HttpTestCase):
    """max_request_headers_kb: 8 and common_http_protocol_options.max_headers_count: 20."""

    @classmethod
    def setUpClass(cls):
        cls.ok = cls.keep(HttpUpstream(name="ok"))
        cfg = http_config([vhost("main", ["*"], [route("ok")])], {"ok": [cls.ok.endpoint]},
                          hcm={"max_request_headers_kb": 8,
                               "common_http_protocol_options": {"max_headers_count": 20}})
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def tearDown(self):
        self.assert_alive(self.proxy)
        assert_serves(self, self.addr)

    def send(self, headers):
        return http_raw(self.addr, encode_request("GET", "/", [("Host", "example.com")]
                                                  + headers))

    def test_head_under_the_size_limit_is_served(self):
        r, _ = self.send([("x-big", "a" * 6000)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.ok.snapshot()[-1].header("x-big"), "a" * 6000)

    def test_head_over_the_size_limit_is_431(self):
        before = len(self.ok.snapshot())
        r, closed = self.send([("x-big", "a" * 10000)])
        self.assertEqual(r.status, 431, r)
        self.assertTrue(closed)
        self.assertEqual(len(self.ok.snapshot()), before)

    def test_many_small_headers_over_the_size_limit_is_431(self):
        r, closed = self.send([("x-h%d" % i, "v" * 500) for i in range(18)])
        self.assertEqual(r.status, 431, r)
        self.assertTrue(closed)

    def test_header_count_at_the_limit_is_served(self):
        # Host plus 19 more: 20 headers.
        r, _ = self.send([("x-h%d" % i, "v") for i in range(19)])
        self.assertEqual(r.status, 200, r)

    def test_header_count_over_the_limit_is_431(self):
        before = len(self.ok.snapshot())
        r, closed = self.send([("x-h%d" % i, "v") for i in range(20)])
        self.assertEqual(r.status, 431, r)
        self.assertTrue(closed)
        self.assertEqual(len(self.ok.snapshot()), before)


class Http10(HttpTestCase):
    """With accept_http_10 an HTTP/1.0 request is served; the connection closes after the
    response unless the client sent Connection: keep-alive."""

    @classmethod
    def setUpClass(cls):
        cls.ok = cls.keep(HttpUpstream(name="ok"))
        cfg = http_config([vhost("main", ["*"], [route("ok")])], {"ok": [cls.ok.endpoint]},
                          hcm={"http_protocol_options": {"accept_http_10": True}})
        cls.proxy = cls.keep(start_proxy(cfg))
        cls.addr = cls.proxy.addr()

    def tearDown(self):
        self.assert_alive(self.proxy)
        assert_serves(self, self.addr)

    def test_http10_closes(self):
        r, closed = http_raw(self.addr, b"GET /ten HTTP/1.0\r\nHost: example.com\r\n\r\n")
        self.assertEqual((r.status, r.body), (200, b"ok GET /ten"), r)
        self.assertTrue(closed, "an HTTP/1.0 connection without keep-alive stayed open")

    def test_http10_keep_alive(self):
        with HttpClient(self.addr) as c:
            for i in range(2):
                c.send(b"GET /ka%d HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\n\r\n"
                       % i)
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"ok GET /ka%d" % i), r)
                self.assertEqual([v.lower() for v in r.header_all("connection")], ["keep-alive"], r)
                self.assertIsNotNone(r.header("content-length"), r)
            self.assertFalse(c.read_eof(0.5), "the keep-alive HTTP/1.0 connection was closed")


if __name__ == "__main__":
    main()
