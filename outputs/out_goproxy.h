/*
 * out_goproxy.h — Fluent Bit's Go output plugin interface (out_goproxy.c):
 * a shared object built with fluent-bit-go becomes a sluice output.
 * Control thread (loading); its flush runs on output workers.
 */
#ifndef OUT_GOPROXY_H
#define OUT_GOPROXY_H

#include "dp_goproxy.h"
#include "dp_plugin.h"

/* dl registered an output (def, dp_goproxy_register): its output's ops,
 * or NULL with err set to the reason (without the path; the caller adds it). */
const struct dp_output_ops *out_goproxy_create(void *dl, const struct flb_plugin_proxy_def *def,
					       struct dp_err *err);

#endif
