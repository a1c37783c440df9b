/*
 * Envoy v3 bootstrap (YAML or JSON) -> ringway's typed configuration.
 *
 * The loader accepts a documented subset of Envoy's v3 API unchanged.  It is strict on
 * purpose: a misspelled field, a field Envoy has but ringway does not support yet, or an
 * unsupported "@type" is an error, never silently ignored, because a proxy that quietly
 * drops half its config is worse than one that refuses to start.  Every error names the
 * YAML path and the line:column it came from:
 *
 *   static_resources.clusters[1].connect_timeout: line 14:24: expected a duration like "0.25s"
 *
 * The result is plain data owned by one struct rw_config; nothing here does I/O other than
 * reading the file named by rw_config_load_file().
 */
#ifndef RW_CONFIG_CONFIG_H
#define RW_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Envoy's defaults, used when a field is absent. */
#define RW_CONFIG_DEFAULT_BUFFER_LIMIT	 (1024u * 1024u) /* per_connection_buffer_limit_bytes */
#define RW_CONFIG_DEFAULT_CONNECT_MS	 5000u		  /* Cluster.connect_timeout */
#define RW_CONFIG_DEFAULT_TCP_IDLE_MS	 3600000u	  /* TcpProxy.idle_timeout (1h) */

/* A resolved socket address (IPv4 or IPv6, numeric only in this subset). */
struct rw_config_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* envoy.filters.network.tcp_proxy */
struct rw_config_tcp_proxy {
	char *stat_prefix;	  /* required, as in Envoy */
	char *cluster;		  /* required in this subset; names an entry of clusters[] */
	uint64_t idle_timeout_ms; /* 0 disables; default RW_CONFIG_DEFAULT_TCP_IDLE_MS */
};

enum rw_config_filter_kind {
	RW_CONFIG_FILTER_TCP_PROXY = 1,
	RW_CONFIG_FILTER_ECHO, /* envoy.filters.network.echo (no fields) */
};

struct rw_config_filter {
	char *name; /* e.g. "envoy.filters.network.tcp_proxy" */
	enum rw_config_filter_kind kind;
	union {
		struct rw_config_tcp_proxy tcp_proxy;
	} u;
};

struct rw_config_filter_chain {
	struct rw_config_filter *filters;
	size_t n_filters;
};

struct rw_config_listener {
	char *name; /* Envoy requires it unique; ringway invents "listener_<i>" when absent */
	struct rw_config_addr addr;
	uint32_t buffer_limit; /* per_connection_buffer_limit_bytes */
	struct rw_config_filter_chain *chains;
	size_t n_chains; /* >= 1 */
};

enum rw_config_cluster_type {
	RW_CONFIG_CLUSTER_STATIC = 1,
};

enum rw_config_lb_policy {
	RW_CONFIG_LB_ROUND_ROBIN = 1,
};

struct rw_config_endpoint {
	struct rw_config_addr addr;
};

struct rw_config_cluster {
	char *name;
	enum rw_config_cluster_type type; /* default STATIC */
	uint64_t connect_timeout_ms;	  /* default RW_CONFIG_DEFAULT_CONNECT_MS */
	enum rw_config_lb_policy lb_policy; /* default ROUND_ROBIN */
	uint32_t buffer_limit;		  /* per_connection_buffer_limit_bytes */
	struct rw_config_endpoint *endpoints; /* flattened lb_endpoints, in config order */
	size_t n_endpoints;
};

/* admin: parsed now, served by a later release. */
struct rw_config_admin {
	bool present; /* admin.address was given, so an admin listener is wanted */
	struct rw_config_addr addr;
	char *access_log_path; /* admin.access_log_path or NULL */
};

struct rw_config {
	struct rw_config_listener *listeners;
	size_t n_listeners;
	struct rw_config_cluster *clusters;
	size_t n_clusters;
	struct rw_config_admin admin;
};

/*
 * Parse and validate a bootstrap document.  On success returns 0 and stores a config the
 * caller frees with rw_config_free().  On failure returns a negative errno (-EINVAL for a
 * bad document, -EFBIG for one over 16 MiB, -ENOENT/-EACCES/... for a file that cannot be
 * read, -ENOMEM) and writes a one-line, NUL-terminated message into err (path, line:column,
 * what is wrong).  err may be NULL when errlen is 0.
 */
int rw_config_load_string(const char *text, size_t len, struct rw_config **out, char *err,
			  size_t errlen);
int rw_config_load_file(const char *path, struct rw_config **out, char *err, size_t errlen);

/* Look a cluster up by name; NULL when absent. */
const struct rw_config_cluster *rw_config_find_cluster(const struct rw_config *cfg,
						       const char *name);

/* Format an address as "1.2.3.4:80" or "[::1]:80" into buf; returns buf. */
const char *rw_config_addr_format(const struct rw_config_addr *addr, char *buf, size_t len);

void rw_config_free(struct rw_config *cfg);

#endif
