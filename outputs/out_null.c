/*
 * out_null.c — Fluent Bit's `null` output: confirms everything at once.
 * Used to measure the pipeline without an output's cost.
 *
 * Threads: the output worker.
 */
#include "dp_plugin.h"

static void *worker_create(struct dp_output *o, unsigned worker, struct dp_err *err)
{
	(void)worker;
	(void)err;
	return o;
}

static int flush(void *wctx, struct dp_chunk *const *c, unsigned n)
{
	(void)wctx;
	(void)c;
	(void)n;
	return 0;
}

const struct dp_output_ops out_null_ops = {
	.name = "null",
	.desc = "Discards records (confirms them at once)",
	.worker_create = worker_create,
	.flush = flush,
};
