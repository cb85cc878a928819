/*
 * dp_pipeline_sp.c — the stream processor's place in a pipeline: its
 * [STREAM_TASK] sections, read from `Streams_File` (as Fluent Bit does)
 * and from the main configuration, the engine (sp/sp.h), and the hidden
 * input whose chunks carry the tasks' results, routed by their tags.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_pipeline.h"
#include "dp_pipeline_int.h"
#include "sp.h"

static const struct dp_input_ops sp_input_ops = {
	.name = "stream_processor",
	.desc = "results of [STREAM_TASK] queries",
};

static int add_tasks(struct dp_conf *conf, const struct dp_conf_section **tasks, unsigned *n,
		     unsigned max, struct dp_err *err)
{
	for (unsigned i = 0; i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		if (strcasecmp(s->name, "STREAM_TASK"))
			continue;
		if (*n == max)
			return dp_err_set(err, -E2BIG, "%s:%d: too many [STREAM_TASK] sections (max %u)", s->file,
					  s->line, max);
		tasks[(*n)++] = s;
	}
	return 0;
}

int dp_pipeline_load_sp(struct dp_pipeline *pl, const struct dp_conf *conf, struct dp_err *err)
{
	enum { MAX_TASKS = 64 };
	const struct dp_conf_section *tasks[MAX_TASKS];
	unsigned n = 0;
	int rc = add_tasks((struct dp_conf *)conf, tasks, &n, MAX_TASKS, err);
	if (!rc && pl->svc.streams_file) {
		const char *path = pl->svc.streams_file;
		char rel[4096];
		const struct dp_conf_kv *kv = NULL;
		for (unsigned i = 0; i < conf->nsec && !kv; i++)
			if (!strcasecmp(conf->sec[i].name, "SERVICE"))
				kv = dp_conf_kv_get(&conf->sec[i], "Streams_File");
		FILE *f = fopen(path, "r");
		if (!f && kv && kv->file[0] != '<' && path[0] != '/') {
			/* Relative to the configuration file, as Fluent Bit does. */
			const char *slash = strrchr(kv->file, '/');
			snprintf(rel, sizeof(rel), "%.*s%s", slash ? (int)(slash - kv->file + 1) : 0, kv->file,
				 path);
			path = rel;
			f = fopen(path, "r");
		}
		if (!f)
			return dp_err_set(err, -ENOENT, "%s:%d: [SERVICE] Streams_File '%s' cannot be opened",
					  kv ? kv->file : "?", kv ? kv->line : 0, pl->svc.streams_file);
		fclose(f);
		/* The tasks point into this configuration: it lives as long as
		 * the pipeline. */
		pl->streams_conf = dp_conf_load_sub(path, conf, err);
		if (!pl->streams_conf)
			return err->code ? err->code : -EINVAL;
		/* its ${VAR}s are checked as the main file's are */
		if ((rc = dp_conf_undef_check(pl->streams_conf, conf->strict_vars, err)))
			return rc;
		for (unsigned i = 0; i < pl->streams_conf->nsec; i++) {
			const struct dp_conf_section *s = &pl->streams_conf->sec[i];
			if (strcasecmp(s->name, "STREAM_TASK"))
				return dp_err_set(err, -EINVAL, "%s:%d: [%s] is not allowed in a streams file "
						  "(only [STREAM_TASK])", s->file, s->line, s->name);
		}
		rc = add_tasks(pl->streams_conf, tasks, &n, MAX_TASKS, err);
	}
	if (rc || n == 0)
		return rc;
	/* FROM STREAM:name may name an input by its Alias or instance name. */
	const char *names[DP_MAX_INPUTS], *aliases[DP_MAX_INPUTS];
	for (unsigned i = 0; i < pl->nin; i++) {
		names[i] = pl->in[i]->name;
		aliases[i] = pl->in[i]->alias;
	}
	struct sp_inputs ins = { pl->nin, names, aliases };
	pl->sp = sp_engine_create_in(tasks, n, pl->nshards, &ins, err);
	if (!pl->sp)
		return err->code ? err->code : -EINVAL;
	sp_engine_set_str_num(pl->sp, pl->svc.sp_str_num);
	if (pl->nin == DP_MAX_INPUTS)
		return dp_err_set(err, -E2BIG, "too many inputs with the stream processor's (max %d)",
				  DP_MAX_INPUTS);
	struct dp_input *in = calloc(1, sizeof(*in));
	if (!in)
		return dp_err_set(err, -ENOMEM, "out of memory");
	in->id = pl->nin;
	in->ops = &sp_input_ops;
	in->file = tasks[0]->file;
	in->line = tasks[0]->line;
	snprintf(in->name, sizeof(in->name), "stream_processor");
	in->tag = strdup(in->name);
	if (!in->tag) {
		free(in);
		return dp_err_set(err, -ENOMEM, "out of memory");
	}
	in->tag_len = strlen(in->tag);
	in->mem_buf_limit = pl->svc.sp_mem_buf_limit;
	in->net = DP_NET_NONE;
	in->emitter_of = DP_EMITTER_SP;
	in->routable = true;
	pl->sp_input = (int)in->id;
	pl->in[pl->nin++] = in;
	return 0;
}

void dp_pipeline_sp_destroy(struct dp_pipeline *pl)
{
	sp_engine_destroy(pl->sp);
	pl->sp = NULL;
	if (pl->streams_conf)
		dp_conf_destroy(pl->streams_conf);
	pl->streams_conf = NULL;
}
