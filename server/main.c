/*
 * ringway's entry point: parse Envoy-style flags, load and validate the bootstrap, then
 * either report (--mode validate) or serve.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "server/default_config.h"
#include "server/options.h"
#include "server/runtime.h"

static int load(const struct rw_options *o, struct rw_config **cfg, const char **what)
{
	char err[1024];
	int r;

	if (o->config_path) {
		*what = o->config_path;
		r = rw_config_load_file(o->config_path, cfg, err, sizeof(err));
	} else if (o->config_yaml) {
		*what = "--config-yaml";
		r = rw_config_load_string(o->config_yaml, strlen(o->config_yaml), cfg, err,
		                          sizeof(err));
	} else {
		*what = "<embedded default>";
		r = rw_config_load_string(rw_default_config, sizeof(rw_default_config) - 1, cfg,
		                          err, sizeof(err));
	}
	if (r)
		fprintf(stderr, "error loading configuration '%s': %s\n", *what, err);
	return r;
}

int main(int argc, char **argv)
{
	struct rw_options o;
	struct rw_config *cfg = NULL;
	const char *what;
	char err[512];
	int rc;

	if (rw_options_parse(argc, argv, &o, err, sizeof(err))) {
		fprintf(stderr, "ringway: %s\nTry '%s --help'.\n", err, argv[0]);
		return 1;
	}
	if (o.show_help) {
		rw_options_usage(argv[0]);
		return 0;
	}
	if (o.show_version) {
		printf("ringway version: %s/RELEASE (io_uring, Envoy v3 config subset)\n",
		       RW_VERSION);
		return 0;
	}
	if (o.print_default_config) {
		fputs(rw_default_config, stdout);
		return 0;
	}
	if (o.log_path && !freopen(o.log_path, "a", stderr)) {
		fprintf(stdout, "ringway: cannot open --log-path '%s': %s\n", o.log_path,
		        strerror(errno));
		return 1;
	}
	atomic_store(&rw_log_level_current, o.log_level);
	if (load(&o, &cfg, &what))
		return 1;
	if (o.mode == RW_MODE_VALIDATE) {
		printf("configuration '%s' OK\n", what);
		rw_config_free(cfg);
		return 0;
	}
	if (!o.config_path && !o.config_yaml)
		rw_log_info("main", "no --config-path given: serving the embedded default "
		                    "(--print-default-config shows it); try: nc 127.0.0.1 10000");
	rc = rw_runtime_serve(cfg, &o);
	rw_config_free(cfg);
	return rc;
}
