/*
 * flt_multiline_partial.c — the `multiline` filter's `mode partial_message`:
 * the pieces of a line that Docker's fluentd log driver cut (16 KiB each)
 * joined again, as Fluent Bit's plugins/filter_multiline (ml.c,
 * ml_filter_partial; ml_concat.c) does:
 *
 *   - a record whose "partial_message" is a string beginning with "true"
 *     (any case) and that has a "partial_id" is a piece; any other record
 *     goes on unchanged, in place;
 *   - pieces are joined per (input, tag, partial_id): multiline.key_content
 *     of each, appended as it is, no separator;
 *   - the piece whose "partial_last" begins with "true" completes the
 *     record, which takes that piece's place in the chunk (Fluent Bit
 *     writes it into the filter's output there): the FIRST piece's fields
 *     in their order, without key_content and without any key beginning
 *     with "partial_", then key_content with the joined text, last; the
 *     first piece's time;
 *   - a message no piece continued for flush_ms is completed as it is and
 *     emitted through the filter's emitter (Fluent Bit's partial_timer_cb),
 *     as is every open message when sluice stops;
 *   - a piece without key_content (or whose value is not a string) goes
 *     on unchanged, as in Fluent Bit.
 * Other pieces leave the chunk (they are in the joined record).
 *
 * Bounds, per shard: FLT_ML_PARTIALS messages open at once (one more
 * completes the least recently written one first, through the emitter,
 * counted as an eviction); a message holds PSR_ML_GROUP_MAX bytes (past
 * it, pieces are cut and the message counted truncated); a partial_id is
 * told apart by its first FLT_ML_PID_MAX bytes. Allocated when the shard
 * starts (about 2.2 MiB of address space, resident as used).
 *
 * Threads: setup on the control thread; the rest on the owning shard.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_edit.h"
#include "dp_filter.h"
#include "flt_multiline.h"

#define PM_PREFIX "partial_"

struct pm_msg {
	bool used;
	uint16_t input;
	uint16_t tag_len;
	uint8_t pid_len;
	bool truncated;
	char tag[DP_TAG_MAX];
	char pid[FLT_ML_PID_MAX];
	uint32_t sec, nsec;
	uint64_t last_ns;
	struct psr_ml_kept kept;   /* the first piece but the content and partial_* */
	uint32_t len;
	char text[PSR_ML_GROUP_MAX];
};

struct flt_ml_partial {
	const char *key;
	size_t klen;
	struct flt_ml_stats *stats;
	struct pm_msg msg[FLT_ML_PARTIALS];
};

struct flt_ml_partial *flt_ml_partial_create(const char *key, struct flt_ml_stats *stats)
{
	struct flt_ml_partial *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->key = key;
	p->klen = strlen(key);
	p->stats = stats;
	return p;
}

void flt_ml_partial_destroy(struct flt_ml_partial *p)
{
	free(p);
}

/* The value of the tail record's key k when a string (or bin), or NULL. */
static const char *val(struct dp_chunk *c, const char *k, size_t kl, size_t *len, int *at)
{
	int i = dp_tail_find(c, k, kl);
	if (i < 0)
		return NULL;
	const struct dp_field *f = dp_tail_field(c, (unsigned)i);
	if (f->type != DP_T_STR && f->type != DP_T_BIN)
		return NULL;
	*len = f->val_len;
	if (at)
		*at = i;
	return dp_field_val(c, f);
}

/* ml_is_partial / ml_is_partial_last: a value that begins with "true". */
static bool is_true(struct dp_chunk *c, const char *k, size_t kl)
{
	size_t n;
	const char *v = val(c, k, kl, &n, NULL);
	return v && n >= 4 && !strncasecmp(v, "true", 4);
}

/* Keep the first piece's fields but the content and partial_*; the
 * content goes last (ml_create_packer writes the split key last). */
static void keep(struct flt_ml_partial *p, struct pm_msg *m, struct dp_chunk *c, int content)
{
	struct psr_ml_kept *k = &m->kept;
	p->stats->ctx_fields_dropped += psr_ml_keep(k, c, content);
	unsigned n = 0;
	for (unsigned i = 0; i < k->nf; i++) {
		const struct psr_ml_fcopy *f = &k->f[i];
		if (f->klen >= sizeof(PM_PREFIX) - 1 &&
		    !memcmp(k->buf + f->koff, PM_PREFIX, sizeof(PM_PREFIX) - 1))
			continue;
		k->f[n++] = *f;
	}
	k->nf = (uint16_t)n;
	k->content_pos = (uint16_t)n;
}

struct pm_build {
	const struct flt_ml_partial *p;
	const struct pm_msg *m;
};

static int build_msg(struct dp_chunk *c, void *arg)
{
	const struct pm_build *b = arg;
	psr_ml_put_kept(&b->m->kept, c, b->p->key, b->p->klen, b->m->text, b->m->len);
	return 0;
}

/* A message completed out of place (timeout, stop, eviction). */
static void emit(struct flt_ml_partial *p, struct dp_fx *fx, struct pm_msg *m)
{
	struct pm_build b = { p, m };
	p->stats->groups++;
	p->stats->truncated += m->truncated;
	if (dp_fx_emit(fx, m->tag, m->tag_len, m->sec, m->nsec, build_msg, &b))
		p->stats->emit_failed++;
	m->used = false;
}

static struct pm_msg *find(struct flt_ml_partial *p, struct dp_fx *fx, const char *pid, size_t plen)
{
	size_t tl = fx->tag_len < DP_TAG_MAX ? fx->tag_len : DP_TAG_MAX;
	if (plen > FLT_ML_PID_MAX)
		plen = FLT_ML_PID_MAX;
	for (unsigned i = 0; i < FLT_ML_PARTIALS; i++) {
		struct pm_msg *m = &p->msg[i];
		if (m->used && m->input == fx->input && m->pid_len == plen && m->tag_len == tl &&
		    !memcmp(m->pid, pid, plen) && !memcmp(m->tag, fx->tag, tl))
			return m;
	}
	return NULL;
}

static struct pm_msg *open_msg(struct flt_ml_partial *p, struct dp_fx *fx, const char *pid, size_t plen)
{
	struct pm_msg *m = NULL, *lru = &p->msg[0];
	for (unsigned i = 0; i < FLT_ML_PARTIALS && !m; i++) {
		if (!p->msg[i].used)
			m = &p->msg[i];
		else if (p->msg[i].last_ns < lru->last_ns)
			lru = &p->msg[i];
	}
	if (!m) {
		emit(p, fx, lru);
		p->stats->evictions++;
		m = lru;
	}
	if (plen > FLT_ML_PID_MAX)
		plen = FLT_ML_PID_MAX;
	m->used = true;
	m->truncated = false;
	m->input = (uint16_t)fx->input;
	m->tag_len = (uint16_t)(fx->tag_len < DP_TAG_MAX ? fx->tag_len : DP_TAG_MAX);
	memcpy(m->tag, fx->tag, m->tag_len);
	m->pid_len = (uint8_t)plen;
	memcpy(m->pid, pid, plen);
	m->len = 0;
	return m;
}

/* The completed message in place of the tail record, when it fits in
 * the chunk; else through the emitter. */
static int complete_here(struct flt_ml_partial *p, struct dp_fx *fx, struct pm_msg *m)
{
	struct dp_chunk *c = fx->c;
	const struct dp_rec *r = dp_tail(c);
	size_t need = m->kept.len + p->klen + m->len + 16 * ((size_t)m->kept.nf + 1) + 64;
	if (c->data_len - r->len + need > DP_CHUNK_DATA ||
	    c->nfields - r->nfields + m->kept.nf + 1u > DP_CHUNK_FIELDS) {
		emit(p, fx, m);
		return DP_FILTER_DROP;
	}
	dp_tail_drop(c);
	dp_chunk_rec_begin(c, m->sec, m->nsec);
	psr_ml_put_kept(&m->kept, c, p->key, p->klen, m->text, m->len);
	dp_chunk_rec_end(c);   /* fits: checked above */
	p->stats->groups++;
	p->stats->truncated += m->truncated;
	m->used = false;
	return DP_FILTER_KEEP;
}

int flt_ml_partial_record(struct flt_ml_partial *p, struct dp_fx *fx)
{
	struct dp_chunk *c = fx->c;
	if (!is_true(c, "partial_message", 15))
		return DP_FILTER_KEEP;
	size_t plen, tlen;
	int content = -1;
	const char *pid = val(c, "partial_id", 10, &plen, NULL);
	const char *text = pid ? val(c, p->key, p->klen, &tlen, &content) : NULL;
	if (!text)
		return DP_FILTER_KEEP;   /* handled as not partial (ml_filter_partial) */
	struct pm_msg *m = find(p, fx, pid, plen);
	if (!m) {
		m = open_msg(p, fx, pid, plen);
		const struct dp_rec *r = dp_tail(c);
		m->sec = r->ts_sec;
		m->nsec = r->ts_nsec;
		keep(p, m, c, content);
		/* text, pid: the tail record's, untouched by the emit above */
	}
	size_t room = PSR_ML_GROUP_MAX - m->len;
	if (tlen > room) {
		tlen = room;
		m->truncated = true;
	}
	memcpy(m->text + m->len, text, tlen);
	m->len += (uint32_t)tlen;
	m->last_ns = fx->now_ns;
	if (is_true(c, "partial_last", 12))
		return complete_here(p, fx, m);
	return DP_FILTER_DROP;
}

void flt_ml_partial_tick(struct flt_ml_partial *p, struct dp_fx *fx, bool final, uint64_t flush_ns)
{
	for (unsigned i = 0; i < FLT_ML_PARTIALS; i++) {
		struct pm_msg *m = &p->msg[i];
		if (m->used && (final || fx->now_ns - m->last_ns > flush_ns))
			emit(p, fx, m);
	}
}
