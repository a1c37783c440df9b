/*
 * Shared by the admin/ sources only: the admin server's state, one request as the endpoints see it,
 * and the bounded body they write their answer into.
 */
#ifndef RW_ADMIN_INTERNAL_H
#define RW_ADMIN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "admin/admin.h"

struct rw_engine;
struct admin_conn;

struct rw_admin {
	struct rw_admin_options opt;
	int fd;
	pthread_t thread;
	struct rw_engine *eng;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	int init_result;
	char init_err[256];
	uint64_t start_ms;
	time_t start_wall;
	struct admin_conn *conns;  /* open connections, closed when the thread stops */
	struct admin_flush *flush; /* stats flush interval and sinks (admin/flush.c) */
};

/*
 * An answer body: grows on demand up to RW_ADMIN_BODY_MAX, then is cut short with a note
 * (an admin answer never grows memory without bound).
 */
#define RW_ADMIN_BODY_MAX (32u * 1024u * 1024u)

struct admin_body {
	char *p;
	size_t len;
	size_t cap;
	bool cut; /* hit the cap or out of memory: the rest was dropped */
};

__attribute__((format(printf, 2, 3))) void rw__admin_put(struct admin_body *b, const char *fmt,
                                                         ...);
void rw__admin_put_mem(struct admin_body *b, const void *p, size_t len);
/* s as a JSON string literal, quotes included. */
void rw__admin_put_json_str(struct admin_body *b, const char *s);

struct admin_req {
	const char *method;
	const char *path;  /* without the query */
	const char *query; /* after '?', "" when none */
	bool post;
};

/*
 * The value of key in the query ("a=1&b=2"), percent-decoded into val: true when present
 * (an empty value is present).
 */
bool rw__admin_query(const struct admin_req *r, const char *key, char *val, size_t len);

/* An endpoint: fills b and returns the HTTP status; *type defaults to "text/plain". */
typedef uint16_t (*admin_handler)(struct rw_admin *a, const struct admin_req *r,
                                  struct admin_body *b, const char **type);

struct admin_endpoint {
	const char *path;
	admin_handler fn;
	bool mutating; /* needs POST (Envoy: mutating endpoints refuse GET with 405) */
	const char *help;
};

/* admin/basic.c */
uint16_t rw__admin_ready(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                         const char **type);
uint16_t rw__admin_server_info(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                               const char **type);
uint16_t rw__admin_clusters(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                            const char **type);
uint16_t rw__admin_logging(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                           const char **type);
uint16_t rw__admin_quit(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                        const char **type);
uint16_t rw__admin_memory(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                          const char **type);
uint16_t rw__admin_reopen_logs(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                               const char **type);

/* admin/config_dump.c */
uint16_t rw__admin_config_dump(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                               const char **type);

/* admin/listeners.c: /listeners and POST /drain_listeners */
uint16_t rw__admin_listeners(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                             const char **type);
uint16_t rw__admin_drain_listeners(struct rw_admin *a, const struct admin_req *r,
                                   struct admin_body *b, const char **type);

/* admin/healthcheck.c: POST /healthcheck/fail and /healthcheck/ok */
uint16_t rw__admin_healthcheck_fail(struct rw_admin *a, const struct admin_req *r,
                                    struct admin_body *b, const char **type);
uint16_t rw__admin_healthcheck_ok(struct rw_admin *a, const struct admin_req *r,
                                  struct admin_body *b, const char **type);
/* Envoy's server state: "DRAINING" while health-check failed, else "LIVE". */
const char *rw__admin_server_state(void);

/* admin/stats.c */
uint16_t rw__admin_stats(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                         const char **type);
uint16_t rw__admin_prometheus(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                              const char **type);
uint16_t rw__admin_reset_counters(struct rw_admin *a, const struct admin_req *r,
                                  struct admin_body *b, const char **type);

/* admin/dashboard.c: GET /, the live HTML dashboard.  The page is admin/dashboard.html, turned
   into dashboard_html.c in the build dir by cmake/embed.cmake (len excludes the trailing 0). */
extern const unsigned char rw__admin_dashboard_html[];
extern const size_t rw__admin_dashboard_html_len;
uint16_t rw__admin_dashboard(struct rw_admin *a, const struct admin_req *r, struct admin_body *b,
                             const char **type);

/* admin/flush.c: the stats flush timer and statsd sinks on the admin thread.  start: 0 or
   -errno with init_err set; stop: when draining starts; free: once the engine is gone. */
int rw__admin_flush_start(struct rw_admin *a);
void rw__admin_flush_stop(struct rw_admin *a);
void rw__admin_flush_free(struct rw_admin *a);

#endif
