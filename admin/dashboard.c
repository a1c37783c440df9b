/*
 * GET /: the admin home page, a self-contained live dashboard (admin/dashboard.html) that
 * polls /stats?format=json and /clusters?format=json from the browser.  The page is compiled
 * in (cmake/embed.cmake), so the admin thread never reads the disk and a deployed binary
 * cannot serve a page from a different version.
 */
#include "admin/internal.h"

uint16_t rw__admin_dashboard(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                             const char **type)
{
	(void)a;
	(void)r;
	rw__admin_put_mem(b, rw__admin_dashboard_html, rw__admin_dashboard_html_len);
	*type = "text/html; charset=utf-8";
	return 200;
}
