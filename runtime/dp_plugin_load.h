/*
 * dp_plugin_load.h — plugins from shared objects (dp_plugin_load.c): the
 * objects a configuration names (-e, [PLUGINS] Path in the main file or a
 * [SERVICE] Plugins_File, YAML plugins:) are opened once per process and
 * never closed (a Go runtime cannot be unloaded), and their plugins join
 * the registry's lookups (dp_registry.h).
 *
 * Threads: the control thread loads and looks up; nothing else reads the
 * tables.
 */
#ifndef DP_PLUGIN_LOAD_H
#define DP_PLUGIN_LOAD_H

#include "dp_conf.h"
#include "dp_filter.h"
#include "dp_plugin.h"

/* Load every object conf names that is not loaded yet. 0, or -errno with
 * err naming where it was written, the object and the reason. */
int dp_plugin_load_conf(const struct dp_conf *conf, struct dp_err *err);

/* Load one object (path as written; file:line where, for errors). */
int dp_plugin_load(const char *path, const char *file, int line, struct dp_err *err);

/* Loaded plugins by name (case-insensitive), or NULL. */
const struct dp_input_ops *dp_plugin_input(const char *name);
const struct dp_output_ops *dp_plugin_output(const char *name);
const struct dp_filter_ops *dp_plugin_filter(const char *name);
/* The i-th loaded plugin of a kind, in load order, or NULL past the last
 * (sluice --help lists them). */
const struct dp_input_ops *dp_plugin_input_nth(unsigned i);
const struct dp_output_ops *dp_plugin_output_nth(unsigned i);
const struct dp_filter_ops *dp_plugin_filter_nth(unsigned i);

#endif
