/*
 * sp_sketch.h — the mergeable sketches behind COUNT(DISTINCT key) and
 * PERCENTILE(key, p), and the small block allocator they live in.
 *
 * Both sketches keep a fixed-size state in a group's words (sp_agg.h) and,
 * when they need more, blocks from their table's struct sp_skmem. Blocks
 * come in size classes 16 + 8 * 2^k bytes (k < SP_SK_CLASSES); a block a
 * sketch outgrows goes to its class's free list for the next group. The
 * allocator takes 64 KiB slabs from malloc and keeps them across windows
 * (sp_skmem_reset rewinds), so after the first windows of a given size
 * nothing is allocated on the record path.
 *
 * COUNT(DISTINCT): HyperLogLog, precision SP_HLL_P = 12 (m = 4096 byte
 * registers, standard error 1.04 / sqrt(m) = 1.63%), Ertl's improved raw
 * estimator ("New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017: no empirical bias tables, unbiased from 0 up). Up to
 * SP_HLL_EXACT distinct hashes it is an exact hash set instead (the count
 * is then exact but for 64-bit hash collisions), which turns into the
 * registers when it would outgrow them. Merging is set union / register
 * max, so the merged sketch is exactly the sketch of all the values:
 * results do not depend on how records were spread over shards.
 *
 * PERCENTILE: DDSketch (Masson, Rim, Lee, VLDB 2019) with relative
 * accuracy SP_QS_ALPHA = 1%: value x > 0 counts in bucket
 * ceil(log_gamma(x)), gamma = (1 + a) / (1 - a); negative values in a
 * second store by |x|; zero apart. A bucket's representative
 * 2 gamma^i / (gamma + 1) is within a relative 1% of every value in it,
 * so the returned percentile is within 1% of the exact one. Each store
 * holds at most SP_QS_MAXB buckets (a span of gamma^1024 = 7.8e8 between
 * its smallest and largest |x|); past that the lowest buckets are
 * collapsed into one and only percentiles falling in them lose the bound.
 * Merging adds bucket counts: again the same sketch whatever the sharding
 * (unless a collapse happened, which depends on order).
 *
 * Threads: a sketch and its allocator belong to their table's thread.
 */
#ifndef SP_SKETCH_H
#define SP_SKETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_SK_CLASSES 11           /* blocks of 16 + 8 .. 16 + 8192 bytes */
#define SP_SK_SLAB (64 * 1024)

struct sp_skslab;

struct sp_skmem {
	struct sp_skslab *head, *cur;  /* slabs, kept across resets */
	size_t used;                   /* bytes used in cur */
	void *free[SP_SK_CLASSES];
	uint64_t slab_bytes;           /* malloc'ed so far */
};

void sp_skmem_init(struct sp_skmem *m);
void sp_skmem_reset(struct sp_skmem *m);
void sp_skmem_fini(struct sp_skmem *m);
/* A block of class k (16 + 8 << k bytes, 8-aligned); NULL when malloc fails. */
void *sp_skmem_alloc(struct sp_skmem *m, unsigned k);
void sp_skmem_free(struct sp_skmem *m, void *p, unsigned k);

/* ---- HyperLogLog ---- */

#define SP_HLL_P 12
#define SP_HLL_M (1u << SP_HLL_P)
#define SP_HLL_EXACT 384            /* exact up to this many distinct hashes */

struct sp_hll;

/* One word of a group's state; all zero is an empty sketch. */
struct sp_hll_w {
	struct sp_hll *h;
};

/* Add a 64-bit hash (well mixed: the registers use its top and bottom
 * bits). false: out of memory, the value is not counted. */
bool sp_hll_add(struct sp_skmem *m, struct sp_hll_w *w, uint64_t hash);
/* dst = dst ∪ src (src may live in another allocator). */
bool sp_hll_merge(struct sp_skmem *m, struct sp_hll_w *dst, const struct sp_hll_w *src);
/* The estimated number of distinct hashes added (exact while a set). */
uint64_t sp_hll_count(const struct sp_hll_w *w);
/* True once the sketch is registers rather than an exact set. */
bool sp_hll_is_dense(const struct sp_hll_w *w);

/* splitmix64's finaliser: spreads any 64-bit value over all bits. */
static inline uint64_t sp_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ---- DDSketch ---- */

#define SP_QS_ALPHA 0.01
#define SP_QS_MAXB 1024

struct sp_qs_store;

/* Six words of a group's state; all zero is an empty sketch. */
struct sp_qs {
	uint64_t n;                   /* values added */
	uint64_t zero;                /* of which 0 */
	double min, max;              /* exact: the result is clamped to them */
	struct sp_qs_store *pos, *neg;
};

/* Add a finite value (NaN and infinities are the caller's to skip). */
bool sp_qs_add(struct sp_skmem *m, struct sp_qs *s, double x);
bool sp_qs_merge(struct sp_skmem *m, struct sp_qs *dst, const struct sp_qs *src);
/* The q-quantile (0 <= q <= 1) as percentile_disc defines it: the value
 * of rank max(1, ceil(q n)) in sorted order, within SP_QS_ALPHA of it
 * relatively. false when the sketch is empty. */
bool sp_qs_quantile(const struct sp_qs *s, double q, double *out);

#endif
