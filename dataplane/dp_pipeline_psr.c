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
#include "dp_pipeline.h"
#include "dp_pipeline_int.h"
#include "psr_ml.h"
#include "psr_parser.h"

static int add_section(struct dp_pipeline *pl, const struct dp_conf_section *s, struct dp_err *err)
{
	if (!strcasecmp(s->name, "PARSER"))
		return psr_parsers_add(pl->parsers, s, err);
	if (!strcasecmp(s->name, "MULTILINE_PARSER"))
		return psr_ml_set_add(pl->ml_parsers, s, err);
	return 1;
}

/* A parsers file holds [PARSER] and [MULTILINE_PARSER] sections only. */
static int load_file(struct dp_pipeline *pl, const struct dp_conf_kv *kv, struct dp_err *err)
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
	struct dp_conf *conf = dp_conf_load(path, err);
	if (!conf)
		return err->code ? err->code : -EINVAL;
	int rc = 0;
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
					rc = load_file(pl, &s->kv[k], err);
	}
	if (rc)
		return rc;
	for (unsigned i = 0; i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		if (!strcasecmp(s->name, "PARSER") || !strcasecmp(s->name, "MULTILINE_PARSER"))
			if ((rc = add_section(pl, s, err)))
				return rc;
	}
	return 0;
}

void dp_pipeline_parsers_destroy(struct dp_pipeline *pl)
{
	psr_parsers_destroy(pl->parsers);
	psr_ml_set_destroy(pl->ml_parsers);
	pl->parsers = NULL;
	pl->ml_parsers = NULL;
}
