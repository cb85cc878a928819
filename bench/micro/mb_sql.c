/*
 * mb_sql.c — the timed loops of the SQL micro-benchmark (mb_sql.h).
 *
 * One chunk of 1024 syslog-like records (every field a string, as the
 * syslog parser writes them: ident "g0000000", user "u0000000", lat
 * "1234"); before each pass the digits are rewritten in place, so every
 * pass walks the next 1024 groups of a fixed permutation of all groups
 * and brings new users and latencies. Each record is made the chunk's
 * tail in turn (nrecs = i + 1) and handed to sp_shard_record, which is
 * what a shard does after its filters. Results go to a scratch chunk.
 *
 * Threads: the benchmark thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dp_conf.h"
#include "dp_edit.h"
#include "mb_sql.h"
#include "sp.h"
#include "sp_int.h"

#define MBS_RECS DP_CHUNK_RECS
#define SEC 1000000000ull

struct mb_sql {
	struct sp_engine *e;
	struct sp_shard *s;
	struct dp_chunk c, out;
	struct dp_fx fx;
	uint8_t *ident[MBS_RECS], *user[MBS_RECS], *lat[MBS_RECS];
	uint32_t groups;
	uint64_t seq, results;
	int mode;
};

static int discard_emit(struct dp_fx *fx, const char *tag, size_t tag_len, uint32_t sec,
			uint32_t nsec, dp_build_fn build, void *arg)
{
	struct mb_sql *m = (struct mb_sql *)((char *)fx - offsetof(struct mb_sql, fx));
	(void)tag;
	(void)tag_len;
	for (int tries = 0; tries < 2; tries++) {
		dp_chunk_rec_begin(&m->out, sec, nsec);
		if (build(&m->out, arg)) {
			dp_chunk_rec_abort(&m->out);
			return -1;
		}
		if (dp_chunk_rec_end(&m->out) == 0) {
			m->results++;
			return 0;
		}
		dp_chunk_reset(&m->out);
	}
	return -1;
}

static void digits(uint8_t *p, unsigned n, uint32_t v)
{
	for (unsigned i = n; i-- > 0; v /= 10)
		p[i] = (uint8_t)('0' + v % 10);
}

/* The payload of field f of record r (a string of n bytes). */
static uint8_t *payload(struct dp_chunk *c, struct dp_rec *r, unsigned f, unsigned n)
{
	const struct dp_field *fl = dp_rec_fields(c, r) + f;
	return c->data + fl->val_off + fl->val_len - n;
}

static uint64_t feed(struct mb_sql *m, unsigned nrec)
{
	for (unsigned i = 0; i < nrec; i++) {
		uint64_t k = m->seq++;
		/* k -> k x 2654435761 (a prime) mod groups: any `groups`
		 * consecutive records name every group once, far apart */
		uint32_t g = (uint32_t)((k % m->groups) * 2654435761ull % m->groups);
		uint32_t h = (uint32_t)(k * 0x9e3779b1u);
		digits(m->ident[i], 7, g);
		digits(m->user[i], 7, h % 1000000);
		digits(m->lat[i], 4, 1 + (h >> 12) % 9999);
	}
	if (m->mode == MB_SQL_NONE)
		return nrec;
	for (unsigned i = 0; i < nrec; i++) {
		m->c.nrecs = i + 1;
		sp_shard_record(m->s, &m->fx, -1);
	}
	m->c.nrecs = MBS_RECS;
	return nrec;
}

struct mb_sql *mb_sql_create(uint32_t groups, int mode)
{
	static const char *const sql[] = {
		"SELECT ident, COUNT(*), AVG(lat) FROM TAG:'syslog.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident",
		"SELECT ident, COUNT(*), COUNT(DISTINCT user) FROM TAG:'syslog.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident",
		"SELECT ident, COUNT(*), PERCENTILE(lat, 0.99) FROM TAG:'syslog.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident",
		"SELECT ident, COUNT(*) FROM TAG:'syslog.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident",
		"SELECT ident, COUNT(*) FROM TAG:'syslog.*' WINDOW TUMBLING (1 SECOND) GROUP BY ident",
	};
	struct mb_sql *m = calloc(1, sizeof(*m));
	if (!m || !groups)
		return NULL;
	m->groups = groups;
	m->mode = mode;
	dp_chunk_init(&m->c, calloc(DP_CHUNK_RECS, sizeof(struct dp_rec)),
		      calloc(DP_CHUNK_FIELDS, sizeof(struct dp_field)), malloc(DP_CHUNK_DATA));
	dp_chunk_init(&m->out, calloc(DP_CHUNK_RECS, sizeof(struct dp_rec)),
		      calloc(DP_CHUNK_FIELDS, sizeof(struct dp_field)), malloc(DP_CHUNK_DATA));
	for (unsigned i = 0; i < MBS_RECS; i++) {
		dp_chunk_rec_begin(&m->c, 1700000000u, 0);
		dp_chunk_put_str(&m->c, "ident", 5, "g0000000", 8);
		dp_chunk_put_str(&m->c, "user", 4, "u0000000", 8);
		dp_chunk_put_str(&m->c, "lat", 3, "1000", 4);
		dp_chunk_put_str(&m->c, "host", 4, "web-01", 6);
		if (dp_chunk_rec_end(&m->c))
			return NULL;
		struct dp_rec *r = &m->c.recs[i];
		m->ident[i] = payload(&m->c, r, 0, 7);
		m->user[i] = payload(&m->c, r, 1, 7);
		m->lat[i] = payload(&m->c, r, 2, 4);
	}
	char maxg[16];
	snprintf(maxg, sizeof(maxg), "%u", groups);
	struct dp_conf *conf = dp_conf_create();
	struct dp_conf_section *sec = dp_conf_section_add(conf, "STREAM_TASK", "bench.conf", 1);
	dp_conf_kv_add(conf, sec, "Name", "bench", "bench.conf", 2);
	dp_conf_kv_add(conf, sec, "Exec", sql[mode], "bench.conf", 3);
	dp_conf_kv_add(conf, sec, "Max_Groups", maxg, "bench.conf", 4);
	const struct dp_conf_section *secs[1] = { &conf->sec[0] };
	struct dp_err err = { 0 };
	m->e = sp_engine_create(secs, 1, 1, &err);
	dp_conf_destroy(conf);
	if (!m->e || !(m->s = sp_shard_create(m->e, 0))) {
		fprintf(stderr, "mb_sql_create: %s\n", err.msg);
		return NULL;
	}
	m->fx.c = &m->c;
	m->fx.tag = "syslog.app";
	m->fx.tag_len = 10;
	m->fx.emit = discard_emit;
	/* the middle of a window that no tick closes during passes */
	m->fx.now_real_ns = 1700000000ull * SEC + SEC / 2;
	/* steady state: every group in the table, sketches past their start */
	uint64_t warm = (uint64_t)groups * (mode == MB_SQL_DISTINCT ? 2 : 1) +
			MBS_RECS * (mode == MB_SQL_DISTINCT ? 8 : 1);
	while (m->seq < warm)
		feed(m, MBS_RECS);
	return m;
}

uint64_t mb_sql_pass(struct mb_sql *m)
{
	return feed(m, MBS_RECS);
}

uint64_t mb_sql_window(struct mb_sql *m)
{
	/* the next window: one record per group, then it closes */
	m->fx.now_real_ns += SEC;
	uint64_t n = 0;
	m->seq -= m->seq % m->groups;
	while (n < m->groups)
		n += feed(m, m->groups - n < MBS_RECS ? (unsigned)(m->groups - n) : MBS_RECS);
	uint64_t now = m->fx.now_real_ns;
	m->fx.now_real_ns = now - now % SEC + SEC;
	sp_shard_tick(m->s, &m->fx, false);
	m->fx.now_real_ns = now;
	return n;
}

uint64_t mb_sql_results(const struct mb_sql *m)
{
	return m->results;
}

uint64_t mb_sql_state_bytes(const struct mb_sql *m)
{
	uint64_t most = 0;
	const struct sp_win *w = m->s->wins[0];
	for (unsigned i = 0; i < m->e->nwin[0]; i++) {
		const struct sp_tab *t = &w[i].tab;
		uint64_t b = (uint64_t)t->cap * sizeof(*t->idx) + (uint64_t)t->gcap * sizeof(*t->g) +
			     (uint64_t)t->gcap * t->nwords * sizeof(*t->w) + t->kcap + t->sk.slab_bytes;
		if (b > most)
			most = b;
	}
	return most;
}

void mb_sql_destroy(struct mb_sql *m)
{
	if (!m)
		return;
	sp_shard_destroy(m->s);
	sp_engine_destroy(m->e);
	free(m->c.recs);
	free(m->c.fields);
	free(m->c.data);
	free(m->out.recs);
	free(m->out.fields);
	free(m->out.data);
	free(m);
}
