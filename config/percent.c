/*
 * type.v3.FractionalPercent and config.core.v3.RuntimeFractionalPercent, stored as parts
 * per million (rw_config_ppm, 100% = 1000000).
 *
 * A numerator larger than its denominator means "always", as Envoy evaluates it (a random
 * draw below the denominator is always below the numerator), so it is clamped to 100%.
 * There is no runtime here: a RuntimeFractionalPercent's runtime_key is checked to be a
 * string and dropped, and its default_value is the value.
 */
#include <stdlib.h>

#include "config/internal.h"

#define PPM_ALL 1000000u

struct fraction {
	uint64_t numerator;
	uint64_t per_million; /* what one unit of the numerator is worth */
};

static int fp_numerator(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	return rw__get_uint(ctx, v, UINT32_MAX, &((struct fraction *)obj)->numerator);
}

static int fp_denominator(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	static const char *const names[] = {"HUNDRED", "TEN_THOUSAND", "MILLION"};
	static const uint64_t worth[] = {10000, 100, 1};
	size_t d;
	int rc = rw__get_enum(ctx, v, names, RW__N(names), &d);

	if (rc == 0)
		((struct fraction *)obj)->per_million = worth[d];
	return rc;
}

static const struct rw__field fractional_fields[] = {
    RW__FIELD("numerator", fp_numerator),
    RW__FIELD("denominator", fp_denominator),
};

int rw__get_fractional_percent(struct rw__ctx *ctx, const struct rw__node *node, rw_config_ppm *out)
{
	struct fraction f = {0, 10000}; /* denominator defaults to HUNDRED */
	uint64_t ppm;
	int rc = rw__walk_map(ctx, node, fractional_fields, RW__N(fractional_fields), &f);

	if (rc)
		return rc;
	ppm = f.numerator * f.per_million; /* < 2^32 * 10^4: no overflow */
	*out = (rw_config_ppm)(ppm > PPM_ALL ? PPM_ALL : ppm);
	return 0;
}

int rw__get_fraction(struct rw__ctx *ctx, const struct rw__node *node, uint32_t *numerator,
                     uint32_t *denominator)
{
	struct fraction f = {0, 10000};
	int rc = rw__walk_map(ctx, node, fractional_fields, RW__N(fractional_fields), &f);

	if (rc)
		return rc;
	*numerator = (uint32_t)f.numerator; /* rw__get_uint bounded it by UINT32_MAX */
	*denominator = (uint32_t)(PPM_ALL / f.per_million);
	return 0;
}

struct runtime_percent {
	bool have_default;
	rw_config_ppm ppm;
};

static int rp_default(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	struct runtime_percent *rp = obj;

	rp->have_default = true;
	return rw__get_fractional_percent(ctx, v, &rp->ppm);
}

static int rp_runtime_key(struct rw__ctx *ctx, const struct rw__node *v, void *obj)
{
	char *key = NULL;
	int rc = rw__get_string(ctx, v, &key);

	(void)obj;
	free(key);
	return rc;
}

static const struct rw__field runtime_fields[] = {
    RW__FIELD("default_value", rp_default),
    RW__FIELD("runtime_key", rp_runtime_key),
};

int rw__get_runtime_percent(struct rw__ctx *ctx, const struct rw__node *node, rw_config_ppm *out)
{
	struct runtime_percent rp = {false, 0};
	int rc = rw__walk_map(ctx, node, runtime_fields, RW__N(runtime_fields), &rp);

	if (rc)
		return rc;
	if (!rp.have_default)
		return rw__fail(ctx, node, "missing required field 'default_value'");
	*out = rp.ppm;
	return 0;
}
