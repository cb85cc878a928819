/*
 * mb_shim.c — the loops the micro-benchmarks time, written in C against
 * sluice's API exactly as an input or output uses it (see mb_shim.h for why
 * they are not in the C++ file). Nothing here allocates inside a pass.
 *
 * Threads: each handle is used by the benchmark thread that created it; a
 * ring pair adds one producer thread, stopped by mb_ring_pair_stop.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mb_shim.h"
#include "loadgen.h"
#include "dp_chunk.h"
#include "dp_ring.h"
#include "psr_frame.h"
#include "psr_syslog.h"
#include "psr_json.h"
#include "out_json.h"

_Static_assert((int)MB_FRAME_AUTO == (int)PSR_FRAME_AUTO &&
	       (int)MB_FRAME_LF == (int)PSR_FRAME_LF &&
	       (int)MB_FRAME_OCTET == (int)PSR_FRAME_OCTET &&
	       (int)MB_FRAME_SEP == (int)PSR_FRAME_SEP && (int)MB_FRAME_JSON == (int)PSR_FRAME_JSON,
	       "mb_frame must mirror psr_frame_mode");

/* Framer limit: above every generated line, so nothing is dropped; the
 * framer's speed does not depend on it. */
#define MB_MAX_FRAME (64 * 1024)

/* Spin-wait hint for the ring pair: frees the sibling hyperthread and
 * avoids a memory-order mis-speculation when the line finally changes. */
static inline void mb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* One failed poll of the ring pair. With a CPU each, the other side frees
 * a slot or fills one within a few polls; thousands in a row mean both
 * threads share one CPU (a busy machine), and only a yield lets the other
 * side run before the time slice ends. */
static inline void mb_poll_wait(unsigned *fails)
{
	if (++*fails % 1024 == 0)
		sched_yield();
	else
		mb_cpu_relax();
}

int mb_corpus_make(struct mb_corpus *c, int fmt, int octet, unsigned n)
{
	static const enum lg_format lgf[] = { LG_RFC5424, LG_RFC3164, LG_JSON };
	struct lg_opts o = {
		.proto = LG_TCP, .format = lgf[fmt], .conns = 1, .octet_counting = octet,
		.seed = 42, .variety = n, .sd = 1,
	};
	struct lg_corpus lc;
	int rc = lg_corpus_build(&lc, &o, 0);

	if (rc)
		return rc;
	/* lg_corpus_build repeats the n messages to fill a send ring; one lap
	 * is all a benchmark needs. */
	c->buf = lc.buf;
	c->len = lc.off[n];
	c->n = n;
	lc.buf = NULL;
	lg_corpus_fini(&lc);
	return 0;
}

void mb_corpus_free(struct mb_corpus *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

uint64_t mb_split_memchr(const char *buf, size_t len, uint64_t *bytes)
{
	struct psr_frame out[DP_BURST];
	const char *p = buf, *e = buf + len;
	uint64_t n = 0, b = 0;
	unsigned k;

	do {
		for (k = 0; k < DP_BURST; k++) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			if (!nl)
				break;
			out[k].p = p;
			out[k].len = (uint32_t)(nl - p);
			p = nl + 1;
		}
		for (unsigned i = 0; i < k; i++)
			b += out[i].len;
		n += k;
	} while (k == DP_BURST);
	*bytes = b;
	return n;
}

uint64_t mb_frame_pass(int mode, const char *buf, size_t len, uint64_t *bytes)
{
	struct psr_framer f;
	struct psr_frame out[DP_BURST];
	unsigned nf, nover;
	uint64_t n = 0, b = 0;

	psr_framer_init(&f, mode, MB_MAX_FRAME, NULL, 0);
	do {
		size_t used = psr_frame_burst(&f, buf, len, out, DP_BURST, &nf, &nover);
		for (unsigned i = 0; i < nf; i++)
			b += out[i].len;
		n += nf;
		buf += used;
		len -= used;
	} while (nf == DP_BURST);
	*bytes = b;
	return n;
}

struct mb_parser {
	int fmt;
	uint32_t now;
	struct psr_syslog_ctx ctx;
	struct dp_chunk c;
	struct dp_rec recs[DP_CHUNK_RECS];
	struct dp_field fields[DP_CHUNK_FIELDS];
	uint8_t data[DP_CHUNK_DATA];
};

struct mb_parser *mb_parser_create(int fmt)
{
	struct mb_parser *p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63);

	if (!p)
		return NULL;
	p->fmt = fmt;
	p->now = (uint32_t)time(NULL);
	psr_syslog_ctx_init(&p->ctx, p->now);
	dp_chunk_init(&p->c, p->recs, p->fields, p->data);
	return p;
}

void mb_parser_destroy(struct mb_parser *p)
{
	free(p);
}

/* The input's protocol for one line: begin, parse, end or abort. 1 for a
 * record, 0 for a refused line, -ENOSPC when the chunk is full. */
static int mb_rec_one(struct mb_parser *p, const char *s, size_t n)
{
	int rc;

	dp_chunk_rec_begin(&p->c, p->now, 0);
	switch (p->fmt) {
	case MB_5424: rc = psr_syslog5424_parse(&p->c, s, n, &p->ctx); break;
	case MB_3164: rc = psr_syslog3164_parse(&p->c, s, n, &p->ctx); break;
	default: rc = psr_json_parse(&p->c, s, n); break;
	}
	if (rc) {
		dp_chunk_rec_abort(&p->c);
		return 0;
	}
	return dp_chunk_rec_end(&p->c) == 0 ? 1 : -ENOSPC;
}

/* Frame buf with LF framing and parse each line; with `fill`, stop at the
 * first full chunk, else reset the chunk (as a flush would) and retry. */
static uint64_t mb_parse_buf(struct mb_parser *p, const char *buf, size_t len,
			     uint64_t *bad, int fill)
{
	struct psr_framer f;
	struct psr_frame fr[DP_BURST];
	unsigned nf, nover;
	uint64_t recs = 0, nbad = 0;

	psr_framer_init(&f, PSR_FRAME_LF, MB_MAX_FRAME, NULL, 0);
	do {
		size_t used = psr_frame_burst(&f, buf, len, fr, DP_BURST, &nf, &nover);
		psr_syslog_ctx_set_now(&p->ctx, p->now);
		for (unsigned i = 0; i < nf; i++) {
			int rc = mb_rec_one(p, fr[i].p, fr[i].len);
			if (rc == -ENOSPC) {
				if (fill)
					goto out;
				dp_chunk_reset(&p->c);
				rc = mb_rec_one(p, fr[i].p, fr[i].len);
			}
			recs += rc == 1;
			nbad += rc != 1;
		}
		buf += used;
		len -= used;
	} while (nf == DP_BURST);
out:
	if (bad)
		*bad = nbad;
	return recs;
}

uint64_t mb_parse_pass(struct mb_parser *p, const char *buf, size_t len, uint64_t *bad)
{
	return mb_parse_buf(p, buf, len, bad, 0);
}

uint32_t mb_parser_fill(struct mb_parser *p, const char *buf, size_t len)
{
	dp_chunk_reset(&p->c);
	mb_parse_buf(p, buf, len, NULL, 1);
	return p->c.nrecs;
}

size_t mb_encode_pass(struct mb_parser *p, char *dst, size_t cap)
{
	/* Fluent Bit's json_lines defaults: date key "date", double. */
	static const struct out_json_opts o = { .date_key = "date",
						.date_format = OUT_JSON_DATE_DOUBLE };
	size_t w = 0;

	for (uint32_t i = 0; i < p->c.nrecs; i++) {
		size_t n = out_json_rec(&p->c, &p->c.recs[i], &o, dst + w, cap - w - 1);
		if (n == 0)
			return 0;
		w += n;
		dst[w++] = '\n';
	}
	return w;
}

struct mb_ring *mb_ring_create(uint32_t size)
{
	return (struct mb_ring *)dp_ring_create(size);
}

void mb_ring_destroy(struct mb_ring *r)
{
	dp_ring_destroy((struct dp_ring *)r);
}

uint64_t mb_ring_roundtrip(struct mb_ring *mr, unsigned burst, uint64_t rounds)
{
	struct dp_ring *r = (struct dp_ring *)mr;
	void *objs[DP_BURST], *got[DP_BURST];
	uint64_t sum = 0;

	burst = DP_MIN(burst, DP_BURST);
	for (unsigned i = 0; i < DP_BURST; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);
	for (uint64_t k = 0; k < rounds; k++) {
		unsigned n = dp_ring_enqueue_burst(r, objs, burst);
		n = dp_ring_dequeue_burst(r, got, n);
		sum += n ? (uintptr_t)got[n - 1] : 0;
	}
	return sum;
}

struct mb_ring_pair {
	struct dp_ring *r;
	unsigned burst;
	pthread_t th;
	dp_cache_aligned atomic_bool stop;
};

static void *mb_producer(void *arg)
{
	struct mb_ring_pair *p = arg;
	void *objs[DP_BURST];
	unsigned fails = 0;

	for (unsigned i = 0; i < DP_BURST; i++)
		objs[i] = (void *)(uintptr_t)(i + 1);
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		if (dp_ring_enqueue_burst(p->r, objs, p->burst) == 0)
			mb_poll_wait(&fails);
		else
			fails = 0;
	}
	return NULL;
}

struct mb_ring_pair *mb_ring_pair_start(uint32_t size, unsigned burst)
{
	struct mb_ring_pair *p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63);

	if (!p)
		return NULL;
	p->r = dp_ring_create(size);
	p->burst = DP_MIN(burst, DP_BURST);
	atomic_init(&p->stop, false);
	if (!p->r || pthread_create(&p->th, NULL, mb_producer, p) != 0) {
		dp_ring_destroy(p->r);
		free(p);
		return NULL;
	}
	return p;
}

uint64_t mb_ring_pair_drain(struct mb_ring_pair *p, uint64_t n)
{
	void *got[DP_BURST];
	uint64_t sum = 0;
	unsigned fails = 0;

	while (n > 0) {
		unsigned k = dp_ring_dequeue_burst(p->r, got, n < p->burst ? (unsigned)n : p->burst);
		if (k == 0) {
			mb_poll_wait(&fails);
			continue;
		}
		fails = 0;
		for (unsigned i = 0; i < k; i++)
			sum += (uintptr_t)got[i];
		n -= k;
	}
	return sum;
}

void mb_ring_pair_stop(struct mb_ring_pair *p)
{
	atomic_store_explicit(&p->stop, true, memory_order_relaxed);
	pthread_join(p->th, NULL);
	dp_ring_destroy(p->r);
	free(p);
}
