/*
 * dp_pipeline_flt.c — the filter side of a pipeline: [FILTER] instances,
 * their emitters (hidden inputs that carry the records filters make), and
 * the per-tag chains and routes (dataplane/dp_pipeline_lookup.c). Control
 * thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_log.h"
#include "dp_pipeline.h"
#include "dp_pipeline_int.h"

int dp_pipeline_add_filter(struct dp_pipeline *pl, const struct dp_conf_section *s, struct dp_err *err)
{
	char what[64];
	struct dp_filter *f = dp_pipeline_inst_new(pl, DP_INST_FILTER, s, what, sizeof(what), err);
	if (!f)
		return err->code;
	int rc = dp_pipeline_match_init(&f->match, f->match_opt, f->match_regex_opt, s, what,
					"it will see no records", err);
	if (rc)
		return rc;
	err->key = NULL;
	rc = f->ops->setup ? f->ops->setup(f, err) : 0;
	f->sec = NULL;
	return rc;
}

/* An emitter takes records from nowhere but its filter: no transport, no
 * parse. Its name is Fluent Bit's ("emitter_for_rewrite_tag.0"). */
static const struct dp_input_ops emitter_ops = {
	.name = "emitter",
	.desc = "records made by a filter (rewrite_tag, multiline)",
};

int dp_pipeline_add_emitters(struct dp_pipeline *pl, struct dp_err *err)
{
	for (unsigned i = 0; i < pl->nflt; i++) {
		struct dp_filter *f = pl->flt[i];
		if (!f->ops->emits)
			continue;
		if (pl->nin == DP_MAX_INPUTS)
			return dp_err_set(err, -E2BIG, "%s:%d: too many inputs with the emitters filters need "
					  "(max %d)", f->file, f->line, DP_MAX_INPUTS);
		struct dp_input *in = calloc(1, sizeof(*in));
		if (!in)
			return dp_err_set(err, -ENOMEM, "%s:%d: out of memory", f->file, f->line);
		in->id = pl->nin;
		in->ops = &emitter_ops;
		in->cfg = NULL;
		in->file = f->file;
		in->line = f->line;
		snprintf(in->name, sizeof(in->name), "emitter_for_%.35s",
			 f->alias ? f->alias : f->name);
		in->tag = strdup(in->name);
		if (!in->tag) {
			free(in);
			return dp_err_set(err, -ENOMEM, "%s:%d: out of memory", f->file, f->line);
		}
		in->tag_len = strlen(in->tag);
		in->mem_buf_limit = f->emitter_mem_buf_limit;
		/* emitter_storage.type filesystem: the store takes its chunks
		 * as any filesystem input's (shard_store.c) */
		in->storage_type = f->emitter_storage;
		in->net = DP_NET_NONE;
		in->emitter_of = (int)f->id;
		in->routable = true;
		f->emitter = (int)in->id;
		pl->in[pl->nin++] = in;
	}
	return 0;
}


void dp_pipeline_filters_destroy(struct dp_pipeline *pl)
{
	for (unsigned i = 0; i < pl->nflt; i++) {
		struct dp_filter *f = pl->flt[i];
		if (f->ops->teardown)
			f->ops->teardown(f);
		if (f->ops->opts)
			dp_opt_free(f->ops->opts, f->cfg);
		dp_opt_free(dp_filter_common_opts, f);
		dp_match_fini(&f->match);
		free(f->cfg);
		free(f);
	}
	pl->nflt = 0;
}
