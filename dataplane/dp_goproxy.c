/*
 * dp_goproxy.c — Fluent Bit's Go plugin interface, the part its output
 * and input share (dp_goproxy.h): registration, the api struct handed to
 * FLBPluginInit, an instance's keys.
 *
 * Threads: register, init and fini on the control thread; the getters of
 * the api on whichever thread the plugin calls them from (read-only).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_goproxy.h"

/* What fluent-bit-go's FLBPluginConfigKey calls: the value of the key in
 * the instance's section, for the instance's life; NULL (read as "" by
 * the Go side) when the section does not set it. */
static const char *get_property(const char *key, void *ins)
{
	struct dp_goproxy_inst *gi = ins;
	if (!gi || !key)
		return NULL;
	const struct dp_goproxy_keys *k = atomic_load_explicit(&gi->keys, memory_order_acquire);
	for (unsigned i = 0; k && i < k->n; i++)
		if (!strcasecmp(k->kv[2 * i], key))
			return k->kv[2 * i + 1];
	return NULL;
}

/* Fluent Bit gives the instance's cmetrics context, for the plugin to
 * call cmetrics' C functions on; sluice has no cmetrics, so a defined
 * NULL (docs/PLUGINS.md). */
static void *no_cmt(void *ins)
{
	(void)ins;
	return NULL;
}

/* Fluent Bit's levels are sluice's (error 1 .. trace 5). */
static void log_print(int level, const char *file, int line, const char *fmt, ...)
{
	(void)file;
	(void)line;
	if (level > dp_log_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dp_log_write(level < DP_LOG_ERROR ? DP_LOG_ERROR : level, "%s", msg);
}

static int log_check(void *ins, int level)
{
	struct dp_goproxy_inst *gi = ins;
	int l = gi ? atomic_load_explicit(&gi->log_level, memory_order_relaxed) : -1;
	if (l < 0)
		l = dp_log_level;
	return level <= l;
}

static struct flb_api api = {
	.output_get_property = get_property,
	.input_get_property = get_property,
	.output_get_cmt_instance = no_cmt,
	.input_get_cmt_instance = no_cmt,
	.log_print = log_print,
	.input_log_check = log_check,
	.output_log_check = log_check,
};

void *dp_goproxy_sym(void *dl, const char *name)
{
	return dlsym(dl, name);
}

int dp_goproxy_register(void *dl, struct flb_plugin_proxy_def *def, struct dp_err *err)
{
	int (*reg)(void *) = (int (*)(void *))dlsym(dl, "FLBPluginRegister");
	const char *why = NULL;
	if (!reg)
		why = "it does not export FLBPluginRegister";
	else if (!dlsym(dl, "FLBPluginInit"))
		why = "it does not export FLBPluginInit";
	else if (reg(def) == -1)
		why = "FLBPluginRegister failed";
	else if (def->proxy != FLB_PROXY_GOLANG)
		why = "FLBPluginRegister did not register a Go proxy (11)";
	else if (!def->name || !*def->name)
		why = "FLBPluginRegister gave no name";
	return why ? dp_err_set(err, -EINVAL, "%s", why) : 0;
}

static void keys_free(struct dp_goproxy_keys *k)
{
	while (k) {
		struct dp_goproxy_keys *older = k->older;
		for (unsigned i = 0; i < 2 * k->n; i++)
			free(k->kv[i]);
		free(k);
		k = older;
	}
}

static int keys_publish(struct dp_goproxy_inst *gi, const struct dp_conf_section *sec)
{
	unsigned n = sec ? sec->nkv : 0;
	struct dp_goproxy_keys *k = calloc(1, sizeof(*k) + (2 * n + 1) * sizeof(k->kv[0]));
	if (!k)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		k->kv[2 * i] = strdup(sec->kv[i].key);
		k->kv[2 * i + 1] = strdup(sec->kv[i].val);
		k->n++;
		if (!k->kv[2 * i] || !k->kv[2 * i + 1]) {
			keys_free(k);
			return -ENOMEM;
		}
	}
	k->older = atomic_load_explicit(&gi->keys, memory_order_relaxed);
	atomic_store_explicit(&gi->keys, k, memory_order_release);
	return 0;
}

int dp_goproxy_init(struct dp_goproxy_inst *gi, dp_goproxy_init_fn init, const char *name,
		    const struct dp_conf_section *sec, int log_level, struct dp_err *err)
{
	if (keys_publish(gi, sec))
		return dp_err_set(err, -ENOMEM, "out of memory");
	atomic_store_explicit(&gi->log_level, log_level, memory_order_relaxed);
	gi->plugin = (struct flbgo_plugin){ (char *)name, &api, gi, &gi->pctx };
	int rc = init(&gi->plugin);
	if (rc <= 0) {
		Dl_info di;
		const char *path = dladdr((void *)init, &di) && di.dli_fname ? di.dli_fname : "?";
		return dp_err_set(err, -EINVAL, "plugin %s: FLBPluginInit failed (returned %d)", path, rc);
	}
	gi->inited = true;
	return 0;
}

void dp_goproxy_fini(struct dp_goproxy_inst *gi, dp_goproxy_exit_fn exit_fn,
		     dp_goproxy_exit_ctx_fn exit_ctx)
{
	if (gi->inited) {
		if (exit_ctx)
			exit_ctx(gi->pctx.remote_context);
		else if (exit_fn)
			exit_fn();
		gi->inited = false;
	}
	keys_free(atomic_exchange(&gi->keys, NULL));
}
