"""Shared plumbing of the side-by-side proxy benchmarks (bench_tcp.py, bench_http.py).

Process and CPU accounting from /proc, the pre-flight checks for competing processes, pinning,
the CPU speed probe, finding or building the tools in tools/, starting servers, and the
Markdown helpers. Python 3 standard library only. See perf/README.md.
"""

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOOL_SOURCES = {
    "rw-upstream": "upstream.c",
    "rw-loadgen": "loadgen.c",
    "rw-splice-relay": "splice_relay.c",
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
# Process names that mean another benchmark (or a leftover of ours) is competing for the CPU.
COMPETING = {
    "haproxy", "nginx", "ringway", "rw-loadgen", "rw-upstream", "rw-splice-relay", "wrk",
    "wrk2", "h2load", "ab", "iperf", "iperf3", "netperf", "sockperf", "fortio", "vegeta",
    "hey", "envoy", "nighthawk_clien", "perf",
}
BENCH_SCRIPTS = ("bench_tcp.py", "bench_http.py")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_size(text):
    m = re.fullmatch(r"(\d+)\s*([KMG]?)(i?B?)", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (use e.g. 64MiB, 1GiB, 1000000)")
    value, unit, binary = int(m.group(1)), m.group(2).upper(), m.group(3).lower().startswith("i")
    base = 1024 if binary else 1000
    return value * base ** " KMG".index(unit or " ")


def free_port():
    """Ask the kernel for a free port: bind port 0, read it back, close."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_listening(port):
    """True when something listens on 127.0.0.1:port (reads /proc, opens no connection)."""
    want = f"0100007F:{port:04X}"
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    return True
    except OSError:
        pass
    return False


def proc_stat_ticks(pid):
    """utime+stime of a process (all its threads) in clock ticks, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def proc_sched_ns(pid):
    """Run time of all threads in ns from schedstat: a finer cross-check of the tick count."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except OSError:
        pass
    return total


def system_busy_s():
    """CPU-seconds all CPUs spent busy since boot (/proc/stat; idle and iowait excluded)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already inside user)
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def ksoftirqd_pids(cpus):
    """pids of the per-CPU softirq threads of the given CPUs."""
    want = {f"ksoftirqd/{cpu}" for cpu in cpus or ()}
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() in want:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def descendants(pid):
    """pid and every process below it, so master/worker servers are measured whole."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        ppid = int(data[data.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def competing_processes():
    mine = {os.getpid(), os.getppid()}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace").strip()
        except OSError:
            continue
        if comm in COMPETING or any(s in cmdline for s in BENCH_SCRIPTS):
            found.append(f"{entry} {cmdline[:100] or comm}")
    return found


def busy_processes(sample_s=1.0, threshold=0.2):
    """Processes (any name: compilers, fuzzers, ...) using > threshold of a CPU right now."""
    def snapshot():
        out = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                ticks = proc_stat_ticks(entry)
                if ticks is not None:
                    out[entry] = ticks
        return out

    before = snapshot()
    time.sleep(sample_s)
    after = snapshot()
    busy = []
    for pid, ticks in after.items():
        share = (ticks - before.get(pid, ticks)) / CLK_TCK / sample_s
        if share > threshold and int(pid) != os.getpid():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace").strip()
            except OSError:
                continue
            busy.append(f"{pid} {share * 100:.0f}% CPU {cmd[:100]}")
    return busy


# A fixed amount of socket work: 64 B send+recv over a socketpair. Run on the proxy's CPU right
# before each measurement, it shows when that CPU got slower for reasons invisible inside the
# VM (a busy hyperthread sibling or neighbour on the host; steal time reads 0 under Firecracker).
PROBE = """
import socket, time
a, b = socket.socketpair()
m = b"x" * 64
t = time.process_time()
for _ in range(20000):
    a.send(m)
    b.recv(64)
print((time.process_time() - t) / 20000 * 1e6)
"""


def cpu_probe_us(cpus):
    """µs of CPU per probe iteration on cpus, or None when not pinned."""
    if not cpus:
        return None
    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=30, preexec_fn=pin(cpus))
    try:
        return float(res.stdout.strip())
    except ValueError:
        return None


def pin(cpus):
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


# --------------------------------------------------------------------------- tools


def tools_are_fresh(directory, tools):
    """True when every tool exists in directory and is newer than its own sources."""
    for tool in tools:
        path = directory / tool
        if not os.access(path, os.X_OK):
            return False
        newest_src = max((REPO / "tools" / name).stat().st_mtime
                         for name in (TOOL_SOURCES[tool], "tool_common.c", "tool_common.h"))
        if path.stat().st_mtime < newest_src:
            return False
    return True


def find_or_build_tools(args, tmp, tools):
    candidates = [Path(args.tools_dir)] if args.tools_dir else [
        REPO / "build" / "tools", REPO / "build-tools" / "tools", REPO / "build-perf" / "tools"]
    for directory in candidates:
        if tools_are_fresh(directory, tools):
            log(f"tools: using {directory}")
            return directory
    if args.tools_dir:
        sys.exit(f"bench: {args.tools_dir} lacks up-to-date {', '.join(tools)}")
    # CMake-free path: the tools depend on nothing but libc, so one cc call each is enough.
    out = Path(tmp) / "tools"
    out.mkdir()
    cc = os.environ.get("CC", "cc")
    for tool in tools:
        cmd = [cc, "-O2", "-std=gnu17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-o", str(out / tool),
               str(REPO / "tools" / TOOL_SOURCES[tool]), str(REPO / "tools" / "tool_common.c"),
               "-lm"]
        subprocess.run(cmd, check=True)
    log(f"tools: built with {cc} into {out} (no up-to-date CMake build found)")
    return out


# --------------------------------------------------------------------------- processes


class Process:
    """A started server whose stdout/stderr go to files in the temp dir."""

    def __init__(self, name, cmd, tmp, cpus):
        self.name = name
        self.out_path = Path(tmp) / f"{name}.stdout"
        self.err_path = Path(tmp) / f"{name}.stderr"
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, preexec_fn=pin(cpus))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def first_line_port(self, timeout=5.0):
        """Our tools print 'listening on ADDR:PORT' first; return PORT."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.out_path.read_text()
            if "\n" in text:
                m = re.match(r"listening on .*:(\d+)$", text.splitlines()[0])
                if m:
                    return int(m.group(1))
            if not self.alive():
                break
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not report its port: {self.stderr_tail()}")

    def wait_listening(self, port, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{self.stderr_tail()}")
            if is_listening(port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} is not listening on {port} after {timeout}s")

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
        return self.err_path.read_text(errors="replace")

    def stderr_tail(self):
        try:
            return self.err_path.read_text(errors="replace")[-600:].strip()
        except OSError:
            return ""


class Peer:
    """One thing the load generator can be pointed at: a proxy, or 'direct' (no proxy)."""

    name = "?"
    is_proxy = True

    def __init__(self, args, tmp):
        self.args = args
        self.tmp = Path(tmp)
        self.process = None
        self.port = None
        self.exit_info = {}

    def available(self):
        """None if usable, else a reason to skip."""
        return None

    def start(self, upstream_port, phase):
        raise NotImplementedError

    def measured_pids(self):
        return descendants(self.process.pid) if self.process else []

    def cpu(self):
        ticks = 0
        ns = 0
        for pid in self.measured_pids():
            t = proc_stat_ticks(pid)
            if t is not None:
                ticks += t
                ns += proc_sched_ns(pid)
        return ticks / CLK_TCK, ns / 1e9

    def stop(self):
        if self.process:
            stderr = self.process.stop()
            self.parse_exit(stderr)
            self.process = None

    def parse_exit(self, stderr):
        pass


class Direct(Peer):
    name = "direct"
    is_proxy = False

    def start(self, upstream_port, phase):
        self.port = upstream_port

    def cpu(self):
        return 0.0, 0.0


def errors_cell(row):
    kinds = ", ".join(f"{k} {v}" for k, v in row.get("errors_by_kind", {}).items() if v)
    return f"{row['errors']} ({kinds})" if kinds else str(row["errors"])


def fmt(value, digits):
    return "failed" if value is None else f"{value:,.{digits}f}"


def ratio(value, base):
    if value is None or base is None or not base:
        return ""
    return f" ({value / base:.2f}×)"


def tool_versions():
    out = {}
    for name, cmd in (("haproxy", ["haproxy", "-v"]), ("nginx", ["nginx", "-v"])):
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
            out[name] = (res.stdout + res.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    return out


# --------------------------------------------------------------------------- shared steps


def proc_rss_kib(pid):
    """VmRSS of a process in KiB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def parse_ringway_exit(stderr):
    """Sum the key=N counters of ringway's 'worker N: ... io_uring_enter=N ...' exit lines."""
    info = {}
    for m in re.finditer(r"worker \d+:([^\n]*)", stderr):
        for key, value in re.findall(r"(\w+)=(\d+)", m.group(1)):
            info[key] = info.get(key, 0) + int(value)
    return info


def raise_nofile(want=None):
    """Raise RLIMIT_NOFILE for us and our children: to the hard limit, or to want when that is
    higher and we may (root). Returns the soft limit now in force."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if want and want > hard:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
                return want
            except (ValueError, OSError):
                pass
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    except (ValueError, OSError):
        return 4096


def choose_cpus(args):
    """Pinning: the proxy gets the last CPU, loadgen and upstream share the rest."""
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or len(cpus) < 2:
        args.proxy_cpus = args.tool_cpus = None
    else:
        args.proxy_cpus, args.tool_cpus = {cpus[-1]}, set(cpus[:-1])
    args.softirqd_pids = ksoftirqd_pids(args.proxy_cpus)


def preflight():
    """Warn about competing benchmarks and busy processes; returns both lists for the JSON."""
    competing = competing_processes()
    if competing:
        log("WARNING: other benchmark-like processes are running; numbers will be noisy:")
        for line in competing:
            log(f"  {line}")
    busy = busy_processes()
    if busy:
        log("WARNING: other processes are using CPU right now; numbers will be noisy:")
        for line in busy:
            log(f"  {line}")
    log(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    return competing, busy


def measure_cpu(args, peer, run):
    """Run run() (a loadgen run returning its JSON dict) and add the CPU accounting around it:
    cpu_s (proxy utime+stime), sched_cpu_s, softirqd_s, foreign_cpus, probe_us and
    peer_exit_code when the proxy died. Returns (result, cpu_s + softirqd_s or None)."""
    def softirqd():
        return sum(proc_stat_ticks(pid) or 0 for pid in args.softirqd_pids) / CLK_TCK

    probe = cpu_probe_us(args.proxy_cpus)
    cpu0, sched0, soft0 = *peer.cpu(), softirqd()
    sys0, lg0, up0 = system_busy_s(), children_cpu_s(), proc_stat_ticks(args.upstream_pid) or 0
    result = run()
    cpu1, sched1, soft1 = *peer.cpu(), softirqd()
    sys1, lg1, up1 = system_busy_s(), children_cpu_s(), proc_stat_ticks(args.upstream_pid) or 0
    result["cpu_s"] = cpu1 - cpu0
    result["sched_cpu_s"] = sched1 - sched0
    result["probe_us"] = probe
    if peer.process and not peer.process.alive():
        result["peer_exit_code"] = peer.process.proc.returncode
    # Network softirq work the kernel deferred to ksoftirqd on the proxy's (pinned) CPU was
    # caused by the proxy's traffic but is not in its utime+stime. Batching engines (io_uring)
    # shift more work there, so it gets its own column. Unpinned it cannot be attributed.
    result["softirqd_s"] = soft1 - soft0 if args.softirqd_pids and peer.is_proxy else None
    # Busy CPU on the machine that was neither the proxy, the loadgen nor the upstream: a
    # neighbour's compile or fuzzer. Above ~0.1 CPUs the run is contaminated.
    foreign = ((sys1 - sys0) - result["cpu_s"] - (lg1 - lg0) - (up1 - up0) / CLK_TCK
               - (soft1 - soft0))
    result["foreign_cpus"] = max(foreign, 0.0) / max(result.get("seconds", 0.0), 1e-3)
    with_softirqd = (result["cpu_s"] + result["softirqd_s"]
                     if result["softirqd_s"] is not None else None)
    return result, with_softirqd


def environment_notes(worst_foreign, probes, skipped):
    """The lines under a results table: contamination, probe spread, skipped peers."""
    lines = []
    if worst_foreign > 0.1:
        lines.append(f"- WARNING: other processes used up to {worst_foreign:.2f} CPUs during some "
                     f"runs (foreign_cpus in the JSON); these numbers are contaminated.")
    else:
        lines.append(f"- other processes used at most {worst_foreign:.2f} CPUs during the runs.")
    if probes:
        spread = max(probes) / min(probes)
        lines.append(f"- speed probe on the proxy CPU: {min(probes):.2f}–{max(probes):.2f} µs "
                     f"({spread:.2f}× spread)"
                     + (": WARNING, the CPU's speed changed during the run (host interference);"
                        " absolute numbers moved with it, compare within rounds"
                        if spread > 1.3 else "."))
    for what, why in skipped.items():
        lines.append(f"- skipped {what}: {why}")
    return lines
