"""The admin dashboard (GET /) in a real browser: headless Debian chromium against the real binary.

Proves that:
- GET / on the admin listener is the self-contained page (text/html, no external URL), and
  only "/" itself: "/x" is still a 404;
- with steady traffic through an HTTP connection manager (2 workers; 2xx from the origin, 5xx
  from it too, 4xx from a missing route), the page, polling /stats?format=json and
  /clusters?format=json every second, shows a request rate > 0, status-class rates, P99
  latency numbers, the per-cluster phase table and the host health table, where a host whose
  active health check fails (a closed port) is marked unhealthy;
- its three charts really render: screenshots of each <canvas> region (PNG decoded here with
  zlib) hold coloured pixels, which an empty chart (grey grid and labels only) does not;
- nothing went wrong in the page: #js-errors (fed by window.onerror and unhandledrejection)
  is empty, the DevTools protocol reported no exception, no console error and no failed
  load, and chromium's own log (--enable-logging=stderr) has no console line at all.

Chromium is driven over the DevTools protocol (a minimal stdlib websocket client below) rather
than --dump-dom/--virtual-time-budget: virtual time does not advance the page's real polling
against a live server, and the protocol lets the test wait for data with a deadline.  Exit 77
(skipped) when /usr/bin/chromium is missing (tools/setup.sh installs it).
"""

import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import harness
from http_harness import (HttpUpstream, Response, closed_port, http_config, http_request,
                          route, start_proxy, vhost)

CHROMIUM = "/usr/bin/chromium"
HOST = (("Host", "example.com"),)
CHARTS = ("chart-rate", "chart-status", "chart-latency")


# --------------------------------------------------------------------------------------------
# A minimal websocket client (RFC 6455, client side) and DevTools protocol session


class DevTools:
    """One websocket to a DevTools target.  call() sends a command and returns its result;
    every event received meanwhile is kept in .events (method, params)."""

    def __init__(self, ws_url, timeout=10.0):
        m = re.match(r"ws://([^:/]+):(\d+)(/.*)", ws_url)
        assert m, ws_url
        self.timeout = timeout
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           % (m.group(3), m.group(1), m.group(2), key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.next_id = 0
        self.events = []

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("devtools websocket closed")
        self.buf += data

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def _recv_message(self):
        parts = []
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            payload = self._exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("devtools websocket closed by the browser")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self._send_frame(0x1, json.dumps({"id": mid, "method": method,
                                          "params": params}).encode())
        deadline = time.monotonic() + self.timeout
        while True:
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            msg = self._recv_message()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise AssertionError("%s failed: %r" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append((msg["method"], msg.get("params", {})))

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError("evaluating %r threw %r" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Chromium:
    """Headless chromium with a DevTools port on 127.0.0.1 (port 0, read back from
    <profile>/DevToolsActivePort); its stderr goes to a file.  Context manager."""

    def __init__(self, tmp, timeout=30.0):
        self.profile = os.path.join(tmp, "profile")
        self.log_path = os.path.join(tmp, "chromium.log")
        self._log = open(self.log_path, "wb")
        argv = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--user-data-dir=" + self.profile,
                "--enable-logging=stderr", "--v=0", "--window-size=1280,1600",
                "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                "about:blank"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, start_new_session=True)
        self.port = self._devtools_port(timeout)
        self.page = DevTools(self._page_ws(timeout), timeout)

    def _devtools_port(self, timeout):
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    first = f.readline().strip()
                if first.isdigit():
                    return int(first)
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError("chromium exited with %d:\n%s"
                                     % (self.proc.returncode, self.log()))
            time.sleep(0.05)
        raise AssertionError("chromium did not open its DevTools port within %.0fs:\n%s"
                             % (timeout, self.log()))

    def _page_ws(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = http_request(("127.0.0.1", self.port), "GET", "/json/list",
                             (("Host", "127.0.0.1:%d" % self.port),))
            pages = [t for t in json.loads(r.body) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise AssertionError("chromium has no page target")

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def close(self):
        try:
            self.page.call("Browser.close")
        except (OSError, ConnectionError, AssertionError):
            pass
        self.page.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        try:  # its zygote and renderers share our new session (process group)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait(5)
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# --------------------------------------------------------------------------------------------
# PNG decoding (zlib only): enough for chromium's 8-bit RGB/RGBA screenshots


def png_pixels(data):
    """(width, height, channels, rows) where rows is a list of bytes objects (unfiltered)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack("!I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        crc = struct.unpack("!I", data[pos + 8 + n:pos + 12 + n])[0]
        assert zlib.crc32(kind + chunk) == crc, "bad CRC in %r" % kind
        if kind == b"IHDR":
            ihdr = struct.unpack("!IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
    ch = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * ch
    assert len(raw) == h * (stride + 1), "PNG data is %d bytes, expected %d" % (
        len(raw), h * (stride + 1))
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - ch] if i >= ch else 0
            b = prev[i]
            c = prev[i - ch] if i >= ch else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
            else:
                assert f == 0, "bad PNG filter %d" % f
        rows.append(bytes(line))
        prev = line
    return w, h, ch, rows


def colour_stats(png):
    """(distinct colours, saturated pixels): series colours are saturated, the chart's grid
    and labels are grey, so an empty chart has no saturated pixel."""
    w, h, ch, rows = png_pixels(png)
    colours, saturated = set(), 0
    for row in rows:
        for x in range(w):
            r, g, b = row[x * ch], row[x * ch + 1], row[x * ch + 2]
            colours.add((r, g, b))
            if max(r, g, b) - min(r, g, b) > 60:
                saturated += 1
    return len(colours), saturated


# --------------------------------------------------------------------------------------------
# The proxy under load


def respond(req):
    if req.target.startswith("/fail"):
        return Response(503, body=b"down")
    return Response(200, body=b"ok")


def config(up, dead_port):
    hc = {"timeout": "1s", "interval": "0.2s", "no_traffic_interval": "0.2s",
          "unhealthy_threshold": 1, "healthy_threshold": 1, "tcp_health_check": {}}
    boot = json.loads(http_config(
        [vhost("v", ["example.com"], [route("up")])],
        clusters={"up": [up.endpoint], "dead": [("127.0.0.1", dead_port)]},
        cluster_opts={"dead": {"health_checks": [hc]}}))
    boot["admin"] = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}
    boot["stats_flush_interval"] = "1s"
    return json.dumps(boot)


class Traffic(threading.Thread):
    """Steady requests until stopped (at most `limit`): mostly 200s, every 5th a 503 from the
    origin, every 7th a 404 (no route for its Host)."""

    def __init__(self, addr, limit=4000):
        super().__init__(daemon=True)
        self.addr, self.limit = addr, limit
        self.stop = threading.Event()
        self.sent, self.errors = 0, []

    def run(self):
        while not self.stop.is_set() and self.sent < self.limit:
            i = self.sent
            target = "/fail" if i % 5 == 4 else "/ok/%d" % i
            host = (("Host", "nowhere.example"),) if i % 7 == 6 else HOST
            try:
                http_request(self.addr, "GET", target, host, timeout=5.0)
            except (OSError, AssertionError) as e:
                self.errors.append(e)
            self.sent += 1
            time.sleep(0.005)


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %.0fs" % (what, timeout))
        time.sleep(0.1)


# The numbers the test reads from the live page, in one evaluation.
SNAPSHOT_JS = """JSON.stringify((() => {
  const t = (id) => { const e = document.getElementById(id); return e ? e.textContent : null; };
  const rect = (id) => { const r = document.getElementById(id).getBoundingClientRect();
    return [r.x, r.y, r.width, r.height]; };
  return {
    rate: t("rq-rate"), p50: t("lat-p50"), p90: t("lat-p90"), p99: t("lat-p99"),
    st: ["1xx", "2xx", "3xx", "4xx", "5xx"].map((c) => t("st-" + c)),
    live: t("live"), uptime: t("srv-uptime"), workers: t("srv-concurrency"),
    memory: t("srv-memory"), errorShown: !document.getElementById("error").hidden,
    errorText: t("error"), jsErrors: t("js-errors"), samples: series.rate.length,
    hosts: [...document.querySelectorAll("#hosts tbody tr")].map((tr) => ({
      cluster: tr.dataset.cluster, host: tr.dataset.host, health: tr.dataset.health,
      cls: tr.className, cells: [...tr.cells].map((c) => c.textContent)})),
    hcm: [...document.querySelectorAll("#hcm-table tbody tr")].map((tr) =>
      [...tr.cells].map((c) => c.textContent)),
    lat: [...document.querySelectorAll("#lat-table tbody tr")].map((tr) =>
      [...tr.cells].map((c) => c.textContent)),
    phases: [...document.querySelectorAll("#phase-table tbody tr")].map((tr) =>
      [...tr.cells].map((c) => c.textContent)),
    charts: Object.fromEntries(%s.map((id) => [id, rect(id)])),
    external: [...document.querySelectorAll("[src],[href]")].map((e) =>
      e.getAttribute("src") || e.getAttribute("href")).filter((u) => /^[a-z]+:\\/\\//i.test(u)),
  };
})())""" % json.dumps(list(CHARTS))


def number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def ready(snap):
    """The page has polled at least three times with traffic flowing."""
    return (snap["samples"] >= 2 and (number(snap["rate"]) or 0) > 0
            and (number(snap["st"][1]) or 0) > 0 and number(snap["p99"]) is not None
            and any(h["health"] == "unhealthy" for h in snap["hosts"]))


class Dashboard(harness.unittest.TestCase):
    def test_dashboard_renders_live_data(self):
        up = HttpUpstream(respond, name="origin")
        dead = closed_port()
        tmp = tempfile.TemporaryDirectory(prefix="ringway-dash-")
        traffic = None
        try:
            with start_proxy(config(up, dead), workers=2) as px:
                admin = px.addr("admin")
                page = http_request(admin, "GET", "/", (("Host", "admin"),))
                self.assertEqual(page.status, 200)
                self.assertEqual(page.header("content-type"), "text/html; charset=utf-8")
                self.assertTrue(page.body.startswith(b"<!doctype html>"), page.body[:40])
                self.assertNotRegex(page.body, rb"(src|href)=\"?(https?:)?//")
                self.assertEqual(http_request(admin, "GET", "/x", (("Host", "admin"),)).status,
                                 404)

                traffic = Traffic(px.addr())
                traffic.start()
                wait_for(lambda: "failed_active_hc" in http_request(
                    admin, "GET", "/clusters?format=json", (("Host", "admin"),)).body.decode(),
                         15, "the dead host is unhealthy in /clusters")

                with Chromium(tmp.name) as chrome:
                    snap = self.drive(chrome, admin)
                    shots = {c: self.chart_shot(chrome, snap["charts"][c]) for c in CHARTS}
                    full = chrome.page.call("Page.captureScreenshot", format="png")
                    chrome.page.evaluate("1")  # a round trip: events sent before it are in
                    events = list(chrome.page.events)
                    chrome_log = chrome.log()
                    traffic.stop.set()
                    traffic.join(10)
                    self.assertEqual(traffic.errors, [])
                    self.assertTrue(px.alive())
                    # The admin goes away: the page says so and keeps polling.
                    px.stop()
                    failed = wait_for(lambda: chrome.page.evaluate(
                        "document.getElementById('error').hidden ? 0 : "
                        "+document.getElementById('error').dataset.failures"), 20,
                        "the error line after the admin went away")
                    wait_for(lambda: chrome.page.evaluate(
                        "+document.getElementById('error').dataset.failures") > failed, 20,
                        "the page polling on after a failed fetch")
                    self.assertIn("fetch failed", chrome.page.evaluate(
                        "document.getElementById('error').textContent"))
                self.check_snapshot(snap, dead)
                self.check_charts(shots, full["data"])
                self.check_no_errors(events, chrome_log)
        finally:
            if traffic:
                traffic.stop.set()
                traffic.join(10)
            up.close()
            tmp.cleanup()

    def drive(self, chrome, admin):
        dt = chrome.page
        dt.call("Runtime.enable")
        dt.call("Log.enable")
        dt.call("Page.enable")
        dt.call("Page.navigate", url="http://%s:%d/" % admin)
        snap = {}

        def poll():
            nonlocal snap
            try:
                snap = json.loads(dt.evaluate(SNAPSHOT_JS))
            except AssertionError:  # the page (and its `series`) is not there yet
                return False
            return ready(snap)

        try:
            wait_for(poll, 25, "the dashboard showing live data")
        except AssertionError:
            raise AssertionError("dashboard never showed live data; last snapshot %r\n"
                                 "events %r" % (snap, dt.events[-20:]))
        return snap

    def chart_shot(self, chrome, rect):
        x, y, w, h = rect
        self.assertGreater(w, 100)
        self.assertGreater(h, 100)
        r = chrome.page.call("Page.captureScreenshot", format="png",
                             clip={"x": x, "y": y, "width": w, "height": h, "scale": 1})
        return base64.b64decode(r["data"])

    def check_snapshot(self, snap, dead_port):
        self.assertGreater(number(snap["rate"]), 0, snap)
        for i, c in enumerate(("1xx", "2xx", "3xx", "4xx", "5xx")):
            self.assertIsNotNone(number(snap["st"][i]), (c, snap["st"]))
        self.assertGreater(number(snap["st"][1]), 0, snap["st"])
        for q in ("p50", "p90", "p99"):
            self.assertGreater(number(snap[q]), 0, (q, snap))
        self.assertLessEqual(number(snap["p50"]), number(snap["p99"]))
        self.assertEqual(snap["live"], "LIVE")
        self.assertEqual(snap["workers"], "2")
        self.assertRegex(snap["uptime"], r"^(\d+[dhm] )*\d+s$")
        self.assertRegex(snap["memory"], r"^[\d.]+ (B|KiB|MiB|GiB)$")
        self.assertFalse(snap["errorShown"], snap["errorText"])
        self.assertEqual(snap["jsErrors"], "")
        self.assertEqual(snap["external"], [])
        # One connection manager row with a rate and totals.
        self.assertEqual(len(snap["hcm"]), 1, snap["hcm"])
        self.assertEqual(snap["hcm"][0][0], "ingress_http")
        self.assertGreater(int(snap["hcm"][0][2]), 0)
        # Latency rows: the HCM's and cluster up's, with numbers.
        lat = {row[0]: row for row in snap["lat"]}
        for name in ("http.ingress_http.downstream_rq_time", "cluster.up.upstream_rq_time"):
            self.assertIn(name, lat)
            self.assertIsNotNone(number(lat[name][3]), lat[name])
        # Where the time went: cluster up's phases have P50 / P99 pairs.
        phases = {row[0]: row for row in snap["phases"]}
        self.assertIn("up", phases)
        self.assertRegex(phases["up"][5], r"^[\d.]+ / [\d.]+$")  # first byte
        # Host health: up's origin healthy (green), the closed port unhealthy (red).
        hosts = {(h["cluster"], h["host"]): h for h in snap["hosts"]}
        bad = hosts[("dead", "127.0.0.1:%d" % dead_port)]
        self.assertEqual((bad["health"], bad["cls"]), ("unhealthy", "bad"), bad)
        self.assertIn("failed_active_hc", bad["cells"][2])
        good = [h for (c, _), h in hosts.items() if c == "up"]
        self.assertEqual(len(good), 1)
        self.assertEqual((good[0]["health"], good[0]["cls"]), ("healthy", "ok"))
        self.assertGreater(int(good[0]["cells"][7]), 0)  # rq total

    def check_charts(self, shots, full_b64):
        for name, png in shots.items():
            colours, saturated = colour_stats(png)
            self.assertGreater(colours, 8, "%s looks blank (%d colours)" % (name, colours))
            self.assertGreater(saturated, 20, "%s has no drawn series (%d coloured pixels)"
                               % (name, saturated))
        w, h, _, _ = png_pixels(base64.b64decode(full_b64))
        self.assertEqual(w, 1280)  # the window; the viewport height is a bit less
        self.assertGreater(h, 1000)

    def check_no_errors(self, events, chrome_log):
        bad = []
        for method, p in events:
            if method == "Runtime.exceptionThrown":
                bad.append(p["exceptionDetails"])
            elif method == "Runtime.consoleAPICalled" and p.get("type") in (
                    "error", "assert", "warning"):
                bad.append(p)
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                bad.append(p["entry"])
        self.assertEqual(bad, [])
        console = [ln for ln in chrome_log.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]
        self.assertEqual(console, [])


if __name__ == "__main__":
    if not os.access(CHROMIUM, os.X_OK):
        sys.stderr.write("SKIP: %s not found (apt-get install chromium)\n" % CHROMIUM)
        sys.exit(harness.SKIP)
    harness.main()
