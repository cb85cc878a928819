/*
 * flt_multiline_line.c — the multiline filter's line mode (flt_multiline.c
 * says when): parsers that parse the record's key_content first (a
 * [MULTILINE_PARSER]'s `parser`, docker's and cri's own), each in streams
 * of its own, tried in order, the one that took the last record first, as
 * Fluent Bit's flb_ml_append_object and ml_append_try_parser do.
 *
 * Threads: the shard that owns the context.
 */
#include <stdlib.h>
#include <string.h>
#include "flt_multiline_int.h"
#include "psr_parser.h"

void flt_ml_line_free(struct ml_line *ln)
{
	if (!ln)
		return;
	for (unsigned i = 0; i < PSR_ML_MAX_PARSERS; i++)
		if (ln->pst[i])
			psr_parser_state_destroy(ln->pst[i]);
	free(ln);
}

struct ml_line *flt_ml_line_create(const struct flt_ml *ml)
{
	struct ml_line *ln = calloc(1, sizeof(*ln));
	if (!ln)
		return NULL;
	dp_chunk_init(&ln->sc, ln->recs, ln->fields, ln->data);
	for (unsigned i = 0; i < ml->np; i++)
		if (ml->lp[i] && !(ln->pst[i] = psr_parser_state_create(ml->lp[i]))) {
			flt_ml_line_free(ln);
			return NULL;
		}
	return ln;
}

/* Field k of c's tail record when its value is a string (dp_tail_find_str),
 * its number in *at. */
static const struct dp_field *str_field(struct dp_chunk *c, const char *k, size_t kl, int *at)
{
	int i = dp_tail_find_str(c, k, kl);
	if (i < 0)
		return NULL;
	if (at)
		*at = i;
	return dp_tail_field(c, (unsigned)i);
}

/* Parser i's take on the record (content: its key_content, a string):
 * line mode, as flb_ml.c's ml_append_try_parser and process_append;
 * as_is: the record as it is, not parsed (docker, cri). */
static bool take(struct flt_ml_ctx *x, int i, struct dp_chunk *c, int content, bool as_is,
		 struct ml_piece *pc)
{
	const struct flt_ml *ml = x->ml;
	const struct dp_rec *r = dp_tail(c);
	const struct dp_field *cf = dp_tail_field(c, (unsigned)content);
	pc->c = c;
	pc->content = content;
	pc->sec = r->ts_sec;
	pc->nsec = r->ts_nsec;
	if (ml->lp[i] && !as_is) {
		struct dp_chunk *sc = &x->ln->sc;
		const struct dp_field *sf = NULL;
		int at = -1;
		dp_chunk_reset(sc);
		dp_chunk_rec_begin(sc, r->ts_sec, r->ts_nsec);  /* no time parsed: the record's */
		if (!psr_parser_exec(ml->lp[i], x->ln->pst[i], sc, dp_field_val(c, cf), cf->val_len) &&
		    !dp_chunk_rec_end(sc))
			sf = str_field(sc, ml->key, ml->klen, &at);
		if (!sf)
			return false;
		pc->c = c = sc;
		pc->content = at;
		cf = sf;
		pc->sec = dp_tail(sc)->ts_sec;
		pc->nsec = dp_tail(sc)->ts_nsec;
	}
	pc->text = dp_field_val(c, cf);
	pc->tlen = cf->val_len;
	const struct dp_field *pf = str_field(c, ml->pk[i], ml->pkl[i], NULL);
	pc->pat = pf ? dp_field_val(c, pf) : NULL;
	pc->plen = pf ? pf->val_len : 0;
	const struct dp_field *gf = str_field(c, ml->gk[i], ml->gkl[i], NULL);
	pc->grp = gf ? dp_field_val(c, gf) : NULL;
	pc->glen = gf ? gf->val_len : 0;
	return psr_ml_parser_is_regex(ml->p[i]) ||
	       psr_ml_parser_match(ml->p[i], pf ? pc->pat : pc->text, pf ? pc->plen : pc->tlen) >= 0;
}

/* Flush parser pi's open messages of the record's (input, tag), every
 * key_group value (flb_ml_flush_parser_instance). */
static void flush_parser(struct flt_ml_ctx *x, const struct dp_fx *fx, int pi)
{
	size_t tl = fx->tag_len < DP_TAG_MAX ? fx->tag_len : DP_TAG_MAX;
	for (unsigned i = 0; i < FLT_ML_STREAMS; i++) {
		struct ml_slot *s = &x->slot[i];
		if (s->used && s->pi == pi && s->input == fx->input && s->tag_len == tl &&
		    !memcmp(s->tag, fx->tag, tl))
			psr_ml_stream_flush(&s->st);
	}
}

/* Line mode: the parsers in order, the last one that took a record
 * first, each in its own streams; the last one's open messages end when
 * another one takes the record or none does (flb_ml_append_object). A
 * record no parser parses is then offered as it is to docker and cri. */
int flt_ml_record_line(struct flt_ml_ctx *x, struct dp_fx *fx, int content)
{
	const struct flt_ml *ml = x->ml;
	int lru = x->lru;
	bool flushed = false;
	for (int as_is = 0; as_is < 2; as_is++) {
		for (unsigned k = 0; k < ml->np; k++) {
			int i = k == 0 ? lru : (int)k - ((int)k <= lru);
			struct ml_piece pc;
			if ((as_is && !ml->as_is[i]) || !take(x, i, fx->c, content, as_is, &pc))
				continue;
			if (i != lru && !flushed) {
				flush_parser(x, fx, lru);
				flushed = true;
			}
			struct ml_slot *s = flt_ml_slot_get(x, fx, i, pc.grp, pc.glen);
			s->last_used = fx->now_ns;
			x->pc = &pc;
			int v = psr_ml_stream_push_kp(&s->st, pc.text, pc.tlen, pc.pat, pc.plen, pc.sec,
						      pc.nsec, fx->now_ns);
			x->pc = NULL;
			if (v != PSR_ML_PASS) {
				x->lru = i;
				return DP_FILTER_DROP;
			}
		}
	}
	if (!flushed)
		flush_parser(x, fx, lru);
	return flt_ml_pass_on(x, fx);
}
