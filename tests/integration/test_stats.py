"""Stats through the real binary: /stats, /stats?format=json, /stats/prometheus,
/reset_counters, flush intervals and the statsd sink.

Proves that:
- counters match exactly what the test sent, across 2 workers and several keep-alive
  connections: http.<prefix>.downstream_rq_total / _2xx / _4xx / _5xx / completed, no_route,
  rq_total, rq_direct_response; cluster.<name>.upstream_rq_total / _200 / _503 / _2xx / _5xx /
  completed, upstream_cx_total (= connections the origin accepted); listener.<addr>.* and
  gauges that return to 0 (downstream_cx_active, upstream_rq_active);
- histograms count every request (downstream_rq_time, upstream_rq_time, the phase
  histograms), with quantiles printed as Envoy prints them, and interval quantiles that
  follow stats_flush_interval;
- /stats/prometheus passes a strict exposition-format parser: one # TYPE per metric, its
  series contiguous, label syntax, histogram buckets cumulative and ending in +Inf = _count;
- ?filter=<regex>, ?usedonly, ?type= select; a bad regex is a 400; POST /reset_counters
  zeroes counters (GET is refused);
- the statsd sink receives counter deltas that add up to the requests sent and one timer line
  per bucket whose sample rates add up to the histogram's count;
- server.* (live, concurrency, uptime, memory) and the TCP proxy's tcp.<prefix>.* are there.
"""

import json
import re
import socket
import threading
import time

import harness
from http_harness import HttpClient, HttpUpstream, Proxy, Response, http_config, http_request
from http_harness import route, vhost

HOST = (("Host", "example.com"),)


def respond(req):
    if req.target.startswith("/fail"):
        return Response(503, body=b"down")
    return Response(200, body=b"ok")


def admin_block():
    return {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}


def config(up, flush="5s", statsd_port=None, tcp_port=None):
    routes = [route("up", prefix="/ok"), route("up", prefix="/fail"),
              route(prefix="/direct", action={"direct_response": {
                  "status": 200, "body": {"inline_string": "direct"}}})]
    boot = json.loads(http_config([vhost("v", ["example.com"], routes)],
                                  clusters={"up": [up.endpoint]}))
    boot["admin"] = admin_block()
    boot["stats_flush_interval"] = flush
    if statsd_port:
        boot["stats_sinks"] = [{"name": "envoy.stat_sinks.statsd", "typed_config": {
            "@type": "type.googleapis.com/envoy.config.metrics.v3.StatsdSink",
            "address": {"socket_address": {"address": "127.0.0.1",
                                           "port_value": statsd_port}},
            "prefix": "rw"}}]
    if tcp_port:
        boot["static_resources"]["listeners"].append({
            "name": "tcp",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.tcp_proxy",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy"
                             ".v3.TcpProxy",
                    "stat_prefix": "tcp_in", "cluster": "up"}}]}]})
    return json.dumps(boot)


def admin(px, path, method="GET"):
    return http_request(px.addr("admin"), method, path, (("Host", "admin"),))


def stats(px, query=""):
    """name -> int for counters/gauges, name -> (interval, cumulative) lists for histograms."""
    r = admin(px, "/stats" + query)
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        name, _, value = line.partition(": ")
        if value.startswith("P0(") or value == "No recorded values":
            out[name] = value
        else:
            out[name] = int(value)
    return out


def stats_json(px, query=""):
    r = admin(px, "/stats?format=json" + query)
    assert r.status == 200 and r.header("content-type") == "application/json", r
    doc = json.loads(r.body)
    scalars, hists = {}, {}
    for item in doc["stats"]:
        if "histograms" in item:
            h = item["histograms"]
            assert h["supported_quantiles"] == [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]
            for q in h["computed_quantiles"]:
                hists[q["name"]] = q
        else:
            scalars[item["name"]] = item["value"]
    return scalars, hists


def wait_for(fn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


# ---- a strict Prometheus text-format (0.0.4) parser ----

METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?\})? (-?[0-9.e+]+|[+-]Inf|NaN)$"
                       % (METRIC, LABEL, LABEL))
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % METRIC)


def parse_prometheus(text):
    """{(name, labels): value} after checking the format; raises AssertionError."""
    assert text.endswith("\n")
    types, samples, seen_done, current = {}, {}, set(), None
    for line in text.splitlines():
        if line.startswith("#"):
            m = TYPE_RE.match(line)
            if line.startswith("# HELP"):
                continue
            assert m, "bad comment line %r" % line
            name = m.group(1)
            assert name not in types, "second # TYPE for %s" % name
            if current:
                seen_done.add(current)
            types[name], current = m.group(2), name
            continue
        m = SAMPLE_RE.match(line)
        assert m, "bad sample line %r" % line
        name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
        base = name
        if types.get(current) == "histogram":
            base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert base == current, "sample %s outside its metric's group (%s)" % (name, current)
        assert base not in seen_done
        key = (name, labels)
        assert key not in samples, "duplicate series %r" % (key,)
        samples[key] = value
    # histograms: cumulative buckets, +Inf == _count, _sum present
    for name, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (n, labels), v in samples.items():
            if n == name + "_bucket":
                le = re.search(r'le="([^"]+)"', labels).group(1)
                rest = re.sub(r',?le="[^"]+"', "", labels).replace("{,", "{")
                series.setdefault(rest, []).append((float(le), v))
        assert series, "histogram %s without buckets" % name
        for rest, buckets in series.items():
            counts = [v for _, v in buckets]
            assert [b for b, _ in buckets] == sorted(b for b, _ in buckets)
            assert counts == sorted(counts), "buckets not cumulative for %s%s" % (name, rest)
            assert buckets[-1][0] == float("inf")
            assert samples[(name + "_count", rest if rest != "{}" else "")] == counts[-1]
            assert (name + "_sum", rest if rest != "{}" else "") in samples
    return types, samples


class Stats(harness.unittest.TestCase):
    def test_counts_across_workers(self):
        with HttpUpstream(respond=respond) as up, \
                Proxy(config(up), ["--concurrency", "2"]) as px:
            plan = ["/ok"] * 150 + ["/fail"] * 30 + ["/direct"] * 10
            conns = 6
            errors = []

            def client(k):
                try:
                    c = HttpClient(px.addr())
                    for i, path in enumerate(plan[k::conns]):
                        c.request("GET", path, HOST)
                    c.request("GET", "/x", (("Host", "nowhere.example"),))  # no route: 404
                    c.close()
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            threads = [threading.Thread(target=client, args=(k,)) for k in range(conns)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            total = len(plan) + conns
            s = wait_for(lambda: (lambda s: s if s["http.ingress_http.downstream_cx_active"] == 0
                                  else None)(stats(px)))
            self.assertTrue(s, "downstream_cx_active never returned to 0")
            h = "http.ingress_http."
            self.assertEqual(s[h + "downstream_rq_total"], total)
            self.assertEqual(s[h + "downstream_rq_completed"], total)
            self.assertEqual(s[h + "downstream_rq_2xx"], 160)
            self.assertEqual(s[h + "downstream_rq_4xx"], conns)
            self.assertEqual(s[h + "downstream_rq_5xx"], 30)
            self.assertEqual(s[h + "downstream_rq_active"], 0)
            self.assertEqual(s[h + "no_route"], conns)
            self.assertEqual(s[h + "rq_total"], 180)
            self.assertEqual(s[h + "rq_direct_response"], 10)
            self.assertEqual(s[h + "downstream_cx_total"], conns)
            self.assertEqual(s[h + "downstream_cx_destroy"], conns)
            self.assertGreater(s[h + "downstream_cx_rx_bytes_total"], total * 20)
            self.assertGreater(s[h + "downstream_cx_tx_bytes_total"], total * 20)
            c = "cluster.up."
            self.assertEqual(s[c + "upstream_rq_total"], 180)
            self.assertEqual(s[c + "upstream_rq_completed"], 180)
            self.assertEqual(s[c + "upstream_rq_200"], 150)
            self.assertEqual(s[c + "upstream_rq_503"], 30)
            self.assertEqual(s[c + "upstream_rq_2xx"], 150)
            self.assertEqual(s[c + "upstream_rq_5xx"], 30)
            self.assertEqual(s[c + "upstream_rq_active"], 0)
            self.assertEqual(s[c + "upstream_cx_total"], up.accepted)
            self.assertEqual(s[c + "membership_total"], 1)
            self.assertEqual(s[c + "membership_healthy"], 1)
            self.assertNotIn(c + "upstream_rq_404", s)  # per-code counters only once used
            port = px.addr()[1]
            lst = "listener.127.0.0.1_%d." % port
            self.assertEqual(s[lst + "downstream_cx_total"], conns)
            self.assertEqual(s[lst + "downstream_cx_active"], 0)
            self.assertEqual(s["server.concurrency"], 2)
            self.assertEqual(s["server.live"], 1)
            self.assertGreater(s["server.memory_allocated"], 0)
            self.assertGreaterEqual(s["server.uptime"], 0)
            # Histograms: Envoy's text form; JSON counts match the requests.
            self.assertRegex(s[h + "downstream_rq_time"],
                             r"^P0\(nan,[0-9.]+\) P25\(nan,[0-9.]+\) P50\(nan,[0-9.]+\) .* "
                             r"P99\.9\(nan,[0-9.]+\) P100\(nan,[0-9.]+\)$")
            scalars, hists = stats_json(px)
            self.assertEqual(scalars[c + "upstream_rq_total"], 180)
            self.assertEqual(hists[h + "downstream_rq_time"]["count"], total)
            self.assertEqual(hists[c + "upstream_rq_time"]["count"], 180)
            self.assertEqual(hists[c + "phase.first_byte_ms"]["count"], 180)
            self.assertEqual(hists[c + "phase.downstream_headers_ms"]["count"], 180)
            new = hists[c + "phase.upstream_connection_new_ms"]["count"]
            reused = hists[c + "phase.upstream_connection_reused_ms"]["count"]
            self.assertEqual(new + reused, 180)
            self.assertEqual(new, up.accepted)
            values = hists[c + "upstream_rq_time"]["values"]
            self.assertEqual(len(values), 10)
            cum = [v["cumulative"] for v in values]
            self.assertEqual(cum, sorted(cum))
            self.assertIsNone(values[0]["interval"])  # no flush yet (5 s)

            # Prometheus: strict parse, then the same numbers with tags.
            r = admin(px, "/stats/prometheus")
            self.assertEqual(r.status, 200)
            types, samples = parse_prometheus(r.body.decode())
            self.assertEqual(types["envoy_cluster_upstream_rq_total"], "counter")
            self.assertEqual(types["envoy_cluster_upstream_rq_time"], "histogram")
            self.assertEqual(types["envoy_cluster_upstream_cx_active"], "gauge")
            self.assertEqual(samples[("envoy_cluster_upstream_rq_total",
                                      '{envoy_cluster_name="up"}')], 180)
            self.assertEqual(samples[("envoy_cluster_upstream_rq",
                                      '{envoy_response_code="503",envoy_cluster_name="up"}')],
                             30)
            self.assertEqual(samples[("envoy_http_downstream_rq_total",
                                      '{envoy_http_conn_manager_prefix="ingress_http"}')], total)
            self.assertEqual(samples[("envoy_cluster_upstream_rq_time_count",
                                      '{envoy_cluster_name="up"}')], 180)
            self.assertEqual(samples[("envoy_listener_downstream_cx_total",
                                      '{envoy_listener_address="127.0.0.1_%d"}' % port)], conns)
            self.assertEqual(samples[("envoy_server_concurrency", "")], 2)

    def test_query_reset_and_errors(self):
        with HttpUpstream(respond=respond) as up, Proxy(config(up)) as px:
            for _ in range(5):
                self.assertEqual(http_request(px.addr(), "GET", "/ok", HOST).status, 200)
            s = stats(px, "?filter=%5Ecluster%5C.up%5C.upstream_rq_%28total%7C2xx%29%24")
            self.assertEqual(s, {"cluster.up.upstream_rq_total": 5,
                                 "cluster.up.upstream_rq_2xx": 5})
            used = stats(px, "?usedonly")
            self.assertNotIn("cluster.up.upstream_rq_timeout", used)
            self.assertIn("cluster.up.upstream_rq_timeout", stats(px))
            only = stats(px, "?type=Histograms")
            self.assertTrue(only and all(isinstance(v, str) for v in only.values()))
            self.assertEqual(stats(px, "?type=Histograms&filter=nothing_matches"), {})
            self.assertEqual(admin(px, "/stats?filter=%28").status, 400)
            self.assertEqual(admin(px, "/stats?type=Bogus").status, 400)
            self.assertEqual(admin(px, "/stats?format=xml").status, 400)
            self.assertEqual(admin(px, "/reset_counters").status, 405)
            self.assertEqual(admin(px, "/reset_counters", "POST").status, 200)
            s = stats(px)
            self.assertEqual(s["cluster.up.upstream_rq_total"], 0)
            self.assertEqual(s["http.ingress_http.downstream_rq_total"], 0)
            self.assertEqual(s["server.live"], 1)  # gauges are not reset
            self.assertEqual(http_request(px.addr(), "GET", "/ok", HOST).status, 200)
            self.assertEqual(wait_for(lambda: stats(px)["cluster.up.upstream_rq_total"]), 1)
            self.assertIn("/stats/prometheus", admin(px, "/help").body.decode())

    def test_flush_interval_and_statsd(self):
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.2)
        datagrams = []
        stop = threading.Event()

        def receive():
            while not stop.is_set():
                try:
                    datagrams.append(sink.recv(65536).decode())
                except socket.timeout:
                    continue

        rx = threading.Thread(target=receive)
        rx.start()
        try:
            with HttpUpstream(respond=respond) as up, \
                    Proxy(config(up, flush="0.2s", statsd_port=sink.getsockname()[1]),
                          ["--concurrency", "2"]) as px:
                for i in range(40):
                    path = "/fail" if i % 4 == 0 else "/ok"
                    http_request(px.addr(), "GET", path, HOST)
                # The next flush carries them: interval quantiles appear.
                hist = wait_for(lambda: (lambda h: h if h["values"][5]["interval"] is not None
                                         else None)(
                    stats_json(px)[1]["cluster.up.upstream_rq_time"]))
                self.assertTrue(hist, "no interval quantiles after a flush")
                self.assertRegex(stats(px)["cluster.up.upstream_rq_time"],
                                 r"^P0\([0-9.]+,[0-9.]+\)")
                # An idle interval later they are gone again (Envoy prints nan).
                idle = wait_for(lambda: (lambda h: h if h["values"][5]["interval"] is None
                                         else None)(
                    stats_json(px)[1]["cluster.up.upstream_rq_time"]))
                self.assertTrue(idle, "interval quantiles did not reset when idle")

                def summed(name, kind):
                    total = 0.0
                    for d in list(datagrams):
                        for line in d.split("\n"):
                            m = re.match(r"^rw\.%s:([0-9.]+)\|%s(?:\|@([0-9.e-]+))?$"
                                         % (re.escape(name), kind), line)
                            if m:
                                total += (1.0 / float(m.group(2)) if m.group(2) else
                                          (1.0 if kind == "ms" else float(m.group(1))))
                    return total

                ok = wait_for(lambda: summed("cluster.up.upstream_rq_total", "c") == 40)
                self.assertTrue(ok, "statsd counter deltas: %r" % summed(
                    "cluster.up.upstream_rq_total", "c"))
                self.assertEqual(summed("cluster.up.upstream_rq_503", "c"), 10)
                self.assertEqual(summed("http.ingress_http.downstream_rq_2xx", "c"), 30)
                self.assertAlmostEqual(summed("cluster.up.upstream_rq_time", "ms"), 40,
                                       delta=0.01)
                gauges = [line for d in datagrams for line in d.split("\n")
                          if line.startswith("rw.server.concurrency:")]
                self.assertIn("rw.server.concurrency:2|g", gauges)
                self.assertTrue(all(len(d.encode()) <= 1432 for d in datagrams))
        finally:
            stop.set()
            rx.join()
            sink.close()

    def test_statsd_without_admin(self):
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.2)
        try:
            with HttpUpstream(respond=respond) as up:
                boot = json.loads(config(up, flush="0.1s", statsd_port=sink.getsockname()[1]))
                del boot["admin"]
                with Proxy(json.dumps(boot)) as px:
                    self.assertNotIn("admin", px.listeners)
                    for _ in range(5):
                        http_request(px.addr(), "GET", "/ok", HOST)
                    total, deadline = 0, time.monotonic() + 5
                    while total < 5 and time.monotonic() < deadline:
                        try:
                            data = sink.recv(65536).decode()
                        except socket.timeout:
                            continue
                        for line in data.split("\n"):
                            m = re.match(r"^rw\.cluster\.up\.upstream_rq_total:(\d+)\|c$", line)
                            if m:
                                total += int(m.group(1))
                    self.assertEqual(total, 5)
        finally:
            sink.close()

    def test_access_log_stats(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d, HttpUpstream(respond=respond) as up:
            path = d + "/access.log"
            boot = json.loads(config(up))
            hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            hcm["typed_config"]["access_log"] = [{
                "name": "envoy.access_loggers.file", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3"
                             ".FileAccessLog", "path": path}}]
            with Proxy(json.dumps(boot), ["--concurrency", "2"]) as px:
                for _ in range(10):
                    http_request(px.addr(), "GET", "/ok", HOST)
                s = wait_for(lambda: (lambda s: s if s["filesystem.write_total_buffered"] == 0
                                      and s["filesystem.write_buffered"] == 10 else None)(
                    stats(px)))
                self.assertTrue(s, stats(px, "?filter=filesystem"))
                self.assertGreaterEqual(s["filesystem.write_completed"], 1)
                self.assertEqual(s["filesystem.write_failed"], 0)
                self.assertEqual(s["filesystem.lines_dropped"], 0)
                with open(path) as f:
                    self.assertEqual(len(f.read().splitlines()), 10)
                # Lines still waiting for their flush are written when the server stops.
                for _ in range(3):
                    http_request(px.addr(), "GET", "/ok", HOST)
                px.stop()
                with open(path) as f:
                    self.assertEqual(len(f.read().splitlines()), 13)

    def test_tcp_proxy_stats(self):
        with HttpUpstream(respond=respond) as up, \
                Proxy(config(up, tcp_port=True), ["--concurrency", "2"]) as px:
            for _ in range(3):
                self.assertEqual(http_request(px.addr("tcp"), "GET", "/ok", HOST).status, 200)
            s = wait_for(lambda: (lambda s: s if s["tcp.tcp_in.downstream_cx_total"] == 3 and
                                  s["server.total_connections"] == 0 else None)(stats(px)))
            self.assertTrue(s, stats(px))
            self.assertGreater(s["tcp.tcp_in.downstream_cx_rx_bytes_total"], 0)
            self.assertGreater(s["tcp.tcp_in.downstream_cx_tx_bytes_total"], 0)
            port = px.addr("tcp")[1]
            self.assertEqual(s["listener.127.0.0.1_%d.downstream_cx_total" % port], 3)
            self.assertEqual(s["cluster.up.upstream_cx_total"], 3)

    def test_filter_and_health_check_stats(self):
        rl = {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3"
                     ".LocalRateLimit",
            "stat_prefix": "lim",
            "token_bucket": {"max_tokens": 3, "tokens_per_fill": 1, "fill_interval": "3600s"},
            "filter_enabled": {"default_value": {"numerator": 100}},
            "filter_enforced": {"default_value": {"numerator": 100}}}}
        router = {"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
        with HttpUpstream(respond=respond) as up:
            boot = json.loads(config(up))
            hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
            hcm["typed_config"]["http_filters"] = [rl, router]
            cl = boot["static_resources"]["clusters"][0]
            cl["health_checks"] = [{"timeout": "0.5s", "interval": "0.1s",
                                    "unhealthy_threshold": 1, "healthy_threshold": 1,
                                    "http_health_check": {"path": "/ok/hc"}}]
            with Proxy(json.dumps(boot)) as px:
                codes = [http_request(px.addr(), "GET", "/ok", HOST).status for _ in range(5)]
                self.assertEqual(codes, [200, 200, 200, 429, 429])
                p = "http.ingress_http.lim.http_local_rate_limit."
                s = stats(px)
                self.assertEqual((s[p + "enabled"], s[p + "ok"], s[p + "rate_limited"],
                                  s[p + "enforced"]), (5, 3, 2, 2))
                self.assertEqual(s["http.ingress_http.downstream_rq_4xx"], 2)
                s = wait_for(lambda: (lambda s: s if s["cluster.up.health_check.success"] >= 2
                                      else None)(stats(px)))
                self.assertTrue(s)
                self.assertGreaterEqual(s["cluster.up.health_check.attempt"],
                                        s["cluster.up.health_check.success"])
                self.assertEqual(s["cluster.up.health_check.failure"], 0)


if __name__ == "__main__":
    harness.main()
