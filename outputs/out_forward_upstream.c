/*
 * out_forward_upstream.c — the forward output's Upstream file, as Fluent
 * Bit reads it (docs: administration/configuring-fluent-bit/classic-mode/
 * upstream-servers; src/flb_upstream_ha.c):
 *
 *   [UPSTREAM]
 *       name       forward-balancing
 *   [NODE]
 *       name       node-1
 *       host       127.0.0.1
 *       port       43000
 *       shared_key secret        (and self_hostname, username, password,
 *                                 empty_shared_key, tls, tls.*)
 *
 * One [UPSTREAM], one or more [NODE]s in the order written. A key a node
 * does not set is the output's own (Shared_Key, Self_Hostname, tls.*, ...),
 * except host and port, which each node must have. Unknown keys and
 * sections are errors with the file and line, like the main configuration.
 *
 * Threads: the control thread (the output's setup).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_conf.h"
#include "dp_opt.h"
#include "out_forward.h"

struct node_cfg {
	char *name;
	char *host;
	int64_t port;
	char *shared_key;
	bool empty_shared_key;
	char *self_hostname;
	char *username, *password;
	bool tls_verify_hostname;
	struct dp_tls_cfg tls;
};

#define N(f) offsetof(struct node_cfg, f)

static const struct dp_opt node_opts[] = {
	{ "name", DP_OPT_STR, NULL, N(name), NULL, 0, 0, DP_OPT_REQUIRED, "Name of the node." },
	{ "host", DP_OPT_STR, NULL, N(host), NULL, 0, 0, DP_OPT_REQUIRED, "Host name or address." },
	{ "port", DP_OPT_INT, NULL, N(port), NULL, 1, 65535, DP_OPT_REQUIRED, "TCP port." },
	{ "shared_key", DP_OPT_STR, NULL, N(shared_key), NULL, 0, 0, 0, "Shared key of this node." },
	{ "empty_shared_key", DP_OPT_BOOL, "false", N(empty_shared_key), NULL, 0, 0, 0, "Empty shared key." },
	{ "self_hostname", DP_OPT_STR, NULL, N(self_hostname), NULL, 0, 0, 0, "Host name sent in PING." },
	{ "username", DP_OPT_STR, NULL, N(username), NULL, 0, 0, 0, "User." },
	{ "password", DP_OPT_STR, NULL, N(password), NULL, 0, 0, 0, "Password." },
	{ "tls.verify_hostname", DP_OPT_BOOL, "off", N(tls_verify_hostname), NULL, 0, 0, 0, "Check the name." },
	DP_TLS_CLIENT_OPTS(struct node_cfg, tls),
	{ NULL },
};

struct upstream_cfg {
	char *name;
};

static const struct dp_opt upstream_opts[] = {
	{ "name", DP_OPT_STR, NULL, offsetof(struct upstream_cfg, name), NULL, 0, 0, 0, "Name of the upstream." },
	{ NULL },
};

static char *dup_or(const char *v, const char *def, bool *oom)
{
	const char *s = v ? v : def;
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = true;
	return d;
}

static int one_node(const struct dp_conf_section *s, const struct out_fwd_node *def, struct out_fwd_node *n,
		    struct dp_err *err)
{
	struct node_cfg nc;
	const struct dp_opt *tabs[] = { node_opts };
	void *cfgs[] = { &nc };
	memset(&nc, 0, sizeof(nc));
	int rc = dp_opt_apply(tabs, cfgs, 1, s, "[NODE]", NULL, err);
	if (rc) {
		dp_opt_free(node_opts, &nc);
		return rc;
	}
	bool oom = false;
	bool key_set = dp_conf_kv_get(s, "shared_key") || dp_conf_kv_get(s, "empty_shared_key");
	n->name = dup_or(nc.name, NULL, &oom);
	n->host = dup_or(nc.host, NULL, &oom);
	n->port = (int)nc.port;
	n->shared_key = key_set ? dup_or(nc.empty_shared_key ? "" : nc.shared_key, NULL, &oom)
				: dup_or(def->shared_key, NULL, &oom);
	n->self_hostname = dup_or(nc.self_hostname, def->self_hostname, &oom);
	n->username = dup_or(nc.username, def->username, &oom);
	n->password = dup_or(nc.password, def->password, &oom);
	n->tls_verify_hostname = dp_conf_kv_get(s, "tls.verify_hostname") ? nc.tls_verify_hostname
									   : def->tls_verify_hostname;
	n->tls_vhost = dup_or(nc.tls.vhost, def->tls_vhost, &oom);
	if (oom)
		rc = dp_err_set(err, -ENOMEM, "out of memory");
	else if (nc.tls.on && !(n->tls = dp_tls_create(&nc.tls, DP_TLS_CLIENT, err)))
		rc = dp_err_set(err, err->code, "%s:%d: [NODE] %s: %s", s->file, s->line, nc.name, err->msg);
	dp_opt_free(node_opts, &nc);
	return rc;
}

int out_fwd_upstream_load(const char *path, const struct out_fwd_node *def, struct out_fwd_node **nodes,
			  unsigned *nnodes, struct dp_err *err)
{
	*nodes = NULL;
	*nnodes = 0;
	struct dp_conf *c = dp_conf_load(path, err);
	if (!c)
		return err->code ? err->code : -EINVAL;
	int rc = 0;
	unsigned ups = 0, cnt = 0;
	for (unsigned i = 0; i < c->nsec; i++) {
		const struct dp_conf_section *s = &c->sec[i];
		if (!strcasecmp(s->name, "NODE")) {
			cnt++;
		} else if (!strcasecmp(s->name, "UPSTREAM")) {
			struct upstream_cfg u = { NULL };
			const struct dp_opt *tabs[] = { upstream_opts };
			void *cfgs[] = { &u };
			if ((rc = dp_opt_apply(tabs, cfgs, 1, s, "[UPSTREAM]", NULL, err)))
				goto out;
			dp_opt_free(upstream_opts, &u);
			ups++;
		} else {
			rc = dp_err_set(err, -EINVAL, "%s:%d: unknown section [%s] in an Upstream file "
					"(expected [UPSTREAM] and [NODE])", s->file, s->line, s->name);
			goto out;
		}
	}
	if (ups != 1 || !cnt) {
		rc = dp_err_set(err, -EINVAL, "%s: an Upstream file needs one [UPSTREAM] section and at least "
				"one [NODE] (has %u and %u)", path, ups, cnt);
		goto out;
	}
	if (!(*nodes = calloc(cnt, sizeof(**nodes)))) {
		rc = dp_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < c->nsec && !rc; i++) {
		if (strcasecmp(c->sec[i].name, "NODE"))
			continue;
		rc = one_node(&c->sec[i], def, &(*nodes)[*nnodes], err);
		(*nnodes)++;
	}
out:
	dp_conf_destroy(c);
	return rc;
}
