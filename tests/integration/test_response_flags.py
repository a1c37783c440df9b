"""Envoy response flags in ringway's access log: one line per failure scenario, field by field.

One ringway (one worker, so cluster-wide and per-worker limits agree) with a JSON access log
(code, flags, details, cluster, upstream_host, method, path, bytes_received, bytes_sent,
attempts) and one route + cluster per scenario, driven by real traffic on 127.0.0.1.  Each
request has a unique path; its line is found by that path and every field is asserted, so an
operator can tell "why 503" from %RESPONSE_FLAGS% and %RESPONSE_CODE_DETAILS% alone:

  -    200 via_upstream                       a good request (the baseline)
  NR   404 route_not_found                    no route matches
  UH   503 no_healthy_upstream                a cluster with no hosts
  UF   503 upstream_connect_failure           the only host refuses connections
  UO   503 upstream_overflow                  max_connections 1, max_pending_requests 1: one
                                              held, one waiting, the third overflows
  URX  503 via_upstream, attempts 3           retry_on 5xx, num_retries 2, the host says 503
  UT   504 upstream_response_timeout          route timeout, the host never answers
  UC   503 upstream_reset_before_headers      the host closes before any byte
  UC   200 (truncated)                        the host closes mid-body (HTTP/1: a connection
                                              termination, as Envoy flags it; not UR)
  UPE  502 upstream_protocol_error            the host answers garbage
  DC   0   (before the response)              the client leaves while the host holds
  DC   200 (mid-response)                     the client leaves after the head and 10 bytes
  UR   101 tunnel                             a websocket tunnel's upstream resets (RST)
  RL   429 local_rate_limited                 a route's local_ratelimit bucket of 1 token
  DI   200 via_upstream                       a route's fault delay (100%)
  FI   503 fault_filter_abort                 a route's fault abort (100%)
  SI   408 stream_idle_timeout                a route idle_timeout, the host never answers
  DPE  400 (the codec's error name)           a request head with a line without a colon
  NC   503 cluster_not_found                  cluster_header naming a cluster that is absent
  DT   408 max_duration_timeout               a second listener's max_stream_duration
  LH   503 health_check_failed_cluster_empty  the health_check filter, min healthy 100% of
                                              an empty cluster

Not produced here, on purpose:
- LR (local reset) is only set when ringway cannot build a reply or request (out of memory,
  an encoder failure): no traffic reaches it deterministically.
- UR for plain HTTP/1 requests: an upstream that drops the connection is a connection
  termination (UC), as in Envoy's HTTP/1 codec; UR is a remote stream reset, which ringway
  reports for an upgraded tunnel whose upstream resets.
No timing is asserted (timeouts are short only so the test is quick); every wait is bounded.
"""

import json
import os
import socket
import struct
import tempfile
import threading
import time

import harness
import http_harness
from http_harness import (
    ClosedPort,
    HttpClient,
    HttpTestCase,
    HttpUpstream,
    Response,
    cluster_dict,
    encode_request,
    hcm_listener,
    http_raw,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)

FILE_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
RL_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"
HC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router."
                                    "v3.Router"}}
HOST = (("Host", "example.com"),)

FIELDS = {
    "code": "%RESPONSE_CODE%", "flags": "%RESPONSE_FLAGS%",
    "details": "%RESPONSE_CODE_DETAILS%", "cluster": "%UPSTREAM_CLUSTER%",
    "upstream_host": "%UPSTREAM_HOST%", "method": "%REQ(:METHOD)%", "path": "%REQ(:PATH)%",
    "bytes_received": "%BYTES_RECEIVED%", "bytes_sent": "%BYTES_SENT%",
    "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
}

UPSTREAM_RESET = b"upstream connect error or disconnect/reset before headers. reset reason: "


def pct100():
    return {"numerator": 100, "denominator": "HUNDRED"}


def hostport(ep):
    return "%s:%d" % ep


# ---- upstream behaviours


def respond_503(req):
    return Response(503, [], b"nope")


def hold(req):
    return None  # never answer; the connection is held until the proxy closes it


def close_at_once(req):
    return b""


def garbage(req):
    return b"garbage, not HTTP\r\n\r\n"


def truncated(req):
    return b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10


def rst_close(sock):
    """Close with a reset (RST): a FIN after a whole request is a half-close, which ringway
    answers (the response still goes out), so a client that leaves must reset."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def read_head(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf


def slow_body(conn, up, index):
    """A head promising 100000 bytes and 10 of them, then silence until the peer leaves."""
    if read_head(conn) is None:
        return
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 10)
    conn.settimeout(15)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def tunnel_then_reset(conn, up, index):
    """Accept a websocket upgrade; once a tunnelled byte arrives (so the proxy is in tunnel
    mode), reset the connection (RST, not FIN)."""
    if read_head(conn) is None:
        return
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\n\r\n")
    conn.settimeout(10)
    try:
        conn.recv(1)
    except OSError:
        pass
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def file_log(path):
    return {"name": "envoy.access_loggers.file",
            "typed_config": {"@type": FILE_TYPE, "path": path,
                             "log_format": {"json_format": FIELDS}}}


class ResponseFlags(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.log_path = os.path.join(cls.tmp.name, "flags.log")
        k = cls.keep
        cls.ok = k(HttpUpstream(name="ok"))
        cls.closed = k(ClosedPort())
        cls.release = threading.Event()
        cls.held = k(HttpUpstream(lambda req: (cls.release.wait(15), Response(200, [], b"ok"))[1],
                                  name="held"))
        cls.u503 = k(HttpUpstream(respond_503, name="u503"))
        cls.slow = k(HttpUpstream(hold, name="slow"))
        cls.idle = k(HttpUpstream(hold, name="idle"))
        cls.gone = k(HttpUpstream(hold, name="gone"))
        cls.reset = k(HttpUpstream(close_at_once, name="reset"))
        cls.trunc = k(HttpUpstream(truncated, name="trunc"))
        cls.bad = k(HttpUpstream(garbage, name="bad"))
        cls.dcmid = k(harness.Upstream(slow_body, name="dcmid"))
        cls.ws = k(harness.Upstream(tunnel_then_reset, name="ws"))
        cls.dtup = k(HttpUpstream(hold, name="dtup"))

        def r(prefix, cluster, **action):
            x = route(cluster, prefix=prefix)
            x["route"].update(action)
            return x

        rl = r("/rl", "ok")
        rl["typed_per_filter_config"] = {"envoy.filters.http.local_ratelimit": {
            "@type": RL_TYPE, "stat_prefix": "rl",
            "token_bucket": {"max_tokens": 1, "tokens_per_fill": 1, "fill_interval": "3600s"},
            "filter_enabled": {"default_value": pct100()},
            "filter_enforced": {"default_value": pct100()}}}
        di = r("/di", "ok")
        di["typed_per_filter_config"] = {"envoy.filters.http.fault": {
            "@type": FAULT_TYPE,
            "delay": {"fixed_delay": "0.05s", "percentage": pct100()}}}
        fi = r("/fi", "ok")
        fi["typed_per_filter_config"] = {"envoy.filters.http.fault": {
            "@type": FAULT_TYPE,
            "abort": {"http_status": 503, "percentage": pct100()}}}
        nc = route(prefix="/nc", action={"route": {"cluster_header": "x-cluster"}})
        routes = [
            r("/ok", "ok"), r("/uh", "empty"), r("/uf", "closed"), r("/uo", "held"),
            r("/urx", "u503", retry_policy={"retry_on": "5xx", "num_retries": 2}),
            r("/ut", "slow", timeout="0.2s"), r("/uc", "reset"), r("/trunc", "trunc"),
            r("/upe", "bad"), r("/dc", "gone"), r("/midresp", "dcmid"), r("/ws", "ws"),
            rl, di, fi, r("/si", "idle", idle_timeout="0.2s"), nc,
            # no route for /healthz: the health_check filter answers before the router
        ]
        log = file_log(cls.log_path)
        filters = [
            {"name": "envoy.filters.http.health_check",
             "typed_config": {"@type": HC_TYPE, "pass_through_mode": False,
                              "headers": [{"name": ":path",
                                           "string_match": {"exact": "/healthz"}}],
                              "cluster_min_healthy_percentages": {"empty": {"value": 100}}}},
            {"name": "envoy.filters.http.local_ratelimit",
             "typed_config": {"@type": RL_TYPE, "stat_prefix": "rl"}},
            {"name": "envoy.filters.http.fault", "typed_config": {"@type": FAULT_TYPE}},
            ROUTER,
        ]
        main_l = hcm_listener([vhost("v", ["*"], routes)], "proxy", hcm={
            "access_log": [log], "http_filters": filters,
            "upgrade_configs": [{"upgrade_type": "websocket"}]})
        # DT: max_stream_duration is the HCM's, so it gets its own listener (same log).
        dt_l = hcm_listener([vhost("v", ["*"], [r("/dt", "dtup")])], "dt", hcm={
            "access_log": [log],
            "common_http_protocol_options": {"max_stream_duration": "0.2s"}})
        clusters = [
            cluster_dict("ok", [cls.ok.endpoint]), cluster_dict("empty", []),
            cluster_dict("closed", [cls.closed.endpoint]),
            cluster_dict("held", [cls.held.endpoint],
                         {"circuit_breakers": {"thresholds": [
                             {"max_connections": 1, "max_pending_requests": 1}]}}),
            cluster_dict("u503", [cls.u503.endpoint]), cluster_dict("slow", [cls.slow.endpoint]),
            cluster_dict("reset", [cls.reset.endpoint]),
            cluster_dict("trunc", [cls.trunc.endpoint]), cluster_dict("bad", [cls.bad.endpoint]),
            cluster_dict("gone", [cls.gone.endpoint]),
            cluster_dict("dcmid", [cls.dcmid.endpoint]), cluster_dict("ws", [cls.ws.endpoint]),
            cluster_dict("idle", [cls.idle.endpoint]), cluster_dict("dtup", [cls.dtup.endpoint]),
        ]
        cfg = json.dumps({"static_resources": {"listeners": [main_l, dt_l],
                                               "clusters": clusters}})
        cls.proxy = k(start_proxy(cfg, workers=1))
        cls.addr = cls.proxy.addr()
        cls.results = {}
        cls.drive()
        cls.lines = cls.read_log()

    @classmethod
    def tearDownClass(cls):
        cls.release.set()
        super().tearDownClass()
        cls.tmp.cleanup()

    # ---- traffic

    @classmethod
    def get(cls, path, headers=HOST, method="GET", body=None, addr=None):
        resp = http_request(addr or cls.addr, method, path, headers, body, timeout=10)
        cls.results[path] = resp
        return resp

    @classmethod
    def drive(cls):
        for path in ("/ok/1", "/nope", "/uh/1", "/uf/1", "/ut/1", "/uc/1", "/upe/1", "/fi/1", "/di/1", "/si/1", "/healthz"):
            cls.get(path)
        cls.get("/urx/1", method="POST", body=b"abc")
        cls.get("/rl/1")
        cls.get("/rl/2")
        cls.get("/nc/1", HOST + (("x-cluster", "no-such-cluster"),))
        cls.get("/dt/1", addr=cls.proxy.addr("dt"))
        cls.results["dpe"] = http_raw(cls.addr, b"GET /dpe HTTP/1.1\r\nHost: example.com\r\n"
                                                b"no colon here\r\n\r\n")[0]
        cls.results["/trunc/1"] = cls.raw_until_eof("/trunc/1")
        cls.overflow()
        cls.client_leaves()
        cls.client_leaves_mid_response()
        cls.tunnel_reset()

    @classmethod
    def raw_until_eof(cls, path):
        """The bytes of a response the proxy cuts short (it closes the connection)."""
        s = harness.connect(cls.addr, 10)
        s.sendall(encode_request("GET", path, HOST))
        buf = b""
        s.settimeout(10)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        s.close()
        return buf

    @classmethod
    def overflow(cls):
        """UO: one request holds the cluster's only connection, the next one waits in the
        pending queue (max_pending_requests 1), the third overflows."""
        t = threading.Thread(target=cls.get, args=("/uo/held",))
        t.start()
        cls.held.wait_requests(1, timeout=10)
        w = threading.Thread(target=cls.get, args=("/uo/wait",))
        w.start()
        time.sleep(0.3)  # /uo/wait is queued (no admin listener here to read the gauge)
        cls.get("/uo/over")
        cls.release.set()
        t.join(15)
        w.join(15)

    @classmethod
    def client_leaves(cls):
        """DC before the response: the host holds, the client closes once it got there."""
        c = HttpClient(cls.addr)
        c.send(encode_request("GET", "/dc/1", HOST))
        cls.gone.wait_requests(1, timeout=10)
        rst_close(c.sock)

    @classmethod
    def client_leaves_mid_response(cls):
        """DC mid-response: the client reads the head and 10 body bytes, then closes."""
        s = harness.connect(cls.addr, 10)
        s.sendall(encode_request("GET", "/midresp/1", HOST))
        buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep and len(rest) >= 10:
                break
            try:
                chunk = s.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        cls.results["/midresp/1"] = buf
        rst_close(s)

    @classmethod
    def tunnel_reset(cls):
        c = HttpClient(cls.addr)
        c.send(b"GET /ws/1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        cls.results["/ws/1"] = c.read_response()
        c.send(b"x")  # through the tunnel: the origin resets once it has it
        c.read_eof(5.0)  # the proxy closes the tunnel after the upstream's reset
        c.close()

    # ---- the log

    @classmethod
    def read_log(cls):
        # Every request above writes exactly one line (the two DC ones once the proxy saw
        # the client go).
        want = 23
        lines = http_harness.read_lines(cls.log_path, want, timeout=10)
        return [json.loads(ln) for ln in lines]

    def line(self, path=None, **match):
        found = [o for o in self.lines
                 if (path is None or o["path"] == path)
                 and all(o.get(k) == v for k, v in match.items())]
        self.assertEqual(len(found), 1, "lines for %s %s: %r\nall lines:\n%s" % (
            path, match, found, "\n".join(json.dumps(o) for o in self.lines)))
        return found[0]

    def check(self, path, **want):
        o = self.line(path)
        base = {"method": "GET", "path": path, "bytes_received": 0}
        base.update(want)
        for key, value in base.items():
            self.assertEqual(o[key], value, "%s: field %s in %s" % (path, key, o))
        self.assertEqual(set(o), set(FIELDS), o)
        return o

    def sent_body(self, path):
        return len(self.results[path].body)

    # ---- the scenarios

    def test_line_count(self):
        self.assertEqual(len(self.lines), 24, self.lines)

    def test_ok(self):
        self.check("/ok/1", code=200, flags="-", details="via_upstream", cluster="ok",
                   upstream_host=hostport(self.ok.endpoint), attempts=1,
                   bytes_sent=self.sent_body("/ok/1"))

    def test_nr(self):
        self.assertEqual(self.results["/nope"].status, 404)
        self.check("/nope", code=404, flags="NR", details="route_not_found", cluster="-",
                   upstream_host="-", attempts=0, bytes_sent=self.sent_body("/nope"))

    def test_uh(self):
        self.assertEqual(self.results["/uh/1"].status, 503)
        self.check("/uh/1", code=503, flags="UH", details="no_healthy_upstream", cluster="empty",
                   upstream_host="-", attempts=1, bytes_sent=len(b"no healthy upstream"))

    def test_uf(self):
        body = UPSTREAM_RESET + b"connection failure"
        self.assertEqual((self.results["/uf/1"].status, self.results["/uf/1"].body), (503, body))
        self.check("/uf/1", code=503, flags="UF", details="upstream_connect_failure",
                   cluster="closed", upstream_host=hostport(self.closed.endpoint), attempts=1,
                   bytes_sent=len(body))

    def test_uo(self):
        body = UPSTREAM_RESET + b"overflow"
        self.assertEqual(self.results["/uo/over"].status, 503)
        self.assertEqual(self.results["/uo/over"].body, body)
        self.check("/uo/over", code=503, flags="UO", details="upstream_overflow",
                   cluster="held", upstream_host=hostport(self.held.endpoint), attempts=1,
                   bytes_sent=len(body))
        # The request that waited in the pending queue got the connection next.
        self.check("/uo/wait", code=200, flags="-", details="via_upstream", cluster="held",
                   upstream_host=hostport(self.held.endpoint), attempts=1, bytes_sent=2)
        # The request that held the connection went through untouched.
        self.check("/uo/held", code=200, flags="-", details="via_upstream", cluster="held",
                   upstream_host=hostport(self.held.endpoint), attempts=1, bytes_sent=2)

    def test_urx(self):
        self.assertEqual(self.results["/urx/1"].status, 503)
        self.assertEqual(len(self.u503.snapshot()), 3)
        self.check("/urx/1", method="POST", code=503, flags="URX", details="via_upstream",
                   cluster="u503", upstream_host=hostport(self.u503.endpoint), attempts=3,
                   bytes_received=3, bytes_sent=4)

    def test_ut(self):
        self.assertEqual(self.results["/ut/1"].status, 504)
        self.check("/ut/1", code=504, flags="UT", details="upstream_response_timeout",
                   cluster="slow", upstream_host=hostport(self.slow.endpoint), attempts=1,
                   bytes_sent=len(b"upstream request timeout"))

    def test_uc_before_headers(self):
        body = UPSTREAM_RESET + b"connection termination"
        self.assertEqual((self.results["/uc/1"].status, self.results["/uc/1"].body), (503, body))
        self.check("/uc/1", code=503, flags="UC", details="upstream_reset_before_headers",
                   cluster="reset", upstream_host=hostport(self.reset.endpoint), attempts=1,
                   bytes_sent=len(body))

    def test_uc_mid_body(self):
        got = self.results["/trunc/1"]
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got)
        self.check("/trunc/1", code=200, flags="UC",
                   details="upstream_reset_after_response_started", cluster="trunc",
                   upstream_host=hostport(self.trunc.endpoint), attempts=1, bytes_sent=10)

    def test_upe(self):
        body = UPSTREAM_RESET + b"protocol error"
        self.assertEqual((self.results["/upe/1"].status, self.results["/upe/1"].body), (502, body))
        self.check("/upe/1", code=502, flags="UPE", details="upstream_protocol_error",
                   cluster="bad", upstream_host=hostport(self.bad.endpoint), attempts=1,
                   bytes_sent=len(body))

    def test_dc_before_response(self):
        self.check("/dc/1", code=0, flags="DC", details="downstream_connection_error",
                   cluster="gone", upstream_host=hostport(self.gone.endpoint), attempts=1,
                   bytes_sent=0)

    def test_dc_mid_response(self):
        got = self.results["/midresp/1"]
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got)
        self.assertTrue(got.endswith(b"\r\n\r\n" + b"y" * 10), got)
        self.check("/midresp/1", code=200, flags="DC", details="downstream_connection_error",
                   cluster="dcmid", upstream_host=hostport(self.dcmid.endpoint), attempts=1,
                   bytes_sent=10)

    def test_ur_tunnel(self):
        self.assertEqual(self.results["/ws/1"].status, 101)
        # bytes_received: the one byte the client sent through the tunnel.
        self.check("/ws/1", code=101, flags="UR", details="tunnel_upstream_error", cluster="ws",
                   upstream_host=hostport(self.ws.endpoint), attempts=1, bytes_received=1,
                   bytes_sent=0)

    def test_rl(self):
        self.assertEqual([self.results["/rl/1"].status, self.results["/rl/2"].status],
                         [200, 429])
        self.check("/rl/1", code=200, flags="-", details="via_upstream", cluster="ok",
                   upstream_host=hostport(self.ok.endpoint), attempts=1,
                   bytes_sent=self.sent_body("/rl/1"))
        self.check("/rl/2", code=429, flags="RL", details="local_rate_limited", cluster="-",
                   upstream_host="-", attempts=0, bytes_sent=len(b"local_rate_limited"))

    def test_di(self):
        self.assertEqual(self.results["/di/1"].status, 200)
        self.check("/di/1", code=200, flags="DI", details="via_upstream", cluster="ok",
                   upstream_host=hostport(self.ok.endpoint), attempts=1,
                   bytes_sent=self.sent_body("/di/1"))

    def test_fi(self):
        self.assertEqual(self.results["/fi/1"].status, 503)
        self.check("/fi/1", code=503, flags="FI", details="fault_filter_abort", cluster="-",
                   upstream_host="-", attempts=0, bytes_sent=len(b"fault filter abort"))

    def test_si(self):
        self.assertEqual(self.results["/si/1"].status, 408)
        self.check("/si/1", code=408, flags="SI", details="stream_idle_timeout", cluster="idle",
                   upstream_host=hostport(self.idle.endpoint), attempts=1,
                   bytes_sent=len(b"stream timeout"))

    def test_dpe(self):
        self.assertEqual(self.results["dpe"].status, 400)
        # The codec's error name is the detail; the head's request line was parsed.
        self.check("/dpe", code=400, flags="DPE", details="bad_header_name", cluster="-",
                   upstream_host="-", attempts=0, bytes_sent=len(self.results["dpe"].body))

    def test_nc(self):
        self.assertEqual(self.results["/nc/1"].status, 503)
        self.check("/nc/1", code=503, flags="NC", details="cluster_not_found", cluster="-",
                   upstream_host="-", attempts=0, bytes_sent=0)

    def test_dt(self):
        self.assertEqual(self.results["/dt/1"].status, 408)
        self.check("/dt/1", code=408, flags="DT", details="max_duration_timeout", cluster="dtup",
                   upstream_host=hostport(self.dtup.endpoint), attempts=1,
                   bytes_sent=len(b"downstream duration timeout"))

    def test_lh(self):
        self.assertEqual(self.results["/healthz"].status, 503)
        self.check("/healthz", code=503, flags="LH",
                   details="health_check_failed_cluster_empty", cluster="-", upstream_host="-",
                   attempts=0, bytes_sent=self.sent_body("/healthz"))


if __name__ == "__main__":
    main()
