/*
 * POST /healthcheck/fail and /healthcheck/ok: Envoy's manual health-check failure.  The
 * flag is one process-wide atomic (core/server_state.h) that the workers read: the
 * health_check HTTP filter answers 503 and every HCM response carries
 * x-envoy-immediate-health-check-fail; /ready and /server_info report "DRAINING".
 */
#include "admin/internal.h"
#include "core/log.h"
#include "core/server_state.h"

const char *rw__admin_server_state(void)
{
	return rw_server_health_check_failed() ? "DRAINING" : "LIVE";
}

uint16_t rw__admin_healthcheck_fail(struct rw_admin *a, const struct admin_req *r,
                                    struct admin_body *b, const char **type)
{
	(void)a;
	(void)r;
	(void)type;
	if (!rw_server_set_health_check_failed(true))
		rw_log_info("admin", "POST /healthcheck/fail: failing health checks");
	rw__admin_put(b, "OK\n");
	return 200;
}

uint16_t rw__admin_healthcheck_ok(struct rw_admin *a, const struct admin_req *r,
                                  struct admin_body *b, const char **type)
{
	(void)a;
	(void)r;
	(void)type;
	if (rw_server_set_health_check_failed(false))
		rw_log_info("admin", "POST /healthcheck/ok: passing health checks again");
	rw__admin_put(b, "OK\n");
	return 200;
}
