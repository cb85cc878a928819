/*
 * dp_plugin_load.c — opening plugin shared objects and checking them
 * (dp_plugin_load.h). Two kinds are recognised by what they export:
 *
 *   sluice_plugin        sluice's own C API (sluice_plugin.h): its ABI
 *                        number and struct sizes must match this binary's;
 *   FLBPluginRegister    Fluent Bit's Go interface (fluent-bit-go): an
 *                        output (out_goproxy.c) or an input
 *                        (in_goproxy.c) through the Go proxy.
 *
 * An object is known by device and inode, so a reload that names it again
 * (or by another path) does not load it twice. Objects are never closed:
 * instances made from them may outlive a pipeline, and a Go runtime cannot
 * be unloaded.
 *
 * Threads: the control thread only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "dp_log.h"
#include "dp_plugin_load.h"
#include "dp_registry.h"
#include "in_goproxy.h"
#include "out_goproxy.h"
#include "sluice_plugin.h"

#define OBJS_MAX 64
#define PLUGINS_MAX 128

static struct {
	dev_t dev;
	ino_t ino;
} objs[OBJS_MAX];
static unsigned nobjs;
static const struct dp_input_ops *ins[PLUGINS_MAX];
static const struct dp_output_ops *outs[PLUGINS_MAX];
static const struct dp_filter_ops *flts[PLUGINS_MAX];
static unsigned nins, nouts, nflts;

#define FIND(tab, n, name) \
	for (unsigned i = 0; i < (n); i++) \
		if (!strcasecmp((tab)[i]->name, (name))) \
			return (tab)[i]; \
	return NULL

const struct dp_input_ops *dp_plugin_input(const char *name) { FIND(ins, nins, name); }
const struct dp_output_ops *dp_plugin_output(const char *name) { FIND(outs, nouts, name); }
const struct dp_filter_ops *dp_plugin_filter(const char *name) { FIND(flts, nflts, name); }

const struct dp_input_ops *dp_plugin_input_nth(unsigned i) { return i < nins ? ins[i] : NULL; }
const struct dp_output_ops *dp_plugin_output_nth(unsigned i) { return i < nouts ? outs[i] : NULL; }
const struct dp_filter_ops *dp_plugin_filter_nth(unsigned i) { return i < nflts ? flts[i] : NULL; }

/* A name already taken (a built-in or an earlier object) would make one of
 * the two unreachable: refused. */
static int name_free(const char *kind, const char *name, bool taken, struct dp_err *err)
{
	if (!name || !*name)
		return dp_err_set(err, -EINVAL, "it has an %s without a name", kind);
	if (taken)
		return dp_err_set(err, -EEXIST, "its %s '%s' has the name of a plugin sluice already has",
				  kind, name);
	return 0;
}

static int check_c(const struct sluice_plugin *p, struct dp_err *err)
{
	if (p->abi != SLUICE_PLUGIN_ABI)
		return dp_err_set(err, -EPROTO, "built for sluice plugin ABI %u, this sluice has ABI %u: "
				  "rebuild it against this sluice's sluice_plugin.h", p->abi, SLUICE_PLUGIN_ABI);
	if (p->size_input_ops != sizeof(struct dp_input_ops) ||
	    p->size_output_ops != sizeof(struct dp_output_ops) ||
	    p->size_filter_ops != sizeof(struct dp_filter_ops) || p->size_chunk != sizeof(struct dp_chunk) ||
	    p->size_output != sizeof(struct dp_output))
		return dp_err_set(err, -EPROTO, "built against other sluice headers of ABI %u (struct sizes "
				  "differ): rebuild it against this sluice's sluice_plugin.h", p->abi);
	unsigned ni = 0, no = 0, nf = 0;
	for (; p->inputs && p->inputs[ni]; ni++)
		if (name_free("input", p->inputs[ni]->name,
			      p->inputs[ni]->name && dp_registry_input(p->inputs[ni]->name), err))
			return err->code;
	for (; p->outputs && p->outputs[no]; no++)
		if (name_free("output", p->outputs[no]->name,
			      p->outputs[no]->name && dp_registry_output(p->outputs[no]->name), err))
			return err->code;
	for (; p->filters && p->filters[nf]; nf++)
		if (name_free("filter", p->filters[nf]->name,
			      p->filters[nf]->name && dp_registry_filter(p->filters[nf]->name), err))
			return err->code;
	if (!ni && !no && !nf)
		return dp_err_set(err, -EINVAL, "its sluice_plugin lists no input, output or filter");
	if (nins + ni > PLUGINS_MAX || nouts + no > PLUGINS_MAX || nflts + nf > PLUGINS_MAX)
		return dp_err_set(err, -E2BIG, "too many plugins (at most %u of each kind)", PLUGINS_MAX);
	err->msg[0] = 0;
	int rc = p->load ? p->load(err) : 0;
	if (rc) {
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg[0] ? err->msg : "(no reason given)");
		return dp_err_set(err, rc < 0 ? rc : -EINVAL, "its load failed: %s", why);
	}
	for (unsigned i = 0; i < ni; i++)
		ins[nins++] = p->inputs[i];
	for (unsigned i = 0; i < no; i++)
		outs[nouts++] = p->outputs[i];
	for (unsigned i = 0; i < nf; i++)
		flts[nflts++] = p->filters[i];
	return 0;
}

/* Fluent Bit's Go interface: an output (out_goproxy.c) or an input
 * (in_goproxy.c), by the type FLBPluginRegister fills. */
static int load_go(void *dl, struct dp_err *err)
{
	struct flb_plugin_proxy_def def = { 0 };
	int rc = dp_goproxy_register(dl, &def, err);
	if (rc)
		return rc;
	if (def.type == FLB_PROXY_INPUT_PLUGIN) {
		if (nins == PLUGINS_MAX)
			return dp_err_set(err, -E2BIG, "too many plugins (at most %u inputs)", PLUGINS_MAX);
		const struct dp_input_ops *ops = in_goproxy_create(dl, &def, err);
		if (!ops)
			return err->code ? err->code : -EINVAL;
		if (name_free("input", ops->name, dp_registry_input(ops->name), err))
			return err->code;
		ins[nins++] = ops;
		return 0;
	}
	if (def.type != FLB_PROXY_OUTPUT_PLUGIN)
		return dp_err_set(err, -EINVAL, "FLBPluginRegister registered type %d: sluice runs Go "
				  "inputs (1) and outputs (2)", def.type);
	if (nouts == PLUGINS_MAX)
		return dp_err_set(err, -E2BIG, "too many plugins (at most %u outputs)", PLUGINS_MAX);
	const struct dp_output_ops *ops = out_goproxy_create(dl, &def, err);
	if (!ops)
		return err->code ? err->code : -EINVAL;
	if (name_free("output", ops->name, dp_registry_output(ops->name), err))
		return err->code;
	outs[nouts++] = ops;
	return 0;
}

/* Relative to the file that names it, as a Parsers_File is, falling back
 * to the working directory. */
static void resolve(char *out, size_t n, const char *path, const char *file)
{
	struct stat st;
	snprintf(out, n, "%s", path);
	if (path[0] == '/' || !file || file[0] == '<')
		return;
	const char *slash = strrchr(file, '/');
	if (!slash)
		return;
	snprintf(out, n, "%.*s%s", (int)(slash - file + 1), file, path);
	if (stat(out, &st))
		snprintf(out, n, "%s", path);
}

int dp_plugin_load(const char *path, const char *file, int line, struct dp_err *err)
{
	char full[4096];
	struct stat st;
	resolve(full, sizeof(full), path, file);
	if (stat(full, &st))
		return dp_err_set(err, -errno, "%s:%d: plugin %s: %s", file, line, full, strerror(errno));
	for (unsigned i = 0; i < nobjs; i++)
		if (objs[i].dev == st.st_dev && objs[i].ino == st.st_ino)
			return 0;
	if (nobjs == OBJS_MAX)
		return dp_err_set(err, -E2BIG, "%s:%d: plugin %s: more than %u plugin objects", file, line,
				  full, OBJS_MAX);
	/* dlopen searches the library path for a name without a slash. */
	char rel[4096 + 2];
	snprintf(rel, sizeof(rel), "%s%s", strchr(full, '/') ? "" : "./", full);
	void *dl = dlopen(rel, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return dp_err_set(err, -ENOEXEC, "%s:%d: plugin %s: cannot load it: %s", file, line, full,
				  dlerror());
	const struct sluice_plugin *c = dlsym(dl, SLUICE_PLUGIN_SYMBOL);
	int rc;
	if (c)
		rc = check_c(c, err);
	else if (dlsym(dl, "FLBPluginRegister"))
		rc = load_go(dl, err);
	else
		rc = dp_err_set(err, -ENOEXEC, "not a plugin: it exports neither %s (sluice's C API) nor "
				"FLBPluginRegister (Fluent Bit's Go interface)", SLUICE_PLUGIN_SYMBOL);
	if (rc) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		/* Not closed: a Go runtime, once started, cannot be unloaded;
		 * sluice exits anyway. */
		return dp_err_set(err, rc, "%s:%d: plugin %s: %s", file, line, full, msg);
	}
	objs[nobjs].dev = st.st_dev;
	objs[nobjs++].ino = st.st_ino;
	dp_info("plugin %s loaded", full);
	return 0;
}

/* Every Path of every [PLUGINS] section of c. */
static int load_sections(const struct dp_conf *c, struct dp_err *err)
{
	for (unsigned i = 0; i < c->nsec; i++) {
		const struct dp_conf_section *s = &c->sec[i];
		if (strcasecmp(s->name, "PLUGINS"))
			continue;
		for (unsigned k = 0; k < s->nkv; k++) {
			const struct dp_conf_kv *kv = &s->kv[k];
			if (strcasecmp(kv->key, "Path"))
				return dp_err_set(err, -EINVAL, "%s:%d: [PLUGINS] unknown key '%s' (only Path)",
						  kv->file, kv->line, kv->key);
			int rc = dp_plugin_load(kv->val, kv->file, kv->line, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int load_file(const struct dp_conf *main_conf, const struct dp_conf_kv *kv, struct dp_err *err)
{
	char path[4096];
	struct stat st;
	resolve(path, sizeof(path), kv->val, kv->file);
	if (stat(path, &st))
		return dp_err_set(err, -ENOENT, "%s:%d: [SERVICE] Plugins_File '%s' cannot be opened: %s",
				  kv->file, kv->line, kv->val, strerror(errno));
	struct dp_conf *conf = dp_conf_load_sub(path, main_conf, err);
	if (!conf)
		return err->code ? err->code : -EINVAL;
	int rc = dp_conf_undef_check(conf, main_conf->strict_vars, err);
	for (unsigned i = 0; !rc && i < conf->nsec; i++)
		if (strcasecmp(conf->sec[i].name, "PLUGINS"))
			rc = dp_err_set(err, -EINVAL, "%s:%d: [%s] is not allowed in a plugins file (only "
					"[PLUGINS])", conf->sec[i].file, conf->sec[i].line, conf->sec[i].name);
	if (!rc)
		rc = load_sections(conf, err);
	dp_conf_destroy(conf);
	return rc;
}

int dp_plugin_load_conf(const struct dp_conf *conf, struct dp_err *err)
{
	int rc = load_sections(conf, err);
	for (unsigned i = 0; !rc && i < conf->nsec; i++) {
		const struct dp_conf_section *s = &conf->sec[i];
		if (strcasecmp(s->name, "SERVICE"))
			continue;
		for (unsigned k = 0; !rc && k < s->nkv; k++)
			if (!strcasecmp(s->kv[k].key, "Plugins_File"))
				rc = load_file(conf, &s->kv[k], err);
	}
	return rc;
}
