"""HTTP/1.1 message bodies through the HTTP connection manager, as a client sees them.

What this proves (Envoy's behaviour):
- a chunked request body (several chunks written separately, a chunk extension, a trailer)
  reaches the upstream intact, however the proxy re-frames it;
- a chunked response (several chunks) and a close-delimited response (no length, the origin
  closes) reach an HTTP/1.1 client intact, and the client connection survives the chunked one;
- 100 MiB up (Content-Length and chunked) and 100 MiB down arrive with the right SHA-256 on
  the far side; with per_connection_buffer_limit_bytes 1 MiB the proxy's VmRSS stays within
  64 MiB of its warmed-up baseline while a client reads a download slowly (backpressure), and
  the origin is held back rather than the proxy buffering;
- Expect: 100-continue: the proxy answers "100 Continue" itself (proxy_100_continue is false
  by default), the body then flows and the upstream never sees the Expect header; a request
  with no route gets its 404 and the upstream sees nothing;
- HEAD answers carry no body even when the origin sends Content-Length; 204 and 304 carry none.

Big transfers stream through hand-written upstream/client loops (hashing as they go), not the
buffering mock, so the test itself stays fast and small.
"""

import hashlib
import os
import socket
import threading
import time
import unittest

import harness
import http_harness as hh
from harness import MiB
from http_harness import HttpClient, HttpUpstream, Proxy, Response

HOST = (("Host", "example.com"),)
BIG = 100 * MiB
BLOCK = os.urandom(MiB)
RSS_GROWTH_LIMIT_KIB = 64 * 1024
IN_FLIGHT_LIMIT = 64 * MiB


def pattern_sha(n):
    """SHA-256 of the first n bytes of BLOCK repeated."""
    h = hashlib.sha256()
    full, rest = divmod(n, len(BLOCK))
    for _ in range(full):
        h.update(BLOCK)
    h.update(BLOCK[:rest])
    return h.hexdigest()


def read_head_or_fail(client):
    """The next raw response head on an HttpClient, as bytes; a timeout is a failure."""
    try:
        return client.reader.until(b"\r\n\r\n")
    except (socket.timeout, hh.PeerClosed) as e:
        raise AssertionError("no response head (%r); got %r" % (e, client.reader.buf[:200]))


def echo_body(req):
    return Response(200, [("x-body-len", str(len(req.body)))], req.body)


def simple_config(up, hcm=None, routes=None, listener=None, cluster_opts=None):
    routes = routes or [hh.route("up")]
    return hh.http_config([hh.vhost("local", ["*"], routes)], clusters={"up": [up.endpoint]},
                          hcm=hcm, listener=listener, cluster_opts=cluster_opts)


# --------------------------------------------------------------------------------------------
# Streaming peers for the big transfers


class StreamReader:
    """Buffered reads from a socket without quadratic copying (bodies are streamed through)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self, n=MiB):
        data = self.sock.recv(n)
        if not data:
            raise EOFError("peer closed")
        self.buf += data

    def until(self, sep, limit=64 * 1024):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out = bytes(self.buf[:i + len(sep)])
                del self.buf[:i + len(sep)]
                return out
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (sep, limit))
            self._fill()

    def some(self, n):
        """Up to n bytes (at least 1)."""
        if not self.buf:
            self._fill(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def parse_head(raw):
    lines = raw[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], headers


def is_chunked(headers):
    return ",".join(headers.get("transfer-encoding", [])).replace(" ", "").lower() \
        .split(",")[-1] == "chunked"


def stream_body(reader, headers, sink, pace=None):
    """Feed the body (Content-Length or chunked) to sink(bytes); returns its length.
    pace(n_so_far) may sleep to read slowly."""
    total = 0
    if is_chunked(headers):
        while True:
            size = int(reader.until(b"\r\n").split(b";")[0].strip(), 16)
            if size == 0:
                while reader.until(b"\r\n") != b"\r\n":  # trailers
                    pass
                return total
            left = size
            while left:
                if pace:
                    pace(total)
                data = reader.some(min(left, 256 * 1024))
                sink(data)
                left -= len(data)
                total += len(data)
            if reader.exact(2) != b"\r\n":
                raise AssertionError("chunk without CRLF")
    n = int(headers.get("content-length", ["0"])[0])
    while total < n:
        if pace:
            pace(total)
        data = reader.some(min(n - total, 256 * 1024))
        sink(data)
        total += len(data)
    return total


class BulkOrigin:
    """Keep-alive origin: POST /upload* -> 200 "<bytes> <sha256>" of the body (streamed);
    GET /download/<n> -> n bytes of BLOCK repeated with Content-Length.  A target containing
    'slow' reads the upload at ~4 MiB/s for its first 2 s.  .sent counts download bytes the
    kernel accepted."""

    def __init__(self):
        self.sent = 0
        self.results = []
        self.up = harness.Upstream(self._handle, name="bulk")
        self.endpoint = self.up.endpoint

    def _handle(self, conn, up, index):
        reader = StreamReader(conn)
        while True:
            try:
                line, headers = parse_head(reader.until(b"\r\n\r\n"))
            except EOFError:
                return
            method, target, _ = line.split(" ")
            if method == "POST":
                self._upload(conn, reader, target, headers)
            else:
                self._download(conn, int(target.rsplit("/", 1)[1]))

    def _upload(self, conn, reader, target, headers):
        h = hashlib.sha256()
        start = time.monotonic()

        def pace(n):
            if "slow" in target and time.monotonic() - start < 2.0:
                time.sleep(0.06)  # 256 KiB per 60 ms: ~4 MiB/s

        n = stream_body(reader, headers, h.update, pace)
        self.results.append((target, n, h.hexdigest(), is_chunked(headers)))
        body = b"%d %s" % (n, h.hexdigest().encode())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def _download(self, conn, n):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        view = memoryview(BLOCK)
        sent = 0
        self.sent = 0
        while sent < n:
            off = sent % len(view)
            k = conn.send(view[off:off + min(len(view) - off, n - sent, 256 * 1024)])
            sent += k
            self.sent = sent

    def close(self):
        self.up.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class RssSampler:
    def __init__(self, pid):
        self.pid = pid
        self.max = harness.rss_kib(pid)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.wait(0.02):
            try:
                self.max = max(self.max, harness.rss_kib(self.pid))
            except (OSError, AssertionError):
                return

    def close(self):
        self.stop.set()
        self.t.join(2)
        return self.max


def upload(addr, total, chunked=False, target="/upload", timeout=60):
    """POST total bytes of BLOCK repeated; returns (status, body) of the response."""
    s = harness.connect(addr, timeout)
    try:
        framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % total
        s.sendall(b"POST %s HTTP/1.1\r\nHost: example.com\r\n%s\r\n\r\n"
                  % (target.encode(), framing))
        sent = 0
        while sent < total:
            block = BLOCK[:min(len(BLOCK), total - sent)]
            if chunked:
                s.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
            else:
                s.sendall(block)
            sent += len(block)
        if chunked:
            s.sendall(b"0\r\n\r\n")
        reader = StreamReader(s)
        line, headers = parse_head(reader.until(b"\r\n\r\n"))
        body = bytearray()
        stream_body(reader, headers, body.extend)
        return int(line.split(" ")[1]), bytes(body)
    finally:
        s.close()


def start_download(addr, n, rcvbuf=None):
    """Send GET /download/n; returns (socket, reader, headers) after the response head."""
    s = harness.connect(addr, 60, rcvbuf=rcvbuf)
    s.sendall(b"GET /download/%d HTTP/1.1\r\nHost: example.com\r\n\r\n" % n)
    reader = StreamReader(s)
    line, headers = parse_head(reader.until(b"\r\n\r\n"))
    if line.split(" ")[1] != "200":
        raise AssertionError("download answered %r" % line)
    return s, reader, headers


# --------------------------------------------------------------------------------------------


class Bodies(unittest.TestCase):
    def test_chunked_request_body(self):
        with HttpUpstream(echo_body) as up, Proxy(simple_config(up), ["--concurrency", "1"]) \
                as px, HttpClient(px.addr()) as c:
            c.send(b"POST /chunked HTTP/1.1\r\nHost: example.com\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n")
            pieces = [b"5\r\nhello\r\n", b"1;ext=yes\r\n \r\n", b"5\r\nworld\r\n",
                      b"1A\r\n" + b"z" * 26 + b"\r\n", b"0\r\nX-Trailer: t\r\n\r\n"]
            for p in pieces:
                c.send(p)
                time.sleep(0.05)  # separate reads: the body must stream, not arrive whole
            r = c.read_response()
            want = b"hello world" + b"z" * 26
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, want)
            req = up.wait_requests(1)[0]
            self.assertEqual((req.method, req.target, req.body), ("POST", "/chunked", want))
            # Still one request on a healthy connection.
            r = c.request("POST", "/again", HOST, b"x")
            self.assertEqual(r.body, b"x")
            px.stop()

    def test_chunked_response(self):
        chunks = [b"first ", b"second " * 100, os.urandom(70000), b"last"]
        encoded = b"".join(b"%x\r\n%s\r\n" % (len(ch), ch) for ch in chunks) + b"0\r\n\r\n"

        def respond(req):
            if req.target == "/multi":
                # The body is written as given: already chunk-encoded, four chunks.
                return Response(200, [("X-Origin", "raw"), ("Transfer-Encoding", "chunked")],
                                encoded)
            return Response(200, body=b"one " + req.target.encode(), chunked=True)

        with HttpUpstream(respond) as up, Proxy(simple_config(up), ["--concurrency", "1"]) \
                as px, HttpClient(px.addr()) as c:
            r = c.request("GET", "/multi", HOST)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("x-origin"), "raw")
            self.assertEqual(r.body, b"".join(chunks))
            r = c.request("GET", "/single", HOST)  # same client connection
            self.assertEqual(r.body, b"one /single")
            if r.header("transfer-encoding"):
                self.assertIsNone(r.header("content-length"), "both framings: %r" % r)
            px.stop()

    def test_close_delimited_response(self):
        body = os.urandom(300000)

        def respond(req):
            return b"HTTP/1.1 200 OK\r\nX-Origin: eof\r\n\r\n" + body  # then close

        with HttpUpstream(respond) as up, Proxy(simple_config(up), ["--concurrency", "1"]) \
                as px, HttpClient(px.addr()) as c:
            r = c.request("GET", "/eof", HOST)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("x-origin"), "eof")
            # Re-framed as chunked (the client connection survives) or close-delimited.
            self.assertEqual(r.body, body)
            if r.header("transfer-encoding") or r.header("content-length"):
                r2 = c.request("GET", "/eof2", HOST)
                self.assertEqual(r2.body, body)
            else:
                self.assertTrue(c.read_eof(2.0))
            px.stop()

    def test_expect_100_continue(self):
        routes = [hh.route("up", prefix="/e")]
        with HttpUpstream(echo_body) as up, \
                Proxy(simple_config(up, routes=routes), ["--concurrency", "1"]) as px:
            with HttpClient(px.addr()) as c:
                c.send(b"POST /e/1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n"
                       b"Expect: 100-continue\r\n\r\n")
                interim = read_head_or_fail(c)
                self.assertTrue(interim.startswith(b"HTTP/1.1 100 "), interim)
                c.send(b"hello")
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, b"hello")
            req = up.wait_requests(1)[0]
            self.assertEqual(req.body, b"hello")
            # proxy_100_continue is false: the proxy handled the expectation itself.
            self.assertIsNone(req.header("expect"), req)

            # No route: a 404 and nothing upstream.  (Envoy sends its own 100 Continue as
            # soon as it has the headers, before routing, so one interim may precede it.)
            with HttpClient(px.addr()) as c:
                c.send(b"POST /nowhere HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n"
                       b"Expect: 100-continue\r\n\r\n")
                first = read_head_or_fail(c)
                if first.startswith(b"HTTP/1.1 100 "):
                    c.send(b"hello")
                else:
                    c.reader.buf = first + c.reader.buf
                r = c.read_response()
                self.assertEqual(r.status, 404, r)
            time.sleep(0.2)
            self.assertEqual(len(up.snapshot()), 1, "the unrouted request reached the upstream")
            px.stop()

    def test_no_body_for_head_204_304(self):
        def respond(req):
            if req.target == "/204":
                return Response(204, [("x-s", "204")])
            if req.target == "/304":
                # A 304 may carry the Content-Length of the representation, never a body.
                return Response(304, [("x-s", "304"), ("Content-Length", "11")])
            return Response(200, [("x-s", "200")], b"eleven byte")

        with HttpUpstream(respond) as up, Proxy(simple_config(up), ["--concurrency", "1"]) \
                as px, HttpClient(px.addr()) as c:
            r = c.request("HEAD", "/head", HOST)
            self.assertEqual((r.status, r.body, r.header("x-s")), (200, b"", "200"))
            self.assertEqual(r.header("content-length"), "11")
            for status in (204, 304):
                r = c.request("GET", "/%d" % status, HOST)
                self.assertEqual((r.status, r.body, r.header("x-s")),
                                 (status, b"", str(status)))
                self.assertIsNone(r.header("transfer-encoding"), r)
            # Nothing stray after the bodiless answers: the next response parses cleanly.
            self.assertFalse(c.read_eof(0.3))
            self.assertEqual(c.reader.buf, b"")
            r = c.request("GET", "/get", HOST)
            self.assertEqual((r.status, r.body), (200, b"eleven byte"))
            self.assertEqual(len(up.wait_requests(4)), 4)
            px.stop()


class BigTransfers(unittest.TestCase):
    """100 MiB each way through one proxy with 1 MiB connection buffer limits."""

    @classmethod
    def setUpClass(cls):
        cls.origin = BulkOrigin()
        limit = {"per_connection_buffer_limit_bytes": MiB}
        cfg = simple_config(cls.origin, listener=limit, cluster_opts={"up": limit})
        cls.px = Proxy(cfg, ["--concurrency", "1"])

    @classmethod
    def tearDownClass(cls):
        cls.px.close()
        cls.origin.close()

    def setUp(self):
        self.assertTrue(self.px.alive(), self.px.log())

    def check_upload(self, chunked, target):
        status, body = upload(self.px.addr(), BIG, chunked=chunked, target=target)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, b"%d %s" % (BIG, pattern_sha(BIG).encode()))

    def test_upload_content_length(self):
        self.check_upload(False, "/upload")

    def test_upload_chunked(self):
        self.check_upload(True, "/upload-chunked")

    def test_upload_slow_origin_bounded_memory(self):
        """The origin reads slowly for 2 s: the proxy must stop reading the client."""
        base = self.warm_up()
        sampler = RssSampler(self.px.pid)
        try:
            self.check_upload(False, "/upload-slow")
        finally:
            top = sampler.close()
        print("slow origin upload: baseline %d KiB, peak %d KiB" % (base, top))
        self.assertLess(top - base, RSS_GROWTH_LIMIT_KIB)

    def warm_up(self):
        """32 MiB downloaded fast: touches the buffer ring and pool before the baseline."""
        s, reader, headers = start_download(self.px.addr(), 32 * MiB)
        h = hashlib.sha256()
        try:
            self.assertEqual(stream_body(reader, headers, h.update), 32 * MiB)
        finally:
            s.close()
        self.assertEqual(h.hexdigest(), pattern_sha(32 * MiB))
        time.sleep(0.3)
        return self.px.rss_kib()

    def test_download_slow_reader_bounded_memory(self):
        base = self.warm_up()
        sampler = RssSampler(self.px.pid)
        s, reader, headers = start_download(self.px.addr(), BIG, rcvbuf=64 * 1024)
        h = hashlib.sha256()
        try:
            time.sleep(1.0)  # not reading at all: everything piles up somewhere
            start = time.monotonic()

            def pace(n):
                if time.monotonic() - start < 2.0:
                    time.sleep(0.06)  # ~4 MiB/s for 2 s

            # Read slowly first (pace), then as fast as possible to the end.
            total = stream_body(reader, headers, h.update, pace)
        finally:
            top = sampler.close()
            s.close()
        print("slow reader download: baseline %d KiB, peak %d KiB" % (base, top))
        self.assertEqual(total, BIG)
        self.assertEqual(h.hexdigest(), pattern_sha(BIG))
        self.assertLess(top - base, RSS_GROWTH_LIMIT_KIB, "no backpressure toward the origin")

    def test_download_slow_reader_origin_held_back(self):
        """While the client reads nothing, the origin must be stopped well short of 100 MiB."""
        s, reader, headers = start_download(self.px.addr(), BIG, rcvbuf=64 * 1024)
        try:
            time.sleep(2.0)
            stalled_at = self.origin.sent
            h = hashlib.sha256()
            total = stream_body(reader, headers, h.update)
        finally:
            s.close()
        print("origin wrote %.1f MiB while the client read nothing" % (stalled_at / MiB))
        self.assertLess(stalled_at, IN_FLIGHT_LIMIT, "no backpressure toward the origin")
        self.assertEqual(total, BIG)
        self.assertEqual(h.hexdigest(), pattern_sha(BIG))


if __name__ == "__main__":
    hh.main()
