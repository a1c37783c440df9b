"""Distributed-tracing headers of ringway's HttpConnectionManager (HCM `tracing`).

Proves, by looking at exactly what the mock origin received:
- `tracing: {}` (no provider) and envoy.tracers.opentelemetry start a W3C trace
  (traceparent 00-<32 hex>-<16 hex>-01) when the request carries none;
  envoy.tracers.zipkin starts B3 multi headers with a 64-bit trace id, or 128-bit with
  trace_id_128bit;
- an incoming traceparent is continued: same trace id, a new span id, tracestate unchanged,
  the sender's sampled flag kept;
- B3 multi and B3 single contexts are continued in their own format (the new span's parent is
  the incoming span); zipkin's shared_span_context (default true) keeps the client's span id;
- random_sampling 0 sends sampled 0, x-envoy-force-trace overrides it;
- malformed contexts (version ff, wrong length, uppercase W3C, all-zero ids, bad b3) are
  replaced by a new trace, never forwarded and never answered with 400;
- without a tracing block trace headers pass through untouched;
- %TRACE_ID% in an access log and in request_headers_to_add matches the forwarded trace id
  (and shows an incoming one without tracing); the client's x-request-id on an internal
  request reaches the upstream and %REQ(X-REQUEST-ID)%;
- ringway says at start-up that spans are not exported.
"""

import os
import re
import tempfile
import time

from http_harness import (
    HttpTestCase,
    HttpUpstream,
    http_config,
    http_request,
    main,
    route,
    start_proxy,
    vhost,
)

FILE_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
ZIPKIN_TYPE = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig"
OTEL_TYPE = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig"

TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$")
HEX16_RE = re.compile(r"^[0-9a-f]{16}$")
HEX32_RE = re.compile(r"^[0-9a-f]{32}$")

T32 = "4bf92f3577b34da6a3ce929d0e0e4736"
S16 = "00f067aa0ba902b7"
P16 = "05e3ac9a4f6e3b90"
TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
LOG_FORMAT = "%REQ(X-TEST)% %TRACE_ID% %REQ(X-REQUEST-ID)%\n"


def zipkin(**extra):
    tc = {"@type": ZIPKIN_TYPE, "collector_cluster": "zipkin",
          "collector_endpoint": "/api/v2/spans", "collector_endpoint_version": "HTTP_JSON"}
    tc.update(extra)
    return {"provider": {"name": "envoy.tracers.zipkin", "typed_config": tc}}


def file_log(path):
    return {"name": "envoy.access_loggers.file",
            "typed_config": {"@type": FILE_TYPE, "path": path,
                             "log_format": {"text_format_source": {"inline_string": LOG_FORMAT}}}}


def parse_traceparent(test, value):
    m = TRACEPARENT_RE.match(value or "")
    test.assertIsNotNone(m, "not a valid traceparent: %r" % value)
    test.assertNotEqual(m.group(1), "0" * 32)
    test.assertNotEqual(m.group(2), "0" * 16)
    return m.group(1), m.group(2), m.group(3)


def log_line(path, marker, timeout=5.0):
    """The access log line whose first field is marker, split on spaces."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                for line in f.read().splitlines():
                    fields = line.split(" ")
                    if fields[0] == marker:
                        return fields
        time.sleep(0.05)
    raise AssertionError("no access log line for %s in %s" % (marker, path))


class Tracing(HttpTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.up = cls.keep(HttpUpstream(name="up"))
        clusters = {"up": [cls.up.endpoint], "zipkin": []}
        cls.w3c_log = os.path.join(cls.tmp.name, "w3c.log")
        cls.none_log = os.path.join(cls.tmp.name, "none.log")
        vhosts = [vhost("vh", ["*"], [route("up")],
                        request_headers_to_add=[{"header": {"key": "x-trace-copy",
                                                            "value": "%TRACE_ID%"}}])]

        def proxy(hcm):
            return cls.keep(start_proxy(http_config(vhosts, clusters, hcm=hcm), workers=1))

        # use_remote_address: loopback clients are internal requests (x-request-id kept).
        cls.w3c = proxy({"tracing": {}, "use_remote_address": True,
                         "access_log": [file_log(cls.w3c_log)]})
        cls.none = proxy({"access_log": [file_log(cls.none_log)]})
        cls.otel = proxy({"tracing": {"provider": {
            "name": "envoy.tracers.opentelemetry",
            "typed_config": {"@type": OTEL_TYPE, "service_name": "edge",
                             "grpc_service": {"envoy_grpc": {"cluster_name": "zipkin"}}}}}})
        cls.zipkin64 = proxy({"tracing": zipkin()})
        cls.zipkin128 = proxy({"tracing": zipkin(trace_id_128bit=True,
                                                 shared_span_context=False)})
        cls.nosample = proxy({"tracing": {"random_sampling": {"value": 0}}})
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.tmp.cleanup()

    def send(self, proxy, headers=()):
        """One GET through proxy; returns (what the upstream received, marker)."""
        type(self).n += 1
        marker = "req-%d" % self.n
        self.up.reset()
        r = http_request(proxy.addr(), "GET", "/t",
                         [("Host", "example.com"), ("X-Test", marker)] + list(headers))
        self.assertEqual(r.status, 200, r)
        return self.up.wait_requests(1)[0], marker

    # ---- starting a trace ----

    def test_new_w3c_trace(self):
        for proxy in (self.w3c, self.otel):
            req, _ = self.send(proxy)
            trace, span, flags = parse_traceparent(self, req.header("traceparent"))
            self.assertEqual(flags, "01")  # random_sampling defaults to 100%
            self.assertEqual(req.header_all("traceparent"), [req.header("traceparent")])
            for name in ("x-b3-traceid", "x-b3-spanid", "b3", "tracestate"):
                self.assertNotIn(name, req.header_names())
            other, _ = self.send(proxy)
            self.assertNotEqual(parse_traceparent(self, other.header("traceparent"))[0], trace)

    def test_zipkin_new_trace_64_bit(self):
        req, _ = self.send(self.zipkin64)
        self.assertRegex(req.header("x-b3-traceid"), HEX16_RE)
        self.assertRegex(req.header("x-b3-spanid"), HEX16_RE)
        self.assertEqual(req.header("x-b3-sampled"), "1")
        self.assertNotEqual(req.header("x-b3-traceid"), "0" * 16)
        for name in ("x-b3-parentspanid", "traceparent", "b3"):
            self.assertNotIn(name, req.header_names())

    def test_zipkin_new_trace_128_bit(self):
        req, _ = self.send(self.zipkin128)
        self.assertRegex(req.header("x-b3-traceid"), HEX32_RE)
        self.assertRegex(req.header("x-b3-spanid"), HEX16_RE)
        self.assertEqual(req.header("x-b3-sampled"), "1")
        self.assertNotIn("traceparent", req.header_names())

    # ---- continuing a trace ----

    def test_traceparent_continued(self):
        for flags in ("01", "00"):
            tp = "00-%s-%s-%s" % (T32, S16, flags)
            req, _ = self.send(self.w3c, [("traceparent", tp), ("tracestate", TRACESTATE)])
            trace, span, out_flags = parse_traceparent(self, req.header("traceparent"))
            self.assertEqual(trace, T32)
            self.assertNotEqual(span, S16)
            self.assertEqual(out_flags, flags)  # the sender's decision stands
            self.assertEqual(req.header_all("tracestate"), [TRACESTATE])
            self.assertEqual(req.header("x-trace-copy"), T32)
        # The sender's sampled flag also beats random_sampling 0.
        req, _ = self.send(self.nosample, [("traceparent", "00-%s-%s-01" % (T32, S16))])
        self.assertEqual(parse_traceparent(self, req.header("traceparent"))[2], "01")

    def test_b3_multi_continued(self):
        for proxy in (self.w3c, self.zipkin128):
            req, _ = self.send(proxy, [("X-B3-TraceId", T32), ("X-B3-SpanId", S16),
                                       ("X-B3-ParentSpanId", P16), ("X-B3-Sampled", "1")])
            self.assertEqual(req.header_all("x-b3-traceid"), [T32])
            self.assertEqual(req.header_all("x-b3-parentspanid"), [S16])
            self.assertRegex(req.header("x-b3-spanid"), HEX16_RE)
            self.assertNotEqual(req.header("x-b3-spanid"), S16)
            self.assertEqual(req.header_all("x-b3-sampled"), ["1"])
            self.assertNotIn("traceparent", req.header_names())  # only the formats it used
        # A 64-bit id stays 64-bit; no sampled flag: ringway decides (100% here).
        req, _ = self.send(self.w3c, [("x-b3-traceid", S16), ("x-b3-spanid", P16)])
        self.assertEqual(req.header("x-b3-traceid"), S16)
        self.assertEqual(req.header("x-b3-parentspanid"), P16)
        self.assertEqual(req.header("x-b3-sampled"), "1")
        # Debug (x-b3-flags: 1) is kept and implies sampling.
        req, _ = self.send(self.nosample, [("x-b3-traceid", S16), ("x-b3-spanid", P16),
                                           ("x-b3-flags", "1")])
        self.assertEqual(req.header("x-b3-flags"), "1")
        self.assertNotIn("x-b3-sampled", req.header_names())

    def test_b3_single_continued(self):
        req, _ = self.send(self.w3c, [("b3", "%s-%s-1-%s" % (T32, S16, P16))])
        parts = req.header("b3").split("-")
        self.assertEqual(len(parts), 4, req.header("b3"))
        self.assertEqual(parts[0], T32)
        self.assertRegex(parts[1], HEX16_RE)
        self.assertNotEqual(parts[1], S16)
        self.assertEqual(parts[2:], ["1", S16])
        self.assertNotIn("x-b3-traceid", req.header_names())
        self.assertNotIn("traceparent", req.header_names())
        # "b3: 0" is a decision without ids: a new, unsampled trace in the same header.
        req, _ = self.send(self.w3c, [("b3", "0")])
        parts = req.header("b3").split("-")
        self.assertEqual(len(parts), 3, req.header("b3"))
        self.assertRegex(parts[0], HEX32_RE)
        self.assertEqual(parts[2], "0")

    def test_zipkin_shared_span_context(self):
        # Envoy's zipkin default: the hop shares the client's span (same id and parent).
        req, _ = self.send(self.zipkin64, [("x-b3-traceid", T32), ("x-b3-spanid", S16),
                                           ("x-b3-parentspanid", P16), ("x-b3-sampled", "0")])
        self.assertEqual(req.header("x-b3-traceid"), T32)
        self.assertEqual(req.header("x-b3-spanid"), S16)
        self.assertEqual(req.header("x-b3-parentspanid"), P16)
        self.assertEqual(req.header("x-b3-sampled"), "0")

    # ---- sampling ----

    def test_random_sampling_zero(self):
        req, _ = self.send(self.nosample)
        self.assertEqual(parse_traceparent(self, req.header("traceparent"))[2], "00")
        # x-envoy-force-trace (not an edge request here) samples anyway.
        req, _ = self.send(self.nosample, [("x-envoy-force-trace", "true")])
        self.assertEqual(parse_traceparent(self, req.header("traceparent"))[2], "01")

    # ---- malformed contexts ----

    def test_invalid_traceparent_replaced(self):
        bad = [
            "ff-%s-%s-01" % (T32, S16),             # forbidden version
            "00-%s-%s-01" % ("0" * 32, S16),        # all-zero trace id
            "00-%s-%s-01" % (T32, "0" * 16),        # all-zero span id
            "00-%s-%s-01" % (T32.upper(), S16),     # uppercase
            "00-%s-%s-01" % (T32[:-1], S16),        # short trace id
            "00-%s-%s-1" % (T32, S16),              # short flags
            "00-%s-%s-01-extra" % (T32, S16),       # version 00 has nothing after
            "not a traceparent",
        ]
        for value in bad:
            req, _ = self.send(self.w3c, [("traceparent", value), ("tracestate", TRACESTATE)])
            self.assertEqual(len(req.header_all("traceparent")), 1, req)
            trace, _, flags = parse_traceparent(self, req.header("traceparent"))
            self.assertNotEqual(trace, T32, value)
            self.assertEqual(flags, "01")
            # W3C: a traceparent that cannot be parsed takes its tracestate with it.
            self.assertNotIn("tracestate", req.header_names(), value)

    def test_invalid_b3_replaced(self):
        req, _ = self.send(self.w3c, [("b3", "%s-zz-1" % T32)])
        parts = req.header("b3").split("-")
        self.assertEqual(len(parts), 3, req.header("b3"))
        self.assertRegex(parts[0], HEX32_RE)
        self.assertNotEqual(parts[0], T32)
        req, _ = self.send(self.zipkin64, [("x-b3-traceid", "0" * 16), ("x-b3-spanid", S16)])
        self.assertRegex(req.header("x-b3-traceid"), HEX16_RE)
        self.assertNotEqual(req.header("x-b3-traceid"), "0" * 16)
        self.assertNotEqual(req.header("x-b3-spanid"), S16)
        self.assertNotIn("x-b3-parentspanid", req.header_names())

    # ---- no tracing block ----

    def test_no_tracing_block_leaves_headers_alone(self):
        req, _ = self.send(self.none)
        for name in ("traceparent", "x-b3-traceid", "b3"):
            self.assertNotIn(name, req.header_names())
        sent = [("traceparent", "ff-not-valid"), ("tracestate", TRACESTATE),
                ("b3", "%s-%s-1" % (T32, S16)), ("x-b3-traceid", "x"), ("x-b3-spanid", S16)]
        req, _ = self.send(self.none, sent)
        for name, value in sent:
            self.assertEqual(req.header_all(name), [value], name)

    # ---- %TRACE_ID% and x-request-id ----

    def test_trace_id_in_access_log(self):
        req, marker = self.send(self.w3c, [("x-request-id", "client-rid-1")])
        trace, _, _ = parse_traceparent(self, req.header("traceparent"))
        self.assertEqual(req.header_all("x-request-id"), ["client-rid-1"])
        self.assertEqual(req.header("x-trace-copy"), trace)
        self.assertEqual(log_line(self.w3c_log, marker), [marker, trace, "client-rid-1"])
        # A continued trace logs the incoming trace id.
        req, marker = self.send(self.w3c, [("traceparent", "00-%s-%s-01" % (T32, S16))])
        self.assertEqual(log_line(self.w3c_log, marker)[1], T32)

    def test_trace_id_without_tracing(self):
        _, marker = self.send(self.none, [("traceparent", "00-%s-%s-01" % (T32, S16))])
        self.assertEqual(log_line(self.none_log, marker)[1], T32)
        _, marker = self.send(self.none, [("b3", "%s-%s" % (S16, P16))])
        self.assertEqual(log_line(self.none_log, marker)[1], S16)
        _, marker = self.send(self.none, [("x-b3-traceid", T32), ("x-b3-spanid", S16),
                                          ("b3", "%s-%s" % (S16, P16))])
        self.assertEqual(log_line(self.none_log, marker)[1], T32)
        _, marker = self.send(self.none, [("traceparent", "00-%s-%s-01" % ("0" * 32, S16))])
        self.assertEqual(log_line(self.none_log, marker)[1], "-")

    def test_startup_says_spans_are_not_exported(self):
        self.zipkin64.wait_log(r"tracing provider envoy\.tracers\.zipkin: .*spans are not "
                               r"exported.*collector_cluster 'zipkin' unused")
        self.w3c.wait_log(r"tracing provider none .*spans are not exported")
        self.assertNotIn("tracing provider", self.none.log())


if __name__ == "__main__":
    main()
