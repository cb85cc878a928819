/*
 * in_dummy.c — Fluent Bit's `dummy` input: emits the record given in
 * Dummy (JSON), Rate times a second, Copies at a time, until Samples have
 * been emitted (0: forever). It runs on shard 0 off a timerfd and goes
 * through the same parse-into-chunk path as received data. As in Fluent
 * Bit (plugins/in_dummy/in_dummy.c), the first events come one interval
 * after start-up, or at start-up with Flush_On_Startup.
 *
 * Threads: setup on the control thread; the timer fires on shard 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dp_pool.h"
#include "psr_json.h"
#include "shard.h"

struct in_dummy_cfg {
	char *dummy;
	int64_t rate;
	int64_t samples;
	int64_t copies;
	int64_t start_sec;
	int64_t start_nsec;
	bool fixed_timestamp;
	int64_t interval_sec;
	int64_t interval_nsec;
	bool flush_on_startup;
};

#define C(f) offsetof(struct in_dummy_cfg, f)

static const struct dp_opt dummy_opts[] = {
	{ "Dummy", DP_OPT_STR, "{\"message\":\"dummy\"}", C(dummy), NULL, 0, 0, 0, "The record, as a JSON object." },
	{ "Rate", DP_OPT_INT, "1", C(rate), NULL, 1, 10000000, 0, "Events per second." },
	{ "Samples", DP_OPT_INT, "0", C(samples), NULL, 0, INT64_MAX, 0,
	  "Stop after this many events; 0: never stop." },
	{ "Copies", DP_OPT_INT, "1", C(copies), NULL, 1, 100000, 0, "Events emitted per tick." },
	{ "Start_time_sec", DP_OPT_INT, "-1", C(start_sec), NULL, 0, 0, 0,
	  "Fixed record time, seconds part; -1: now." },
	{ "Start_time_nsec", DP_OPT_INT, "-1", C(start_nsec), NULL, 0, 0, 0,
	  "Fixed record time, nanoseconds part; -1: now." },
	{ "Fixed_Timestamp", DP_OPT_BOOL, "off", C(fixed_timestamp), NULL, 0, 0, 0,
	  "Give every event the same time (the start time)." },
	{ "Interval_sec", DP_OPT_INT, "0", C(interval_sec), NULL, 0, 86400, 0,
	  "Tick interval, seconds part; with Interval_nsec overrides Rate." },
	{ "Interval_nsec", DP_OPT_INT, "0", C(interval_nsec), NULL, 0, 999999999, 0,
	  "Tick interval, nanoseconds part." },
	{ "Flush_On_Startup", DP_OPT_BOOL, "false", C(flush_on_startup), NULL, 0, 0, 0,
	  "Generate the first events at start-up; off: one interval after it." },
	{ NULL },
};

struct dummy_ctx {
	struct in_dummy_cfg *cfg;
	uint64_t emitted;
	uint32_t per_tick;
	size_t len;
	bool fixed;
	bool started;    /* the first timer tick (at start-up) has fired */
	uint32_t sec, nsec;
};

static int setup(struct dp_input *in, struct dp_err *err)
{
	struct in_dummy_cfg *cfg = in->cfg;
	/* Check the JSON now, so a bad Dummy fails start-up. */
	static struct dp_rec recs[DP_CHUNK_RECS];
	static struct dp_field fields[DP_CHUNK_FIELDS];
	static uint8_t data[DP_CHUNK_DATA];
	struct dp_chunk c;
	dp_chunk_init(&c, recs, fields, data);
	dp_chunk_rec_begin(&c, 0, 0);
	err->key = "Dummy";
	if (psr_json_parse(&c, cfg->dummy, strlen(cfg->dummy)) || dp_chunk_rec_end(&c))
		return dp_err_set(err, -EINVAL, "invalid value for 'Dummy': expected a JSON object");
	in->net = DP_NET_TIMER;
	uint64_t ns = (uint64_t)cfg->interval_sec * 1000000000ull + (uint64_t)cfg->interval_nsec;
	if (!ns)
		ns = 1000000000ull / (uint64_t)cfg->rate;
	/* Tick at most 1000 times a second; emit more per tick instead. */
	in->tick_ns = ns < 1000000 ? 1000000 : ns;
	return 0;
}

static void *ctx_create(struct dp_input *in, unsigned shard)
{
	(void)shard;
	struct in_dummy_cfg *cfg = in->cfg;
	struct dummy_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->cfg = cfg;
	x->len = strlen(cfg->dummy);
	uint64_t ns = (uint64_t)cfg->interval_sec * 1000000000ull + (uint64_t)cfg->interval_nsec;
	uint64_t per = 1;
	if (!ns && in->tick_ns > 1000000000ull / (uint64_t)cfg->rate)
		per = (uint64_t)cfg->rate * in->tick_ns / 1000000000ull;
	x->per_tick = (uint32_t)(per * (uint64_t)cfg->copies);
	x->fixed = cfg->start_sec >= 0 || cfg->start_nsec >= 0 || cfg->fixed_timestamp;
	return x;
}

static int parse(struct dp_chunk *c, const char *p, size_t len, void *ctx)
{
	struct dummy_ctx *x = ctx;
	int rc = psr_json_parse(c, p, len);
	if (!rc && x->fixed)
		dp_chunk_rec_set_time(c, x->sec, x->nsec);
	return rc;
}

static void tick(struct dp_input *in, struct shard *sh, void *ctx, uint64_t now_real_ns)
{
	struct dummy_ctx *x = ctx;
	struct in_dummy_cfg *cfg = x->cfg;
	/* The shard's timer fires once at start-up and then every interval;
	 * without Flush_On_Startup that first firing only starts the clock,
	 * as Fluent Bit's collector timer does. */
	if (!x->started) {
		x->started = true;
		if (!cfg->flush_on_startup)
			return;
	}
	if (x->fixed && x->emitted == 0) {
		x->sec = (uint32_t)(cfg->start_sec >= 0 ? (uint64_t)cfg->start_sec : now_real_ns / 1000000000ull);
		x->nsec = (uint32_t)(cfg->start_nsec >= 0 ? (uint64_t)cfg->start_nsec : now_real_ns % 1000000000ull);
	}
	for (uint32_t i = 0; i < x->per_tick; i++) {
		if (cfg->samples && x->emitted >= (uint64_t)cfg->samples)
			return;
		/* Out of memory: skip the rest of this tick (the generator
		 * slows down, as Fluent Bit's paused input does). */
		if (shard_emit(sh, in->id, cfg->dummy, x->len) == -EAGAIN)
			return;
		x->emitted++;
	}
}

const struct dp_input_ops in_dummy_ops = {
	.name = "dummy",
	.desc = "Generates a fixed record at a fixed rate (tests and demos)",
	.opts = dummy_opts,
	.cfg_size = sizeof(struct in_dummy_cfg),
	.setup = setup,
	.shard_ctx_create = ctx_create,
	.shard_ctx_destroy = free,
	.parse = parse,
	.tick = tick,
};
