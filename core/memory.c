/* Process memory figures (see memory.h). */
#include "core/memory.h"

#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

void rw_memory_read(struct rw_memory *m)
{
	struct mallinfo2 mi = mallinfo2();
	long long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	m->allocated = mi.uordblks + mi.hblkhd;
	m->heap_size = mi.arena + mi.hblkhd;
	m->heap_free = mi.fordblks;
	if (f) {
		if (fscanf(f, "%lld %lld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	m->resident = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
