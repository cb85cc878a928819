/*
 * fuzz_forward.c — libFuzzer target for the forward input's decoding:
 * the input is a stream of msgpack objects cut by PSR_FRAME_MSGPACK (in
 * one piece), and each frame is decoded as a Forward protocol message
 * (psr_forward.h) and its entries walked, gunzipped when compressed.
 * Entries and records must lie inside the frame (or the gunzip buffer);
 * an iteration must end. The whole input is also walked as an http
 * msgpack body (psr_fwd_next_loose) and each record written into a chunk
 * (psr_fwd_record), as the http input does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dp_chunk.h"
#include "psr_forward.h"
#include "psr_frame.h"

static struct psr_fwd_gz *gz;
static uint8_t zbuf[1 << 16];

static void walk(const uint8_t *p, size_t len)
{
	struct psr_fwd_msg m;
	if (psr_fwd_msg_parse(p, len, &m) != 0)
		return;
	if ((const uint8_t *)m.tag < p || (const uint8_t *)m.tag + m.tag_len > p + len ||
	    m.body < p || m.body + m.body_len > p + len)
		abort();
	const uint8_t *body = m.body;
	size_t blen = m.body_len;
	if (m.mode == PSR_FWD_COMPRESSED) {
		long n = psr_fwd_gunzip(gz, m.body, m.body_len, zbuf, sizeof(zbuf));
		if (n < 0)
			return;
		body = zbuf;
		blen = (size_t)n;
	}
	struct psr_fwd_iter it;
	struct psr_fwd_entry e;
	psr_fwd_iter_init(&it, &m, body, blen);
	int rc;
	size_t steps = 0;
	while ((rc = psr_fwd_next(&it, &e)) != 0) {
		if (++steps > blen + 1)
			abort();   /* every entry takes a byte at least */
		if (rc == 1) {
			if (e.rec < body || e.rec + e.rec_len > body + blen || e.nsec >= 1000000000u ||
			    dp_mp_object_size(e.rec, e.rec_len) != e.rec_len)
				abort();
		}
	}
}

static struct dp_chunk chunk;
static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t cdata[DP_CHUNK_DATA];

/* The http input's msgpack bodies: maps and [time, map] events. */
static void loose(const uint8_t *in, size_t size)
{
	const uint8_t *p = in, *end = in + size;
	struct psr_fwd_entry e;
	bool timed;
	int rc;
	size_t steps = 0;
	while ((rc = psr_fwd_next_loose(&p, end, &e, &timed)) != 0) {
		if (++steps > size + 1 || p > end)
			abort();
		if (rc != 1)
			continue;
		if (e.rec < in || e.rec + e.rec_len > end || (timed && e.nsec >= 1000000000u))
			abort();
		dp_chunk_reset(&chunk);
		dp_chunk_rec_begin(&chunk, e.sec, e.nsec);
		if (psr_fwd_record(&chunk, e.rec, e.rec_len) == 0)
			dp_chunk_rec_end(&chunk);
		else
			dp_chunk_rec_abort(&chunk);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (!chunk.recs)
		dp_chunk_init(&chunk, recs, fields, cdata);
	loose(in, size);
	if (!gz && !(gz = psr_fwd_gz_create()))
		abort();
	struct psr_framer f;
	struct psr_frame out[8];
	unsigned nf, nover;
	psr_framer_init(&f, PSR_FRAME_MSGPACK, 4096, NULL, 0);
	const char *p = (const char *)in;
	size_t len = size;
	do {
		size_t used = psr_frame_burst(&f, p, len, out, 8, &nf, &nover);
		if (used > len)
			abort();
		for (unsigned i = 0; i < nf; i++) {
			if (dp_mp_object_size((const uint8_t *)out[i].p, out[i].len) != out[i].len)
				abort();   /* a frame is exactly one object */
			walk((const uint8_t *)out[i].p, out[i].len);
		}
		p += used;
		len -= used;
	} while (nf == 8);
	return 0;
}
