"""With io_uring disabled (sysctl kernel.io_uring_disabled=2) ringway must refuse to start
with a message that says so and exit non-zero, not crash or serve half-way.

Needs root to flip the sysctl (CI runs as root); skipped (77) otherwise.  Runs serially and
always restores the previous value, since the sysctl is machine-wide.
"""

import os
import sys
import unittest

import harness

SYSCTL = "/proc/sys/kernel/io_uring_disabled"


class Disabled(unittest.TestCase):
    def test_refuses_to_start(self):
        with open(SYSCTL) as f:
            before = f.read().strip()
        try:
            with open(SYSCTL, "w") as f:
                f.write("2")
            r = harness.run_ringway(["--concurrency", "1", "--config-yaml", CONFIG])
        finally:
            with open(SYSCTL, "w") as f:
                f.write(before)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("io_uring is disabled", r.stderr)
        self.assertNotIn(" started:", r.stderr)


CONFIG = """static_resources:
  listeners:
  - name: echo
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.echo
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo
"""

if __name__ == "__main__":
    if os.geteuid() != 0 or not os.access(SYSCTL, os.W_OK):
        print("needs root and %s: skipped" % SYSCTL)
        sys.exit(77)
    harness.main()
