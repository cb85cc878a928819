/*
 * fuzz_ra.c — libFuzzer target for dp_ra: the first line of the input is a
 * record accessor spec, the rest a JSON record. dp_ra_parse and
 * dp_ra_parse_prefix return 0 or an error and never overrun; when both the
 * spec and the record parse, a lookup either finds nothing or a value
 * that lies inside the record's bytes, and for strings the payload is
 * where the field says. Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dp_chunk.h"
#include "dp_ra.h"
#include "psr_json.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static char spec[512];

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t n)
{
	const char *s = (const char *)buf;
	const char *nl = memchr(s, '\n', n);
	size_t sl = nl ? (size_t)(nl - s) : n;
	if (sl >= sizeof(spec) || memchr(s, 0, sl))
		return 0;
	memcpy(spec, s, sl);
	spec[sl] = 0;

	struct dp_ra ra, rp;
	struct dp_err err;
	size_t used = 0;
	int prc = dp_ra_parse_prefix(spec, sl, &used, &rp, &err);
	CHECK(prc == 0 || prc == -EINVAL || prc == -E2BIG);
	CHECK(prc || (used >= 2 && used <= sl && rp.nparts >= 1));
	int rc = dp_ra_parse(spec, &ra, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG);
	if (rc || !nl)
		return 0;
	CHECK(ra.nparts >= 1 && ra.nparts <= DP_RA_MAX_PARTS);

	struct dp_chunk c;
	dp_chunk_init(&c, recs, fields, data);
	dp_chunk_rec_begin(&c, 1, 2);
	if (psr_json_parse(&c, nl + 1, n - sl - 1) || dp_chunk_rec_end(&c))
		return 0;
	const struct dp_rec *r = &c.recs[0];
	struct dp_ra_val v;
	if (!dp_ra_get(&ra, &c, dp_rec_fields(&c, r), r->nfields, &v))
		return 0;
	CHECK(v.f.val_off >= r->off && v.f.val_off + v.f.val_len <= r->off + r->len);
	if (v.type == DP_T_STR || v.type == DP_T_BIN)
		CHECK(v.str == (const char *)data + v.f.val_off && v.len == v.f.val_len);
	else
		CHECK(dp_mp_object_size(data + v.f.val_off, v.f.val_len) == v.f.val_len);
	return 0;
}
