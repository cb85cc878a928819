/*
 * dp_opt.c — option tables: defaults, parsing and range checks by type,
 * applying a configuration section to one or more tables, and the help
 * and Markdown renderings of a table. Control thread only.
 *
 * Value syntax (Fluent Bit's where the type is the same):
 *   INT      decimal, optional sign: "-3", "+7", "65535"
 *   SIZE     bytes, optional k/kb/m/mb/g/gb (any case) = x1000 as in
 *            Fluent Bit's unit sizes; a fraction is allowed with a suffix
 *            ("1.5M" = 1500000, truncated to whole bytes)
 *   SIZE_KB  a count of KiB, optional k/kb suffix meaning the same
 *            ("32", "32k", "32KB" = 32768 bytes); Fluent Bit's in_tcp reads
 *            Chunk_Size with atoi, so "32k" means 32 KiB there too
 *   BOOL     on/off, true/false, yes/no, 1/0, any case
 *   SECONDS  non-negative decimal with optional suffix ms, s, m, h or d
 *   ENUM     one of the '|'-separated choices, any case
 * Ranges (min..max when max > min) are checked in the unit the user
 * writes: INT as is, SIZE in bytes, SIZE_KB in KiB, SECONDS in seconds.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_opt.h"
#include "dp_suggest.h"

#define OPT_VAL_SHOWN 48   /* bytes of a bad value quoted in an error */

union opt_val {
	const char *s;   /* STR: borrowed until stored */
	int64_t i;       /* INT, SIZE, SIZE_KB (bytes) */
	bool b;
	double d;
	int e;
};

#define OPT_FIELD(cfg, o, type) ((type *)((char *)(cfg) + (o)->off))

static bool opt_has_range(const struct dp_opt *o)
{
	return o->max > o->min && o->type != DP_OPT_STR && o->type != DP_OPT_BOOL &&
	       o->type != DP_OPT_ENUM;
}

/* Digits with an optional fraction ("12", "1.5", ".5"): the integer part
 * in *ip, the fraction as *frac / 10^9 (digits past the ninth dropped);
 * returns the end, or NULL when there is no number or it passes INT64_MAX. */
static const char *opt_decimal(const char *s, uint64_t *ip, uint64_t *frac, bool *has_frac)
{
	const char *p = s;
	uint64_t scale = 100000000;

	*ip = 0;
	*frac = 0;
	*has_frac = false;
	for (; isdigit((unsigned char)*p); p++) {
		if (*ip > (uint64_t)(INT64_MAX - (*p - '0')) / 10)
			return NULL;
		*ip = *ip * 10 + (*p - '0');
	}
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		*has_frac = true;
		for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
			*frac += (*p - '0') * scale;
	}
	return p == s ? NULL : p;
}

int dp_opt_parse_size(const char *s, int64_t *out)
{
	uint64_t ip, frac, mult = 1;
	bool has_frac;
	const char *p = opt_decimal(s, &ip, &frac, &has_frac);

	if (!p)
		return -EINVAL;
	switch (tolower((unsigned char)*p)) {
	case 'k': mult = 1000; break;
	case 'm': mult = 1000000; break;
	case 'g': mult = 1000000000; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (mult > 1 && *++p && (tolower((unsigned char)*p++) != 'b' || *p))
		return -EINVAL;
	if ((mult == 1 && has_frac) || ip > (uint64_t)INT64_MAX / mult)
		return -EINVAL;
	/* frac < 10^9 and mult <= 10^9: the product fits */
	uint64_t v = ip * mult + frac * mult / 1000000000;
	if (v > INT64_MAX)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

int dp_opt_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (size_t i = 0; i < DP_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

int dp_opt_parse_seconds(const char *s, double *out)
{
	uint64_t ip, frac;
	bool has_frac;
	double mult;
	const char *p = opt_decimal(s, &ip, &frac, &has_frac);

	if (!p)
		return -EINVAL;
	if (!strcmp(p, "") || !strcasecmp(p, "s"))
		mult = 1;
	else if (!strcasecmp(p, "ms"))
		mult = 0.001;
	else if (!strcasecmp(p, "m"))
		mult = 60;
	else if (!strcasecmp(p, "h"))
		mult = 3600;
	else if (!strcasecmp(p, "d"))
		mult = 86400;
	else
		return -EINVAL;
	*out = ((double)ip + (double)frac / 1e9) * mult;
	return isfinite(*out) ? 0 : -EINVAL;
}

static int opt_parse_int(const char *s, int64_t *out)
{
	char *end;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int opt_parse_enum(const char *choices, const char *s, int *out)
{
	size_t n = strlen(s);
	int idx = 0;

	for (const char *c = choices; c; idx++) {
		const char *bar = strchr(c, '|');
		size_t len = bar ? (size_t)(bar - c) : strlen(c);
		if (len == n && !strncasecmp(c, s, n)) {
			*out = idx;
			return 0;
		}
		c = bar ? bar + 1 : NULL;
	}
	return -EINVAL;
}

/* What a valid value looks like, for "expected ..." in errors. */
static void opt_expect(const struct dp_opt *o, char *buf, size_t n)
{
	static const char *const what[] = {
		[DP_OPT_STR] = "a string",
		[DP_OPT_INT] = "an integer",
		[DP_OPT_SIZE] = "a size like 32000, 32k or 5M",
		[DP_OPT_SIZE_KB] = "a count of KiB",
		[DP_OPT_BOOL] = "on/off, true/false, yes/no or 1/0",
		[DP_OPT_SECONDS] = "seconds like 5, 0.5, 500ms, 2m or 1h",
	};
	int len;

	if (o->type == DP_OPT_ENUM) {
		snprintf(buf, n, "one of %s", o->choices ? o->choices : "");
		for (char *p = buf; *p; p++)
			if (*p == '|')
				*p = '/';
		return;
	}
	len = snprintf(buf, n, "%s", what[o->type]);
	if (opt_has_range(o) && len >= 0 && (size_t)len < n)
		snprintf(buf + len, n - len, " in %lld..%lld", (long long)o->min,
			 (long long)o->max);
}

/* Parse val for row o into v; -EINVAL when malformed or out of range. */
static int opt_parse(const struct dp_opt *o, const char *val, union opt_val *v)
{
	int ret = 0;

	switch (o->type) {
	case DP_OPT_STR:
		v->s = val;
		return 0;
	case DP_OPT_INT:
		ret = opt_parse_int(val, &v->i);
		break;
	case DP_OPT_SIZE:
		ret = dp_opt_parse_size(val, &v->i);
		break;
	case DP_OPT_SIZE_KB: {
		const char *p = val;
		while (isdigit((unsigned char)*p))
			p++;
		if (p == val || (*p && strcasecmp(p, "k") && strcasecmp(p, "kb")))
			return -EINVAL;
		if (strlen(val) - strlen(p) > 15)   /* x1024 must fit */
			return -EINVAL;
		v->i = strtoll(val, NULL, 10);
		if (opt_has_range(o) && (v->i < o->min || v->i > o->max))
			return -EINVAL;
		v->i *= 1024;
		return 0;
	}
	case DP_OPT_BOOL:
		return dp_opt_parse_bool(val, &v->b);
	case DP_OPT_SECONDS:
		ret = dp_opt_parse_seconds(val, &v->d);
		if (!ret && opt_has_range(o) && (v->d < o->min || v->d > o->max))
			return -EINVAL;
		return ret;
	case DP_OPT_ENUM:
		return opt_parse_enum(o->choices ? o->choices : "", val, &v->e);
	default:
		return -EINVAL;
	}
	if (!ret && opt_has_range(o) && (v->i < o->min || v->i > o->max))
		return -EINVAL;
	return ret;
}

static bool opt_equal(const struct dp_opt *o, const union opt_val *a, const union opt_val *b)
{
	switch (o->type) {
	case DP_OPT_STR: return !strcasecmp(a->s, b->s);
	case DP_OPT_BOOL: return a->b == b->b;
	case DP_OPT_SECONDS: return a->d == b->d;
	case DP_OPT_ENUM: return a->e == b->e;
	default: return a->i == b->i;
	}
}

/* Store v; the old string is freed only when it is known to be ours. */
static int opt_store(const struct dp_opt *o, void *cfg, const union opt_val *v, bool free_old)
{
	switch (o->type) {
	case DP_OPT_STR: {
		char *s = v->s ? strdup(v->s) : NULL;
		if (v->s && !s)
			return -ENOMEM;
		if (free_old)
			free(*OPT_FIELD(cfg, o, char *));
		*OPT_FIELD(cfg, o, char *) = s;
		break;
	}
	case DP_OPT_BOOL: *OPT_FIELD(cfg, o, bool) = v->b; break;
	case DP_OPT_SECONDS: *OPT_FIELD(cfg, o, double) = v->d; break;
	case DP_OPT_ENUM: *OPT_FIELD(cfg, o, int) = v->e; break;
	default: *OPT_FIELD(cfg, o, int64_t) = v->i; break;
	}
	return 0;
}

static const struct dp_opt *opt_find(const struct dp_opt *tab, const char *key)
{
	for (; tab && tab->name; tab++)
		if (!strcasecmp(tab->name, key))
			return tab;
	return NULL;
}

/* Offer every shown key of tab to a suggestion. */
static void opt_suggest_keys(struct dp_suggest *sg, const struct dp_opt *tab)
{
	for (const struct dp_opt *o = tab; o && o->name; o++)
		if (!(o->flags & DP_OPT_HIDDEN))
			dp_suggest_add(sg, o->name);
}

int dp_opt_defaults(const struct dp_opt *tab, void *cfg, struct dp_err *err)
{
	for (const struct dp_opt *o = tab; o && o->name; o++) {
		union opt_val v;
		memset(&v, 0, sizeof(v));
		if (o->def && opt_parse(o, o->def, &v)) {
			char exp[96];
			opt_expect(o, exp, sizeof(exp));
			return dp_err_set(err, -EINVAL, "bad default '%s' for '%s': expected %s",
					  o->def, o->name, exp);
		}
		if (opt_store(o, cfg, &v, false))
			return dp_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

int dp_opt_set(const struct dp_opt *tab, void *cfg, const char *key, const char *val,
	       struct dp_err *err)
{
	const struct dp_opt *o = opt_find(tab, key);
	union opt_val v, def;

	struct dp_suggest sg;
	char hint[96], best[72];

	if (!o) {
		dp_suggest_init(&sg, key);
		opt_suggest_keys(&sg, tab);
		return dp_err_set(err, -ENOENT, "unknown key '%s'%s", key,
				  dp_suggest_hint(&sg, hint, sizeof(hint)));
	}
	if (opt_parse(o, val, &v)) {
		char exp[96];
		opt_expect(o, exp, sizeof(exp));
		dp_suggest_init(&sg, val);
		if (o->type == DP_OPT_ENUM)
			dp_suggest_add_choices(&sg, o->choices, best, sizeof(best));
		return dp_err_set(err, -EINVAL, "invalid value '%.*s%s' for '%s': expected %s%s",
				  OPT_VAL_SHOWN, val, strlen(val) > OPT_VAL_SHOWN ? "..." : "",
				  o->name, exp, dp_suggest_hint(&sg, hint, sizeof(hint)));
	}
	if ((o->flags & DP_OPT_NOT_YET) &&
	    (!o->def || opt_parse(o, o->def, &def) || !opt_equal(o, &v, &def)))
		return dp_err_set(err, -EINVAL, "'%s %.*s' is not supported yet", key,
				  OPT_VAL_SHOWN, val);
	if (opt_store(o, cfg, &v, true))
		return dp_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

static bool opt_ignored(const char *const *ignore, const char *key)
{
	for (; ignore && *ignore; ignore++) {
		/* "rdkafka.*": every key with that prefix */
		size_t n = strlen(*ignore);
		if (n && (*ignore)[n - 1] == '*' ? !strncasecmp(*ignore, key, n - 1)
						 : !strcasecmp(*ignore, key))
			return true;
	}
	return false;
}

/* Is row o of tabs[t] set by a key of s (one that no earlier table took)? */
static bool opt_given(const struct dp_opt *const *tabs, unsigned t, const struct dp_opt *o,
		      const struct dp_conf_section *s, const char *const *ignore)
{
	if (opt_ignored(ignore, o->name))
		return false;
	for (unsigned i = 0; i < t; i++)
		if (opt_find(tabs[i], o->name))
			return false;
	return dp_conf_kv_get(s, o->name) != NULL;
}

int dp_opt_apply(const struct dp_opt *const *tabs, void *const *cfgs, unsigned n,
		 const struct dp_conf_section *s, const char *what,
		 const char *const *ignore, struct dp_err *err)
{
	char whatbuf[256];
	struct dp_err e = { 0 };
	int ret = 0;

	if (!what) {
		snprintf(whatbuf, sizeof(whatbuf), "[%s]", s->name);
		what = whatbuf;
	}
	for (unsigned i = 0; i < n && !ret; i++)
		if ((ret = dp_opt_defaults(tabs[i], cfgs[i], &e)))
			dp_err_set(err, ret, "%s: %s", what, e.msg);
	for (unsigned k = 0; k < s->nkv && !ret; k++) {
		const struct dp_conf_kv *kv = &s->kv[k];
		if (opt_ignored(ignore, kv->key))
			continue;
		ret = -ENOENT;
		for (unsigned i = 0; i < n && ret == -ENOENT; i++)
			ret = dp_opt_set(tabs[i], cfgs[i], kv->key, kv->val, &e);
		if (ret == -ENOENT) {
			struct dp_suggest sg;
			char hint[96];
			dp_suggest_init(&sg, kv->key);
			for (unsigned i = 0; i < n; i++)
				opt_suggest_keys(&sg, tabs[i]);
			for (const char *const *ig = ignore; ig && *ig; ig++)
				if (**ig && (*ig)[strlen(*ig) - 1] != '*')
					dp_suggest_add(&sg, *ig);
			dp_err_set(err, ret, "%s:%d: %s: unknown key '%s'%s", kv->file, kv->line,
				   what, kv->key, dp_suggest_hint(&sg, hint, sizeof(hint)));
		}
		else if (ret)
			dp_err_set(err, ret, "%s:%d: %s: %s", kv->file, kv->line, what, e.msg);
	}
	for (unsigned i = 0; i < n && !ret; i++) {
		for (const struct dp_opt *o = tabs[i]; o && o->name && !ret; o++) {
			if ((o->flags & DP_OPT_REQUIRED) && !opt_given(tabs, i, o, s, ignore))
				ret = dp_err_set(err, -EINVAL, "%s:%d: %s: missing required key '%s'",
						 s->file, s->line, what, o->name);
		}
	}
	if (ret)
		for (unsigned i = 0; i < n; i++)
			dp_opt_free(tabs[i], cfgs[i]);
	return ret;
}

void dp_opt_free(const struct dp_opt *tab, void *cfg)
{
	for (const struct dp_opt *o = tab; o && o->name; o++) {
		if (o->type == DP_OPT_STR) {
			free(*OPT_FIELD(cfg, o, char *));
			*OPT_FIELD(cfg, o, char *) = NULL;
		}
	}
}

/* ---- help and documentation ---- */

static void opt_type_str(const struct dp_opt *o, char *buf, size_t n)
{
	static const char *const name[] = {
		[DP_OPT_STR] = "string", [DP_OPT_INT] = "integer", [DP_OPT_SIZE] = "size",
		[DP_OPT_SIZE_KB] = "KiB", [DP_OPT_BOOL] = "bool", [DP_OPT_SECONDS] = "seconds",
	};

	if (o->type == DP_OPT_ENUM) {
		snprintf(buf, n, "%s", o->choices ? o->choices : "");
		return;
	}
	if (opt_has_range(o))
		snprintf(buf, n, "%s %lld..%lld", name[o->type], (long long)o->min,
			 (long long)o->max);
	else
		snprintf(buf, n, "%s", name[o->type]);
}

static const char *opt_def_str(const struct dp_opt *o)
{
	if (o->def)
		return o->def;
	return (o->flags & DP_OPT_REQUIRED) ? "(required)" : "-";
}

void dp_opt_print_help(FILE *f, const struct dp_opt *tab)
{
	int wn = 3, wt = 4, wd = 7;   /* the header words */
	char type[128];

	for (const struct dp_opt *o = tab; o && o->name; o++) {
		if (o->flags & DP_OPT_HIDDEN)
			continue;
		opt_type_str(o, type, sizeof(type));
		wn = DP_MAX(wn, (int)strlen(o->name));
		wt = DP_MAX(wt, (int)strlen(type));
		wd = DP_MAX(wd, (int)strlen(opt_def_str(o)));
	}
	fprintf(f, "%-*s  %-*s  %-*s  %s\n", wn, "Key", wt, "Type", wd, "Default",
		"Description");
	for (const struct dp_opt *o = tab; o && o->name; o++) {
		if (o->flags & DP_OPT_HIDDEN)
			continue;
		opt_type_str(o, type, sizeof(type));
		fprintf(f, "%-*s  %-*s  %-*s  %s%s\n", wn, o->name, wt, type, wd,
			opt_def_str(o), (o->flags & DP_OPT_NOT_YET) ? "(not supported yet) " : "",
			o->desc ? o->desc : "");
	}
}

/* A Markdown table cell: '|' would end the cell, a newline the row. */
static void md_cell(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s == '\n' ? ' ' : *s, f);
	}
}

void dp_opt_print_markdown(FILE *f, const struct dp_opt *tab)
{
	char type[128];

	fputs("| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n", f);
	for (const struct dp_opt *o = tab; o && o->name; o++) {
		if (o->flags & DP_OPT_HIDDEN)
			continue;
		opt_type_str(o, type, sizeof(type));
		fputs("| `", f);
		md_cell(f, o->name);
		fputs("` | ", f);
		md_cell(f, type);
		fputs(" | ", f);
		if (o->def) {
			fputc('`', f);
			md_cell(f, o->def);
			fputc('`', f);
		} else if (o->flags & DP_OPT_REQUIRED) {
			fputs("*required*", f);
		}
		fputs(" | ", f);
		if (o->flags & DP_OPT_NOT_YET)
			fputs("*Not supported yet: only the default is accepted.* ", f);
		md_cell(f, o->desc);
		fputs(" |\n", f);
	}
}

void dp_opt_roff(FILE *f, const char *s, bool code)
{
	if (s && (*s == '.' || *s == '\''))
		fputs("\\&", f);
	for (; s && *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-' && code)
			fputs("\\-", f);
		else
			fputc(*s == '\n' ? ' ' : *s, f);
	}
}

void dp_opt_print_roff(FILE *f, const struct dp_opt *tab)
{
	char type[128];

	for (const struct dp_opt *o = tab; o && o->name; o++) {
		if (o->flags & DP_OPT_HIDDEN)
			continue;
		opt_type_str(o, type, sizeof(type));
		fputs(".TP\n\\fB", f);
		dp_opt_roff(f, o->name, true);
		fputs("\\fR\n\\fI", f);
		dp_opt_roff(f, type, true);
		fputs("\\fR", f);
		if (o->def) {
			fputs(", default \\fB", f);
			dp_opt_roff(f, o->def, true);
			fputs("\\fR", f);
		} else if (o->flags & DP_OPT_REQUIRED) {
			fputs(", required", f);
		}
		fputs("\n.br\n", f);
		if (o->flags & DP_OPT_NOT_YET)
			fputs("Not supported yet: only the default is accepted. ", f);
		dp_opt_roff(f, o->desc ? o->desc : "", false);
		fputc('\n', f);
	}
}
