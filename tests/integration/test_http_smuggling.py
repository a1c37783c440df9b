"""Request smuggling attempts never reach the upstream as a second request.

Each attack is one raw write that a lenient parser could read as two requests: an outer POST
whose body (by one framing) hides "GET /admin".  The proxy must answer the client with an
error and close the connection, and the origin's list of received requests must never contain
/admin.  For framing errors found in the head (CL+TE, bad Content-Length, unknown
Transfer-Encoding) nothing at all may reach the origin; for errors in a chunked body the head
may have been forwarded, but never a whole request.

Expected statuses are Envoy's: its HTTP/1 codec answers 400 to a malformed message
(Content-Length together with Transfer-Encoding, a bad Content-Length, a bad chunk size, a
space before the colon) and 501 Not Implemented to any Transfer-Encoding other than exactly
"chunked" (codec_impl.cc: "http/1.1 protocol error: unsupported transfer encoding";
repeated Transfer-Encoding fields are joined first, so "chunked" twice is "chunked,chunked").
Bare LF line endings are rejected with 400 where ringway is strict (RFC 9112 allows a
recipient to accept them; ringway does not, so nothing can disagree with an origin about
where a line ends).

Controls (to show the checks can pass): the same connection/origin handle a legitimate
pipelined chunked POST + GET as exactly two requests, and "Transfer-Encoding:<TAB>chunked"
(a tab is optional whitespace) is one request with the right body.
"""

import time
import unittest

import http_harness as hh
from http_harness import HttpUpstream, Proxy, Response

SMUGGLED = b"GET /admin HTTP/1.1\r\nHost: example.com\r\n\r\n"


def respond(req):
    return Response(200, [("x-target", req.target)], req.body)


def post(headers, body):
    """A POST /outer head with the given raw header lines, then body bytes."""
    fields = b"".join(h + b"\r\n" for h in headers)
    return b"POST /outer HTTP/1.1\r\nHost: example.com\r\n" + fields + b"\r\n" + body


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


# (name, raw bytes, expected status).  Every body hides SMUGGLED for one reading or another.
CL_TE_BODY = b"0\r\n\r\n" + SMUGGLED
TE_CL_BODY = chunk(SMUGGLED) + b"0\r\n\r\n"

ATTACKS = [
    # CL.TE: a front end using Content-Length forwards everything; a chunked back end sees
    # the body end at "0" and then a second request.
    ("CL.TE", post([b"Content-Length: %d" % len(CL_TE_BODY), b"Transfer-Encoding: chunked"],
                   CL_TE_BODY), 400),
    # TE.CL: the reverse: Content-Length covers only the chunk-size line.
    ("TE.CL", post([b"Transfer-Encoding: chunked", b"Content-Length: 4"], TE_CL_BODY), 400),
    # TE.TE: obfuscated Transfer-Encoding that one side ignores and the other honours.
    ("TE xchunked", post([b"Transfer-Encoding: xchunked"], TE_CL_BODY), 501),
    ("TE space before colon", post([b"Transfer-Encoding : chunked"], TE_CL_BODY), 400),
    ("TE chunked, identity", post([b"Transfer-Encoding: chunked, identity"], TE_CL_BODY), 501),
    ("TE tab duplicated", post([b"Transfer-Encoding:\tchunked", b"Transfer-Encoding:\tchunked"],
                               TE_CL_BODY), 501),
    ("TE chunked then x", post([b"Transfer-Encoding: chunked", b"Transfer-Encoding: x"],
                               TE_CL_BODY), 501),
    ("TE x then chunked + CL", post([b"Transfer-Encoding: x", b"Transfer-Encoding: chunked",
                                     b"Content-Length: %d" % len(CL_TE_BODY)], CL_TE_BODY), 400),
    # Content-Length games: two different lengths, a sign, a list of different values.
    ("CL duplicate differing", post([b"Content-Length: 5", b"Content-Length: %d" % (5 + len(
        SMUGGLED))], b"hello" + SMUGGLED), 400),
    ("CL plus sign", post([b"Content-Length: +5"], b"hello" + SMUGGLED), 400),
    ("CL list 5, 6", post([b"Content-Length: 5, 6"], b"hello" + SMUGGLED), 400),
    ("CL negative", post([b"Content-Length: -1"], b"hello" + SMUGGLED), 400),
    ("CL hex", post([b"Content-Length: 0x5"], b"hello" + SMUGGLED), 400),
    ("CL overflow", post([b"Content-Length: 184467440737095516160"], b"hello" + SMUGGLED), 400),
    # A chunk size that overflows 64 bits could wrap to a small number.
    ("chunk-size overflow", post([b"Transfer-Encoding: chunked"],
                                 b"ffffffffffffffffff\r\n" + SMUGGLED + b"\r\n0\r\n\r\n"), 400),
    ("chunk-size junk", post([b"Transfer-Encoding: chunked"],
                             b"5 x\r\nhello\r\n0\r\n\r\n" + SMUGGLED), 400),
    # Bare LF: a parser that splits lines on LF sees a Transfer-Encoding field here.
    ("bare LF in head", b"POST /outer HTTP/1.1\r\nHost: example.com\r\nX-A: b\n"
     b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n" % len(CL_TE_BODY) + CL_TE_BODY,
     400),
    ("bare LF line endings", b"POST /outer HTTP/1.1\nHost: example.com\nContent-Length: 5\n\n"
     b"hello" + SMUGGLED, 400),
    ("bare LF after chunk size", post([b"Transfer-Encoding: chunked"],
                                      b"5\nhello\r\n0\r\n\r\n" + SMUGGLED), 400),
]


class Smuggling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = HttpUpstream(respond)
        cfg = hh.http_config([hh.vhost("local", ["*"], [hh.route("up")])],
                             clusters={"up": [cls.up.endpoint]})
        cls.px = Proxy(cfg, ["--concurrency", "1"])

    @classmethod
    def tearDownClass(cls):
        cls.px.close()
        cls.up.close()

    def setUp(self):
        self.assertTrue(self.px.alive(), self.px.log())
        self.up.reset()

    def assert_never_admin(self):
        time.sleep(0.2)  # a smuggled request would arrive right behind the first
        targets = [r.target for r in self.up.snapshot()]
        self.assertNotIn("/admin", targets)
        return targets

    def test_attacks_rejected(self):
        for name, raw, status in ATTACKS:
            with self.subTest(name):
                self.up.reset()
                resp, closed = hh.http_raw(self.px.addr(), raw)
                self.assertEqual(resp.status, status, "%s: %r" % (name, resp))
                self.assertTrue(closed, "%s: connection left open after %d" % (name, status))
                targets = self.assert_never_admin()
                self.assertEqual(targets, [], "%s: a request reached the origin" % name)

    def test_rejection_is_not_followed_by_a_pipelined_request(self):
        """After the error the connection is closed: a request behind it is never served."""
        raw = ATTACKS[0][1] + b"GET /behind HTTP/1.1\r\nHost: example.com\r\n\r\n"
        resp, closed = hh.http_raw(self.px.addr(), raw)
        self.assertEqual(resp.status, 400)
        self.assertTrue(closed)
        targets = self.assert_never_admin()
        self.assertNotIn("/behind", targets)

    def test_control_pipelined_chunked_post_and_get(self):
        raw = post([b"Transfer-Encoding: chunked"], chunk(b"hello") + b"0\r\n\r\n") + SMUGGLED
        with hh.HttpClient(self.px.addr()) as c:
            c.send(raw)
            r1 = c.read_response()
            r2 = c.read_response()
        self.assertEqual((r1.status, r1.header("x-target"), r1.body), (200, "/outer", b"hello"))
        self.assertEqual((r2.status, r2.header("x-target")), (200, "/admin"))
        reqs = self.up.wait_requests(2)
        self.assertEqual([(r.target, r.body) for r in reqs],
                         [("/outer", b"hello"), ("/admin", b"")])

    def test_control_tab_before_chunked_is_one_request(self):
        body = chunk(b"GET /admin") + b"0\r\n\r\n"
        with hh.HttpClient(self.px.addr()) as c:
            c.send(post([b"Transfer-Encoding:\tchunked"], body))
            resp = c.read_response()
        self.assertEqual((resp.status, resp.body), (200, b"GET /admin"))
        reqs = self.up.wait_requests(1)
        self.assertEqual([(r.target, r.body) for r in reqs], [("/outer", b"GET /admin")])
        self.assert_never_admin()


if __name__ == "__main__":
    hh.main()
