/*
 * fuzz_es_resp.c — libFuzzer target for out_es_resp_parse, the reader of
 * Elasticsearch / OpenSearch _bulk responses (outputs/out_es_resp.c). The
 * input is a response body as it comes off the network, possibly cut at
 * Buffer_Size. The reader never reads outside it (ASan: the body is
 * copied to a buffer of exactly its size), never stores more statuses
 * than asked, keeps its strings terminated, and answers the same for the
 * same bytes. Single-threaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "out_es.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define MAXI 64

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t n)
{
	char *p = malloc(n ? n : 1);
	if (!p)
		return 0;
	memcpy(p, buf, n);
	/* a small max first: more items than actions must be caught */
	uint32_t max = n ? buf[0] % 8 : 0;
	uint16_t st[MAXI + 1];
	st[MAXI] = 0xbeef;
	struct out_es_resp r, r2;
	out_es_resp_parse(p, n, st, max, &r);
	CHECK(r.nitems <= max);
	CHECK(r.errors >= -1 && r.errors <= 1);
	CHECK(memchr(r.err_type, 0, sizeof(r.err_type)) && memchr(r.err_reason, 0, sizeof(r.err_reason)));
	out_es_resp_parse(p, n, st, MAXI, &r);
	CHECK(r.nitems <= MAXI && st[MAXI] == 0xbeef);
	for (uint32_t i = 0; i < r.nitems; i++)
		CHECK(st[i] <= 999);
	out_es_resp_parse(p, n, st, MAXI, &r2);
	CHECK(r.nitems == r2.nitems && r.errors == r2.errors && r.items_done == r2.items_done && r.bad == r2.bad &&
	      r.err_status == r2.err_status && !strcmp(r.err_type, r2.err_type));
	/* with no items asked for, never a status stored */
	out_es_resp_parse(p, n, NULL, 0, &r2);
	CHECK(r2.nitems == 0);
	free(p);
	return 0;
}
