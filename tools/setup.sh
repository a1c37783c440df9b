#!/usr/bin/env bash
# ringway's one-command setup, for a fresh Debian 12 machine as root (or with sudo).
#
#   tools/setup.sh run    install what is missing, build, start ringway on the embedded default
#   tools/setup.sh test   install what is missing, build, run the whole test suite (what CI runs)
#
# Test stages: gcc Release build + every ctest; clang -Werror build + unit tests; an
# ASan+UBSan build + unit and integration tests; a libFuzzer build running each fuzz target
# briefly; a smoke run of the benchmark scripts (checks they work, measures nothing).
# RW_TEST_STAGES="release clang asan fuzz perf" picks a subset.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
jobs=$(nproc 2>/dev/null || echo 2)

run_pkgs=(build-essential cmake pkg-config liburing-dev libyaml-dev libpcre2-dev libc-ares-dev libxxhash-dev netcat-openbsd curl)
test_pkgs=(clang llvm g++ libbenchmark-dev libclang-rt-14-dev libcmocka-dev python3 iproute2 procps haproxy nginx
	libnginx-mod-stream chromium)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: installing ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}"
}

build() { # build DIR [cmake args...]
	local dir=$1
	shift
	cmake -S "$here" -B "$dir" "$@" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j"$jobs"
}

stage() { echo; echo "=== $* ==="; }

cmd=${1:-}
case "$cmd" in
run)
	install_missing "${run_pkgs[@]}"
	mkdir -p build
	build build -DCMAKE_BUILD_TYPE=Release
	echo
	echo "ringway: serving the embedded default config. Try, in another shell:"
	echo "    curl -i localhost:10000/            (welcome page)"
	echo "    curl -i localhost:10000/api/hello   (routed to the backend listener)"
	echo "    http://127.0.0.1:9901/              (admin: live dashboard; /stats, /help)"
	echo "    echo hello | nc -q1 127.0.0.1 10002 (TCP proxy to echo)"
	echo "Stop with Ctrl-C. Your own Envoy config: build/server/ringway -c envoy.yaml"
	exec build/server/ringway
	;;
test)
	install_missing "${run_pkgs[@]}" "${test_pkgs[@]}"
	stages=${RW_TEST_STAGES:-release clang asan tsan fuzz perf}
	start=$(date +%s)
	for s in $stages; do
		case "$s" in
		release)
			stage "gcc Release build, all tests"
			build build-ci-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
			ctest --test-dir build-ci-release --output-on-failure -j2
			;;
		clang)
			stage "clang -Werror build, unit tests"
			build build-ci-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
				-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
			ctest --test-dir build-ci-clang --output-on-failure -j2 -L unit
			;;
		asan)
			stage "ASan+UBSan build, unit and integration tests"
			build build-ci-asan -DCMAKE_BUILD_TYPE=Debug -DRW_SANITIZE=ON
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
				UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
				ctest --test-dir build-ci-asan --output-on-failure -j2 -L 'unit|integration'
			;;
		tsan)
			# The lock-free parts shared by workers: host-set snapshots, epochs, balancers,
			# the per-thread stats blocks read while written, and an engine told to stop
			# listening from another thread.
			stage "ThreadSanitizer build, load-balancer and stats tests"
			cmake -S "$here" -B build-ci-tsan -DCMAKE_BUILD_TYPE=Debug -DRW_TSAN=ON \
				-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >build-ci-tsan.log 2>&1 ||
				{ cat build-ci-tsan.log; exit 1; }
			cmake --build build-ci-tsan -j"$jobs" --target test_lb_host_set test_lb_policies \
				test_lb_threads test_stats_store test_ring_listen
			TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-ci-tsan --output-on-failure \
				-R '^unit[.](lb[.](host_set|policies|threads)|stats[.]store|ring[.]listen)$'
			;;
		fuzz)
			stage "libFuzzer build, each target briefly"
			build build-ci-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRW_FUZZ=ON \
				-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
			ctest --test-dir build-ci-fuzz --output-on-failure -L fuzz
			;;
		perf)
			stage "benchmark scripts, smoke run (not a measurement)"
			[ -x build-ci-release/server/ringway ] ||
				build build-ci-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc
			smoke=$(mktemp -d)
			/usr/bin/python3 perf/bench_tcp.py --quick --ringway build-ci-release/server/ringway \
				--tools-dir build-ci-release/tools --results-dir "$smoke" >"$smoke/tcp.md"
			/usr/bin/python3 perf/bench_http.py --quick --ringway build-ci-release/server/ringway \
				--tools-dir build-ci-release/tools --results-dir "$smoke" >"$smoke/http.md"
			cat "$smoke/tcp.md" "$smoke/http.md"
			grep -q '^| ringway' "$smoke/tcp.md" || { echo "perf smoke: no ringway row"; exit 1; }
			grep -q '^| ringway-obs' "$smoke/http.md" ||
				{ echo "perf smoke: no ringway-obs row"; exit 1; }
			rm -rf "$smoke"
			;;
		*)
			echo "setup: unknown stage '$s'" >&2
			exit 2
			;;
		esac
	done
	echo
	echo "setup: all test stages passed in $(($(date +%s) - start)) s"
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
