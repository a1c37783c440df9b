/* Command-line parsing (see options.h). */
#include "server/options.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define DEFAULT_DRAIN_S       30
#define DEFAULT_BATCH_WAIT_US 20

enum {
	OPT_CONFIG_YAML = 256,
	OPT_MODE,
	OPT_CONCURRENCY,
	OPT_DRAIN_TIME,
	OPT_VERSION,
	OPT_LOG_PATH,
	OPT_PRINT_DEFAULT,
	OPT_IO_BATCH,
	OPT_IO_BUFFERS,
	OPT_IO_BUFFER_SIZE,
	OPT_IGNORED_ARG,
	OPT_IGNORED_FLAG,
};

static const struct option longopts[] = {
    {"config-path", required_argument, NULL, 'c'},
    {"config-yaml", required_argument, NULL, OPT_CONFIG_YAML},
    {"mode", required_argument, NULL, OPT_MODE},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"log-level", required_argument, NULL, 'l'},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {"drain-time-s", required_argument, NULL, OPT_DRAIN_TIME},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {"print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT},
    {"io-batch-wait-us", required_argument, NULL, OPT_IO_BATCH},
    {"io-buffers", required_argument, NULL, OPT_IO_BUFFERS},
    {"io-buffer-size", required_argument, NULL, OPT_IO_BUFFER_SIZE},
    /* Envoy flags that have no meaning here; accepted so manifests need no edits. */
    {"base-id", required_argument, NULL, OPT_IGNORED_ARG},
    {"restart-epoch", required_argument, NULL, OPT_IGNORED_ARG},
    {"parent-shutdown-time-s", required_argument, NULL, OPT_IGNORED_ARG},
    {"service-cluster", required_argument, NULL, OPT_IGNORED_ARG},
    {"service-node", required_argument, NULL, OPT_IGNORED_ARG},
    {"service-zone", required_argument, NULL, OPT_IGNORED_ARG},
    {"drain-strategy", required_argument, NULL, OPT_IGNORED_ARG},
    {"file-flush-interval-msec", required_argument, NULL, OPT_IGNORED_ARG},
    {"disable-hot-restart", no_argument, NULL, OPT_IGNORED_FLAG},
    {"use-dynamic-base-id", no_argument, NULL, OPT_IGNORED_FLAG},
    {NULL, 0, NULL, 0},
};

static int cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return (int)sysconf(_SC_NPROCESSORS_ONLN) > 0 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : 1;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

int rw_options_parse(int argc, char **argv, struct rw_options *o, char *err, size_t errlen)
{
	unsigned long long v;
	int c, lvl;

	memset(o, 0, sizeof(*o));
	o->mode = RW_MODE_SERVE;
	o->log_level = RW_LOG_INFO;
	o->drain_time_s = DEFAULT_DRAIN_S;
	o->io_batch_wait_us = DEFAULT_BATCH_WAIT_US;
	o->concurrency = cpu_count();
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":c:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case OPT_CONFIG_YAML:
			o->config_yaml = optarg;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "serve"))
				o->mode = RW_MODE_SERVE;
			else if (!strcmp(optarg, "validate"))
				o->mode = RW_MODE_VALIDATE;
			else if (!strcmp(optarg, "init_only"))
				o->mode = RW_MODE_INIT_ONLY;
			else {
				snprintf(err, errlen,
				         "--mode: '%s' is not one of serve, validate, init_only",
				         optarg);
				return -EINVAL;
			}
			break;
		case OPT_CONCURRENCY:
			if (parse_uint(optarg, 1024, &v) || v == 0) {
				snprintf(err, errlen, "--concurrency: expected 1..1024, got '%s'",
				         optarg);
				return -EINVAL;
			}
			o->concurrency = (int)v;
			break;
		case 'l':
			lvl = rw_log_level_parse(optarg);
			if (lvl < 0) {
				snprintf(err, errlen,
				         "--log-level: '%s' is not one of trace, debug, info, "
				         "warning, error, critical, off",
				         optarg);
				return -EINVAL;
			}
			o->log_level = lvl;
			break;
		case OPT_LOG_PATH:
			o->log_path = optarg;
			break;
		case OPT_DRAIN_TIME:
			if (parse_uint(optarg, 86400ull * 365, &v)) {
				snprintf(err, errlen, "--drain-time-s: expected seconds, got '%s'",
				         optarg);
				return -EINVAL;
			}
			o->drain_time_s = v;
			break;
		case OPT_IO_BATCH:
			if (parse_uint(optarg, 1000000, &v)) {
				snprintf(err, errlen,
				         "--io-batch-wait-us: expected microseconds, got '%s'",
				         optarg);
				return -EINVAL;
			}
			o->io_batch_wait_us = (uint32_t)v;
			break;
		case OPT_IO_BUFFERS:
			/* The kernel wants a power of two, at most 32768 entries. */
			if (parse_uint(optarg, 32768, &v) || v == 0 || (v & (v - 1))) {
				snprintf(err, errlen,
				         "--io-buffers: expected a power of two from 1 to 32768, "
				         "got '%s'",
				         optarg);
				return -EINVAL;
			}
			o->io_buffers = (uint32_t)v;
			break;
		case OPT_IO_BUFFER_SIZE:
			if (parse_uint(optarg, 16u << 20, &v) || v < 1024) {
				snprintf(
				    err, errlen,
				    "--io-buffer-size: expected 1024 to 16777216 bytes, got '%s'",
				    optarg);
				return -EINVAL;
			}
			o->io_buffer_size = (uint32_t)v;
			break;
		case OPT_VERSION:
			o->show_version = true;
			break;
		case 'h':
			o->show_help = true;
			break;
		case OPT_PRINT_DEFAULT:
			o->print_default_config = true;
			break;
		case OPT_IGNORED_ARG:
		case OPT_IGNORED_FLAG:
			break;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->config_path && o->config_yaml) {
		snprintf(err, errlen,
		         "--config-path and --config-yaml together (Envoy merges them) are not "
		         "supported by ringway yet: give one");
		return -EINVAL;
	}
	return 0;
}

void rw_options_usage(const char *argv0)
{
	printf("Usage: %s [options]\n"
	       "\n"
	       "ringway: an Envoy-compatible L4/L7 proxy on io_uring.\n"
	       "\n"
	       "  -c, --config-path FILE   Envoy v3 bootstrap (YAML or JSON)\n"
	       "      --config-yaml STRING bootstrap given inline\n"
	       "                           (neither: serve the embedded default config)\n"
	       "      --mode MODE          serve (default), validate (check the config, print\n"
	       "                           what is wrong, exit non-zero), init_only\n"
	       "      --concurrency N      worker threads (default: number of CPUs)\n"
	       "  -l, --log-level LEVEL    trace, debug, info (default), warning, error,\n"
	       "                           critical, off\n"
	       "      --log-path FILE      append logs to FILE instead of stderr\n"
	       "      --drain-time-s N     on SIGTERM/SIGINT, let open connections finish for\n"
	       "                           up to N seconds (default %d); a second signal exits\n"
	       "                           at once\n"
	       "      --io-batch-wait-us N a busy worker waits up to N us to collect a batch of\n"
	       "                           completions per system call (default %d; 0: never;\n"
	       "                           needs Linux 6.12+, ignored before)\n"
	       "      --io-buffers N       receive buffers in each worker's provided-buffer ring\n"
	       "                           (power of two, default 1024)\n"
	       "      --io-buffer-size B   size of each receive buffer (default 32768)\n"
	       "      --print-default-config  print the embedded default config and exit\n"
	       "      --version            print the version and exit\n"
	       "  -h, --help               this text\n"
	       "\n"
	       "Envoy's hot-restart flags (--base-id, --restart-epoch, ...) are accepted and\n"
	       "ignored.\n",
	       argv0, DEFAULT_DRAIN_S, DEFAULT_BATCH_WAIT_US);
}
