/*
 * Command-line options, spelled as Envoy spells them so existing scripts and manifests keep
 * working.  Envoy's hot-restart flags are accepted and ignored: ringway drains on SIGTERM
 * instead of handing sockets to a new process through shared memory.
 */
#ifndef RW_SERVER_OPTIONS_H
#define RW_SERVER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rw_mode {
	RW_MODE_SERVE,
	RW_MODE_VALIDATE,
	RW_MODE_INIT_ONLY,
};

struct rw_options {
	const char *config_path;
	const char *config_yaml;
	enum rw_mode mode;
	int concurrency;
	int log_level;
	const char *log_path;
	uint64_t drain_time_s;
	uint32_t io_batch_wait_us;
	uint32_t io_buffers;     /* 0: the engine's default */
	uint32_t io_buffer_size; /* 0: the engine's default */
	bool show_version;
	bool show_help;
	bool print_default_config;
};

/* Parse argv.  0 on success; -EINVAL with a message in err (for the usage line). */
int rw_options_parse(int argc, char **argv, struct rw_options *o, char *err, size_t errlen);
void rw_options_usage(const char *argv0);

#endif
