"""Access log operators added for observability, tcp_proxy's access_log and the
x-ringway-debug response header.

Proves that:
- %REQUEST_DURATION%, %RESPONSE_DURATION%, %RESPONSE_TX_DURATION%, %DURATION% and
  %COMMON_DURATION(START:END:ms|us|ns)% are non-negative and ordered, RESPONSE_DURATION is at
  least the upstream's sleep, and a point that did not happen prints "-" (no upper bounds are
  asserted: a loaded machine may be slow);
- %TRAILER(X?Y):N% shows the response's trailers (enable_trailers), %UPSTREAM_LOCAL_ADDRESS%
  the proxy's side of the upstream connection, %UPSTREAM_TRANSPORT_FAILURE_REASON% why a
  connect failed, %START_TIME% Envoy's %s / %3f / %f / %6f;
- json_format accepts nested objects and writes numbers for numeric operators;
- tcp_proxy's access_log writes one line per connection: bytes, duration, upstream host,
  cluster, addresses, flags "-" for a good session and UF with the reason for a refused one;
- x-ringway-debug is off by default, on per route (metadata) and per request (the
  listener's debug_request_header), says conn=new then conn=reused on a keep-alive
  connection, and cluster=- on a local reply without a cluster.
"""

import json
import os
import re
import socket
import tempfile
import time

from harness import TCP_PROXY_TYPE, Upstream, echo_handler
from http_harness import (
    ClosedPort,
    HttpClient,
    HttpTestCase,
    HttpUpstream,
    Response,
    http_config,
    http_request,
    main,
    read_lines,
    route,
    socket_address,
    start_proxy,
    vhost,
)

FILE_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
SLEEP = 0.3

DEBUG_RE = re.compile(
    r"^cluster=(?P<cluster>\S+); host=(?P<host>\S+); conn=(?P<conn>new|reused|-); "
    r"tries=(?P<tries>\d+); route=(?P<route>\S+); rx_headers=(?P<rx_headers>-|\d+\.\d{3}); "
    r"route_ms=(?P<route_ms>-|\d+\.\d{3}); connect=(?P<connect>-|\d+\.\d{3}); "
    r"sent=(?P<sent>-|\d+\.\d{3}); first_byte=(?P<first_byte>-|\d+\.\d{3})$")


def file_log(path, log_format):
    return {"name": "envoy.access_loggers.file",
            "typed_config": {"@type": FILE_TYPE, "path": path, "log_format": log_format}}




JSON_OPS = {
    "path": "%REQ(:PATH)%",
    "code": "%RESPONSE_CODE%",
    "dur": "%DURATION%",
    "rq": "%REQUEST_DURATION%",
    "rs": "%RESPONSE_DURATION%",
    "tx_dur": "%RESPONSE_TX_DURATION%",
    "cd_rx_us": "%COMMON_DURATION(DS_RX_BEG:US_RX_BEG:us)%",
    "cd_all_ms": "%COMMON_DURATION(DS_RX_BEG:DS_TX_END:ms)%",
    "cd_cx_ns": "%COMMON_DURATION(US_CX_BEG:US_CX_END:ns)%",
    "cd_tx_us": "%COMMON_DURATION(US_TX_BEG:US_TX_END:us)%",
    "cd_up_us": "%COMMON_DURATION(US_RX_BEG:US_RX_END:us)%",
    "cd_req_us": "%COMMON_DURATION(DS_RX_BEG:DS_RX_END:us)%",
    "trailer": "%TRAILER(X-TRAIL)%",
    "trailer_alt": "%TRAILER(X-NONE?X-TRAIL):2%",
    "ula": "%UPSTREAM_LOCAL_ADDRESS%",
    "failure": "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
    "epoch": "%START_TIME(%s.%3f)%",
    "frac9": "%START_TIME(%f)%",
    "frac6": "%START_TIME(%Y %6f)%",
    "attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
    "flags": "%RESPONSE_FLAGS%",
    "up": {"host": "%UPSTREAM_HOST%", "cluster": "%UPSTREAM_CLUSTER%",
           "deeper": {"route": "%ROUTE_NAME%"}},
}


class HttpOps(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        trailer_raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"3\r\nabc\r\n0\r\nx-trail: tv\r\n\r\n")
        cls.slow = cls.keep(HttpUpstream(lambda req: Response(200, body=b"slow", delay=SLEEP),
                                         name="slow"))
        cls.trail = cls.keep(HttpUpstream(lambda req: trailer_raw, name="trail"))
        cls.closed = cls.keep(ClosedPort())
        cls.json_path = os.path.join(cls.tmp.name, "ops.json.log")
        cls.text_path = os.path.join(cls.tmp.name, "ops.text.log")
        logs = [
            file_log(cls.json_path, {"json_format": JSON_OPS}),
            file_log(cls.text_path, {"text_format_source": {"inline_string":
                     "%REQUEST_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION% "
                     "%DURATION% %COMMON_DURATION(DS_RX_BEG:DS_TX_END:us)%\n"}}),
        ]
        routes = [
            route("slow", prefix="/slow", name="r_slow"),
            route("trail", prefix="/trail", name="r_trail"),
            route("dead", prefix="/dead", name="r_dead"),
            route(prefix="/direct", action={"direct_response": {"status": 204}}),
        ]
        cfg = http_config([vhost("all", ["*"], routes)],
                          clusters={"slow": [cls.slow.endpoint], "trail": [cls.trail.endpoint],
                                    "dead": [cls.closed.endpoint]},
                          hcm={"access_log": logs,
                               "http_protocol_options": {"enable_trailers": True}})
        cls.proxy = cls.keep(start_proxy(cfg, workers=1))
        cls.addr = cls.proxy.addr()
        cls.before = time.time()
        cls.statuses = []
        for target in ("/slow", "/trail", "/dead", "/direct"):
            cls.statuses.append(http_request(cls.addr, "GET", target).status)
        cls.lines = [json.loads(ln) for ln in read_lines(cls.json_path, 4)]
        cls.text = read_lines(cls.text_path, 4)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def test_statuses(self):
        self.assertEqual(self.statuses, [200, 200, 503, 204])
        self.assertEqual([o["path"] for o in self.lines], ["/slow", "/trail", "/dead", "/direct"])

    def test_durations_ordered(self):
        o = self.lines[0]
        for k in ("dur", "rq", "rs", "tx_dur", "cd_rx_us", "cd_all_ms", "cd_cx_ns", "cd_tx_us",
                  "cd_up_us", "cd_req_us"):
            self.assertIsInstance(o[k], int, (k, o))
            self.assertGreaterEqual(o[k], 0, (k, o))
        self.assertLessEqual(o["rq"], o["dur"])
        self.assertLessEqual(o["rs"], o["dur"])
        self.assertGreaterEqual(o["rs"], int(SLEEP * 1000))
        self.assertGreaterEqual(o["cd_rx_us"], int(SLEEP * 1e6))
        self.assertLessEqual(o["cd_req_us"], o["cd_rx_us"])
        self.assertLessEqual(o["cd_all_ms"], o["dur"])
        self.assertEqual(o["cd_cx_ns"] % 1000, 0)  # µs clock, printed in ns

    def test_text_durations(self):
        self.assertEqual(len(self.text), 4, self.text)
        rq, rs, tx, dur, cd = (int(x) for x in self.text[0].split())
        self.assertLessEqual(rq, dur)
        self.assertGreaterEqual(rs, int(SLEEP * 1000))
        self.assertGreaterEqual(tx, 0)
        self.assertGreaterEqual(cd, rs * 1000)
        # The direct response never went upstream: those points are missing.
        f = self.text[3].split()
        self.assertEqual(f[1:3], ["-", "-"])
        self.assertGreaterEqual(int(f[0]), 0)

    def test_missing_points(self):
        o = self.lines[3]
        for k in ("rs", "tx_dur", "cd_rx_us", "cd_cx_ns", "cd_tx_us", "cd_up_us"):
            self.assertEqual(o[k], "-", (k, o))
        self.assertIsInstance(o["cd_all_ms"], int)
        self.assertEqual(o["up"], {"host": "-", "cluster": "-", "deeper": {"route": "-"}})
        self.assertEqual(o["attempts"], 0)

    def test_trailers(self):
        self.assertEqual(self.lines[1]["trailer"], "tv")
        self.assertEqual(self.lines[1]["trailer_alt"], "tv")
        self.assertEqual(self.lines[0]["trailer"], "-")

    def test_upstream_local_address(self):
        o = self.lines[0]
        m = re.match(r"^127\.0\.0\.1:(\d+)$", o["ula"])
        self.assertIsNotNone(m, o)
        self.assertNotIn(int(m.group(1)), (self.addr[1], self.slow.endpoint[1], 0))
        self.assertEqual(self.lines[2]["ula"], "-")  # never connected

    def test_failure_reason(self):
        o = self.lines[2]
        self.assertEqual(o["code"], 503)
        self.assertEqual(o["flags"], "UF")
        self.assertEqual(o["failure"], "connection refused")
        self.assertEqual(self.lines[0]["failure"], "-")
        self.assertEqual(self.lines[0]["flags"], "-")

    def test_start_time(self):
        o = self.lines[0]
        self.assertRegex(o["epoch"], r"^\d+\.\d{3}$")
        self.assertGreaterEqual(float(o["epoch"]), int(self.before) - 1)
        self.assertLessEqual(float(o["epoch"]), time.time() + 1)
        self.assertRegex(o["frac9"], r"^\d{9}$")
        self.assertRegex(o["frac6"], r"^\d{4} \d{6}$")

    def test_nested_json(self):
        o = self.lines[0]
        self.assertEqual(o["up"]["host"], "%s:%d" % self.slow.endpoint)
        self.assertEqual(o["up"]["cluster"], "slow")
        self.assertEqual(o["up"]["deeper"], {"route": "r_slow"})
        self.assertEqual(o["attempts"], 1)


def tcp_listener(name, cluster, log_path, log_format=None):
    tc = {"@type": TCP_PROXY_TYPE, "stat_prefix": name, "cluster": cluster,
          "access_log": [{"name": "envoy.access_loggers.file",
                          "typed_config": {"@type": FILE_TYPE, "path": log_path}}]}
    if log_format is not None:
        tc["access_log"][0]["typed_config"]["log_format"] = log_format
    return {"name": name, "address": socket_address("127.0.0.1", 0),
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy",
                                            "typed_config": tc}]}]}


class TcpProxyLog(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.peers = []

        def handler(conn, up, index):
            cls.peers.append("%s:%d" % conn.getpeername()[:2])
            echo_handler(conn, up, index)
        cls.echo = cls.keep(Upstream(handler))
        cls.closed = cls.keep(ClosedPort())
        cls.json_path = os.path.join(cls.tmp.name, "tcp.json.log")
        cls.default_path = os.path.join(cls.tmp.name, "tcp.default.log")
        fmt = {"json_format": {
            "rx": "%BYTES_RECEIVED%", "tx": "%BYTES_SENT%", "dur": "%DURATION%",
            "host": "%UPSTREAM_HOST%", "cluster": "%UPSTREAM_CLUSTER%",
            "remote": "%DOWNSTREAM_REMOTE_ADDRESS%", "local": "%DOWNSTREAM_LOCAL_ADDRESS%",
            "ula": "%UPSTREAM_LOCAL_ADDRESS%", "flags": "%RESPONSE_FLAGS%",
            "failure": "%UPSTREAM_TRANSPORT_FAILURE_REASON%", "cid": "%CONNECTION_ID%",
            "code": "%RESPONSE_CODE%", "method": "%REQ(:METHOD)%", "proto": "%PROTOCOL%",
            "connect_us": "%COMMON_DURATION(US_CX_BEG:US_CX_END:us)%"}}
        good = tcp_listener("tcp_good", "echo", cls.json_path, fmt)
        bad = tcp_listener("tcp_bad", "dead", cls.json_path, fmt)
        dflt = tcp_listener("tcp_default", "echo", cls.default_path)
        cfg = json.loads(http_config([vhost("all", ["*"], [route("echo")])],
                                     clusters={"echo": [cls.echo.endpoint],
                                               "dead": [cls.closed.endpoint]},
                                     extra_listeners=[good, bad, dflt]))
        cls.proxy = cls.keep(start_proxy(json.dumps(cfg), workers=1))

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def session(self, name, payload):
        s = socket.create_connection(self.proxy.addr(name), timeout=5)
        local = "%s:%d" % s.getsockname()[:2]
        got = b""
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except OSError:
            pass
        s.close()
        return local, got

    def test_sessions(self):
        local, got = self.session("tcp_good", b"hello tcp")
        self.assertEqual(got, b"hello tcp")
        lines = read_lines(self.json_path, 1)
        self.assertEqual(len(lines), 1, lines)
        o = json.loads(lines[0])
        self.assertEqual(o["rx"], 9)
        self.assertEqual(o["tx"], 9)
        self.assertGreaterEqual(o["dur"], 0)
        self.assertEqual(o["host"], "%s:%d" % self.echo.endpoint)
        self.assertEqual(o["cluster"], "echo")
        self.assertEqual(o["remote"], local)
        self.assertEqual(o["local"], "%s:%d" % self.proxy.addr("tcp_good"))
        self.assertEqual(o["ula"], self.peers[-1])
        self.assertEqual(o["flags"], "-")
        self.assertEqual(o["failure"], "-")
        self.assertEqual(o["code"], 0)
        self.assertEqual(o["method"], "-")
        self.assertEqual(o["proto"], "-")
        self.assertIsInstance(o["cid"], int)
        self.assertGreaterEqual(o["connect_us"], 0)

        self.session("tcp_bad", b"x")
        lines = read_lines(self.json_path, 2)
        self.assertEqual(len(lines), 2, lines)
        o = json.loads(lines[1])
        self.assertEqual(o["flags"], "UF")
        self.assertEqual(o["failure"], "connection refused")
        self.assertEqual(o["host"], "%s:%d" % self.closed.endpoint)
        self.assertEqual(o["tx"], 0)
        self.assertEqual(o["ula"], "-")
        self.assertEqual(o["connect_us"], "-")

    def test_default_format(self):
        self.session("tcp_default", b"abc")
        lines = read_lines(self.default_path, 1)
        self.assertEqual(len(lines), 1, lines)
        # Envoy's default line with the request parts "-".
        self.assertRegex(lines[0], r'^\[[0-9T:.\-]+Z\] "- - -" 0 - 3 3 \d+ - "-" "-" "-" "-" '
                                   r'"%s:%d"$' % self.echo.endpoint)


class DebugHeader(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.up = cls.keep(HttpUpstream(name="up"))
        # Its own cluster: upstream connections are pooled per worker, across clients.
        cls.dbg = cls.keep(HttpUpstream(name="up"))
        meta = {"metadata": {"filter_metadata": {"ringway": {"debug_header": True},
                                                 "other.filter": {"anything": [1, 2]}}}}
        routes = [
            route("dbg", prefix="/dbg", name="r_dbg", **meta),
            route("up", prefix="/plain", name="r_plain"),
            route(prefix="/local", action={"direct_response": {"status": 200}}),
        ]
        cfg = http_config([vhost("all", ["*"], routes)], clusters={"up": [cls.up.endpoint], "dbg": [cls.dbg.endpoint]},
                          listener={"metadata": {"filter_metadata": {"ringway": {
                              "debug_request_header": "X-Ringway-Debug-Request"}}}})
        cls.proxy = cls.keep(start_proxy(cfg, workers=1))
        cls.addr = cls.proxy.addr()

    def check(self, value, conn, cluster="up"):
        m = DEBUG_RE.match(value or "")
        self.assertIsNotNone(m, value)
        up = self.dbg if cluster == "dbg" else self.up
        self.assertEqual(m["cluster"], cluster)
        self.assertEqual(m["host"], "%s:%d" % up.endpoint)
        self.assertEqual(m["conn"], conn)
        self.assertEqual(m["tries"], "1")
        times = [float(m[k]) for k in ("rx_headers", "route_ms", "connect", "sent",
                                       "first_byte")]
        self.assertEqual(times, sorted(times), value)
        return m

    def test_off_by_default(self):
        r = http_request(self.addr, "GET", "/plain")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("x-ringway-debug"))

    def test_route_new_then_reused(self):
        with HttpClient(self.addr) as c:
            r1 = c.request("GET", "/dbg/1")
            r2 = c.request("GET", "/dbg/2")
        self.assertEqual((r1.status, r2.status), (200, 200))
        m = self.check(r1.header("x-ringway-debug"), "new", "dbg")
        self.assertEqual(m["route"], "r_dbg")
        self.check(r2.header("x-ringway-debug"), "reused", "dbg")

    def test_request_header(self):
        r = http_request(self.addr, "GET", "/plain",
                         [("Host", "example.com"), ("X-Ringway-Debug-Request", "1")])
        m = self.check(r.header("x-ringway-debug"), m_conn(r))
        self.assertEqual(m["route"], "r_plain")

    def test_local_reply(self):
        r = http_request(self.addr, "GET", "/local")
        self.assertIsNone(r.header("x-ringway-debug"))
        r = http_request(self.addr, "GET", "/local",
                         [("Host", "example.com"), ("X-Ringway-Debug-Request", "")])
        m = DEBUG_RE.match(r.header("x-ringway-debug") or "")
        self.assertIsNotNone(m, r.header("x-ringway-debug"))
        self.assertEqual((m["cluster"], m["host"], m["conn"], m["tries"], m["connect"]),
                         ("-", "-", "-", "0", "-"))


def m_conn(r):
    """The conn= a fresh client's request may see: a pooled connection from an earlier test."""
    m = DEBUG_RE.match(r.header("x-ringway-debug") or "")
    return m["conn"] if m and m["conn"] in ("new", "reused") else "new"


if __name__ == "__main__":
    main()
