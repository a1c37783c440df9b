"""--mode validate: a good config prints "OK" and exits 0; a bad one exits 1 and names
the YAML path and the line:column of the problem, so an operator can go straight to it.
"""

import os
import tempfile
import unittest

import harness

GOOD = harness.proxy_config([("127.0.0.1", 9)], idle_timeout="2s")


def position(text, needle):
    """1-based (line, column) of the first `needle` in `text`."""
    idx = text.index(needle)
    line = text.count("\n", 0, idx) + 1
    col = idx - (text.rfind("\n", 0, idx) + 1) + 1
    return line, col


class Validate(unittest.TestCase):
    def validate(self, config):
        with tempfile.TemporaryDirectory(prefix="ringway-it-") as d:
            path = os.path.join(d, "bootstrap.yaml")
            with open(path, "w") as f:
                f.write(config)
            r = harness.run_ringway(["-c", path, "--mode", "validate"])
            return r, path

    def test_good_config(self):
        r, path = self.validate(GOOD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration '%s' OK" % path, r.stdout)

    def test_good_inline_config(self):
        r = harness.run_ringway(["--config-yaml", GOOD, "--mode", "validate"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK", r.stdout)

    def check_bad(self, config, yaml_path, needle, message_re):
        r, path = self.validate(config)
        self.assertEqual(r.returncode, 1, "stdout=%r stderr=%r" % (r.stdout, r.stderr))
        self.assertNotIn("OK", r.stdout)
        line, col = position(config, needle)
        prefix = "error loading configuration '%s': %s: line %d:%d: " % (path, yaml_path,
                                                                          line, col)
        self.assertIn(prefix, r.stderr)
        self.assertRegex(r.stderr.split(prefix, 1)[1], message_re)

    def test_misspelled_field(self):
        bad = GOOD.replace("connect_timeout:", "conect_timeout:")
        self.check_bad(bad, "static_resources.clusters[0].conect_timeout", "conect_timeout",
                       r"unknown field 'conect_timeout'")

    def test_bad_duration(self):
        bad = GOOD.replace("connect_timeout: 0.5s", "connect_timeout: 0.5 seconds")
        self.check_bad(bad, "static_resources.clusters[0].connect_timeout", "0.5 seconds",
                       r"duration")

    def test_bad_idle_timeout(self):
        bad = GOOD.replace("idle_timeout: 2s", "idle_timeout: -2s")
        self.check_bad(bad, "static_resources.listeners[0].filter_chains[0].filters[0]"
                       ".typed_config.idle_timeout", "-2s", r"negative")

    def test_unknown_cluster(self):
        bad = GOOD.replace("cluster: up\n", "cluster: nowhere\n")
        self.check_bad(bad, "static_resources.listeners[0].filter_chains[0].filters[0]"
                       ".typed_config.cluster", "nowhere", r"'nowhere'.*not found")

    def test_yaml_syntax_error_exits_1(self):
        r, path = self.validate(GOOD + "  - name: [unclosed\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("error loading configuration '%s'" % path, r.stderr)
        self.assertRegex(r.stderr, r"line \d+:\d+")

    def test_missing_file_exits_1(self):
        r = harness.run_ringway(["-c", "/nonexistent/ringway.yaml", "--mode", "validate"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/ringway.yaml", r.stderr)


if __name__ == "__main__":
    harness.main()
