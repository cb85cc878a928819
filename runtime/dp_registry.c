/*
 * dp_registry.c — every plugin sluice has, in one static array per kind.
 * Names are matched case-insensitively, as Fluent Bit does.
 *
 * Threads: any (constant tables).
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include "dp_filter.h"
#include "dp_plugin.h"
#include "dp_plugin_load.h"
#include "dp_registry.h"
#include "dp_suggest.h"

extern const struct dp_input_ops in_syslog_ops, in_tcp_ops, in_dummy_ops;
extern const struct dp_output_ops out_stdout_ops, out_file_ops, out_null_ops;
extern const struct dp_filter_ops flt_multiline_ops;
extern const struct dp_filter_ops re_grep_ops, re_rewrite_tag_ops;
extern const struct dp_filter_ops flt_modify_ops, flt_record_modifier_ops, flt_throttle_ops,
	flt_sampling_ops;
extern const struct dp_filter_ops flt_parser_ops;
extern const struct dp_filter_ops flt_nest_ops, flt_lua_ops;
extern const struct dp_output_ops out_kafka_ops;
extern const struct dp_output_ops out_http_ops;
extern const struct dp_output_ops out_es_ops, out_opensearch_ops;
extern const struct dp_input_ops in_kafka_ops;
extern const struct dp_input_ops in_udp_ops;
extern const struct dp_input_ops in_tail_ops;
extern const struct dp_input_ops in_systemd_ops;
extern const struct dp_input_ops in_forward_ops;
extern const struct dp_input_ops in_http_ops;
extern const struct dp_output_ops out_forward_ops;

const struct dp_input_ops *const dp_registry_inputs[] = {
	&in_syslog_ops,
	&in_tcp_ops,
	&in_dummy_ops,
	&in_kafka_ops,
	&in_udp_ops,
	&in_tail_ops,
	&in_systemd_ops,
	&in_forward_ops,
	&in_http_ops,
	NULL,
};

const struct dp_output_ops *const dp_registry_outputs[] = {
	&out_stdout_ops,
	&out_file_ops,
	&out_null_ops,
	&out_kafka_ops,
	&out_http_ops,
	&out_es_ops,
	&out_opensearch_ops,
	&out_forward_ops,
	NULL,
};

/* Filters, in the order the reference lists them. */
const struct dp_filter_ops *const dp_registry_filters[] = {
	&re_grep_ops,
	&flt_modify_ops,
	&flt_lua_ops,
	&flt_multiline_ops,
	&flt_nest_ops,
	&flt_parser_ops,
	&flt_record_modifier_ops,
	&re_rewrite_tag_ops,
	&flt_sampling_ops,
	&flt_throttle_ops,
	NULL,
};

const struct dp_filter_ops *dp_registry_filter(const char *name)
{
	for (unsigned i = 0; dp_registry_filters[i]; i++)
		if (!strcasecmp(dp_registry_filters[i]->name, name))
			return dp_registry_filters[i];
	return dp_plugin_filter(name);   /* loaded from a shared object */
}

const struct dp_input_ops *dp_registry_input(const char *name)
{
	for (unsigned i = 0; dp_registry_inputs[i]; i++)
		if (!strcasecmp(dp_registry_inputs[i]->name, name))
			return dp_registry_inputs[i];
	return dp_plugin_input(name);   /* loaded from a shared object */
}

const struct dp_output_ops *dp_registry_output(const char *name)
{
	for (unsigned i = 0; dp_registry_outputs[i]; i++)
		if (!strcasecmp(dp_registry_outputs[i]->name, name))
			return dp_registry_outputs[i];
	return dp_plugin_output(name);   /* loaded from a shared object */
}

const char *dp_suggest_plugin_hint(const char *kind, const char *name, char *buf, size_t n)
{
	struct dp_suggest s;
	dp_suggest_init(&s, name);
	if (!strcmp(kind, "input"))
		for (unsigned i = 0; dp_registry_inputs[i]; i++)
			dp_suggest_add(&s, dp_registry_inputs[i]->name);
	else if (!strcmp(kind, "filter"))
		for (unsigned i = 0; dp_registry_filters[i]; i++)
			dp_suggest_add(&s, dp_registry_filters[i]->name);
	else
		for (unsigned i = 0; dp_registry_outputs[i]; i++)
			dp_suggest_add(&s, dp_registry_outputs[i]->name);
	return dp_suggest_hint(&s, buf, n);
}
