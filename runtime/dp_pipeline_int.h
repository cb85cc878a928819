/*
 * dp_pipeline_int.h — between the files that build a pipeline
 * (dp_pipeline.c, dp_pipeline_flt.c). Control thread.
 */
#ifndef DP_PIPELINE_INT_H
#define DP_PIPELINE_INT_H

#include "dp_pipeline.h"

enum dp_inst_kind { DP_INST_INPUT, DP_INST_FILTER, DP_INST_OUTPUT };

/* A new instance of kind k from section s (dp_pipeline_inst.c): a struct
 * dp_input, dp_filter or dp_output appended to the pipeline, with its
 * common and plugin keys applied, its Log_Level and its name; `what` gets
 * "[INPUT] tail" for the caller's messages. NULL with err set (file:line)
 * when Name is missing or unknown, on too many instances, a bad key or no
 * memory. */
void *dp_pipeline_inst_new(struct dp_pipeline *pl, enum dp_inst_kind k, const struct dp_conf_section *s,
			   char *what, size_t what_cap, struct dp_err *err);

/* Match / Match_Regex of an output or filter: not both; neither is a
 * warning (if_none says what follows); a bad pattern names its line. */
int dp_pipeline_log_level(const struct dp_conf_section *s, int parsed);
int dp_pipeline_match_init(struct dp_match *m, const char *match, const char *regex,
			   const struct dp_conf_section *s, const char *what, const char *if_none,
			   struct dp_err *err);
int dp_pipeline_add_filter(struct dp_pipeline *pl, const struct dp_conf_section *s, struct dp_err *err);
int dp_pipeline_add_emitters(struct dp_pipeline *pl, struct dp_err *err);
void dp_pipeline_filters_destroy(struct dp_pipeline *pl);
int dp_pipeline_load_parsers(struct dp_pipeline *pl, const struct dp_conf *conf, struct dp_err *err);
void dp_pipeline_parsers_destroy(struct dp_pipeline *pl);
int dp_pipeline_load_sp(struct dp_pipeline *pl, const struct dp_conf *conf, struct dp_err *err);
void dp_pipeline_sp_destroy(struct dp_pipeline *pl);

/* The output workers of pl and a channel from each of `shards` (pl's
 * count of them) to each worker, put in shard_chans[shard][worker] and
 * the workers' own arrays; nothing started. Used by start and by a reload
 * (whose shards are the running ones). */
struct shard;
struct dp_chan;
int dp_pipeline_workers_create(struct dp_pipeline *pl, struct shard *const *shards, struct dp_chan ***shard_chans,
			       struct dp_err *err);
int dp_pipeline_workers_start(struct dp_pipeline *pl, struct dp_err *err);
/* Close the channels (nothing more will come), let the workers deliver
 * what they hold within Grace, and join them: 0, or -ETIMEDOUT. */
int dp_pipeline_workers_stop(struct dp_pipeline *pl);

#endif
