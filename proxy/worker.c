/* Session bookkeeping per worker (see worker.h). */
#include "proxy/worker.h"

#include <stddef.h>

#include "proxy/stats.h"

void rw_proxy_worker_init(struct rw_proxy_worker *w, struct rw_engine *e, int id)
{
	w->eng = e;
	w->id = id;
	w->sessions.prev = w->sessions.next = &w->sessions;
	w->cx_total = w->cx_active = 0;
	w->next_conn_id = (uint64_t)id << 48;
	w->http = NULL;
	w->log_writers = NULL;
	w->n_log_writers = 0;
	w->log_dropped = 0;
}

void rw_proxy_worker_track(struct rw_proxy_worker *w, struct rw_session_link *l)
{
	l->next = w->sessions.next;
	l->prev = &w->sessions;
	w->sessions.next->prev = l;
	w->sessions.next = l;
	w->cx_total++;
	w->cx_active++;
	rw_gauge_inc(&rw_proxy_server_stats, RW_SS_TOTAL_CONNECTIONS);
}

void rw_proxy_worker_untrack(struct rw_proxy_worker *w, struct rw_session_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
	w->cx_active--;
	rw_gauge_dec(&rw_proxy_server_stats, RW_SS_TOTAL_CONNECTIONS);
}

void rw_proxy_worker_close_all(struct rw_proxy_worker *w)
{
	while (w->sessions.next != &w->sessions)
		w->sessions.next->ops->close(w->sessions.next);
}

void rw_proxy_worker_drain(struct rw_proxy_worker *w)
{
	struct rw_session_link *l = w->sessions.next;

	/* A drain callback may close its own session: step before calling it. */
	while (l != &w->sessions) {
		struct rw_session_link *next = l->next;

		if (l->ops->drain)
			l->ops->drain(l);
		l = next;
	}
}
