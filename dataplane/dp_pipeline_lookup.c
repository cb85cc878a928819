/*
 * dp_pipeline_lookup.c — what a shard asks a built pipeline about a tag:
 * the filters its records run through and the outputs they go to. Looked
 * up once per input at start-up and once per chunk of an emitted or
 * stored tag, never per record. Any thread: the pipeline is only read.
 */
#include "dp_filter.h"
#include "dp_pipeline.h"

uint64_t dp_pipeline_chain(const struct dp_pipeline *pl, const char *tag, size_t len, int after)
{
	uint64_t chain = 0;
	for (unsigned i = (unsigned)(after + 1); i < pl->nflt; i++) {
		const struct dp_filter *f = pl->flt[i];
		if ((f->match_opt || f->match_regex_opt) && dp_match_tag(&f->match, tag, len))
			chain |= 1ull << i;
	}
	return chain;
}

uint64_t dp_pipeline_route(const struct dp_pipeline *pl, const char *tag, size_t len)
{
	uint64_t route = 0;
	for (unsigned o = 0; o < pl->nout; o++) {
		const struct dp_output *out = pl->out[o];
		if ((out->match_opt || out->match_regex_opt) && dp_match_tag(&out->match, tag, len))
			route |= 1ull << o;
	}
	return route;
}
