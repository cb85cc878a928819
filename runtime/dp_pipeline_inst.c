/*
 * dp_pipeline_inst.c — making an input, filter or output instance from its
 * configuration section: the one path the three kinds share. The plugin
 * named by `Name` is looked up, the instance and its option struct are
 * allocated and appended to the pipeline, the kind's common keys and the
 * plugin's own are applied (pass-through keys such as rdkafka.* left to the
 * plugin), and the instance gets its Log_Level and Fluent Bit's name,
 * "<plugin>.<n>". What only one kind has (an input's tag, an output's
 * Retry_Limit, Match) and the plugin's setup stay with the caller.
 * Control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include "dp_registry.h"
#include "dp_filter.h"
#include "dp_pipeline.h"
#include "dp_pipeline_int.h"
#include "dp_suggest.h"

/* The fields the kinds share, wherever each struct keeps them. */
struct inst_view {
	const char *plugin;
	const struct dp_opt *common, *opts;
	const char *key_prefix;
	void *inst, *cfg;
	char *name;
	size_t name_cap;
	int *log_level;
	const struct dp_conf_section **sec;
};

static const char *const kind_word[] = {
	[DP_INST_INPUT] = "input", [DP_INST_FILTER] = "filter", [DP_INST_OUTPUT] = "output",
};
static const char *const kind_section[] = {
	[DP_INST_INPUT] = "INPUT", [DP_INST_FILTER] = "FILTER", [DP_INST_OUTPUT] = "OUTPUT",
};

/* Look the plugin up and make the instance, appended to its list: the view
 * of it, or -errno with err set. */
static int inst_make(struct dp_pipeline *pl, enum dp_inst_kind k, const char *name,
		     const struct dp_conf_section *s, struct inst_view *v, struct dp_err *err)
{
	const void *ops = NULL;
	size_t cfg_size = 0;
	unsigned n = 0, max = 0;
	switch (k) {
	case DP_INST_INPUT: {
		const struct dp_input_ops *o = dp_registry_input(name);
		if (o)
			*v = (struct inst_view){ o->name, dp_input_common_opts, o->opts, o->key_prefix };
		ops = o, cfg_size = o ? o->cfg_size : 0, n = pl->nin, max = DP_MAX_INPUTS;
		break;
	}
	case DP_INST_FILTER: {
		const struct dp_filter_ops *o = dp_registry_filter(name);
		if (o)
			*v = (struct inst_view){ o->name, dp_filter_common_opts, o->opts, NULL };
		ops = o, cfg_size = o ? o->cfg_size : 0, n = pl->nflt, max = DP_MAX_FILTERS;
		break;
	}
	case DP_INST_OUTPUT: {
		const struct dp_output_ops *o = dp_registry_output(name);
		if (o)
			*v = (struct inst_view){ o->name, dp_output_common_opts, o->opts, o->key_prefix };
		ops = o, cfg_size = o ? o->cfg_size : 0, n = pl->nout, max = DP_MAX_OUTPUTS;
		break;
	}
	}
	if (!ops)
		return -ENOENT;
	if (n == max)
		return dp_err_set(err, -E2BIG, "%s:%d: too many %ss (max %u)", s->file, s->line,
				  kind_word[k], max);
	v->cfg = calloc(1, cfg_size ? cfg_size : 1);
	switch (k) {
	case DP_INST_INPUT: {
		struct dp_input *in = calloc(1, sizeof(*in));
		if (in) {
			*in = (struct dp_input){ .id = n, .ops = ops, .cfg = v->cfg, .emitter_of = -1 };
			pl->in[pl->nin++] = in;
			v->name = in->name, v->name_cap = sizeof(in->name);
			v->log_level = &in->log_level, v->sec = &in->sec;
			in->file = s->file, in->line = s->line, in->pl = pl;
		}
		v->inst = in;
		break;
	}
	case DP_INST_FILTER: {
		struct dp_filter *f = calloc(1, sizeof(*f));
		if (f) {
			*f = (struct dp_filter){ .id = n, .ops = ops, .cfg = v->cfg, .emitter = -1 };
			pl->flt[pl->nflt++] = f;
			v->name = f->name, v->name_cap = sizeof(f->name);
			v->log_level = &f->log_level, v->sec = &f->sec;
			f->file = s->file, f->line = s->line, f->pl = pl;
		}
		v->inst = f;
		break;
	}
	case DP_INST_OUTPUT: {
		struct dp_output *o = calloc(1, sizeof(*o));
		if (o) {
			*o = (struct dp_output){ .id = n, .ops = ops, .cfg = v->cfg };
			pl->out[pl->nout++] = o;
			v->name = o->name, v->name_cap = sizeof(o->name);
			v->log_level = &o->log_level, v->sec = &o->sec;
			o->file = s->file, o->line = s->line, o->pl = pl;
		}
		v->inst = o;
		break;
	}
	}
	if (!v->inst || !v->cfg) {
		if (!v->inst)
			free(v->cfg);   /* else the instance owns it: freed with the pipeline */
		return dp_err_set(err, -ENOMEM, "%s:%d: out of memory", s->file, s->line);
	}
	return 0;
}

/* Instances of the same plugin before the newest one. */
static unsigned inst_nth(const struct dp_pipeline *pl, enum dp_inst_kind k)
{
	unsigned nth = 0;
	switch (k) {
	case DP_INST_INPUT:
		for (unsigned i = 0; i + 1 < pl->nin; i++)
			nth += pl->in[i]->ops == pl->in[pl->nin - 1]->ops;
		break;
	case DP_INST_FILTER:
		for (unsigned i = 0; i + 1 < pl->nflt; i++)
			nth += pl->flt[i]->ops == pl->flt[pl->nflt - 1]->ops;
		break;
	case DP_INST_OUTPUT:
		for (unsigned i = 0; i + 1 < pl->nout; i++)
			nth += pl->out[i]->ops == pl->out[pl->nout - 1]->ops;
		break;
	}
	return nth;
}

/* key_prefix "" (Go plugins, out_goproxy.c): every key of s that neither
 * table has passes through to the plugin, which reads it itself. */
#define DP_CONF_PASS_MAX 256
static void pass_all(const struct dp_conf_section *s, const struct dp_opt *const tabs[2],
		     const char **ignore)
{
	unsigned n = 1;
	for (unsigned k = 0; k < s->nkv && n + 1 < DP_CONF_PASS_MAX; k++) {
		bool known = false;
		for (unsigned t = 0; t < 2 && !known; t++)
			for (const struct dp_opt *o = tabs[t]; o && o->name && !known; o++)
				known = !strcasecmp(o->name, s->kv[k].key);
		if (!known)
			ignore[n++] = s->kv[k].key;
	}
	ignore[n] = NULL;
}

void *dp_pipeline_inst_new(struct dp_pipeline *pl, enum dp_inst_kind k, const struct dp_conf_section *s,
			   char *what, size_t what_cap, struct dp_err *err)
{
	const struct dp_conf_kv *name = dp_conf_kv_get(s, "Name");
	if (!name) {
		dp_err_set(err, -EINVAL, "%s:%d: [%s] missing required key 'Name'", s->file, s->line,
			   kind_section[k]);
		return NULL;
	}
	struct inst_view v;
	int rc = inst_make(pl, k, name->val, s, &v, err);
	if (rc == -ENOENT) {
		char hint[96];
		dp_err_set(err, -EINVAL, "%s:%d: [%s] unknown %s plugin '%s'%s", name->file, name->line,
			   kind_section[k], kind_word[k], name->val,
			   dp_suggest_plugin_hint(kind_word[k], name->val, hint, sizeof(hint)));
		return NULL;
	}
	if (rc)
		return NULL;
	snprintf(what, what_cap, "[%s] %s", kind_section[k], v.plugin);
	/* Name was read above: it picks the tables. So are the plugin's
	 * pass-through keys ("rdkafka.*"). */
	const struct dp_opt *tabs[2] = { v.common, v.opts };
	void *cfgs[2] = { v.inst, v.cfg };
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s*", v.key_prefix ? v.key_prefix : "");
	const char *ignore[DP_CONF_PASS_MAX] = { "Name", v.key_prefix ? prefix : NULL, NULL };
	if (v.key_prefix && !*v.key_prefix)
		pass_all(s, tabs, ignore);
	if (dp_opt_apply(tabs, cfgs, v.opts ? 2 : 1, s, what, ignore, err))
		return NULL;
	*v.sec = s;
	*v.log_level = dp_pipeline_log_level(s, *v.log_level);
	snprintf(v.name, v.name_cap, "%s.%u", v.plugin, inst_nth(pl, k));
	if (k == DP_INST_INPUT)
		((struct dp_input *)v.inst)->sig = dp_conf_section_sig(s, 0);
	else if (k == DP_INST_OUTPUT)
		((struct dp_output *)v.inst)->sig = dp_conf_section_sig(s, 0);
	return v.inst;
}
