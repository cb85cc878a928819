/*
 * sp_engine.c — building the stream processor from the [STREAM_TASK]
 * sections (parse, plan, per-shard state) and tearing it down. Control
 * thread, except sp_shard_create/destroy which run on their shard (the
 * shard's memory is then first touched where it is used).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sp_int.h"

static int sec_err(struct dp_err *err, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int sec_err(struct dp_err *err, const char *file, int line, const char *fmt, ...)
{
	char what[140];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dp_err_set(err, -EINVAL, "%s:%d: [STREAM_TASK] %s", file, line, what);
}

unsigned sp_engine_ntasks(const struct sp_engine *e)
{
	return e->nq;
}

const char *sp_engine_task_name(const struct sp_engine *e, unsigned task)
{
	return task < e->nq ? e->q[task].task : NULL;
}

static int read_section(const struct dp_conf_section *s, const char **name,
			const struct dp_conf_kv **exec, uint32_t *max_groups, struct dp_err *err)
{
	*name = NULL;
	*exec = NULL;
	*max_groups = SP_MAX_GROUPS_DEFAULT;
	for (unsigned i = 0; i < s->nkv; i++) {
		const struct dp_conf_kv *kv = &s->kv[i];
		if (strcasecmp(kv->key, "Name") == 0) {
			*name = kv->val;
		} else if (strcasecmp(kv->key, "Exec") == 0) {
			*exec = kv;
		} else if (strcasecmp(kv->key, "Max_Groups") == 0) {
			char *end;
			unsigned long long v = strtoull(kv->val, &end, 10);
			if (!*kv->val || *end || v == 0 || v > (1u << 30))
				return sec_err(err, kv->file, kv->line,
					       "Max_Groups: expected an integer from 1 to %u, got '%s'",
					       1u << 30, kv->val);
			*max_groups = (uint32_t)v;
		} else {
			return sec_err(err, kv->file, kv->line, "unknown key '%s'", kv->key);
		}
	}
	if (!*name || !**name)
		return sec_err(err, s->file, s->line, "missing key 'Name'");
	if (!*exec)
		return sec_err(err, s->file, s->line, "%s: missing key 'Exec'", *name);
	return 0;
}

/* Prefix a parser/planner message with where the statement is. */
static int stmt_err(struct dp_err *err, const struct dp_conf_kv *exec, const char *name)
{
	char msg[sizeof(err->msg)];
	snprintf(msg, sizeof(msg), "%s", err->msg);
	int code = err->code ? err->code : -EINVAL;
	return dp_err_set(err, code, "%s:%d: [STREAM_TASK] statement %s: %s", exec->file,
			  exec->line, name, msg);
}

static const char *prop(const struct sp_stmt *st, const char *k)
{
	for (unsigned i = 0; i < st->nprops; i++)
		if (strcasecmp(st->props[i].name, k) == 0)
			return st->props[i].val;
	return NULL;
}

struct sp_engine *sp_engine_create(const struct dp_conf_section *const *tasks, unsigned ntasks,
				   unsigned nshards, struct dp_err *err)
{
	return sp_engine_create_in(tasks, ntasks, nshards, NULL, err);
}

struct sp_engine *sp_engine_create_in(const struct dp_conf_section *const *tasks, unsigned ntasks,
				      unsigned nshards, const struct sp_inputs *inputs,
				      struct dp_err *err)
{
	struct sp_engine *e = calloc(1, sizeof(*e));
	if (!e || nshards == 0) {
		free(e);
		dp_err_set(err, nshards ? -ENOMEM : -EINVAL, nshards ? "out of memory" : "no shards");
		return NULL;
	}
	e->nq = ntasks;
	e->nshards = nshards;
	e->q = calloc(ntasks + 1, sizeof(*e->q));
	e->st = calloc(ntasks + 1, sizeof(*e->st));
	e->nwin = calloc(ntasks + 1, sizeof(*e->nwin));
	e->names = calloc(ntasks + 1, sizeof(*e->names));
	e->m = calloc(ntasks + 1, sizeof(*e->m));
	e->rings = calloc(nshards, sizeof(*e->rings));
	e->wm = aligned_alloc(DP_CACHE_LINE, nshards * sizeof(*e->wm));
	e->shards = calloc(nshards, sizeof(*e->shards));
	const struct dp_conf_kv **execs = calloc(ntasks + 1, sizeof(*execs));
	uint32_t *maxg = calloc(ntasks + 1, sizeof(*maxg));
	if (!e->q || !e->st || !e->names || !e->nwin || !e->m || !e->rings || !e->wm || !e->shards || !execs ||
	    !maxg) {
		dp_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned s = 0; s < nshards; s++)
		atomic_init(&e->wm[s].v, 0);

	/* Parse every statement first: STREAM:name may name a later task. */
	for (unsigned i = 0; i < ntasks; i++) {
		const char *name;
		if (read_section(tasks[i], &name, &execs[i], &maxg[i], err))
			goto fail;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(e->q[j].task, name) == 0) {
				sec_err(err, tasks[i]->file, tasks[i]->line,
					"task name '%s' used twice", name);
				goto fail;
			}
		if (!(e->names[i] = strdup(name)))
			goto nomem;
		e->q[i].task = e->names[i];
		e->q[i].idx = i;
		e->st[i] = sp_parse(execs[i]->val, strlen(execs[i]->val), err);
		if (!e->st[i]) {
			stmt_err(err, execs[i], name);
			goto fail;
		}
		for (unsigned j = 0; j < i; j++)
			if (e->st[i]->kind == SP_ST_CREATE_STREAM && e->st[j]->kind == SP_ST_CREATE_STREAM &&
			    strcmp(e->st[i]->name, e->st[j]->name) == 0) {
				dp_err_set(err, -EINVAL, "line 1, column 1: stream '%s' created twice",
					   e->st[i]->name);
				stmt_err(err, execs[i], name);
				goto fail;
			}
	}
	for (unsigned i = 0; i < ntasks; i++) {
		struct sp_query *q = &e->q[i];
		struct sp_stmt *st = e->st[i];
		q->max_groups = maxg[i];
		for (unsigned p = 0; p < st->nprops; p++)
			if (st->kind != SP_ST_CREATE_SNAPSHOT && /* sp_snap_plan checks those */
			    strcasecmp(st->props[p].name, "tag") != 0) {
				dp_err_set(err, -EINVAL, "unknown property '%s' (only tag)",
					   st->props[p].name);
				stmt_err(err, execs[i], q->task);
				goto fail;
			}
		if (sp_plan(q, st, e->st, ntasks, inputs, err)) {
			stmt_err(err, execs[i], q->task);
			goto fail;
		}
		const char *tag = prop(st, "tag");
		q->tag = tag ? tag : st->kind == SP_ST_CREATE_STREAM ? st->name : q->task;
		q->tag_len = strlen(q->tag);
		if (q->tag_len >= DP_TAG_MAX) {
			dp_err_set(err, -EINVAL, "tag longer than %d bytes", DP_TAG_MAX - 1);
			stmt_err(err, execs[i], q->task);
			goto fail;
		}
		e->maxslots = DP_MAX(e->maxslots, q->nslots);
		e->maxout = DP_MAX(e->maxout, q->nout);
		if (q->aggregating) {
			/* open: overlap + 1 (the next may open before a tick
			 * closes the last); as many again in the merger's hands */
			e->nwin[i] = 2 * (q->open_max + 1) + 2;
			struct sp_qmerge *m = &e->m[i];
			m->nw = e->nwin[i];
			m->w = calloc(m->nw, sizeof(*m->w));
			if (!m->w)
				goto nomem;
			for (unsigned w = 0; w < m->nw; w++)
				if (sp_tab_init(&m->w[w].tab, q->nwords, q->max_groups))
					goto nomem;
		}
	}
	if (sp_snap_engine_init(e) || sp_win_engine_init(e))
		goto nomem;
	uint32_t ring = 1;
	for (unsigned i = 0; i < ntasks; i++)
		ring += e->nwin[i];
	for (unsigned s = 0; s < nshards; s++)
		if (!(e->rings[s] = dp_ring_create(ring)))
			goto nomem;
	free(execs);
	free(maxg);
	return e;
nomem:
	dp_err_set(err, -ENOMEM, "out of memory");
fail:
	free(execs);
	free(maxg);
	sp_engine_destroy(e);
	return NULL;
}

void sp_engine_set_str_num(struct sp_engine *e, bool on)
{
	for (unsigned i = 0; i < e->nq; i++)
		e->q[i].no_str_num = !on;
}

void sp_engine_destroy(struct sp_engine *e)
{
	if (!e)
		return;
	for (unsigned i = 0; i < e->nq; i++) {
		if (e->q)
			sp_plan_fini(&e->q[i]);
		if (e->st)
			sp_stmt_free(e->st[i]);
		if (e->m && e->m[i].w) {
			for (unsigned w = 0; w < e->m[i].nw; w++)
				sp_tab_fini(&e->m[i].w[w].tab);
			free(e->m[i].w);
		}
	}
	sp_win_engine_fini(e);
	for (unsigned s = 0; e->rings && s < e->nshards; s++)
		dp_ring_destroy(e->rings[s]);
	sp_snap_engine_fini(e);
	free(e->rings);
	free(e->wm);
	free(e->shards);
	free(e->q);
	free(e->st);
	for (unsigned i = 0; e->names && i < e->nq; i++)
		free(e->names[i]);
	free(e->names);
	free(e->nwin);
	free(e->m);
	free(e);
}

struct sp_shard *sp_shard_create(struct sp_engine *e, unsigned shard)
{
	if (shard >= e->nshards)
		return NULL;
	struct sp_shard *s = aligned_alloc(DP_CACHE_LINE,
					   (sizeof(*s) + DP_CACHE_LINE - 1) & ~(size_t)(DP_CACHE_LINE - 1));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->e = e;
	s->id = shard;
	s->wins = calloc(e->nq + 1, sizeof(*s->wins));
	s->st = calloc(e->nq + 1, sizeof(*s->st));
	s->rl = calloc(e->nq + 1, sizeof(*s->rl));
	s->warned = calloc(e->nq + 1, sizeof(*s->warned));
	s->vals = calloc(e->maxslots + 1, sizeof(*s->vals));
	s->outv = calloc(e->maxout + 1, sizeof(*s->outv));
	if (!s->wins || !s->st || !s->rl || !s->warned || !s->vals || !s->outv || sp_win_shard_init(s))
		goto fail;
	for (unsigned i = 0; i < e->nq; i++) {
		if (!e->nwin[i])
			continue;
		s->wins[i] = calloc(e->nwin[i], sizeof(struct sp_win));
		if (!s->wins[i])
			goto fail;
		for (unsigned w = 0; w < e->nwin[i]; w++) {
			s->wins[i][w].q = i;
			if (sp_tab_init(&s->wins[i][w].tab, e->q[i].nwords, e->q[i].max_groups))
				goto fail;
		}
	}
	if (sp_snap_shard_init(s))
		goto fail;
	atomic_store_explicit(&e->shards[shard], s, memory_order_release);
	return s;
fail:
	sp_shard_destroy(s);
	return NULL;
}

void sp_shard_destroy(struct sp_shard *s)
{
	if (!s)
		return;
	struct sp_engine *e = s->e;
	if (atomic_load(&e->shards[s->id]) == s)
		atomic_store(&e->shards[s->id], NULL);
	for (unsigned i = 0; s->wins && i < e->nq; i++) {
		if (!s->wins[i])
			continue;
		for (unsigned w = 0; w < e->nwin[i]; w++)
			sp_tab_fini(&s->wins[i][w].tab);
		free(s->wins[i]);
	}
	sp_win_shard_fini(s);
	free(s->wins);
	sp_snap_shard_fini(s);
	free(s->st);
	free(s->rl);
	free(s->warned);
	free(s->vals);
	free(s->outv);
	free(s);
}

void sp_engine_stats(struct sp_engine *e, unsigned task, struct sp_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (task >= e->nq)
		return;
	for (unsigned i = 0; i < e->nshards; i++) {
		struct sp_shard *s = atomic_load_explicit(&e->shards[i], memory_order_acquire);
		if (!s)
			continue;
		const struct sp_qstat *q = &s->st[task];
		out->records_in += __atomic_load_n(&q->in, __ATOMIC_RELAXED);
		out->emitted += __atomic_load_n(&q->emitted, __ATOMIC_RELAXED);
		out->emit_failed += __atomic_load_n(&q->emit_failed, __ATOMIC_RELAXED);
		out->groups_dropped += __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
		out->late += __atomic_load_n(&q->late, __ATOMIC_RELAXED);
		out->no_time += __atomic_load_n(&q->no_time, __ATOMIC_RELAXED);
		out->groups_dropped += sp_snap_dropped(s, task);   /* a snapshot's memory limit */
	}
}
