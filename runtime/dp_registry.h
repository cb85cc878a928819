/*
 * dp_registry.h — every plugin sluice has, by kind and name (dp_registry.c):
 * the runtime makes instances from them and lists them in --help. Any
 * thread (constant tables).
 */
#ifndef DP_REGISTRY_H
#define DP_REGISTRY_H

#include <stddef.h>
#include "dp_filter.h"
#include "dp_plugin.h"

const struct dp_input_ops *dp_registry_input(const char *name);
const struct dp_output_ops *dp_registry_output(const char *name);
const struct dp_filter_ops *dp_registry_filter(const char *name);
extern const struct dp_input_ops *const dp_registry_inputs[];
extern const struct dp_output_ops *const dp_registry_outputs[];
extern const struct dp_filter_ops *const dp_registry_filters[];

/* " (did you mean 'syslog'?)" for an unknown plugin name of kind "input",
 * "filter" or "output", or "" (dp_suggest.h). */
const char *dp_suggest_plugin_hint(const char *kind, const char *name, char *buf, size_t n);

#endif
