/* The process's memory as the allocator and the kernel see it (server.memory_*, /memory). */
#ifndef RW_CORE_MEMORY_H
#define RW_CORE_MEMORY_H

#include <stdint.h>

struct rw_memory {
	uint64_t allocated; /* bytes handed out by glibc's malloc (0 under a sanitizer's) */
	uint64_t heap_size; /* bytes malloc holds from the system */
	uint64_t heap_free; /* ... of which free */
	uint64_t resident;  /* resident set size, /proc/self/statm (0 if unreadable) */
};

/* Fill m.  Any thread; a few microseconds (mallinfo2 walks the arenas). */
void rw_memory_read(struct rw_memory *m);

#endif
