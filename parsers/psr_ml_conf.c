/*
 * psr_ml_conf.c — the reading of a [MULTILINE_PARSER] section (classic,
 * or YAML's multiline_parsers, which dp_conf_yaml.c turns into one): its
 * option table, its `rule`s, and its `parser`, found among the [PARSER]s
 * once all are read (psr_ml_set_resolve). Semantics in psr_ml.h.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_log.h"
#include "psr_ml_int.h"
#include "psr_parser.h"

/* ---- [MULTILINE_PARSER] sections ---- */

struct ml_cfg {
	char *name;
	int type;
	int64_t flush_timeout;
	char *key_content;
	char *key_pattern;
	char *key_group;
	char *parser;
	char *match_string;
	bool negate;
	char *rule;
};

#define C(f) offsetof(struct ml_cfg, f)
const struct dp_opt psr_ml_opts[] = {
	{ "name", DP_OPT_STR, NULL, C(name), NULL, 0, 0, DP_OPT_REQUIRED,
	  "name of the multiline parser, as multiline.parser refers to it; one named like a built-in "
	  "(java, python, go, ruby, nodejs, docker, cri) replaces it" },
	{ "type", DP_OPT_ENUM, NULL, C(type), "regex|endswith|equal|eq", 0, 0, DP_OPT_REQUIRED,
	  "regex: rules (a state machine) decide; endswith / equal: a line ending with / equal to "
	  "match_string ends the message" },
	{ "flush_timeout", DP_OPT_INT, "4000", C(flush_timeout), NULL, 1, 3600000, 0,
	  "milliseconds without a continuation line after which a pending message is flushed (a filter's "
	  "flush_ms takes precedence)" },
	{ "key_content", DP_OPT_STR, NULL, C(key_content), NULL, 0, 0, 0,
	  "key of a structured record holding the text to match and join (multiline.key_content of the "
	  "filter overrides it)" },
	{ "key_pattern", DP_OPT_STR, NULL, C(key_pattern), NULL, 0, 0, 0,
	  "key of a structured record whose value the rules (or match_string) test, when it is not "
	  "key_content's: key_content is still what is joined" },
	{ "key_group", DP_OPT_STR, NULL, C(key_group), NULL, 0, 0, 0,
	  "key of a structured record whose value tells interleaved messages apart (e.g. stream: "
	  "stdout and stderr are joined apart); records without it are one group" },
	{ "parser", DP_OPT_STR, NULL, C(parser), NULL, 0, 0, 0,
	  "[PARSER] applied to each raw line of the tail input first: the rules then test its "
	  "key_content (needed) and the message is the first line's record with key_content joined; "
	  "a line it does not parse ends the open messages and goes out alone as {key_content: line}; "
	  "the multiline filter refuses such a parser (not applied to records there yet)" },
	{ "match_string", DP_OPT_STR, NULL, C(match_string), NULL, 0, 0, 0,
	  "endswith / equal: the string that ends a message" },
	{ "negate", DP_OPT_BOOL, "false", C(negate), NULL, 0, 0, 0,
	  "endswith / equal: a line NOT ending with / equal to match_string ends the message" },
	{ "rule", DP_OPT_STR, NULL, C(rule), NULL, 0, 0, 0,
	  "regex: one rule, repeated in order: \"STATE[, STATE]\" \"/REGEX/\" \"NEXT_STATE\"; lines matching a "
	  "rule of \"start_state\" begin a message, the rules of the current state continue it" },
	{ NULL },
};
#undef C

/* Split `"a, b" "/x \"y\"/" "c"` into three tokens in buf (a quoted token
 * ends at the next unescaped quote; \" inside it is a quote, every other
 * backslash is kept for the regex). Returns the number of tokens. */
static int rule_tokens(const char *v, char *buf, const char *tok[], int max)
{
	int n = 0;
	char *w = buf;
	while (*v) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (!*v)
			break;
		if (n == max)
			return max + 1;
		tok[n++] = w;
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++) {
				if (*v == '\\' && v[1] == '"')
					v++;
				*w++ = *v;
			}
			if (*v != '"')
				return -1;
			v++;
		} else {
			while (*v && *v != ' ' && *v != '\t')
				*w++ = *v++;
		}
		*w++ = '\0';
	}
	return n;
}

static int sec_rules(struct psr_ml_parser *p, const struct dp_conf_section *sec, const char *what,
		     struct dp_err *err)
{
	char msg[120];
	unsigned nrules = 0;

	for (unsigned k = 0; k < sec->nkv; k++) {
		const struct dp_conf_kv *kv = &sec->kv[k];
		if (strcasecmp(kv->key, "rule"))
			continue;
		if (p->type != ML_REGEX)
			return dp_err_set(err, -EINVAL, "%s:%d: %s: 'rule' needs type regex", kv->file,
					  kv->line, what);
		char *buf = malloc(strlen(kv->val) + 1);
		const char *tok[3];
		if (!buf)
			return dp_err_set(err, -ENOMEM, "%s: out of memory", what);
		int n = rule_tokens(kv->val, buf, tok, 3);
		int rc = n == 3 ? psr_ml_parser_rule(p, tok[0], tok[1], tok[2], msg, sizeof(msg)) : -EINVAL;
		free(buf);
		if (n != 3)
			return dp_err_set(err, -EINVAL,
					  "%s:%d: %s: invalid 'rule': expected \"STATE\" \"/REGEX/\" "
					  "\"NEXT_STATE\"",
					  kv->file, kv->line, what);
		if (rc)
			return dp_err_set(err, rc, "%s:%d: %s: 'rule': %s", kv->file, kv->line, what, msg);
		nrules++;
	}
	if (p->type == ML_REGEX && !nrules)
		return dp_err_set(err, -EINVAL, "%s:%d: %s: type regex needs at least one 'rule'",
				  sec->file, sec->line, what);
	if (psr_ml_parser_finish(p, msg, sizeof(msg))) {
		/* Point at the rule at fault when there is one. */
		const char *file = sec->file;
		int line = sec->line;
		for (unsigned k = 0, r = 0; k < sec->nkv && p->bad_rule >= 0; k++) {
			if (strcasecmp(sec->kv[k].key, "rule"))
				continue;
			if (r++ == (unsigned)p->bad_rule) {
				file = sec->kv[k].file;
				line = sec->kv[k].line;
				break;
			}
		}
		return dp_err_set(err, -EINVAL, "%s:%d: %s: 'rule': %s", file, line, what, msg);
	}
	return 0;
}

/* `parser`: kept by name (with where it was written) until
 * psr_ml_set_resolve, as [PARSER] sections may come later or from another
 * file (Fluent Bit's flb_ml_parsers_init, src/multiline/flb_ml.c). */
static int sec_line(struct psr_ml_parser *p, const struct dp_conf_section *sec,
		    const struct ml_cfg *cfg, const char *what, struct dp_err *err)
{
	if (!cfg->parser)
		return 0;
	const struct dp_conf_kv *kv = dp_conf_kv_get(sec, "parser");
	err->key = "parser";
	if (!cfg->parser[0])
		return dp_err_set(err, -EINVAL, "%s:%d: %s: 'parser': empty name", kv->file, kv->line,
				  what);
	/* the parsed record's key_content is what the rules test and join:
	 * without one no line could be taken (flb_ml.c, process_append) */
	if (!p->key_content || !p->key_content[0])
		return dp_err_set(err, -EINVAL,
				  "%s:%d: %s: 'parser' needs 'key_content', the key of the parsed "
				  "record whose value the rules test and join",
				  kv->file, kv->line, what);
	p->line_name = strdup(cfg->parser);
	p->line_file = strdup(kv->file);
	p->line_line = kv->line;
	if (!p->line_name || !p->line_file)
		return dp_err_set(err, -ENOMEM, "%s: out of memory", what);
	err->key = NULL;
	return 0;
}

int psr_ml_set_resolve(struct psr_ml_set *s, const struct psr_parsers *parsers, struct dp_err *err)
{
	for (unsigned i = 0; s && i < s->n; i++) {
		struct psr_ml_parser *p = s->p[i];
		if (!p->line_name)
			continue;
		p->line = parsers ? psr_parsers_find(parsers, p->line_name) : NULL;
		if (!p->line) {
			err->key = "parser";
			return dp_err_set(err, -EINVAL,
					  "%s:%d: [MULTILINE_PARSER] %s: 'parser': no [PARSER] named '%s'",
					  p->line_file, p->line_line, p->name, p->line_name);
		}
	}
	return 0;
}

int psr_ml_set_add(struct psr_ml_set *s, const struct dp_conf_section *sec, struct dp_err *err)
{
	static const char *const ignore[] = { "rule", NULL };
	const struct dp_opt *const tabs[] = { psr_ml_opts };
	struct ml_cfg cfg;
	void *const cfgs[] = { &cfg };
	char what[96];
	const struct dp_conf_kv *nkv = dp_conf_kv_get(sec, "name");

	if (nkv)
		snprintf(what, sizeof(what), "[MULTILINE_PARSER] %s", nkv->val);
	else
		snprintf(what, sizeof(what), "[MULTILINE_PARSER]");
	int rc = dp_opt_apply(tabs, cfgs, 1, sec, what, ignore, err);
	if (rc)
		return rc;
	if (!cfg.name[0]) {
		rc = dp_err_set(err, -EINVAL, "%s:%d: %s: empty 'name'", nkv->file, nkv->line, what);
		goto out;
	}
	/* A definition replaces a built-in of its name: Fluent Bit has no
	 * `nodejs` built-in, so its users define their own under that name. */
	const struct psr_ml_parser *old = psr_ml_set_find_raw(s, cfg.name);
	if (old && old->builtin) {
		psr_ml_set_remove(s, old);
		dp_debug("%s:%d: %s replaces the built-in multiline parser of that name", nkv->file,
			 nkv->line, what);
	} else if (old) {
		rc = dp_err_set(err, -EEXIST, "%s:%d: %s: 'name': a multiline parser '%s' is already defined",
				nkv->file, nkv->line, what, cfg.name);
		goto out;
	}
	int type = cfg.type == 3 ? ML_EQUAL : cfg.type;
	if (type != ML_REGEX && (!cfg.match_string || !cfg.match_string[0])) {
		rc = dp_err_set(err, -EINVAL, "%s:%d: %s: type %s needs 'match_string'", sec->file,
				sec->line, what, type == ML_ENDSWITH ? "endswith" : "equal");
		goto out;
	}
	struct psr_ml_parser *p = psr_ml_parser_new(cfg.name, type, (uint64_t)cfg.flush_timeout);
	if (!p) {
		rc = dp_err_set(err, -ENOMEM, "%s: out of memory", what);
		goto out;
	}
	p->negate = cfg.negate;
	/* Take the strings over from cfg. */
	p->key_content = cfg.key_content;
	cfg.key_content = NULL;
	p->key_pattern = cfg.key_pattern;
	cfg.key_pattern = NULL;
	if (cfg.match_string) {
		p->match_str = cfg.match_string;
		p->match_len = strlen(cfg.match_string);
		cfg.match_string = NULL;
	}
	if (cfg.key_group && cfg.key_group[0]) {
		p->key_group = cfg.key_group;
		cfg.key_group = NULL;
	}
	rc = sec_line(p, sec, &cfg, what, err);
	if (!rc)
		rc = sec_rules(p, sec, what, err);
	if (!rc && (rc = psr_ml_set_insert(s, p)))
		dp_err_set(err, rc, "%s: out of memory", what);
	if (rc)
		psr_ml_parser_free(p);
out:
	dp_opt_free(psr_ml_opts, &cfg);
	return rc;
}
