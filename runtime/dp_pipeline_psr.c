/*
 * dp_pipeline_psr.c — the parsers a pipeline knows: [PARSER] and
 * [MULTILINE_PARSER] sections, from the main configuration and from every
 * `Parsers_File` of [SERVICE] (Fluent Bit reads them only from parsers
 * files; sluice takes them from both). They are loaded before any input
 * or filter is set up, so those can look parsers up by name.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "dp_pipeline.h"
#include "dp_pipeline_int.h"
#include "psr_ml.h"
#include "psr_parser.h"

static int add_section(struct dp_pipeline *pl, const struct dp_conf_section *s, struct dp_err *err)
{
	if (!strcasecmp(s->name, "PARSER") || !strcasecmp(s->name, "MULTILINE_PARSER"))
		pl->parsers_sig = dp_conf_section_sig(s, pl->parsers_sig);
	if (!strcasecmp(s->name, "PARSER"))
		return psr_parsers_add(pl->parsers, s, err);
	if (!strcasecmp(s->name, "MULTILINE_PARSER"))
		return psr_ml_set_add(pl->ml_parsers, s, err);
	return 1;
}

/* A parsers file holds [PARSER] and [MULTILINE_PARSER] sections only. */
static int load_file(struct dp_pipeline *pl, const struct dp_conf *main_conf,
		     const struct dp_conf_kv *kv, struct dp_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", kv->val);
	if (kv->val[0] != '/' && kv->file[0] != '<') {
		/* Relative to the file that names it, as Fluent Bit does,
		 * falling back to the working directory. */
		const char *slash = strrchr(kv->file, '/');
		snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - kv->file + 1) : 0, kv->file,
			 kv->val);
		FILE *f = fopen(path, "r");
		if (f)
			fclose(f);
		else
			snprintf(path, sizeof(path), "%s", kv->val);
	}
	FILE *f = fopen(path, "r");
	if (!f)
		return dp_err_set(err, -ENOENT, "%s:%d: [SERVICE] Parsers_File '%s' cannot be opened",
				  kv->file, kv->line, kv->val);
	fclose(f);
	struct dp_conf *conf = dp_conf_load_sub(path, main_conf, err);
	if (!conf)
		return err->code ? err->code : -EINVAL;
	/* its ${VAR}s are checked as the main file's are */
	int rc = dp_conf_undef_check(conf, main_conf->strict_vars, err);
	for (unsigned i = 0; !rc && i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		rc = add_section(pl, s, err);
		if (rc == 1)
			rc = dp_err_set(err, -EINVAL, "%s:%d: [%s] is not allowed in a parsers file "
					"(only [PARSER] and [MULTILINE_PARSER])", s->file, s->line, s->name);
	}
	/* Sections keep pointers into conf's strings only while loading:
	 * parsers copy what they keep. */
	dp_conf_destroy(conf);
	return rc;
}

/*
 * A parser the configuration names (any `Parser` key) but defines nowhere
 * comes from sluice's standard parsers file (conf/parsers.conf, installed
 * as SLUICE_PARSERS_FILE; the source tree's copy when not installed), so
 * `Parser apache2` works without a Parsers_File. A [PARSER] of the same
 * name in the configuration or a Parsers_File always wins, and only the
 * parsers named are compiled.
 */
static bool named_undefined(const struct dp_pipeline *pl, const struct dp_conf *conf,
			    const char *name)
{
	for (unsigned i = 0; i < conf->nsec; i++)
		for (unsigned k = 0; k < conf->sec[i].nkv; k++)
			if (!strcasecmp(conf->sec[i].kv[k].key, "Parser") &&
			    (!name || !strcmp(conf->sec[i].kv[k].val, name)) &&
			    !psr_parsers_find(pl->parsers, conf->sec[i].kv[k].val))
				return true;
	return false;
}

static int load_standard(struct dp_pipeline *pl, const struct dp_conf *conf, struct dp_err *err)
{
	static const char *const paths[] = { SLUICE_PARSERS_FILE, SLUICE_PARSERS_FILE_SRC };
	if (!named_undefined(pl, conf, NULL))
		return 0;
	for (unsigned p = 0; p < DP_ARRAY_SIZE(paths); p++) {
		if (access(paths[p], R_OK))
			continue;
		struct dp_conf *std = dp_conf_load(paths[p], err);
		if (!std)
			return err->code ? err->code : -EINVAL;
		int rc = 0;
		for (unsigned i = 0; !rc && i < std->nsec; i++) {
			const struct dp_conf_kv *n = dp_conf_kv_get(&std->sec[i], "Name");
			if (!strcasecmp(std->sec[i].name, "PARSER") && n && named_undefined(pl, conf, n->val))
				rc = psr_parsers_add(pl->parsers, &std->sec[i], err);
		}
		dp_conf_destroy(std);
		return rc;
	}
	return 0;
}

int dp_pipeline_load_parsers(struct dp_pipeline *pl, const struct dp_conf *conf, struct dp_err *err)
{
	pl->parsers = psr_parsers_create();
	pl->ml_parsers = psr_ml_set_create(err);
	if (!pl->parsers || !pl->ml_parsers)
		return err->code ? err->code : -ENOMEM;
	int rc = 0;
	for (unsigned i = 0; !rc && i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		if (!strcasecmp(s->name, "SERVICE"))
			for (unsigned k = 0; !rc && k < s->nkv; k++)
				if (!strcasecmp(s->kv[k].key, "Parsers_File"))
					rc = load_file(pl, conf, &s->kv[k], err);
	}
	if (rc)
		return rc;
	for (unsigned i = 0; i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		if (!strcasecmp(s->name, "PARSER") || !strcasecmp(s->name, "MULTILINE_PARSER"))
			if ((rc = add_section(pl, s, err)))
				return rc;
	}
	if ((rc = load_standard(pl, conf, err)))
		return rc;
	/* [MULTILINE_PARSER] `parser`: every [PARSER] is known now */
	return psr_ml_set_resolve(pl->ml_parsers, pl->parsers, err);
}

void dp_pipeline_parsers_destroy(struct dp_pipeline *pl)
{
	psr_parsers_destroy(pl->parsers);
	psr_ml_set_destroy(pl->ml_parsers);
	psr_parsers_destroy(pl->kept_parsers);
	psr_ml_set_destroy(pl->kept_ml_parsers);
	pl->parsers = NULL;
	pl->ml_parsers = NULL;
	pl->kept_parsers = NULL;
	pl->kept_ml_parsers = NULL;
}
