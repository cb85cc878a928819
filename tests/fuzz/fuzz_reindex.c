/*
 * fuzz_reindex.c — libFuzzer target for dp_chunk_reindex (dataplane/
 * dp_chunk_load.c), which indexes events read back from the filesystem
 * store: any bytes either index or are refused, never read past the length
 * given, and every record and field it indexes lies inside those bytes.
 * Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dp_chunk.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t n)
{
	if (n > DP_CHUNK_DATA)
		return 0;
	struct dp_chunk c;
	dp_chunk_init(&c, recs, fields, data);
	/* the bytes after n are poisoned by a pattern a read past the end
	 * would take for more events */
	memset(data + n, 0x92, DP_MIN(DP_CHUNK_DATA - n, 64));
	memcpy(data, buf, n);
	int rc = dp_chunk_reindex(&c, (uint32_t)n);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOSPC);
	if (rc)
		return 0;
	uint32_t end = 0;
	for (uint32_t i = 0; i < c.nrecs; i++) {
		const struct dp_rec *r = &c.recs[i];
		CHECK(r->off == end && r->len > 0 && r->off + r->len <= n);
		end = r->off + r->len;
		CHECK(r->field0 + r->nfields <= c.nfields);
		for (uint32_t k = r->field0; k < r->field0 + r->nfields; k++) {
			const struct dp_field *f = &c.fields[k];
			CHECK(f->key_off >= r->off && f->key_off + f->key_len <= end);
			CHECK(f->val_off >= r->off && f->val_off + f->val_len <= end);
		}
	}
	CHECK(end == n);
	return 0;
}
