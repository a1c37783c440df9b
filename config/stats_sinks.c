/*
 * Bootstrap stats_sinks[] and stats_flush_interval.  ringway sends stats with
 * envoy.stat_sinks.statsd (config.metrics.v3.StatsdSink) over UDP to an address; the TCP
 * variant through a cluster (tcp_cluster_name) and the other sinks are refused by name.
 */
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"

#define STATSD_TYPE "envoy.config.metrics.v3.StatsdSink"

static int sink_address(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_address(ctx, v, 1, &((struct rw_config_stats_sink *)obj)->addr);
}

static int sink_prefix(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_stats_sink *s = obj;

	free(s->prefix);
	s->prefix = NULL;
	return rw__get_string(ctx, v, &s->prefix);
}

static const struct rw__field statsd_fields[] = {
    RW__IGNORED("@type"),
    RW__FIELD("address", sink_address),
    RW__UNSUPPORTED("tcp_cluster_name"),
    RW__FIELD("prefix", sink_prefix),
};

static int sink_typed_config(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config_stats_sink *s = obj;
	const struct rw__node *type;
	const char *name;
	int rc = rw__any_type(ctx, v, STATSD_TYPE, &type, &name);

	if (rc)
		return rc;
	if (strcmp(name, STATSD_TYPE) != 0)
		return rw__any_type_unsupported(ctx, type, name);
	rc = rw__walk_map(ctx, v, statsd_fields, RW__N(statsd_fields), s);
	if (rc == 0 && !s->addr.len)
		return rw__fail(ctx, v, "missing required field 'address'");
	return rc;
}

static int sink_name(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char *name = NULL;
	int rc = rw__get_string(ctx, v, &name);

	(void)obj;
	if (rc == 0 && strcmp(name, "envoy.stat_sinks.statsd") != 0 &&
	    strcmp(name, "envoy.statsd") != 0)
		rc = rw__fail(ctx, v,
		              "stats sink '%s' is not supported by ringway yet (supported: "
		              "envoy.stat_sinks.statsd)",
		              name);
	free(name);
	return rc;
}

static const struct rw__field sink_fields[] = {
    RW__FIELD("name", sink_name),
    RW__FIELD("typed_config", sink_typed_config),
};

static int walk_sink(struct rw__ctx *ctx, const struct rw__node *item, size_t index, void *obj)
{
	struct rw_config_stats_sink *s = &((struct rw_config *)obj)->stats_sinks[index];
	int rc = rw__walk_map(ctx, item, sink_fields, RW__N(sink_fields), s);

	if (rc)
		return rc;
	if (!s->addr.len)
		return rw__fail(ctx, item, "missing required field 'typed_config'");
	if (!s->prefix) {
		s->prefix = rw__malloc(sizeof("envoy"));
		if (!s->prefix)
			return rw__fail_oom(ctx);
		memcpy(s->prefix, "envoy", sizeof("envoy"));
	}
	return 0;
}

int rw__walk_stats_sinks(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config *cfg = obj;
	int rc = rw__alloc_items(ctx, v, sizeof(*cfg->stats_sinks), (void **)&cfg->stats_sinks,
	                         &cfg->n_stats_sinks);

	return rc ? rc : rw__walk_seq(ctx, v, walk_sink, cfg);
}

/* Envoy: 1 ms up to 300 s. */
int rw__walk_stats_flush_interval(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct rw_config *cfg = obj;
	int rc = rw__get_duration_ms(ctx, v, &cfg->stats_flush_interval_ms);

	if (rc)
		return rc;
	if (cfg->stats_flush_interval_ms < 1 || cfg->stats_flush_interval_ms > 300000)
		return rw__fail(ctx, v, "stats_flush_interval must be between 1ms and 300s");
	return 0;
}

void rw__stats_sinks_free(struct rw_config *cfg)
{
	for (size_t i = 0; i < cfg->n_stats_sinks; i++)
		free(cfg->stats_sinks[i].prefix);
	free(cfg->stats_sinks);
}
