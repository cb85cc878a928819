/*
 * fuzz_http.c — libFuzzer target for the http input's reading of a
 * stream: requests cut by PSR_FRAME_HTTP (fed in two pieces, split where
 * the input's first byte says), each head parsed (psr_http.h), chunked
 * bodies decoded, each body read as a form and cut into JSON records
 * (psr_json_batch.h), each
 * record then written by
 * psr_json_parse; the body written in one pass as well
 * (psr_json_batch_next, psr_json_put_object), which must agree with the
 * scan on every body and on where each record ends. Frames lie inside the stream; a frame that is a whole
 * request has a head that parses, with its body inside the frame; every
 * record lies inside its body, and psr_json_parse accepts every record
 * the batch scan accepted. Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dp_chunk.h"
#include "psr_frame.h"
#include "psr_http.h"
#include "psr_json.h"
#include "psr_json_batch.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)
#define MAX 2048

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk chunk;
static struct psr_json_rec jrec[64];
static char dechunked[MAX];
static char dechunked2[MAX];

/* The body written in one pass (as in_http_json.c does): the same
 * verdict and the same records as the scan (n: its answer); a malformed
 * body rolled back to where it began, records before it kept. */
static void one_pass(const char *body, size_t blen, long n)
{
	struct psr_json_batch_it it;
	int rc;
	long got = 0;
	dp_chunk_reset(&chunk);
	dp_chunk_rec_begin(&chunk, 1700000000, 0);
	dp_chunk_put_int(&chunk, "before", 6, 1);
	CHECK(dp_chunk_rec_end(&chunk) == 0);
	struct dp_chunk_pos at = dp_chunk_pos_get(&chunk);
	psr_json_batch_begin(&it, body, blen);
	while ((rc = psr_json_batch_next(&it)) == 1) {
		CHECK(it.p >= body && it.p < body + blen && *it.p == '{');
		dp_chunk_rec_begin(&chunk, 1700000000, 0);
		const char *q = psr_json_put_object(&chunk, it.p, it.e);
		if (!q && !chunk.overflow) {
			dp_chunk_rec_abort(&chunk);
			break;
		}
		if (!q || dp_chunk_rec_end(&chunk))
			return;   /* no verdict without room (psr_json.h) */
		CHECK(q > it.p && q <= body + blen);
		if (got < n && got < 64)
			CHECK(q - body == (long)(jrec[got].off + jrec[got].len));
		it.p = q;
		got++;
	}
	if (rc == 1)
		rc = -EINVAL;   /* a record refused */
	CHECK(rc == 0 ? n == got : n == -EINVAL);
	dp_chunk_truncate(&chunk, at);
	CHECK(chunk.nrecs == 1 && chunk.data_len == at.data_len && chunk.nfields == 1);
}

static void request(const char *p, size_t len, bool lost)
{
	struct psr_http_req r;
	int rc = psr_http_req_parse(p, len, &r);
	if (lost)
		return;
	CHECK(rc == 0 && (!r.has_te || (r.chunked && !r.has_length)));
	for (unsigned i = 0; i < r.nhdr; i++)
		CHECK(r.hdr[i].value.p >= p && r.hdr[i].value.p + r.hdr[i].value.len <= p + r.head_len);
	const char *body = p + r.head_len;
	size_t blen = (size_t)r.content_length;
	if (r.chunked) {
		/* a whole chunked request decodes */
		long n = psr_http_dechunk(body, len - r.head_len, dechunked, sizeof(dechunked));
		CHECK(n >= 0 && (size_t)n < len);
		body = dechunked;
		blen = (size_t)n;
	} else {
		CHECK(r.head_len + r.content_length == len);
	}
	/* the body as a form too: pairs inside it, values decode to no more */
	struct psr_http_str k, v;
	size_t off = 0, steps = 0;
	while (psr_http_form_next(body, blen, &off, &k, &v)) {
		CHECK(++steps <= blen && off <= blen);
		CHECK(k.p >= body && k.p + k.len <= body + blen && v.p >= body && v.p + v.len <= body + blen);
		CHECK(psr_http_url_decode(v, dechunked2) <= (long)v.len);
	}
	long n = psr_json_batch_scan(body, blen, "t", 1, jrec, 64);
	CHECK(n >= -EINVAL);
	for (long i = 0; i < n && i < 64; i++) {
		const struct psr_json_rec *j = &jrec[i];
		CHECK((size_t)j->off + j->len <= blen);
		if (j->has_tag)
			CHECK(j->tag_off >= j->off && j->tag_off + j->tag_len <= j->off + j->len);
		dp_chunk_reset(&chunk);
		dp_chunk_rec_begin(&chunk, 1700000000, 0);
		CHECK(psr_json_parse(&chunk, body + j->off, j->len) == 0);
		dp_chunk_rec_abort(&chunk);
	}
	one_pass(body, blen, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static char buf[MAX + PSR_FRAME_HEADROOM + 4096];
	if (!chunk.recs)
		dp_chunk_init(&chunk, recs, fields, data);
	if (size < 1 || size > 4096)
		return 0;
	size_t cut = (size_t)in[0] * size / 256;
	const char *s = (const char *)in + 1;
	size--;
	if (cut > size)
		cut = size;
	struct psr_framer f;
	CHECK(psr_framer_init(&f, PSR_FRAME_HTTP, MAX, NULL, 0) == 0);
	struct psr_frame out[8];
	size_t have = 0, pos = 0;
	for (int piece = 0; piece < 2; piece++) {
		size_t end = piece ? size : cut;
		while (pos < end) {
			size_t k = end - pos;
			if (k > sizeof(buf) - have)
				k = sizeof(buf) - have;
			CHECK(k > 0);
			memcpy(buf + have, s + pos, k);
			have += k;
			pos += k;
			unsigned nf, nover;
			do {
				bool was_broken = psr_framer_is_broken(&f);
				size_t used = psr_frame_burst(&f, buf, have, out, 8, &nf, &nover);
				CHECK(used <= have);
				for (unsigned i = 0; i < nf; i++) {
					CHECK(out[i].p >= buf && out[i].p + out[i].len <= buf + used);
					CHECK(out[i].len <= MAX);
					/* only the last frame of a burst can be a lost framing */
					bool lost = i == nf - 1 && psr_framer_is_broken(&f) && !was_broken;
					request(out[i].p, out[i].len, lost);
				}
				memmove(buf, buf + used, have - used);
				have -= used;
			} while (nf == 8);
		}
	}
	struct psr_frame last;
	CHECK(psr_frame_flush(&f, buf, have, &last) <= 0);
	return 0;
}
