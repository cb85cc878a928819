/*
 * sluice_plugin.h — what a shared object must export to add plugins to
 * sluice (docs/PLUGINS.md): one `const struct sluice_plugin sluice_plugin`
 * that lists the same const structs of operations the built-in plugins
 * are (dp_plugin.h, dp_filter.h), each with its option table. Installed by
 * `meson install` with the headers it includes (<prefix>/include/sluice).
 *
 * The ABI: SLUICE_PLUGIN_ABI changes whenever a struct a plugin sees
 * changes layout or meaning. `abi` is the first member so that any sluice
 * can read it whatever else changed; the sizes after it catch a header
 * edited without the number bumped. A plugin built against another ABI is
 * refused at start-up with both numbers in the message.
 *
 * Threads: read by the control thread when the object is loaded; the ops
 * are then called on the threads dp_plugin.h gives for each operation.
 */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stdint.h>
#include "dp_chunk.h"
#include "dp_filter.h"
#include "dp_plugin.h"

#define SLUICE_PLUGIN_ABI 2
/* The symbol sluice looks for. */
#define SLUICE_PLUGIN_SYMBOL "sluice_plugin"

struct sluice_plugin {
	uint32_t abi;             /* SLUICE_PLUGIN_ABI it was built with */
	uint32_t size_input_ops;  /* sizeof the structs it was built with */
	uint32_t size_output_ops;
	uint32_t size_filter_ops;
	uint32_t size_chunk;
	uint32_t size_output;
	const char *name;         /* for messages, e.g. "acme-outputs" */
	/* NULL-terminated lists, or NULL */
	const struct dp_input_ops *const *inputs;
	const struct dp_output_ops *const *outputs;
	const struct dp_filter_ops *const *filters;
	/* Optional, control thread, once when loaded: 0, or -errno with err
	 * set (sluice then refuses to start, naming the file). */
	int (*load)(struct dp_err *err);
};

/* The header of the struct, filled for the ABI this file describes:
 *   const struct sluice_plugin sluice_plugin = {
 *           SLUICE_PLUGIN_HEADER, .name = "x", .outputs = my_outputs };  */
#define SLUICE_PLUGIN_HEADER \
	.abi = SLUICE_PLUGIN_ABI, .size_input_ops = sizeof(struct dp_input_ops), \
	.size_output_ops = sizeof(struct dp_output_ops), \
	.size_filter_ops = sizeof(struct dp_filter_ops), .size_chunk = sizeof(struct dp_chunk), \
	.size_output = sizeof(struct dp_output)

#endif
