/*
 * psr_parser.c — [PARSER] definitions: configuration, compilation and the
 * set of them (semantics in psr_parser.h). Running them on a record is in
 * psr_parser_exec.c.
 *
 * Threads: control thread only (a parser is read-only once added).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "psr_parser_int.h"
#include "re_onig.h"
#include "re_set.h"

const struct dp_opt psr_parser_opts[] = {
	{ "Name", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, name), NULL, 0, 0, DP_OPT_REQUIRED,
	  "unique name of the parser, as filters and inputs refer to it" },
	{ "Format", DP_OPT_ENUM, NULL, offsetof(struct psr_parser_cfg, format), "regex|json|logfmt|ltsv",
	  0, 0, DP_OPT_REQUIRED, "format of the text: regex, json, logfmt or ltsv" },
	{ "Regex", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, regex), NULL, 0, 0, 0,
	  "Format regex: Ruby-style regular expression whose named groups (?<name>...) become fields "
	  "(PCRE2 with JIT; /re/imx delimiters accepted)" },
	{ "Time_Key", DP_OPT_STR, "time", offsetof(struct psr_parser_cfg, time_key), NULL, 0, 0, 0,
	  "field holding the record's timestamp (read when Time_Format is set)" },
	{ "Time_Format", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, time_format), NULL, 0, 0, 0,
	  "strptime format of Time_Key, with %L for fractional seconds; without a year the current "
	  "year is used; may repeat: each is tried in turn" },
	{ "Time_Keep", DP_OPT_BOOL, "off", offsetof(struct psr_parser_cfg, time_keep), NULL, 0, 0, 0,
	  "keep the time field in the record once it was parsed" },
	{ "Time_Offset", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, time_offset), NULL, 0, 0, 0,
	  "fixed UTC offset (e.g. +0200, -0600) of times that carry no zone" },
	{ "Time_System_Timezone", DP_OPT_BOOL, "off",
	  offsetof(struct psr_parser_cfg, time_system_tz), NULL, 0, 0, 0,
	  "times without a zone are in the system's timezone (TZ)" },
	{ "Time_Strict", DP_OPT_BOOL, "on", offsetof(struct psr_parser_cfg, time_strict), NULL, 0, 0, 0,
	  "off: a time that stops matching Time_Format midway (e.g. no fraction for %L) keeps what "
	  "was read instead of failing" },
	{ "Types", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, types), NULL, 0, 0, 0,
	  "field types, 'name:type ...' with type string, integer, float, bool or hex (regex, logfmt, "
	  "ltsv); a value that does not convert stays a string" },
	{ "Decode_Field", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, decode_field), NULL, 0, 0,
	  0, "'json FIELD': the JSON object in FIELD's string adds its members to the record (may "
	     "repeat)" },
	{ "Decode_Field_As", DP_OPT_STR, NULL, offsetof(struct psr_parser_cfg, decode_field_as), NULL,
	  0, 0, 0,
	  "'DECODER FIELD [try_next|do_next]', DECODER json, escaped or escaped_utf8: FIELD's string is "
	  "replaced by its decoded value (may repeat)" },
	{ "Skip_Empty_Values", DP_OPT_BOOL, "on", offsetof(struct psr_parser_cfg, skip_empty), NULL, 0,
	  0, 0, "regex and ltsv: leave out fields whose value is empty" },
	{ "Logfmt_No_Bare_Keys", DP_OPT_BOOL, "off", offsetof(struct psr_parser_cfg, no_bare_keys), NULL,
	  0, 0, 0, "logfmt: a line with a key that has no value (key, key=) does not parse" },
	{ NULL },
};

struct psr_parsers {
	struct psr_parser **v;
	unsigned n, cap;
};

struct psr_parsers *psr_parsers_create(void)
{
	return calloc(1, sizeof(struct psr_parsers));
}

static void parser_free(struct psr_parser *p)
{
	if (!p)
		return;
	if (p->re)
		pcre2_code_free(p->re);
	free(p->set_pat);
	for (unsigned i = 0; i < p->ncaps; i++)
		free(p->caps[i].name);
	free(p->caps);
	for (unsigned i = 0; i < p->ntypes; i++)
		free(p->types[i].key);
	free(p->types);
	for (unsigned i = 0; i < p->ndecs; i++)
		free(p->decs[i].key);
	free(p->decs);
	free(p->time_key);
	free(p->name);
	free(p);
}

void psr_parsers_destroy(struct psr_parsers *set)
{
	if (!set)
		return;
	for (unsigned i = 0; i < set->n; i++)
		parser_free(set->v[i]);
	free(set->v);
	free(set);
}

const struct psr_parser *psr_parsers_find(const struct psr_parsers *set, const char *name)
{
	if (!set || !name)
		return NULL;
	for (unsigned i = 0; i < set->n; i++)
		if (!strcmp(set->v[i]->name, name))
			return set->v[i];
	return NULL;
}

const char *psr_parser_regex(const struct psr_parser *p, unsigned *flags)
{
	*flags = p->set_flags;
	return p->set_pat;
}

const char *psr_parser_name(const struct psr_parser *p)
{
	return p->name;
}

/* An error at key's line (or the section's when the key is absent). */
static int kv_err(const struct dp_conf_section *s, const char *key, const char *pname,
		  struct dp_err *err, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int kv_err(const struct dp_conf_section *s, const char *key, const char *pname,
		  struct dp_err *err, const char *fmt, ...)
{
	const struct dp_conf_kv *kv = key ? dp_conf_kv_get(s, key) : NULL;
	char msg[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dp_err_set(err, -EINVAL, "%s:%d: [PARSER] %s: %s", kv ? kv->file : s->file,
			  kv ? kv->line : s->line, pname, msg);
}

/* Ruby-style "/re/flags" (Fluent Bit's flb_regex.c): strip the slashes,
 * map i, m, x; an unknown flag leaves the pattern as written. */
static void ruby_delims(const char *pat, size_t *off, size_t *len, uint32_t *opts)
{
	size_t n = strlen(pat);
	*off = 0;
	*len = n;
	if (n < 2 || pat[0] != '/')
		return;
	const char *last = strrchr(pat, '/');
	if (last == pat)
		return;
	uint32_t o = 0;
	for (const char *f = last + 1; *f; f++) {
		switch (*f) {
		case 'i': o |= PCRE2_CASELESS; break;
		case 'm': o |= PCRE2_DOTALL; break;  /* Ruby's m is dot-all */
		case 'x': o |= PCRE2_EXTENDED; break;
		case 'o': break;
		default: return;
		}
	}
	*off = 1;
	*len = (size_t)(last - pat) - 1;
	*opts |= o;
}

static int cap_cmp(const void *a, const void *b)
{
	return (int)((const struct psr_cap *)a)->group - (int)((const struct psr_cap *)b)->group;
}

static int compile_regex(struct psr_parser *p, const struct dp_conf_section *s, const char *pat,
			 struct dp_err *err)
{
	size_t off, len;
	uint32_t opts = PCRE2_MULTILINE;
	int ec;
	PCRE2_SIZE eo;
	ruby_delims(pat, &off, &len, &opts);
	/* Byte mode unless the pattern needs characters (non-ASCII text,
	 * Unicode properties, Onigmo's \uHHHH): then a log line with
	 * invalid UTF-8 still matches byte for byte, as it does in Fluent
	 * Bit's Onigmo. In UTF mode invalid input is allowed (it matches no
	 * character) rather than checked per line. */
	bool utf = false;
	for (size_t i = off; i < off + len; i++)
		if ((uint8_t)pat[i] >= 0x80 ||
		    (pat[i] == '\\' && i + 1 < off + len && strchr("pPXu", pat[i + 1])))
			utf = true;
	/* Onigmo's syntax where it differs (names of any length, \h, Ruby's
	 * m): re_onig.h. Offsets in errors are of the pattern as written.
	 * Rewriting for PCRE2 rather than linking Oniguruma was decided on
	 * measurement: PCRE2's JIT takes 135-204 ns per line on Fluent Bit's
	 * apache2 and syslog-rfc5424 patterns where Oniguruma takes
	 * 1100-1330 ns, and the renaming costs nothing per line (fields are
	 * found by group number). docs/DESIGN-NOTES.md, "Parsers". */
	struct re_onig on;
	size_t bad;
	int trc = re_onig_translate(pat + off, len, &on, &bad);
	if (trc == -EINVAL)
		return kv_err(s, "Regex", p->name, err, "invalid Regex at offset %zu: %s", bad,
			      on.err);
	if (trc)
		return dp_err_set(err, -ENOMEM, "out of memory");
	if (utf || on.utf)
		opts |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	utf |= on.utf;
	p->re = pcre2_compile((PCRE2_SPTR)on.pat, on.len, opts, &ec, &eo, NULL);
	if (!p->re) {
		char buf[96];
		pcre2_get_error_message(ec, (PCRE2_UCHAR *)buf, sizeof(buf));
		bool same = on.len == len && !memcmp(on.pat, pat + off, len);
		int rc = same ? kv_err(s, "Regex", p->name, err, "invalid Regex at offset %zu: %s",
				       (size_t)eo, buf)
			      : kv_err(s, "Regex", p->name, err,
				       "invalid Regex at offset %zu of '%s' (Onigmo syntax rewritten "
				       "for PCRE2): %s", (size_t)eo, on.pat, buf);
		re_onig_fini(&on);
		return rc;
	}
	p->jit = pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE) == 0;
	/* re_set matches bytes only: UTF-mode patterns get no prefilter. */
	if (!utf) {
		if (!(p->set_pat = strndup(on.pat, on.len))) {
			re_onig_fini(&on);
			return dp_err_set(err, -ENOMEM, "out of memory");
		}
		p->set_flags = RE_MULTILINE | (opts & PCRE2_CASELESS ? RE_CASELESS : 0) |
			       (opts & PCRE2_DOTALL ? RE_DOTALL : 0) |
			       (opts & PCRE2_EXTENDED ? RE_EXTENDED : 0);
	}
	uint32_t count = 0, esize = 0;
	PCRE2_SPTR tab = NULL;
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(p->re, PCRE2_INFO_NAMETABLE, &tab);
	if (!count) {
		re_onig_fini(&on);
		return 0;  /* matches but yields no fields, as in Fluent Bit */
	}
	p->caps = calloc(count, sizeof(*p->caps));
	if (!p->caps) {
		re_onig_fini(&on);
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < count; i++) {
		PCRE2_SPTR e = tab + (size_t)i * esize;
		struct psr_cap *c = &p->caps[p->ncaps++];
		const char *orig = re_onig_name(&on, (const char *)e + 2);
		c->group = (uint16_t)(e[0] << 8 | e[1]);
		c->name = strdup(orig ? orig : (const char *)e + 2);
		c->next = -1;
		if (!c->name) {
			re_onig_fini(&on);
			return dp_err_set(err, -ENOMEM, "out of memory");
		}
		c->len = (uint16_t)strlen(c->name);
	}
	re_onig_fini(&on);
	/* PCRE2 lists names alphabetically; fields come in group order. */
	qsort(p->caps, p->ncaps, sizeof(*p->caps), cap_cmp);
	/* Groups of one name: one field, chained from the first. */
	for (unsigned i = 1; i < p->ncaps; i++) {
		for (unsigned j = 0; j < i; j++) {
			if (p->caps[j].dup || strcmp(p->caps[j].name, p->caps[i].name))
				continue;
			unsigned last = j;
			while (p->caps[last].next >= 0)
				last = (unsigned)p->caps[last].next;
			p->caps[last].next = (int16_t)i;
			p->caps[i].dup = true;
			break;
		}
	}
	return 0;
}

static int parse_types(struct psr_parser *p, const struct dp_conf_section *s, const char *spec,
		       struct dp_err *err)
{
	static const char *const names[] = {
		[PSR_TY_STR] = "string", [PSR_TY_INT] = "integer", [PSR_TY_FLOAT] = "float",
		[PSR_TY_BOOL] = "bool", [PSR_TY_HEX] = "hex",
	};
	const char *q = spec;
	while (*q) {
		while (*q == ' ' || *q == '\t')
			q++;
		if (!*q)
			break;
		const char *w = q;
		while (*q && *q != ' ' && *q != '\t')
			q++;
		const char *colon = memchr(w, ':', (size_t)(q - w));
		if (!colon || colon == w)
			return kv_err(s, "Types", p->name, err, "invalid Types entry '%.*s': expected "
				      "name:type", (int)(q - w), w);
		size_t tl = (size_t)(q - colon - 1);
		int ty = -1;
		for (int i = 0; i < (int)DP_ARRAY_SIZE(names); i++)
			if (strlen(names[i]) == tl && !strncasecmp(colon + 1, names[i], tl))
				ty = i;
		if (ty < 0)
			return kv_err(s, "Types", p->name, err, "unknown type '%.*s' in Types: expected "
				      "string, integer, float, bool or hex", (int)tl, colon + 1);
		struct psr_type *nt = realloc(p->types, (p->ntypes + 1) * sizeof(*nt));
		if (!nt)
			return dp_err_set(err, -ENOMEM, "out of memory");
		p->types = nt;
		nt[p->ntypes].key = strndup(w, (size_t)(colon - w));
		nt[p->ntypes].klen = (uint16_t)(colon - w);
		nt[p->ntypes].type = (uint8_t)ty;
		if (!nt[p->ntypes++].key)
			return dp_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* One Decode_Field / Decode_Field_As line: "DECODER FIELD [ACTION]". */
static int parse_decoder(struct psr_parser *p, const struct dp_conf_kv *kv, bool as,
			 struct dp_err *err)
{
	char dec[32], field[256], act[32] = "";
	int n = sscanf(kv->val, "%31s %255s %31s", dec, field, act);
	int backend = -1, action = PSR_ACT_NONE;
	if (n >= 2) {
		if (!strcasecmp(dec, "json"))
			backend = PSR_DEC_JSON;
		else if (!strcasecmp(dec, "escaped"))
			backend = PSR_DEC_ESCAPED;
		else if (!strcasecmp(dec, "escaped_utf8"))
			backend = PSR_DEC_ESCAPED_UTF8;
	}
	if (n == 3) {
		if (!strcasecmp(act, "try_next"))
			action = PSR_ACT_TRY_NEXT;
		else if (!strcasecmp(act, "do_next"))
			action = PSR_ACT_DO_NEXT;
		else
			action = -1;
	}
	if (backend < 0 || action < 0 || (!as && backend != PSR_DEC_JSON))
		return dp_err_set(err, -EINVAL, "%s:%d: [PARSER] %s: invalid %s '%s': expected "
				  "'%s FIELD [try_next|do_next]'", kv->file, kv->line, p->name,
				  kv->key, kv->val, as ? "json|escaped|escaped_utf8" : "json");
	struct psr_dec *nd = realloc(p->decs, (p->ndecs + 1) * sizeof(*nd));
	if (!nd)
		return dp_err_set(err, -ENOMEM, "out of memory");
	p->decs = nd;
	nd[p->ndecs] = (struct psr_dec){
		.key = strdup(field), .klen = (uint16_t)strlen(field), .as = as,
		.backend = (uint8_t)backend, .action = (uint8_t)action,
	};
	if (!nd[p->ndecs++].key)
		return dp_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int build(struct psr_parser *p, const struct psr_parser_cfg *cfg,
		 const struct dp_conf_section *s, struct dp_err *err)
{
	int rc;
	p->format = cfg->format;
	p->skip_empty = cfg->skip_empty;
	p->no_bare_keys = cfg->no_bare_keys;
	p->time_keep = cfg->time_keep;
	if (p->format == PSR_FMT_REGEX) {
		if (!cfg->regex)
			return kv_err(s, NULL, p->name, err, "Format regex needs a 'Regex' key");
		if ((rc = compile_regex(p, s, cfg->regex, err)))
			return rc;
	}
	for (unsigned i = 0; i < s->nkv; i++) {
		const struct dp_conf_kv *kv = &s->kv[i];
		struct dp_err e = { 0 };
		if (strcasecmp(kv->key, "Time_Format"))
			continue;
		if (p->ntfmt == PSR_TFMT_ALT)
			return dp_err_set(err, -E2BIG, "%s:%d: [PARSER] %s: more than %d Time_Format",
					  kv->file, kv->line, p->name, PSR_TFMT_ALT);
		if (psr_tfmt_compile(&p->tfmt[p->ntfmt++], kv->val, &e))
			return dp_err_set(err, -EINVAL, "%s:%d: [PARSER] %s: %s", kv->file, kv->line,
					  p->name, e.msg);
	}
	if (cfg->time_format) {
		p->has_time = true;
		p->time_key = strdup(cfg->time_key ? cfg->time_key : "time");
		if (!p->time_key)
			return dp_err_set(err, -ENOMEM, "out of memory");
		p->time_key_len = strlen(p->time_key);
	}
	if (cfg->time_offset && psr_tz_offset_parse(cfg->time_offset, &p->time_off))
		return kv_err(s, "Time_Offset", p->name, err, "invalid Time_Offset '%s': expected "
			      "+HHMM or -HHMM", cfg->time_offset);
	p->tflags = (cfg->time_strict ? 0 : PSR_TIME_LENIENT) |
		    (cfg->time_system_tz ? PSR_TIME_LOCAL : 0);
	if (cfg->types && (rc = parse_types(p, s, cfg->types, err)))
		return rc;
	for (unsigned i = 0; i < s->nkv; i++) {
		const struct dp_conf_kv *kv = &s->kv[i];
		bool as = !strcasecmp(kv->key, "Decode_Field_As");
		if ((as || !strcasecmp(kv->key, "Decode_Field")) && (rc = parse_decoder(p, kv, as, err)))
			return rc;
	}
	return 0;
}

int psr_parsers_add(struct psr_parsers *set, const struct dp_conf_section *s, struct dp_err *err)
{
	const struct dp_conf_kv *nkv = dp_conf_kv_get(s, "Name");
	char what[96];
	snprintf(what, sizeof(what), "[PARSER] %s", nkv ? nkv->val : "?");
	struct psr_parser_cfg cfg;
	const struct dp_opt *tabs[] = { psr_parser_opts };
	void *cfgs[] = { &cfg };
	int rc = dp_opt_apply(tabs, cfgs, 1, s, what, NULL, err);
	if (rc)
		return rc;
	struct psr_parser *p = calloc(1, sizeof(*p));
	if (!p || !(p->name = strdup(cfg.name))) {
		rc = dp_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (psr_parsers_find(set, cfg.name)) {
		rc = kv_err(s, "Name", p->name, err, "a parser named '%s' is already defined",
			    cfg.name);
		goto out;
	}
	if ((rc = build(p, &cfg, s, err)))
		goto out;
	if (set->n == set->cap) {
		unsigned cap = set->cap ? set->cap * 2 : 16;
		struct psr_parser **v = realloc(set->v, cap * sizeof(*v));
		if (!v) {
			rc = dp_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = p;
	p = NULL;
out:
	parser_free(p);
	dp_opt_free(psr_parser_opts, &cfg);
	return rc;
}
