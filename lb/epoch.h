/*
 * Epoch-based reclamation for what workers read without locks (host-set snapshots).
 *
 * Readers (worker threads) bracket "load the snapshot pointer, pick, take a host ref" with
 * rw_lb_read_lock()/rw_lb_read_unlock().  A writer (the resolver thread, or the main thread
 * at start and stop) publishes a new pointer with an atomic exchange and hands the old one
 * to rw_lb_retire(); rw_lb_reclaim() frees it once no reader can still hold it.  Nothing a
 * reader does ever waits on a writer, and a writer never waits on a reader either unless it
 * asks to (rw_lb_reclaim(true), used at shutdown).
 *
 * How: a global epoch E (starts at 1) and one cache-line-padded slot per reader thread.
 *
 *   reader:  slot = E (seq_cst)  ->  p = load(ptr)  ->  ... use p ...  ->  slot = 0 (release)
 *   writer:  old = exchange(ptr, new)  ->  T = ++E  ->  retire(old, T)
 *   reclaim: old may be freed when every slot is 0 or >= T
 *
 * All of it is sequentially consistent (a Dekker pair: the reader's slot store and pointer
 * load against the writer's exchange and slot loads), so a reader whose slot is still < T
 * may hold old, and one that stored a slot >= T loaded E after the exchange and so sees the
 * new pointer.  Plain C11 atomics, so ThreadSanitizer understands it.  Cost per pick: one
 * load of E and one seq_cst store (a locked instruction on x86) to a line no other thread
 * writes.  Chosen over liburcu to keep lb/ dependency-free and TSan-checkable.
 *
 * Threads register a slot explicitly (workers, at start) or lazily at their first
 * rw_lb_read_lock(); either way the slot is released when the thread exits.  Read sections
 * do not nest and must not block.
 */
#ifndef RW_LB_EPOCH_H
#define RW_LB_EPOCH_H

#include <stdbool.h>
#include <stddef.h>

#define RW_LB_MAX_READERS 1024

/* Take a reader slot for the calling thread (idempotent).  0 or -EAGAIN if all are taken. */
int rw_lb_epoch_register(void);
/* Give it back; the thread must not be inside a read section. */
void rw_lb_epoch_unregister(void);

/* Enter / leave a read section.  Registers the thread if needed (aborts if no slot is free). */
void rw_lb_read_lock(void);
void rw_lb_read_unlock(void);

typedef void (*rw_lb_free_fn)(void *p);

/*
 * Free p with free_fn once every read section that could have seen it has ended.  Call after
 * p was unpublished.  Thread-safe.  Never blocks.  free_fn runs inside a later
 * rw_lb_reclaim() (possibly this thread's next retire), never inside a read section.
 */
void rw_lb_retire(void *p, rw_lb_free_fn free_fn);

/*
 * Free what can be freed now; with wait, sleep-poll until everything retired so far is
 * freed (the caller must not be inside a read section).  Returns how many remain.
 */
size_t rw_lb_reclaim(bool wait);

#endif
