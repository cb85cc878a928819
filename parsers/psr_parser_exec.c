/*
 * psr_parser_exec.c — running a [PARSER] over one text into the open record
 * of a chunk (contract in psr_parser.h), and its per-shard state.
 *
 * Every format turns into a stream of (key, value) pairs that emit()
 * writes, applying in Fluent Bit's order: Skip_Empty_Values, the time key,
 * decoders, Types. JSON is the exception: psr_json writes the fields
 * itself, then the time key and decoders are applied to what it wrote.
 * On -EINVAL the chunk is rolled back to where it was (dp_chunk_mark), and
 * the record time is written only once everything succeeded.
 *
 * Threads: the shard that owns the state and the chunk. No allocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_edit.h"
#include "psr_json.h"
#include "psr_kv.h"
#include "psr_parser_int.h"

struct psr_parser_state {
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jst;
	struct psr_tcache tc;
	char *scratch;          /* decoders: one value, DP_CHUNK_DATA bytes */
};

struct run {
	const struct psr_parser *p;
	struct psr_parser_state *st;
	struct dp_chunk *c;
	int64_t now;
	bool time_set;
	int64_t sec;
	uint32_t nsec;
};

struct psr_parser_state *psr_parser_state_create(const struct psr_parser *p)
{
	struct psr_parser_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	psr_tcache_init(&st->tc);
	if (p->re) {
		st->md = pcre2_match_data_create_from_pattern(p->re, NULL);
		st->mctx = pcre2_match_context_create(NULL);
		if (!st->md || !st->mctx)
			goto fail;
		if (p->jit) {
			/* The default 32 KiB machine stack fails patterns that
			 * backtrack deeply; give each shard its own. */
			st->jst = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
			if (!st->jst)
				goto fail;
			pcre2_jit_stack_assign(st->mctx, NULL, st->jst);
		}
	}
	if (p->ndecs && !(st->scratch = malloc(DP_CHUNK_DATA)))
		goto fail;
	return st;
fail:
	psr_parser_state_destroy(st);
	return NULL;
}

void psr_parser_state_destroy(struct psr_parser_state *st)
{
	if (!st)
		return;
	pcre2_match_data_free(st->md);
	pcre2_match_context_free(st->mctx);
	if (st->jst)
		pcre2_jit_stack_free(st->jst);
	free(st->scratch);
	free(st);
}

void psr_parser_state_time_stats(const struct psr_parser_state *st, uint64_t *hits,
				 uint64_t *misses)
{
	*hits = st->tc.hits;
	*misses = st->tc.misses;
}

/* ---- values ---- */

static int time_parse(struct run *r, const char *v, size_t n)
{
	const struct psr_parser *p = r->p;
	int64_t sec;
	uint32_t nsec;
	unsigned i;
	for (i = 0; i < p->ntfmt; i++)
		if (!psr_strptime(&p->tfmt[i], &r->st->tc, v, n, r->now, p->time_off, p->tflags, &sec,
				  &nsec))
			break;
	if (i == p->ntfmt)
		return -EINVAL;
	if (sec < 0 || sec > UINT32_MAX)  /* the event time is 32-bit seconds */
		return -EINVAL;
	r->time_set = true;
	r->sec = sec;
	r->nsec = nsec;
	return 0;
}

static bool parse_int(const char *v, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n && (v[0] == '-' || v[0] == '+'))
		neg = v[i++] == '-';
	if (i == n)
		return false;
	uint64_t x = 0;
	for (; i < n; i++) {
		unsigned d = (unsigned)(v[i] - '0');
		if (d > 9 || __builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, d, &x))
			return false;
	}
	if (neg ? x > (uint64_t)INT64_MAX + 1 : x > INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - x) : (int64_t)x;
	return true;
}

static bool parse_hex(const char *v, size_t n, uint64_t *out)
{
	size_t i = (n > 2 && v[0] == '0' && (v[1] | 0x20) == 'x') ? 2 : 0;
	if (i == n || n - i > 16)
		return false;
	uint64_t x = 0;
	for (; i < n; i++) {
		char ch = v[i];
		unsigned d = (unsigned)(ch - '0') < 10 ? (unsigned)(ch - '0')
			   : (unsigned)((ch | 0x20) - 'a') < 6 ? (unsigned)((ch | 0x20) - 'a' + 10)
			   : 16;
		if (d > 15)
			return false;
		x = x << 4 | d;
	}
	*out = x;
	return true;
}

static bool parse_float(const char *v, size_t n, double *out)
{
	char buf[64];
	if (!n || n >= sizeof(buf))
		return false;
	memcpy(buf, v, n);
	buf[n] = '\0';
	char *end;
	*out = strtod(buf, &end);
	return end == buf + n;
}

/* A typed value; false when it does not convert (the caller writes the
 * string). */
static bool put_typed(struct dp_chunk *c, const char *k, size_t kl, const char *v, size_t n, int ty)
{
	int64_t i;
	uint64_t u;
	double d;
	switch (ty) {
	case PSR_TY_INT:
		if (!parse_int(v, n, &i))
			return false;
		dp_chunk_put_int(c, k, kl, i);
		return true;
	case PSR_TY_HEX:
		if (!parse_hex(v, n, &u))
			return false;
		if (u <= INT64_MAX) {
			dp_chunk_put_int(c, k, kl, (int64_t)u);
		} else {
			uint8_t b[9] = { 0xcf };
			for (int j = 0; j < 8; j++)
				b[1 + j] = (uint8_t)(u >> (56 - 8 * j));
			dp_chunk_field_begin(c, k, kl);
			dp_chunk_write(c, b, sizeof(b));
			dp_chunk_field_end(c, DP_T_UINT);
		}
		return true;
	case PSR_TY_FLOAT:
		if (!parse_float(v, n, &d))
			return false;
		dp_chunk_put_double(c, k, kl, d);
		return true;
	case PSR_TY_BOOL:
		if (n == 4 && !strncasecmp(v, "true", 4))
			dp_chunk_put_bool(c, k, kl, true);
		else if (n == 5 && !strncasecmp(v, "false", 5))
			dp_chunk_put_bool(c, k, kl, false);
		else
			return false;
		return true;
	default:
		return false;
	}
}

/* A string field whose value has backslash escapes, decoded straight into
 * the chunk (the decoded text is never longer). */
static void put_unescaped(struct dp_chunk *c, const char *k, size_t kl, const char *v, size_t n)
{
	dp_chunk_field_begin(c, k, kl);
	uint32_t hdr = dp_mp_str_open(c, n);
	if (c->overflow)
		return;
	size_t m = psr_kv_unescape(v, n, (char *)c->data + c->data_len);
	dp_chunk_commit(c, m);
	dp_mp_str_patch(c, hdr, m);
	dp_chunk_field_end(c, DP_T_STR);
}

/* The JSON object in buf as field k's value: a nested map. psr_json
 * writes top-level members as indexed fields; they are un-indexed here
 * (they are the map's pairs) and the map header counts them. */
static int put_json_map(struct dp_chunk *c, const char *k, size_t kl, const char *buf, size_t n)
{
	struct dp_mark m = dp_chunk_mark(c);
	dp_chunk_field_begin(c, k, kl);
	uint32_t hdr = dp_mp_map_open(c);
	uint32_t nf0 = c->nfields;
	if (psr_json_parse(c, buf, n)) {
		dp_chunk_rollback(c, m);
		return -EINVAL;
	}
	uint32_t members = c->nfields - nf0;
	c->nfields = nf0;
	c->cur_nfields -= members;
	dp_mp_container_patch(c, hdr, members);
	dp_chunk_field_end(c, DP_T_MAP);
	return 0;
}

static const struct psr_type *type_of(const struct psr_parser *p, const char *k, size_t kl)
{
	for (unsigned i = 0; i < p->ntypes; i++)
		if (p->types[i].klen == kl && !memcmp(p->types[i].key, k, kl))
			return &p->types[i];
	return NULL;
}

static bool has_decoder(const struct psr_parser *p, const char *k, size_t kl)
{
	for (unsigned i = 0; i < p->ndecs; i++)
		if (p->decs[i].klen == kl && !memcmp(p->decs[i].key, k, kl))
			return true;
	return false;
}

/*
 * The decoder rules of field k over its string v, writing the field (and,
 * for Decode_Field json, the decoded members right after it). Rules run in
 * order: the next one runs after a success with do_next (on the decoded
 * text) or after a failure with try_next; otherwise the chain stops.
 * Returns true when it wrote the field.
 */
static bool put_decoded(struct run *r, const char *k, size_t kl, const char *v, size_t n)
{
	const struct psr_parser *p = r->p;
	struct dp_chunk *c = r->c;
	char *buf = r->st->scratch;
	if (n > DP_CHUNK_DATA)
		return false;
	memcpy(buf, v, n);  /* v may be in the chunk; decoding works in place */
	size_t len = n;
	bool changed = false, extra = false, go = true;
	for (unsigned i = 0; i < p->ndecs && go; i++) {
		const struct psr_dec *d = &p->decs[i];
		if (d->klen != kl || memcmp(d->key, k, kl))
			continue;
		bool ok;
		if (d->backend == PSR_DEC_JSON) {
			/* Fluent Bit unescapes first: the JSON may be stringified */
			size_t m = psr_kv_unescape(buf, len, buf);
			ok = m && buf[0] == '{';
			if (ok && d->as) {
				if (put_json_map(c, k, kl, buf, m) == 0)
					return true;  /* a map: no decoder applies after it */
				ok = false;
			} else if (ok) {
				/* Decode_Field: the field as it was, then the members */
				struct dp_mark mk = dp_chunk_mark(c);
				if (changed)
					dp_chunk_put_str(c, k, kl, buf, len);
				else
					dp_chunk_put_str(c, k, kl, v, n);
				if (psr_json_parse(c, buf, m)) {
					dp_chunk_rollback(c, mk);
					ok = false;
				} else {
					extra = true;
					break;
				}
			}
		} else {
			len = psr_kv_unescape(buf, len, buf);
			changed = ok = true;
		}
		go = ok ? d->action == PSR_ACT_DO_NEXT : d->action == PSR_ACT_TRY_NEXT;
	}
	if (extra)
		return true;
	if (!changed)
		return false;
	dp_chunk_put_str(c, k, kl, buf, len);
	return true;
}

/* One pair of a regex, logfmt or LTSV parse. -EINVAL only for a logfmt
 * time that does not parse (Fluent Bit fails the line then). */
static int emit(struct run *r, const char *k, size_t kl, const char *v, size_t n,
		enum psr_kv_kind kind)
{
	const struct psr_parser *p = r->p;
	struct dp_chunk *c = r->c;
	if (n == 0 && kind != PSR_KV_TRUE && p->skip_empty && p->format != PSR_FMT_LOGFMT)
		return 0;
	if (p->has_time && kl == p->time_key_len && !memcmp(k, p->time_key, kl) && n) {
		if (time_parse(r, v, n))
			return p->format == PSR_FMT_LOGFMT ? -EINVAL : 0;
		if (!p->time_keep)
			return 0;
	}
	if (kind == PSR_KV_TRUE) {
		dp_chunk_put_bool(c, k, kl, true);
		return 0;
	}
	if (p->ndecs && has_decoder(p, k, kl) && put_decoded(r, k, kl, v, n))
		return 0;
	const struct psr_type *t = p->ntypes ? type_of(p, k, kl) : NULL;
	if (t && t->type != PSR_TY_STR && kind == PSR_KV_PLAIN && put_typed(c, k, kl, v, n, t->type))
		return 0;
	if (kind == PSR_KV_ESCAPED)
		put_unescaped(c, k, kl, v, n);
	else
		dp_chunk_put_str(c, k, kl, v, n);
	return 0;
}

/* ---- formats ---- */

static int run_regex(struct run *r, const char *text, size_t len)
{
	const struct psr_parser *p = r->p;
	struct psr_parser_state *st = r->st;
	/* PCRE2 wants a non-NULL subject even when it is empty */
	PCRE2_SPTR subj = (PCRE2_SPTR)(text ? text : "");
	int rc = p->jit ? pcre2_jit_match(p->re, subj, len, 0, PCRE2_NO_UTF_CHECK, st->md, st->mctx)
			: pcre2_match(p->re, subj, len, 0, PCRE2_NO_UTF_CHECK, st->md, st->mctx);
	if (rc < 0)
		return -EINVAL;
	const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(st->md);
	for (unsigned i = 0; i < p->ncaps; i++) {
		const struct psr_cap *cp = &p->caps[i];
		if (cp->dup)
			continue;
		PCRE2_SIZE s = ov[2 * cp->group], e = ov[2 * cp->group + 1];
		if (s == PCRE2_UNSET || (int)cp->group >= rc)
			s = e = 0;
		for (int a = cp->next; a >= 0 && s == e; a = p->caps[a].next) {
			unsigned g = p->caps[a].group;
			if ((int)g < rc && ov[2 * g] != PCRE2_UNSET) {
				s = ov[2 * g];
				e = ov[2 * g + 1];
			}
		}
		emit(r, cp->name, cp->len, (const char *)subj + s, e - s, PSR_KV_PLAIN);
	}
	return 0;
}

static int run_kv(struct run *r, const char *text, size_t len, bool ltsv)
{
	struct psr_kv_tok t;
	size_t pos = 0;
	unsigned n = 0;
	int rc;
	while ((rc = ltsv ? psr_ltsv_next(text, len, &pos, &t)
			  : psr_logfmt_next(text, len, &pos, &t)) > 0) {
		if (t.kind == PSR_KV_TRUE && r->p->no_bare_keys)
			return -EINVAL;
		if (emit(r, t.key, t.klen, t.val, t.vlen, t.kind))
			return -EINVAL;
		n++;
	}
	return rc < 0 || n == 0 ? -EINVAL : 0;
}

static int run_json(struct run *r, const char *text, size_t len)
{
	const struct psr_parser *p = r->p;
	struct dp_chunk *c = r->c;
	unsigned f0 = c->cur_nfields;
	if (psr_json_parse(c, text, len))
		return -EINVAL;
	if (c->overflow)
		return 0;
	unsigned end = c->cur_nfields;
	/* Decoders first (Fluent Bit's order): the decoded field is appended
	 * and the original removed, so it moves to the end of the record. */
	for (unsigned i = f0; p->ndecs && i < end;) {
		struct dp_field *f = dp_tail_field(c, i);
		const char *k = dp_field_key(c, f);
		if (f->type == DP_T_STR && has_decoder(p, k, f->key_len) &&
		    put_decoded(r, k, f->key_len, dp_field_val(c, f), f->val_len)) {
			dp_tail_remove(c, i);
			end--;
			if (c->overflow)
				return 0;
			continue;
		}
		i++;
	}
	if (!p->has_time)
		return 0;
	for (unsigned i = f0; i < c->cur_nfields; i++) {
		struct dp_field *f = dp_tail_field(c, i);
		if (f->key_len != p->time_key_len || memcmp(dp_field_key(c, f), p->time_key, f->key_len))
			continue;
		/* A time that does not parse (or is not a string) stays. */
		if (f->type == DP_T_STR && !time_parse(r, dp_field_val(c, f), f->val_len) &&
		    !p->time_keep)
			dp_tail_remove(c, i);
		break;
	}
	return 0;
}

int psr_parser_exec(const struct psr_parser *p, struct psr_parser_state *st, struct dp_chunk *c,
		    const char *text, size_t len)
{
	struct run r = { .p = p, .st = st, .c = c };
	struct dp_mark m = dp_chunk_mark(c);
	int rc;
	if (!c->overflow)
		r.now = dp_mp_rd32(c->data + c->cur_off + 3);
	switch (p->format) {
	case PSR_FMT_REGEX:  rc = run_regex(&r, text, len); break;
	case PSR_FMT_JSON:   rc = run_json(&r, text, len); break;
	case PSR_FMT_LOGFMT: rc = run_kv(&r, text, len, false); break;
	default:             rc = run_kv(&r, text, len, true); break;
	}
	if (rc) {
		dp_chunk_rollback(c, m);
		return -EINVAL;
	}
	if (r.time_set)
		dp_chunk_rec_set_time(c, (uint32_t)r.sec, r.nsec);
	return 0;
}
