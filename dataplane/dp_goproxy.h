/*
 * dp_goproxy.h — what Fluent Bit's Go plugin interface shares between its
 * output (outputs/out_goproxy.c) and its input (shards/in_goproxy.c): the
 * structs a fluent-bit-go object reads and fills, field for field as
 * Fluent Bit defines them (include/fluent-bit/flb_plugin_proxy.h,
 * flb_api.h, src/proxy/go/go.h), its registration, and an instance's
 * keys, kept for the instance's life so FLBPluginConfigKey answers the
 * same at any time (fluent-bit-go plugins call it in a flush too).
 *
 * Threads: register, init and fini on the control thread; the api's
 * getters may be called by the plugin from any thread (they only read
 * what init stored).
 */
#ifndef DP_GOPROXY_H
#define DP_GOPROXY_H

#include <stdatomic.h>
#include <stdbool.h>
#include "dp_conf.h"
#include "dp_log.h"

#define FLB_ERROR 0
#define FLB_OK    1
#define FLB_RETRY 2
#define FLB_PROXY_INPUT_PLUGIN  1
#define FLB_PROXY_OUTPUT_PLUGIN 2
#define FLB_PROXY_GOLANG        11

struct flb_plugin_proxy_def {
	int type;
	int proxy;
	int flags;
	char *name;
	char *description;
	int event_type;           /* newer Fluent Bit; zero here */
	void *reserved[4];        /* room should a plugin write past it */
};

struct flb_api {
	const char *(*output_get_property)(const char *, void *);
	const char *(*input_get_property)(const char *, void *);
	void *(*output_get_cmt_instance)(void *);
	void *(*input_get_cmt_instance)(void *);
	void (*log_print)(int, const char *, int, const char *, ...);
	int (*input_log_check)(void *, int);
	int (*output_log_check)(void *, int);
};

struct flb_plugin_proxy_context {
	void *remote_context;     /* FLBPluginSetContext's value */
	void *proxy;
};

/* The prefix of flbgo_output_plugin (o_ins) and flbgo_input_plugin (i_ins)
 * that fluent-bit-go reads: name, api, the instance, context. */
struct flbgo_plugin {
	char *name;
	struct flb_api *api;
	void *ins;
	struct flb_plugin_proxy_context *context;
};

/* The keys of a section, immutable once published; an init publishes a
 * new set and keeps the ones before it (older) until fini, so a plugin
 * thread reading keys never sees one freed. */
struct dp_goproxy_keys {
	struct dp_goproxy_keys *older;
	unsigned n;
	char *kv[];               /* key, value, key, value... */
};

/* What FLBPluginInit is given (plugin), and what its `ins` points at (this
 * struct) so the api's getters find the keys and the log level: one per
 * [OUTPUT] instance; for inputs one per loaded object (in_goproxy.c says
 * why), given to FLBPluginInit again by each instance. */
struct dp_goproxy_inst {
	struct flbgo_plugin plugin;
	struct flb_plugin_proxy_context pctx;
	struct dp_goproxy_keys *_Atomic keys;   /* the last init's section */
	_Atomic int log_level;    /* enum dp_log_level, -1: the service's */
	bool inited;              /* FLBPluginInit answered FLB_OK */
};

typedef int (*dp_goproxy_init_fn)(void *);
typedef int (*dp_goproxy_exit_fn)(void);
typedef int (*dp_goproxy_exit_ctx_fn)(void *);

/* dl's symbol, or NULL. */
void *dp_goproxy_sym(void *dl, const char *name);

/* Call dl's FLBPluginRegister into def and check what it filled (a Go
 * proxy with a name): 0, or -EINVAL with err's reason (without the path). */
int dp_goproxy_register(void *dl, struct flb_plugin_proxy_def *def, struct dp_err *err);

/* Publish sec's keys in gi, fill gi->plugin (name, the api, gi, its
 * context) and call init (FLBPluginInit) with it: 0, or -EINVAL with err
 * naming the object and what init returned. */
int dp_goproxy_init(struct dp_goproxy_inst *gi, dp_goproxy_init_fn init, const char *name,
		    const struct dp_conf_section *sec, int log_level, struct dp_err *err);

/* FLBPluginExitCtx(ctx) when exit_ctx is given, else FLBPluginExit(), if
 * FLBPluginInit had succeeded; and let go of every key set (no plugin
 * thread may read them any more). */
void dp_goproxy_fini(struct dp_goproxy_inst *gi, dp_goproxy_exit_fn exit_fn,
		     dp_goproxy_exit_ctx_fn exit_ctx);

#endif
