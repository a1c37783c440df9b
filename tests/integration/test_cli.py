"""Command line: --version and --help exit 0, bad flags exit non-zero with a message, and
--config-yaml with --concurrency 2 serves traffic (round robin covers more of that).
"""

import unittest

import harness


class Cli(unittest.TestCase):
    def test_version(self):
        r = harness.run_ringway(["--version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\d+\.\d+\.\d+")

    def test_help(self):
        r = harness.run_ringway(["--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for flag in ("--config-path", "--config-yaml", "--mode", "--concurrency",
                     "--log-level", "--drain-time-s", "--version"):
            self.assertIn(flag, r.stdout)

    def test_unknown_flag(self):
        r = harness.run_ringway(["--no-such-flag"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--no-such-flag", r.stderr)

    def test_bad_values(self):
        for args in (["--concurrency", "0"], ["--concurrency", "lots"], ["--mode", "bogus"],
                     ["-l", "loud"], ["--drain-time-s", "-1"], ["--concurrency"],
                     ["stray-argument"]):
            with self.subTest(args=args):
                r = harness.run_ringway(args)
                self.assertNotEqual(r.returncode, 0, r)
                self.assertTrue(r.stderr.strip(), "no error message for %r" % args)

    def test_config_yaml_concurrency_2_serves(self):
        with harness.Upstream(harness.echo_handler) as up:
            cfg = harness.proxy_config([up.endpoint])
            px = harness.Proxy(cfg, ["--concurrency", "2"], inline=True)
            with px:
                self.assertEqual(px.workers, 2)
                c = harness.connect(px.addr())
                c.sendall(b"over two workers\n")
                self.assertEqual(harness.recv_exact(c, 17), b"over two workers\n")
                c.close()
                px.stop()
            self.assertEqual(up.accepted, 1)

    def test_io_batch_wait_settings_serve_and_drain(self):
        # 0 turns batched waits off; it once made the kernel wait for a full batch, so a
        # lone drain request hung.  Each setting must serve many small exchanges and drain.
        with harness.Upstream(harness.echo_handler) as up:
            cfg = harness.proxy_config([up.endpoint])
            for wait_us in ("0", "1", "20", "1000"):
                with self.subTest(wait_us=wait_us):
                    with harness.Proxy(cfg, ["--io-batch-wait-us", wait_us]) as px:
                        conns = [harness.connect(px.addr()) for _ in range(8)]
                        for i in range(50):
                            for n, c in enumerate(conns):
                                msg = b"%d.%d;" % (n, i)
                                c.sendall(msg)
                                self.assertEqual(harness.recv_exact(c, len(msg)), msg)
                        for c in conns:
                            c.close()
                        px.stop(timeout=5.0)
        r = harness.run_ringway(["--io-batch-wait-us", "soon"])
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    harness.main()
