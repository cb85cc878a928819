/*
 * mb_filters.c — the timed loop of the filter micro-benchmarks (see
 * mb_filters.h). The filter is set up exactly as sluice would: the option
 * tables applied to a configuration section, then setup and one shard
 * context.
 *
 * Threads: the benchmark thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_registry.h"
#include "dp_filter.h"
#include "mb_filters.h"

#define MBF_IDS 1024

struct mbf {
	const struct dp_filter_ops *ops;
	struct dp_conf *conf;
	struct dp_filter f;
	void *ctx;
	struct dp_fx fx;
	struct dp_chunk c;
	char ids[MBF_IDS][24];
	uint64_t seq;
};

struct mbf *mbf_create(const char *plugin, const char *const *kv)
{
	struct mbf *m = calloc(1, sizeof(*m));
	struct dp_err err = { 0 };
	if (!m)
		return NULL;
	dp_chunk_init(&m->c, calloc(DP_CHUNK_RECS, sizeof(struct dp_rec)),
		      calloc(DP_CHUNK_FIELDS, sizeof(struct dp_field)), malloc(DP_CHUNK_DATA));
	m->fx.c = &m->c;
	m->fx.tag = "bench";
	m->fx.tag_len = 5;
	m->fx.now_ns = 1000000000000ull;
	for (unsigned i = 0; i < MBF_IDS; i++)
		snprintf(m->ids[i], sizeof(m->ids[i]), "req-%08x", i * 2654435761u);
	if (!plugin)
		return m;
	m->ops = dp_registry_filter(plugin);
	m->conf = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(m->conf, "FILTER", "bench.conf", 1);
	for (int i = 0; kv && kv[i]; i += 2)
		dp_conf_kv_add(m->conf, s, kv[i], kv[i + 1], "bench.conf", i / 2 + 2);
	m->f.ops = m->ops;
	snprintf(m->f.name, sizeof(m->f.name), "%s.0", plugin);
	m->f.cfg = calloc(1, m->ops->cfg_size);
	const struct dp_opt *const tabs[] = { dp_filter_common_opts, m->ops->opts };
	void *const cfgs[] = { &m->f, m->f.cfg };
	m->f.sec = s;
	if (dp_opt_apply(tabs, cfgs, 2, s, "[FILTER]", NULL, &err) || m->ops->setup(&m->f, &err)) {
		fprintf(stderr, "mbf_create %s: %s\n", plugin, err.msg);
		return NULL;
	}
	m->ctx = m->ops->shard_ctx_create(&m->f, 0);
	return m;
}

void mbf_destroy(struct mbf *m)
{
	if (!m)
		return;
	if (m->ops) {
		m->ops->shard_ctx_destroy(m->ctx);
		m->ops->teardown(&m->f);
		dp_opt_free(m->ops->opts, m->f.cfg);
		dp_opt_free(dp_filter_common_opts, &m->f);
		free(m->f.cfg);
		dp_conf_destroy(m->conf);
	}
	free(m->c.recs);
	free(m->c.fields);
	free(m->c.data);
	free(m);
}

#define PUT(k, v) dp_chunk_put_str(c, k, sizeof(k) - 1, v, sizeof(v) - 1)

uint64_t mbf_pass(struct mbf *m, unsigned n)
{
	struct dp_chunk *c = &m->c;
	uint64_t kept = 0;
	for (unsigned i = 0; i < n; i++) {
		if (c->nrecs >= DP_CHUNK_RECS - 1 || c->data_len > DP_CHUNK_DATA - 4096 ||
		    c->nfields > DP_CHUNK_FIELDS - 64)
			dp_chunk_reset(c);
		const char *id = m->ids[m->seq++ % MBF_IDS];
		dp_chunk_rec_begin(c, 1700000000u, 0);
		PUT("pri", "134");
		PUT("host", "web-17.example.net");
		PUT("ident", "nginx");
		PUT("pid", "4312");
		PUT("level", "info");
		dp_chunk_put_str(c, "request_id", 10, id, strlen(id));
		PUT("path", "/api/v1/orders/12345");
		PUT("message", "GET /api/v1/orders/12345 HTTP/1.1 200 512 0.003");
		if (dp_chunk_rec_end(c))
			abort();   /* the reset above leaves room: a bug */
		if (!m->ops || m->ops->record(m->ctx, &m->fx) == DP_FILTER_KEEP)
			kept++;
		else
			dp_tail_drop(c);
		m->fx.now_ns += 1000;
	}
	return kept;
}
