/*
 * The public entry points: load a bootstrap from memory or a file, look clusters up, format
 * addresses, free.  Loading is parse (yaml_tree.c) then walk (bootstrap.c); the walk
 * context is gone by the time rw_config_load_string() returns, so the caller's struct
 * rw_config holds plain, individually allocated data, plus the read-only node tree (its
 * arena) that config/dump.c turns back into JSON for the admin's /config_dump.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/internal.h"

int rw_config_load_string(const char *text, size_t len, struct rw_config **out, char *err,
                          size_t errlen)
{
	struct rw__ctx ctx = {.err = err, .errlen = errlen};
	struct rw__arena *arena = NULL;
	const struct rw__node *root;
	int rc;

	*out = NULL;
	rw__errf(err, errlen, "%s", "");
	rc = rw__config_yaml_parse(text ? text : "", text ? len : 0, &arena, &root, err, errlen);
	if (rc)
		goto out;
	ctx.cfg = rw__calloc(1, sizeof(*ctx.cfg));
	if (!ctx.cfg) {
		rc = rw__fail_oom(&ctx);
		goto out;
	}
	ctx.cfg->stats_flush_interval_ms = RW_CONFIG_DEFAULT_STATS_FLUSH_MS;
	rc = rw__walk_bootstrap(&ctx, root);
	if (rc == 0) {
		/* The tree stays, read-only, for /config_dump (config/dump.c). */
		ctx.cfg->source = rw__malloc(sizeof(*ctx.cfg->source));
		if (!ctx.cfg->source) {
			rc = rw__fail_oom(&ctx);
			goto out;
		}
		ctx.cfg->source->arena = arena;
		ctx.cfg->source->root = root;
		arena = NULL;
	}
out:
	for (size_t i = 0; i < ctx.n_refs; i++)
		free(ctx.refs[i].path);
	free(ctx.refs);
	rw__set_free(&ctx.listener_names);
	rw__set_free(&ctx.listener_addrs);
	rw__set_free(&ctx.cluster_names);
	rw__config_arena_free(arena);
	if (rc)
		rw_config_free(ctx.cfg);
	else
		*out = ctx.cfg;
	return rc;
}

/* Read the whole file, refusing anything the parser would refuse as too large anyway. */
static int read_file(const char *path, char **text, size_t *len)
{
	size_t cap = 64 * 1024, used = 0;
	char *buf = NULL;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (!buf || used == cap) {
			char *bigger;

			if (buf)
				cap *= 2;
			if (cap > (size_t)RW__CONFIG_MAX_BYTES * 2) {
				rc = -EFBIG;
				break;
			}
			bigger = rw__realloc(buf, cap);
			if (!bigger) {
				rc = -ENOMEM;
				break;
			}
			buf = bigger;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*text = buf;
	*len = used;
	return 0;
}

int rw_config_load_file(const char *path, struct rw_config **out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_file(path, &text, &len);
	if (rc) {
		rw__errf(err, errlen, "cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	rc = rw_config_load_string(text, len, out, err, errlen);
	free(text);
	return rc;
}

const struct rw_config_cluster *rw_config_find_cluster(const struct rw_config *cfg,
                                                       const char *name)
{
	for (size_t i = 0; i < cfg->n_clusters; i++)
		if (strcmp(cfg->clusters[i].name, name) == 0)
			return &cfg->clusters[i];
	return NULL;
}

const char *rw_config_addr_format(const struct rw_config_addr *addr, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	if (addr->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&addr->ss;

		inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in4->sin_port));
	} else if (addr->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr->ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

void rw_config_free(struct rw_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_listeners; i++)
		rw__listener_free(&cfg->listeners[i]);
	free(cfg->listeners);
	for (size_t i = 0; i < cfg->n_clusters; i++)
		rw__cluster_free(&cfg->clusters[i]);
	free(cfg->clusters);
	free(cfg->admin.access_log_path);
	rw__stats_sinks_free(cfg);
	if (cfg->source)
		rw__config_arena_free(cfg->source->arena);
	free(cfg->source);
	free(cfg);
}
