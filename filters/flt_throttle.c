/*
 * flt_throttle.c — Fluent Bit's `throttle` filter: a sliding window of
 * `Window` panes of `Interval` each; a record is dropped while the
 * records kept in the window, divided by `Window`, reach `Rate`.
 *
 * As Fluent Bit's plugins/filter_throttle computes it (its documentation
 * describes a "slow start" that averages over the panes filled so far; the
 * code divides by the full window, and so does this): a record is kept
 * when kept_in_window / Window < Rate, i.e. up to Rate x Window records per
 * window span. Each Interval a new empty pane replaces the oldest one.
 * Only kept records count.
 *
 * PER SHARD: each shard has its own window, so the limit applies per shard
 * and the total is up to Rate x number of shards. An exact global limit
 * would put one shared counter on every record's path (a cache line
 * bouncing between cores); records of one connection stay on one shard, so
 * a per-sender flood is still limited exactly.
 *
 * Differences from Fluent Bit, all at start-up: a Rate, Window or Interval
 * that is not a positive number is an error here (Fluent Bit falls back to
 * its defaults), and `Window 1` means one pane (Fluent Bit turns values
 * below 2 into 5).
 *
 * Time is the shard's monotonic clock of the burst (fx->now_ns): panes
 * advance in thr_record and in tick, so a late tick never lets a burst
 * through. Print_Status logs one line per shard per Interval, from tick.
 *
 * Threads: setup/teardown on the control thread; shard contexts, record
 * and tick on their shard.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "dp_filter.h"
#include "dp_log.h"

struct thr_cfg {
	char *rate;
	int64_t window;
	double interval;
	bool print_status;
};

static const struct dp_opt thr_opts[] = {
	{ "Rate", DP_OPT_STR, "1", offsetof(struct thr_cfg, rate), NULL, 0, 0, 0,
	  "records allowed per Interval, on average over the window (a positive number; per shard)" },
	{ "Window", DP_OPT_INT, "5", offsetof(struct thr_cfg, window), NULL, 1, 1000000, 0,
	  "number of Intervals the average is taken over" },
	{ "Interval", DP_OPT_SECONDS, "1", offsetof(struct thr_cfg, interval), NULL, 0, 0, 0,
	  "length of one pane of the window: 1, 0.5, 3s, 1.5m, 0.5h" },
	{ "Print_Status", DP_OPT_BOOL, "false", offsetof(struct thr_cfg, print_status), NULL, 0, 0, 0,
	  "log the limit and the current rate at info level every Interval (one line per shard)" },
	{ NULL },
};

struct thr_priv {
	double rate;
	double limit;           /* Rate x Window: kept records the window holds */
	uint32_t window;
	uint64_t interval_ns;
	bool print_status;
};

struct thr_shard {
	struct thr_priv p;
	uint64_t cur;           /* number of the current interval */
	bool started;
	unsigned head;          /* pane of the current interval */
	uint64_t total;         /* kept records in the window */
	uint64_t dropped;
	unsigned shard;
	const struct dp_filter *f;   /* for dp_plog: its name, Log_Level, Log_Suppress_Interval */
	uint32_t *panes;
} dp_cache_aligned;

static int thr_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct thr_cfg *cfg = f->cfg;
	char *end;
	double rate = strtod(cfg->rate, &end);
	if (end == cfg->rate || *end || !(rate > 0) || !isfinite(rate))
		return dp_filter_kv_err(f, dp_conf_kv_get(f->sec, "Rate"), err, -EINVAL,
					"Rate: expected a positive number, got '%s'", cfg->rate);
	if (!(cfg->interval > 0) || cfg->interval * 1e9 > (double)UINT64_MAX / 2)
		return dp_filter_kv_err(f, dp_conf_kv_get(f->sec, "Interval"), err, -EINVAL,
					"Interval: expected a positive duration");
	struct thr_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	p->rate = rate;
	p->window = (uint32_t)cfg->window;
	p->limit = rate * (double)p->window;
	p->interval_ns = (uint64_t)(cfg->interval * 1e9);
	if (!p->interval_ns)
		p->interval_ns = 1;
	p->print_status = cfg->print_status;
	f->priv = p;
	return 0;
}

static void thr_teardown(struct dp_filter *f)
{
	free(f->priv);
	f->priv = NULL;
}

static void *thr_shard_create(struct dp_filter *f, unsigned shard)
{
	const struct thr_priv *p = f->priv;
	struct thr_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->p = *p;
	s->shard = shard;
	s->f = f;
	if (!(s->panes = calloc(p->window, sizeof(*s->panes)))) {
		free(s);
		return NULL;
	}
	return s;
}

static void thr_shard_destroy(void *ctx)
{
	struct thr_shard *s = ctx;
	if (!s)
		return;
	free(s->panes);
	free(s);
}

/* Bring the window to now: one empty pane per interval that began since,
 * at most a whole window of them. Returns whether it moved. */
static bool advance(struct thr_shard *s, uint64_t now_ns)
{
	uint64_t idx = now_ns / s->p.interval_ns;
	if (!s->started) {
		s->started = true;
		s->cur = idx;
		return false;
	}
	if (idx <= s->cur)
		return false;
	uint64_t k = DP_MIN(idx - s->cur, (uint64_t)s->p.window);
	for (uint64_t i = 0; i < k; i++) {
		s->head = s->head + 1 == s->p.window ? 0 : s->head + 1;
		s->total -= s->panes[s->head];
		s->panes[s->head] = 0;
	}
	s->cur = idx;
	return true;
}

static int thr_record(void *ctx, struct dp_fx *fx)
{
	struct thr_shard *s = ctx;
	advance(s, fx->now_ns);
	if ((double)s->total >= s->p.limit) {
		s->dropped++;
		return DP_FILTER_DROP;
	}
	s->panes[s->head]++;
	s->total++;
	return DP_FILTER_KEEP;
}

static void thr_tick(void *ctx, struct dp_fx *fx, bool final)
{
	struct thr_shard *s = ctx;
	if (final)
		return;
	if (advance(s, fx->now_ns) && s->p.print_status)
		dp_plg_info(s->f, "shard %u: limit is %0.2f per %gs with window size of %u, current rate "
			    "is: %0.2f per interval, %llu dropped so far",
			    s->shard, s->p.rate, (double)s->p.interval_ns / 1e9, s->p.window,
			(double)s->total / s->p.window, (unsigned long long)s->dropped);
}

const struct dp_filter_ops flt_throttle_ops = {
	.name = "throttle",
	.desc = "drop records past an average rate over a sliding window (Fluent Bit's throttle; "
		"the limit applies per shard)",
	.opts = thr_opts,
	.cfg_size = sizeof(struct thr_cfg),
	.setup = thr_setup,
	.shard_ctx_create = thr_shard_create,
	.shard_ctx_destroy = thr_shard_destroy,
	.record = thr_record,
	.tick = thr_tick,
	.teardown = thr_teardown,
};
