/*
 * flt_sampling.c — the `sampling` filter (sluice's own; Fluent Bit's core
 * has none): keep 1 record in `Rate`, or `Percentage` percent of them.
 *
 * Without `Key` it counts records per shard: with Rate N the 1st, N+1th,
 * 2N+1th... record a shard sees are kept; with Percentage P an
 * accumulator keeps exactly P records in every 100 (spread evenly, no
 * randomness, so a test or a replay gives the same result).
 *
 * With `Key` the decision is a function of the key's value alone, so all
 * records that share it (one request id, one trace) are kept or dropped
 * together, on every shard and across restarts:
 *   h = fmix64(FNV-1a-64(bytes of the value))   (fixed constants, no seed)
 *   Rate N:        kept when h % N == 0
 *   Percentage P:  kept when (h >> 11) < P / 100 * 2^53
 * The bytes are a string's text; for other types, their msgpack encoding
 * (so the number 42 and the string "42" are different values). A record
 * without the key is sampled by the per-shard count, as without Key.
 *
 * Threads: setup/teardown on the control thread; shard contexts and
 * smp_record on their shard.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dp_filter.h"
#include "flt_util.h"

struct smp_cfg {
	int64_t rate;
	char *percentage;
	char *key;
};

static const struct dp_opt smp_opts[] = {
	{ "Rate", DP_OPT_INT, "10", offsetof(struct smp_cfg, rate), NULL, 1, 1000000000, 0,
	  "keep 1 record in Rate: without Key every Rate-th record of a shard (the first kept); with "
	  "Key the values whose hash is a multiple of Rate" },
	{ "Percentage", DP_OPT_STR, NULL, offsetof(struct smp_cfg, percentage), NULL, 0, 0, 0,
	  "keep this percentage of records instead (0..100, decimals allowed); exclusive with Rate" },
	{ "Key", DP_OPT_STR, NULL, offsetof(struct smp_cfg, key), NULL, 0, 0, 0,
	  "decide by the hash of this field's value (fixed, unseeded: FNV-1a 64 then fmix64), so "
	  "records sharing a value are kept or dropped together; records without it are counted" },
	{ NULL },
};

struct smp_priv {
	uint64_t rate;          /* 0: Percentage */
	uint64_t pct_ppm;       /* Percentage in parts per million (count mode) */
	uint64_t pct_thr;       /* Percentage of 2^53 (hash mode) */
	char *key;
	size_t klen;
};

struct smp_shard {
	struct smp_priv p;
	uint64_t n;             /* records counted (Rate) */
	uint64_t acc;           /* ppm accumulated (Percentage) */
} dp_cache_aligned;

static int smp_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct smp_cfg *cfg = f->cfg;
	struct smp_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	p->rate = (uint64_t)cfg->rate;
	if (cfg->percentage) {
		const struct dp_conf_kv *kv = dp_conf_kv_get(f->sec, "Percentage");
		char *end;
		double pct = strtod(cfg->percentage, &end);
		if (end == cfg->percentage || *end || !(pct >= 0 && pct <= 100)) {
			free(p);
			return dp_filter_kv_err(f, kv, err, -EINVAL,
						"Percentage: expected a number in 0..100, got '%s'",
						cfg->percentage);
		}
		if (dp_conf_kv_get(f->sec, "Rate")) {
			free(p);
			return dp_filter_kv_err(f, kv, err, -EINVAL,
						"Percentage: Rate and Percentage are exclusive");
		}
		p->rate = 0;
		p->pct_ppm = (uint64_t)llround(pct * 10000);
		p->pct_thr = (uint64_t)llround(pct / 100 * 9007199254740992.0);
	}
	if (cfg->key) {
		if (!*cfg->key || !(p->key = strdup(cfg->key))) {
			free(p);
			return dp_filter_kv_err(f, dp_conf_kv_get(f->sec, "Key"), err,
						*cfg->key ? -ENOMEM : -EINVAL,
						*cfg->key ? "out of memory" : "Key: empty key");
		}
		p->klen = strlen(p->key);
	}
	f->priv = p;
	return 0;
}

static void smp_teardown(struct dp_filter *f)
{
	struct smp_priv *p = f->priv;
	if (p)
		free(p->key);
	free(p);
	f->priv = NULL;
}

static void *smp_shard_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	struct smp_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->p = *(const struct smp_priv *)f->priv;
	return s;
}

static void smp_shard_destroy(void *ctx)
{
	free(ctx);
}

static uint64_t smp_hash(const uint8_t *p, size_t n)
{
	uint64_t h = dp_fnv1a(DP_FNV1A_INIT, p, n);
	/* FNV's low bits mix poorly; Rate N looks at h % N. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static int smp_record(void *ctx, struct dp_fx *fx)
{
	struct smp_shard *s = ctx;
	if (s->p.key) {
		int i = flt_find(fx->c, s->p.key, s->p.klen);
		if (i >= 0) {
			const struct dp_field *f = flt_fields(fx->c) + i;
			uint64_t h = smp_hash(fx->c->data + f->val_off, f->val_len);
			bool keep = s->p.rate ? h % s->p.rate == 0 : (h >> 11) < s->p.pct_thr;
			return keep ? DP_FILTER_KEEP : DP_FILTER_DROP;
		}
	}
	if (s->p.rate)
		return s->n++ % s->p.rate == 0 ? DP_FILTER_KEEP : DP_FILTER_DROP;
	s->acc += s->p.pct_ppm;
	if (s->acc >= 1000000) {
		s->acc -= 1000000;
		return DP_FILTER_KEEP;
	}
	return DP_FILTER_DROP;
}

const struct dp_filter_ops flt_sampling_ops = {
	.name = "sampling",
	.desc = "keep 1 record in Rate (or Percentage percent), per shard or by the hash of a key's "
		"value so related records stay together",
	.opts = smp_opts,
	.cfg_size = sizeof(struct smp_cfg),
	.setup = smp_setup,
	.shard_ctx_create = smp_shard_create,
	.shard_ctx_destroy = smp_shard_destroy,
	.record = smp_record,
	.teardown = smp_teardown,
};
