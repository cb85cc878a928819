/*
 * in_goproxy.h — Fluent Bit's Go input plugin interface (in_goproxy.c):
 * a shared object built with fluent-bit-go's input package becomes a
 * sluice input. Control thread (loading).
 */
#ifndef IN_GOPROXY_H
#define IN_GOPROXY_H

#include "dp_goproxy.h"
#include "dp_plugin.h"

/* dl registered an input (def, dp_goproxy_register): its input's ops, or
 * NULL with err set to the reason (without the path; the caller adds it). */
const struct dp_input_ops *in_goproxy_create(void *dl, const struct flb_plugin_proxy_def *def,
					     struct dp_err *err);

#endif
