/*
 * dp_ring.c — creation of SPSC rings (control path; the fast path is inline
 * in dp_ring.h).
 */
#include <stdlib.h>
#include <string.h>
#include "dp_ring.h"

struct dp_ring *dp_ring_create(uint32_t size)
{
	uint32_t n = 1;
	if (size == 0 || size > (1u << 30))
		return NULL;
	while (n < size)
		n <<= 1;
	struct dp_ring *r;
	if (posix_memalign((void **)&r, DP_CACHE_LINE, sizeof(*r) + n * sizeof(void *)))
		return NULL;
	memset(r, 0, sizeof(*r));
	r->size = n;
	r->mask = n - 1;
	return r;
}

void dp_ring_destroy(struct dp_ring *r)
{
	free(r);
}
