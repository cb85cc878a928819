/*
 * flt_modify.c — Fluent Bit's `modify` filter: rules (Set, Add, Remove,
 * Remove_wildcard, Remove_regex, Rename, Hard_rename, Copy, Hard_copy,
 * Move_to_start, Move_to_end) applied in configuration order to records
 * that pass every Condition.
 *
 * Semantics follow Fluent Bit's plugins/filter_modify/modify.c, which is
 * more precise than its documentation:
 *   - rule and condition names are case-insensitive, keys and values are
 *     not (keys compare byte for byte);
 *   - Set removes every field with the key and appends the new one at the
 *     end (an existing key moves to the end); Add appends only when the
 *     key is absent;
 *   - Rename renames every field with the key, only when the new key is
 *     absent; Hard_rename first removes the fields with the new key;
 *   - Copy needs exactly one source field and no destination, and puts the
 *     copy (value of any type) right after the source; Hard_copy accepts at
 *     most one destination field, which it replaces;
 *   - Remove_wildcard, Move_to_start and Move_to_end match keys by PREFIX
 *     (`Remove_wildcard Mem` removes Mem.used, Mem.free); no '*' involved;
 *   - regexes search (unanchored) in string values and in the words
 *     true/false of booleans; numbers never match, as in Fluent Bit;
 *   - Matching_keys_do_not_have_matching_values is the negation of
 *     Matching_keys_have_matching_values (true when some matching key has a
 *     value that does not match), which is what Fluent Bit computes.
 * Condition keys may be written as a record accessor of one level
 * (`$key`); nested accessors (`$a['b']`) are refused at start-up: they are
 * not supported yet.
 *
 * Values are tokens separated by blanks; a token may be double-quoted to
 * hold blanks. Regexes are PCRE2 (Fluent Bit uses Onigmo; the common
 * syntax is the same), JIT-compiled once; `/re/i` is accepted as in Fluent
 * Bit.
 *
 * Records are edited in place at the tail of their chunk (dp_edit.h): no
 * re-encoding, no allocation. When an edit does not fit in the chunk the
 * record is kept as it is at that point and the skipped edit is counted.
 *
 * Threads: setup/teardown on the control thread; shard contexts and
 * mod_record on their shard.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "flt_util.h"

enum mod_op {
	OP_SET, OP_ADD, OP_REMOVE, OP_REMOVE_WILDCARD, OP_REMOVE_REGEX, OP_RENAME, OP_HARD_RENAME,
	OP_COPY, OP_HARD_COPY, OP_MOVE_TO_START, OP_MOVE_TO_END,
};

enum mod_cond_type {
	C_KEY_EXISTS, C_KEY_DOES_NOT_EXIST, C_A_KEY_MATCHES, C_NO_KEY_MATCHES, C_KEY_VALUE_EQUALS,
	C_KEY_VALUE_DOES_NOT_EQUAL, C_KEY_VALUE_MATCHES, C_KEY_VALUE_DOES_NOT_MATCH,
	C_MATCHING_KEYS_HAVE_MATCHING_VALUES, C_MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES,
};

/* What a rule or a condition is given: name, arity, which arguments are
 * regexes (bit 0: first, bit 1: second), usage for error messages. */
struct mod_kind {
	const char *name;
	uint8_t code, nargs, regex;
	const char *usage;
};

static const struct mod_kind rule_kinds[] = {
	{ "Set", OP_SET, 2, 0, "KEY VALUE" },
	{ "Add", OP_ADD, 2, 0, "KEY VALUE" },
	{ "Remove", OP_REMOVE, 1, 0, "KEY" },
	{ "Remove_wildcard", OP_REMOVE_WILDCARD, 1, 0, "KEY_PREFIX" },
	{ "Remove_regex", OP_REMOVE_REGEX, 1, 1, "REGEX" },
	{ "Rename", OP_RENAME, 2, 0, "KEY RENAMED_KEY" },
	{ "Hard_rename", OP_HARD_RENAME, 2, 0, "KEY RENAMED_KEY" },
	{ "Copy", OP_COPY, 2, 0, "KEY COPIED_KEY" },
	{ "Hard_copy", OP_HARD_COPY, 2, 0, "KEY COPIED_KEY" },
	{ "Move_to_start", OP_MOVE_TO_START, 1, 0, "KEY_PREFIX" },
	{ "Move_to_end", OP_MOVE_TO_END, 1, 0, "KEY_PREFIX" },
};

static const struct mod_kind cond_kinds[] = {
	{ "Key_exists", C_KEY_EXISTS, 1, 0, "KEY" },
	{ "Key_does_not_exist", C_KEY_DOES_NOT_EXIST, 1, 0, "KEY" },
	{ "A_key_matches", C_A_KEY_MATCHES, 1, 1, "REGEX" },
	{ "No_key_matches", C_NO_KEY_MATCHES, 1, 1, "REGEX" },
	{ "Key_value_equals", C_KEY_VALUE_EQUALS, 2, 0, "KEY VALUE" },
	{ "Key_value_does_not_equal", C_KEY_VALUE_DOES_NOT_EQUAL, 2, 0, "KEY VALUE" },
	{ "Key_value_matches", C_KEY_VALUE_MATCHES, 2, 2, "KEY REGEX" },
	{ "Key_value_does_not_match", C_KEY_VALUE_DOES_NOT_MATCH, 2, 2, "KEY REGEX" },
	{ "Matching_keys_have_matching_values", C_MATCHING_KEYS_HAVE_MATCHING_VALUES, 2, 3,
	  "KEY_REGEX VALUE_REGEX" },
	{ "Matching_keys_do_not_have_matching_values", C_MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES, 2,
	  3, "KEY_REGEX VALUE_REGEX" },
};

/* A compiled rule or condition: a and b are its arguments (NUL-terminated
 * copies), ra and rb their regexes where the kind says so. */
struct mod_step {
	uint8_t code;
	char *a, *b;
	size_t alen, blen;
	pcre2_code *ra, *rb;
};

struct mod_priv {
	struct mod_step *rules, *conds;
	unsigned nrules, nconds;
};

struct mod_shard {
	const struct mod_priv *p;
	pcre2_match_data *md;  /* one for every regex: only match/no match is read */
	uint64_t nospace;      /* edits skipped because the chunk was full */
} dp_cache_aligned;

/* The option table: every key repeats and only its occurrences in the
 * section, in order, matter (setup walks f->sec); the fields below hold
 * the last value only so that the table can validate and document them. */
struct mod_cfg {
	char *o[12];
};

#define MOD_OPT(i, name, desc) \
	{ name, DP_OPT_STR, NULL, offsetof(struct mod_cfg, o) + (i) * sizeof(char *), NULL, 0, 0, 0, desc }

static const struct dp_opt mod_opts[] = {
	MOD_OPT(0, "Set", "`Set KEY VALUE`: add the pair; an existing KEY is removed first (the new pair "
		"goes at the end). Repeats; rules run in order"),
	MOD_OPT(1, "Add", "`Add KEY VALUE`: add the pair if KEY does not exist"),
	MOD_OPT(2, "Remove", "`Remove KEY`: remove the pairs with key KEY"),
	MOD_OPT(3, "Remove_wildcard", "`Remove_wildcard PREFIX`: remove the pairs whose key starts with "
		"PREFIX"),
	MOD_OPT(4, "Remove_regex", "`Remove_regex REGEX`: remove the pairs whose key matches REGEX"),
	MOD_OPT(5, "Rename", "`Rename KEY RENAMED_KEY`: rename if KEY exists and RENAMED_KEY does not"),
	MOD_OPT(6, "Hard_rename", "`Hard_rename KEY RENAMED_KEY`: rename if KEY exists, replacing "
		"RENAMED_KEY"),
	MOD_OPT(7, "Copy", "`Copy KEY COPIED_KEY`: copy the value (any type) right after KEY if KEY "
		"exists once and COPIED_KEY does not"),
	MOD_OPT(8, "Hard_copy", "`Hard_copy KEY COPIED_KEY`: copy if KEY exists once, replacing "
		"COPIED_KEY"),
	MOD_OPT(9, "Move_to_start", "`Move_to_start PREFIX`: move the pairs whose key starts with PREFIX "
		"to the start"),
	MOD_OPT(10, "Move_to_end", "`Move_to_end PREFIX`: move the pairs whose key starts with PREFIX to "
		"the end"),
	MOD_OPT(11, "Condition", "`Condition TYPE ARGS`: all must hold for the rules to run. Key_exists "
		"KEY, Key_does_not_exist KEY, A_key_matches REGEX, No_key_matches REGEX, Key_value_equals "
		"KEY VALUE, Key_value_does_not_equal KEY VALUE, Key_value_matches KEY REGEX, "
		"Key_value_does_not_match KEY REGEX, Matching_keys_have_matching_values KEY_REGEX "
		"VALUE_REGEX, Matching_keys_do_not_have_matching_values KEY_REGEX VALUE_REGEX. KEY may be "
		"`$key`"),
	{ NULL },
};

/* ---- setup (control thread) ---- */

static const struct mod_kind *kind_find(const struct mod_kind *k, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(k[i].name, name))
			return &k[i];
	return NULL;
}

/* Compile a regex; `/re/` with trailing i, m or x flags is unwrapped as
 * Fluent Bit's flb_regex does. */
static pcre2_code *re_compile(const struct dp_filter *f, const struct dp_conf_kv *kv,
			      const char *s, size_t len, struct dp_err *err)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	const char *end = len > 1 && s[0] == '/' ? strrchr(s, '/') : NULL;
	if (end && end > s && strspn(end + 1, "imx") == strlen(end + 1)) {
		for (const char *o = end + 1; *o; o++)
			opts |= *o == 'i' ? PCRE2_CASELESS : *o == 'm' ? PCRE2_DOTALL : PCRE2_EXTENDED;
		len = (size_t)(end - s - 1);
		s++;
	}
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, len, opts, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(code, msg, sizeof(msg));
		dp_filter_kv_err(f, kv, err, -EINVAL, "%s: regex '%.*s': %s at offset %zu", kv->key,
				 (int)DP_MIN(len, 40), s, (const char *)msg, (size_t)off);
		return NULL;
	}
	/* Without JIT (not built in, or no executable memory) the
	 * interpreter runs: slower, same results. */
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

static void step_free(struct mod_step *s)
{
	free(s->a);
	free(s->b);
	pcre2_code_free(s->ra);
	pcre2_code_free(s->rb);
}

static void priv_free(struct mod_priv *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->nrules; i++)
		step_free(&p->rules[i]);
	for (unsigned i = 0; i < p->nconds; i++)
		step_free(&p->conds[i]);
	free(p->rules);
	free(p->conds);
	free(p);
}

/* One rule (is_cond false: the key names it) or condition (the first
 * token names it) from kv into st. */
static int step_compile(const struct dp_filter *f, const struct dp_conf_kv *kv, bool is_cond,
			struct mod_step *st, struct dp_err *err)
{
	size_t vlen = strlen(kv->val);
	char *buf = malloc(vlen + 1), *tok[4];
	size_t len[4];
	int rc = -EINVAL;
	if (!buf)
		return dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
	int n = flt_split(kv->val, buf, 3, tok, len);
	const struct mod_kind *k;
	char **args = tok;
	size_t *alen = len;
	if (n < 0) {
		dp_filter_kv_err(f, kv, err, rc, "%s: unterminated quote in '%s'", kv->key, kv->val);
		goto out;
	}
	if (is_cond) {
		k = n ? kind_find(cond_kinds, DP_ARRAY_SIZE(cond_kinds), tok[0]) : NULL;
		if (!k) {
			dp_filter_kv_err(f, kv, err, rc, "Condition: unknown condition '%s'",
					 n ? tok[0] : "");
			goto out;
		}
		args++;
		alen++;
		n--;
	} else {
		k = kind_find(rule_kinds, DP_ARRAY_SIZE(rule_kinds), kv->key);
	}
	if (n != k->nargs) {
		dp_filter_kv_err(f, kv, err, rc, "%s%s%s: expects %s, got '%s'", kv->key,
				 is_cond ? " " : "", is_cond ? k->name : "", k->usage, kv->val);
		goto out;
	}
	st->code = k->code;
	/* A condition's KEY may be a one-level record accessor: $key. */
	if (is_cond && !(k->regex & 1) && args[0][0] == '$') {
		if (strpbrk(args[0], "[]")) {
			dp_filter_kv_err(f, kv, err, rc,
					 "Condition: nested record accessor '%s' is not supported yet",
					 args[0]);
			goto out;
		}
		args[0]++;
		alen[0]--;
	}
	st->a = strndup(args[0], alen[0]);
	st->alen = alen[0];
	if (n > 1) {
		st->b = strndup(args[1], alen[1]);
		st->blen = alen[1];
	}
	if (!st->a || (n > 1 && !st->b)) {
		rc = dp_filter_kv_err(f, kv, err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((k->regex & 1) && !(st->ra = re_compile(f, kv, st->a, st->alen, err)))
		goto out;
	if ((k->regex & 2) && !(st->rb = re_compile(f, kv, st->b, st->blen, err)))
		goto out;
	rc = 0;
out:
	free(buf);
	return rc;
}

static int mod_setup(struct dp_filter *f, struct dp_err *err)
{
	const struct dp_conf_section *s = f->sec;
	struct mod_priv *p = calloc(1, sizeof(*p));
	if (!p || !(p->rules = calloc(s->nkv + 1, sizeof(*p->rules))) ||
	    !(p->conds = calloc(s->nkv + 1, sizeof(*p->conds)))) {
		priv_free(p);
		return dp_filter_err(f, err, -ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < s->nkv; i++) {
		const struct dp_conf_kv *kv = &s->kv[i];
		bool is_cond = !strcasecmp(kv->key, "Condition");
		/* Other keys (Name, Match, Alias...) are the core's. */
		if (!is_cond && !kind_find(rule_kinds, DP_ARRAY_SIZE(rule_kinds), kv->key))
			continue;
		struct mod_step *st = is_cond ? &p->conds[p->nconds++] : &p->rules[p->nrules++];
		int rc = step_compile(f, kv, is_cond, st, err);
		if (rc) {
			priv_free(p);
			return rc;
		}
	}
	f->priv = p;
	return 0;
}

static void mod_teardown(struct dp_filter *f)
{
	priv_free(f->priv);
	f->priv = NULL;
}

static void *mod_shard_create(struct dp_filter *f, unsigned shard)
{
	(void)shard;
	struct mod_shard *s = aligned_alloc(DP_CACHE_LINE, sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->p = f->priv;
	s->md = pcre2_match_data_create(1, NULL);
	if (!s->md) {
		free(s);
		return NULL;
	}
	return s;
}

static void mod_shard_destroy(void *ctx)
{
	struct mod_shard *s = ctx;
	if (!s)
		return;
	pcre2_match_data_free(s->md);
	free(s);
}

/* ---- the record (shard) ---- */

static bool re_match(struct mod_shard *s, const pcre2_code *re, const char *p, size_t n)
{
	/* pcre2_match wants a non-NULL subject even when it is empty. */
	return pcre2_match(re, (PCRE2_SPTR)(n ? p : ""), n, 0, 0, s->md, NULL) >= 0;
}

/* A value as regexes see it: strings, and booleans as true/false. */
static bool val_matches(struct mod_shard *s, const struct dp_chunk *c, const struct dp_field *f,
			const pcre2_code *re)
{
	if (f->type == DP_T_STR)
		return re_match(s, re, dp_field_val(c, f), f->val_len);
	if (f->type == DP_T_BOOL)
		return dp_field_bool(c, f) ? re_match(s, re, "true", 4) : re_match(s, re, "false", 5);
	return false;
}

static bool cond_holds(struct mod_shard *s, struct dp_chunk *c, const struct mod_step *st)
{
	unsigned n = dp_tail_nfields(c);
	int i = -1;
	switch (st->code) {
	case C_KEY_EXISTS:
	case C_KEY_DOES_NOT_EXIST:
	case C_KEY_VALUE_EQUALS:
	case C_KEY_VALUE_DOES_NOT_EQUAL:
	case C_KEY_VALUE_MATCHES:
	case C_KEY_VALUE_DOES_NOT_MATCH:
		i = flt_find(c, st->a, st->alen);
		break;
	}
	const struct dp_field *f = i >= 0 ? dp_tail_field(c, (unsigned)i) : NULL;
	switch (st->code) {
	case C_KEY_EXISTS:
		return f;
	case C_KEY_DOES_NOT_EXIST:
		return !f;
	case C_KEY_VALUE_EQUALS:
	case C_KEY_VALUE_DOES_NOT_EQUAL: {
		if (!f)
			return false;
		bool eq = (f->type == DP_T_STR || f->type == DP_T_BIN) && f->val_len == st->blen &&
			  !memcmp(dp_field_val(c, f), st->b, st->blen);
		return st->code == C_KEY_VALUE_EQUALS ? eq : !eq;
	}
	case C_KEY_VALUE_MATCHES:
		return f && val_matches(s, c, f, st->rb);
	case C_KEY_VALUE_DOES_NOT_MATCH:
		return f && !val_matches(s, c, f, st->rb);
	case C_A_KEY_MATCHES:
	case C_NO_KEY_MATCHES: {
		bool any = false;
		for (unsigned j = 0; j < n && !any; j++) {
			const struct dp_field *g = dp_tail_field(c, j);
			any = re_match(s, st->ra, flt_key(c, g), g->key_len);
		}
		return st->code == C_A_KEY_MATCHES ? any : !any;
	}
	default: {
		bool all = true;
		for (unsigned j = 0; j < n && all; j++) {
			const struct dp_field *g = dp_tail_field(c, j);
			if (re_match(s, st->ra, flt_key(c, g), g->key_len))
				all = val_matches(s, c, g, st->rb);
		}
		return st->code == C_MATCHING_KEYS_HAVE_MATCHING_VALUES ? all : !all;
	}
	}
}

static unsigned count_key(struct dp_chunk *c, const char *k, size_t klen, int *first)
{
	unsigned n = dp_tail_nfields(c), cnt = 0;
	const struct dp_field *fs = flt_fields(c);
	*first = -1;
	for (unsigned i = 0; i < n; i++) {
		if (flt_key_eq(c, &fs[i], k, klen) && !cnt++)
			*first = (int)i;
	}
	return cnt;
}

/* Does field i's key match the step's first argument, in the way op
 * compares keys? */
static bool key_hit(struct mod_shard *s, struct dp_chunk *c, unsigned i, const struct mod_step *st)
{
	const struct dp_field *f = flt_fields(c) + i;
	switch (st->code) {
	case OP_REMOVE_REGEX:
		return re_match(s, st->ra, flt_key(c, f), f->key_len);
	case OP_REMOVE_WILDCARD:
	case OP_MOVE_TO_START:
	case OP_MOVE_TO_END:
		return flt_key_prefix(c, f, st->a, st->alen);
	default:
		return flt_key_eq(c, f, st->a, st->alen);
	}
}

static void remove_keys(struct mod_shard *s, struct dp_chunk *c, const struct mod_step *st)
{
	for (unsigned i = dp_tail_nfields(c); i-- > 0;)
		if (key_hit(s, c, i, st))
			dp_tail_remove(c, i);
}

static void remove_key(struct dp_chunk *c, const char *k, size_t klen)
{
	const struct dp_field *fs = flt_fields(c);   /* removals keep field0 */
	for (unsigned i = dp_tail_nfields(c); i-- > 0;)
		if (flt_key_eq(c, &fs[i], k, klen))
			dp_tail_remove(c, i);
}

static void append_str(struct mod_shard *s, struct dp_chunk *c, const struct mod_step *st)
{
	if (!flt_room(c, flt_pair_size(st->alen, st->blen), 1)) {
		s->nospace++;
		return;
	}
	bool r = flt_append_begin(c);
	dp_chunk_put_str(c, st->a, st->alen, st->b, st->blen);
	flt_append_end(c, r);
}

/* Copy field src under the key b, right after it. */
static void copy_after(struct mod_shard *s, struct dp_chunk *c, unsigned src,
		       const struct mod_step *st)
{
	const struct dp_field *f = dp_tail_field(c, src);
	if (!flt_room(c, flt_pair_size(st->blen, f->val_len), 1)) {
		s->nospace++;
		return;
	}
	bool r = flt_append_begin(c);
	dp_chunk_put_copy(c, st->b, st->blen, c, dp_tail_field(c, src));
	flt_append_end(c, r);
	flt_tail_move(c, dp_tail_nfields(c) - 1, src + 1);
}

static void rename_all(struct mod_shard *s, struct dp_chunk *c, const struct mod_step *st)
{
	const struct dp_field *fs = flt_fields(c);
	for (unsigned i = 0, n = dp_tail_nfields(c); i < n; i++)
		if (flt_key_eq(c, &fs[i], st->a, st->alen) &&
		    dp_tail_rename(c, i, st->b, st->blen))
			s->nospace++;
}

static void rule_apply(struct mod_shard *s, struct dp_chunk *c, const struct mod_step *st)
{
	int src, dst;
	unsigned n;
	switch (st->code) {
	case OP_SET:
		/* Room first: a value that cannot be appended must not cost
		 * the old one (the skipped edit is counted). */
		if (!flt_room(c, flt_pair_size(st->alen, st->blen), 1)) {
			s->nospace++;
			break;
		}
		remove_key(c, st->a, st->alen);
		append_str(s, c, st);
		break;
	case OP_ADD:
		if (flt_find(c, st->a, st->alen) < 0)
			append_str(s, c, st);
		break;
	case OP_REMOVE:
	case OP_REMOVE_WILDCARD:
	case OP_REMOVE_REGEX:
		remove_keys(s, c, st);
		break;
	case OP_RENAME:
		if (flt_find(c, st->b, st->blen) < 0)
			rename_all(s, c, st);
		break;
	case OP_HARD_RENAME:
		if (flt_find(c, st->a, st->alen) >= 0) {
			remove_key(c, st->b, st->blen);
			rename_all(s, c, st);
		}
		break;
	case OP_COPY:
		if (count_key(c, st->a, st->alen, &src) == 1 && flt_find(c, st->b, st->blen) < 0)
			copy_after(s, c, (unsigned)src, st);
		break;
	case OP_HARD_COPY:
		if (count_key(c, st->a, st->alen, &src) != 1 || count_key(c, st->b, st->blen, &dst) > 1)
			break;
		/* The source is the destination itself (`Hard_copy a a`):
		 * Fluent Bit removes the destination, which is the source, and
		 * so loses the field; here the rule changes nothing. */
		if (dst == src)
			break;
		if (dst >= 0) {
			dp_tail_remove(c, (unsigned)dst);
			if (dst < src)
				src--;
		}
		copy_after(s, c, (unsigned)src, st);
		break;
	case OP_MOVE_TO_START:
		n = dp_tail_nfields(c);
		for (unsigned i = 0, w = 0; i < n; i++)
			if (key_hit(s, c, i, st))
				flt_tail_move(c, i, w++);
		break;
	case OP_MOVE_TO_END:
		n = dp_tail_nfields(c);
		for (unsigned seen = 0, i = 0; seen < n; seen++) {
			if (key_hit(s, c, i, st))
				flt_tail_move(c, i, n - 1);
			else
				i++;
		}
		break;
	}
}

static int mod_record(void *ctx, struct dp_fx *fx)
{
	struct mod_shard *s = ctx;
	const struct mod_priv *p = s->p;
	for (unsigned i = 0; i < p->nconds; i++)
		if (!cond_holds(s, fx->c, &p->conds[i]))
			return DP_FILTER_KEEP;
	for (unsigned i = 0; i < p->nrules; i++)
		rule_apply(s, fx->c, &p->rules[i]);
	return DP_FILTER_KEEP;
}

const struct dp_filter_ops flt_modify_ops = {
	.name = "modify",
	.desc = "change records with rules, under conditions (Fluent Bit's modify)",
	.opts = mod_opts,
	.cfg_size = sizeof(struct mod_cfg),
	.setup = mod_setup,
	.shard_ctx_create = mod_shard_create,
	.shard_ctx_destroy = mod_shard_destroy,
	.record = mod_record,
	.teardown = mod_teardown,
};
