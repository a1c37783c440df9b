"""HTTP/1.1 Upgrade (WebSocket) and CONNECT through the HTTP connection manager.

What this proves (Envoy's behaviour):
- with upgrade_configs [{upgrade_type: websocket}] an Upgrade request reaches the origin with
  its Upgrade/Connection/Sec-WebSocket-* headers, the origin's "101 Switching Protocols" (and
  its Sec-WebSocket-Accept, RFC 6455 4.2.2) reaches the client, and from then on the
  connection is a byte tunnel: a masked text frame is answered by the origin's frame, bytes
  the origin sent in the same write as its 101 arrive right after it, 1 MiB of arbitrary
  binary (CR, LF, "HTTP/1.1", NULs) is echoed intact both ways, and a client FIN ends it;
- without an upgrade config (or with the route disabling it) Envoy answers 403 itself
  (response code details "upgrade_failed") and the origin never sees the request;
- a CONNECT request with no CONNECT config gets Envoy's 404 (an HTTP/1 CONNECT has no path,
  so no prefix route matches: Envoy's "Why is Envoy sending 404s to CONNECT requests?" FAQ
  and its ConnectIsBlocked integration test), and the origin never sees it.
"""

import base64
import hashlib
import os
import socket
import struct
import threading
import unittest

import harness
import http_harness as hh
from http_harness import HttpClient, HttpUpstream, Proxy

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
EARLY = b"\x82\x04\x00\xff\r\n"  # a binary frame the origin sends with its 101


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()


def read_head(reader):
    """(request line, {lower name: value}) from a StreamReader-like object."""
    raw = reader.until(b"\r\n\r\n")
    lines = raw[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    return lines[0], headers


class SockReader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def until(self, sep):
        while sep not in self.buf:
            if len(self.buf) > 65536:
                raise AssertionError("head too long")
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_frame(reader):
    """One client frame (RFC 6455 5.2, payload < 64 KiB): (opcode byte, unmasked payload)."""
    b0, b1 = reader.exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", reader.exact(2))[0]
    mask = reader.exact(4) if b1 & 0x80 else b"\0\0\0\0"
    payload = bytes(c ^ mask[i % 4] for i, c in enumerate(reader.exact(n)))
    return b0, payload, bool(b1 & 0x80)


def masked_frame(payload, opcode=0x81, mask=b"\x11\x22\x33\x44"):
    assert len(payload) < 126
    return bytes([opcode, 0x80 | len(payload)]) + mask + \
        bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def websocket_origin(conn, up, index):
    """Answer the Upgrade with 101 (+ EARLY bytes in the same write), answer one frame with
    an unmasked text frame of the same payload, then echo raw bytes until EOF."""
    conn.settimeout(30)
    reader = SockReader(conn)
    line, headers = read_head(reader)
    up.record(("head", line, headers))
    if headers.get("upgrade", "").lower() != "websocket":
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                 % ws_accept(headers["sec-websocket-key"]).encode() + EARLY)
    op, payload, masked = read_frame(reader)
    up.record(("frame", op, payload, masked))
    conn.sendall(bytes([0x81, len(payload)]) + payload)
    # Raw echo from here on (whatever was buffered first).
    if reader.buf:
        conn.sendall(reader.buf)
    total = len(reader.buf)
    while True:
        data = conn.recv(65536)
        if not data:
            break
        total += len(data)
        conn.sendall(data)
    up.record(("eof", total))
    conn.shutdown(socket.SHUT_WR)


WS_REQUEST = (b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Version: 13\r\n\r\n")


def config(up_endpoint, hcm=None, route_extra=None):
    r = hh.route("up")
    if route_extra:
        r["route"].update(route_extra)
    return hh.http_config([hh.vhost("local", ["*"], [r])], clusters={"up": [up_endpoint]},
                          hcm=hcm)


WS_HCM = {"upgrade_configs": [{"upgrade_type": "websocket"}]}


class Upgrade(unittest.TestCase):
    def test_websocket_tunnel(self):
        with harness.Upstream(websocket_origin, name="ws") as up, \
                Proxy(config(up.endpoint, WS_HCM), ["--concurrency", "1"]) as px, \
                HttpClient(px.addr(), timeout=10) as c:
            c.send(WS_REQUEST)
            r = c.read_response()
            self.assertEqual(r.status, 101, r)
            self.assertEqual((r.header("upgrade") or "").lower(), "websocket")
            self.assertIn("upgrade", (r.header("connection") or "").lower())
            # RFC 6455's own example key and accept value.
            self.assertEqual(r.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            self.assertIsNone(r.header("content-length"))
            self.assertIsNone(r.header("transfer-encoding"))

            head = up.wait_results(1)[0]
            self.assertEqual(head[1], "GET /chat HTTP/1.1")
            self.assertEqual(head[2].get("upgrade", "").lower(), "websocket")
            self.assertIn("upgrade", head[2].get("connection", "").lower())
            self.assertEqual(head[2].get("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==")
            self.assertEqual(head[2].get("sec-websocket-version"), "13")

            # Bytes written together with the 101 come right after it.
            self.assertEqual(c.reader.exact(len(EARLY)), EARLY)

            c.send(masked_frame(b"Hello"))
            self.assertEqual(c.reader.exact(7), b"\x81\x05Hello")
            self.assertEqual(up.wait_results(2)[1], ("frame", 0x81, b"Hello", True))

            # Now any bytes: the proxy must not parse them as HTTP.
            blob = (b"HTTP/1.1 200 OK\r\n\r\n\0\r\n\n\r" + os.urandom(4096)) * 256  # ~1 MiB
            # (written from a thread: the echo comes back while we are still writing)
            writer = threading.Thread(target=c.send, args=(blob,), daemon=True)
            writer.start()
            self.assertEqual(c.reader.exact(len(blob)), blob)
            writer.join(10)

            # A client FIN reaches the origin, whose FIN comes back: the tunnel ends.
            c.sock.shutdown(socket.SHUT_WR)
            self.assertEqual(up.wait_results(3)[2], ("eof", len(blob)))
            self.assertTrue(c.read_eof(5.0))
            px.stop()

    def upgrade_refused(self, hcm, route_extra=None):
        with harness.Upstream(websocket_origin, name="ws") as up, \
                Proxy(config(up.endpoint, hcm, route_extra), ["--concurrency", "1"]) as px, \
                HttpClient(px.addr()) as c:
            c.send(WS_REQUEST)
            r = c.read_response()
            self.assertEqual(r.status, 403, r)
            self.assertEqual(up.accepted, 0, "the refused upgrade reached the origin")
            px.stop()

    def test_upgrade_not_configured(self):
        self.upgrade_refused(None)

    def test_upgrade_disabled_on_route(self):
        self.upgrade_refused(WS_HCM, {"upgrade_configs": [{"upgrade_type": "websocket",
                                                           "enabled": False}]})

    def test_connect_not_configured(self):
        with HttpUpstream() as up, Proxy(config(up.endpoint), ["--concurrency", "1"]) as px:
            resp, _ = hh.http_raw(px.addr(), b"CONNECT example.com:443 HTTP/1.1\r\n"
                                  b"Host: example.com:443\r\n\r\n")
            self.assertEqual(resp.status, 404, resp)
            self.assertEqual(up.accepted, 0)
            self.assertEqual(up.snapshot(), [])
            # Plain requests still work on the same proxy.
            r = hh.http_request(px.addr(), "GET", "/plain")
            self.assertEqual((r.status, r.body), (200, b"up GET /plain"))
            px.stop()


if __name__ == "__main__":
    hh.main()
