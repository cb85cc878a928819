/*
 * dp_conf_yaml.c — the reader for Fluent Bit's YAML configuration format.
 * It fills the same struct dp_conf as the classic reader, so option tables
 * and file:line errors downstream do not know which format was read.
 * Control thread only (it opens files and calls getenv(3)). libyaml's
 * document API does the parsing; its marks give the lines.
 *
 *   env:                     NAME: value, for ${NAME}
 *   includes:                a list of YAML files
 *   service:                 map          -> one [SERVICE] section
 *   pipeline:
 *     inputs:  [ map, ... ]  each map     -> one [INPUT] section
 *     filters: [ map, ... ]               -> [FILTER]
 *     outputs: [ map, ... ]               -> [OUTPUT]
 *   parsers: [ map, ... ]                 -> [PARSER]
 *   multiline_parsers: [ map, ... ]       -> [MULTILINE_PARSER]; its
 *       rules: [ {state, regex, next_state}, ... ] become one classic
 *       `rule "STATE" "REGEX" "NEXT"` key each, in order
 *   stream_processor: [ {name, exec}, ... ] -> [STREAM_TASK]
 *   plugins: [ path, ... ]                -> one [PLUGINS] Path each
 *                                         (plugin shared objects)
 *
 * Choices where Fluent Bit's documentation leaves a corner open:
 * - A key keeps its spelling (lookups ignore case later) and the line of
 *   the key; a pipeline section has the line of its list item, [SERVICE]
 *   the line of "service:". Values are scalars kept as written ("on",
 *   "5140", "true"); a list or map as a value (Fluent Bit's processors) is
 *   an error, as is an empty value, as in the classic format.
 * - Top-level keys are case-sensitive, as in Fluent Bit. Sections sluice
 *   does not have yet are errors naming them, unknown ones too: nothing in
 *   a configuration is ignored silently. A section left empty ("service:")
 *   is no section.
 * - env: a map of scalars (Fluent Bit's newer list form is an error). Its
 *   values are taken literally and consulted before the environment;
 *   every value is expanded after the whole load (the classic reader's
 *   dp_conf_expand), so an env in an included file counts everywhere and
 *   the last definition of a name wins.
 * - includes: a list of paths, relative to the including file's directory,
 *   read where the "includes:" key stands; no ${} and no globs in them.
 *   Only regular files; a file including itself, directly or not, is an
 *   error (same device and inode). Limits: CONF_MAX_DEPTH nesting,
 *   CONF_MAX_FILES per load, CONF_MAX_FILE_SIZE per file, YAML_MAX_KV
 *   keys per load (an alias repeated many times cannot blow the load up).
 * - One YAML document per file; anchors and aliases work as YAML says.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "dp_conf_int.h"
#include "dp_suggest.h"

#define YAML_MAX_KV        (1u << 20)
#define YAML_NAME_SHOWN    64   /* bytes of a key quoted in an error */

/* One load: where errors go and which files are open (cycle detection). */
struct yaml_rd {
	struct dp_conf_rd r;   /* first: the shared loader sees only this */
	unsigned nkv;
};

/* One file being walked. */
struct yaml_file_st {
	struct yaml_rd *rd;
	yaml_document_t *doc;
	const char *name;
};


/* An error at node n of the file being walked (st in scope). */
#define NODE_ERR(n, code, ...) \
	dp_conf_err_at(st->rd->r.err, st->name, node_line(n), code, __VA_ARGS__)

static int node_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static const char *node_str(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain "", "~" or "null" scalar: YAML's null, e.g. "service:" alone. */
static bool node_is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = node_str(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "a list" : "a map";
}

/* The key of a pair as a non-empty scalar, or NULL with the error set. */
static yaml_node_t *pair_key(struct yaml_file_st *st, yaml_node_t *map,
			     const yaml_node_pair_t *p)
{
	yaml_node_t *k = yaml_document_get_node(st->doc, p->key);
	if (!k || k->type != YAML_SCALAR_NODE || !*node_str(k)) {
		NODE_ERR(k ? k : map, -EINVAL, "keys must be non-empty scalars");
		return NULL;
	}
	return k;
}

/* One value of a rule map, quoted for the classic rule syntax: '"' as \",
 * the rest as written (the multiline parser keeps regex backslashes). */
static int rule_quote(char **out, size_t *len, const char *v)
{
	size_t n = strlen(v), extra = 0;
	for (size_t i = 0; i < n; i++)
		extra += v[i] == '"';
	char *p = realloc(*out, *len + n + extra + 4);
	if (!p)
		return -ENOMEM;
	*out = p;
	p += *len;
	if (*len)
		*p++ = ' ';
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '"')
			*p++ = '\\';
		*p++ = v[i];
	}
	*p++ = '"';
	*p = '\0';
	*len = (size_t)(p - *out);
	return 0;
}

/* multiline_parsers' rules: each map {state, regex, next_state} becomes a
 * "rule" key of the section being built (the last one), at its line. */
static int yaml_ml_rules(struct yaml_file_st *st, yaml_node_t *rules)
{
	static const char *const parts[] = { "state", "regex", "next_state" };
	struct dp_conf *c = st->rd->r.c;

	for (yaml_node_item_t *it = rules->data.sequence.items.start;
	     it < rules->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(st->doc, *it);
		const char *val[3] = { NULL, NULL, NULL };
		if (m->type != YAML_MAPPING_NODE)
			return NODE_ERR(m, -EINVAL, "each item of 'rules' must be a map of state, regex "
					"and next_state");
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *k = pair_key(st, m, p);
			yaml_node_t *v = yaml_document_get_node(st->doc, p->value);
			size_t i;
			if (!k)
				return st->rd->r.err->code;
			for (i = 0; i < DP_ARRAY_SIZE(parts); i++)
				if (!strcasecmp(node_str(k), parts[i]))
					break;
			if (i == DP_ARRAY_SIZE(parts))
				return NODE_ERR(k, -EINVAL, "unknown key '%.*s' in a rule: expected state, "
						"regex and next_state", YAML_NAME_SHOWN, node_str(k));
			if (v->type != YAML_SCALAR_NODE || node_is_null(v) || !*node_str(v))
				return NODE_ERR(k, -EINVAL, "rule key '%s' needs a value", parts[i]);
			val[i] = node_str(v);
		}
		if (++st->rd->nkv > YAML_MAX_KV)
			return NODE_ERR(m, -E2BIG, "more than %u keys in the configuration", YAML_MAX_KV);
		char *rule = NULL;
		size_t len = 0;
		for (size_t i = 0; i < DP_ARRAY_SIZE(parts); i++) {
			if (!val[i]) {
				free(rule);
				return NODE_ERR(m, -EINVAL, "rule without '%s'", parts[i]);
			}
			if (rule_quote(&rule, &len, val[i])) {
				free(rule);
				return NODE_ERR(m, -ENOMEM, "out of memory");
			}
		}
		int ret = dp_conf_kv_add(c, &c->sec[c->nsec - 1], "rule", rule, st->name, node_line(m));
		free(rule);
		if (ret)
			return NODE_ERR(m, -ENOMEM, "out of memory");
	}
	return 0;
}

/* Add the scalar pairs of map to a new section called name. */
static int yaml_section(struct yaml_file_st *st, yaml_node_t *map, const char *name, int line)
{
	struct dp_conf *c = st->rd->r.c;

	if (node_is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return NODE_ERR(map, -EINVAL, "[%s] must be a map of key: value", name);
	if (!dp_conf_section_add(c, name, st->name, line))
		return NODE_ERR(map, -ENOMEM, "out of memory");
	/* The section pointer moves with c->sec; it is always the last one
	 * since nothing else adds sections while this map is read. */
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = pair_key(st, map, p);
		yaml_node_t *v = yaml_document_get_node(st->doc, p->value);
		if (!k)
			return st->rd->r.err->code;
		const char *key = node_str(k);
		if (!strcmp(name, "MULTILINE_PARSER") && !strcasecmp(key, "rules") &&
		    v->type == YAML_SEQUENCE_NODE) {
			int ret = yaml_ml_rules(st, v);
			if (ret)
				return ret;
			continue;
		}
		if (v->type != YAML_SCALAR_NODE)
			return NODE_ERR(k, -EINVAL, "'%.*s' is %s: nested values are not supported yet",
					YAML_NAME_SHOWN, key, node_kind(v));
		if (node_is_null(v) || !*node_str(v))
			return NODE_ERR(k, -EINVAL, "key '%.*s' has no value", YAML_NAME_SHOWN, key);
		if (++st->rd->nkv > YAML_MAX_KV)
			return NODE_ERR(k, -E2BIG, "more than %u keys in the configuration",
					YAML_MAX_KV);
		if (dp_conf_kv_add(c, &c->sec[c->nsec - 1], key, node_str(v), st->name,
				   node_line(k)))
			return NODE_ERR(k, -ENOMEM, "out of memory");
	}
	return 0;
}

static const struct {
	const char *key, *section;
} yaml_pipeline_keys[] = {
	{ "inputs", "INPUT" },
	{ "filters", "FILTER" },
	{ "outputs", "OUTPUT" },
};

/* A list of maps (what: the key that holds it, for errors), each a new
 * section called sec at the line of its item. */
static int yaml_list(struct yaml_file_st *st, yaml_node_t *k, yaml_node_t *v, const char *sec)
{
	if (node_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return NODE_ERR(k, -EINVAL, "'%s' must be a list of maps", node_str(k));
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(st->doc, *it);
		if (m->type != YAML_MAPPING_NODE)
			return NODE_ERR(m, -EINVAL, "each item of '%s' must be a map", node_str(k));
		int ret = yaml_section(st, m, sec, node_line(m));
		if (ret)
			return ret;
	}
	return 0;
}

static int yaml_pipeline(struct yaml_file_st *st, yaml_node_t *pl)
{
	if (node_is_null(pl))
		return 0;
	if (pl->type != YAML_MAPPING_NODE)
		return NODE_ERR(pl, -EINVAL, "'pipeline' must be a map of inputs, filters and outputs");
	for (yaml_node_pair_t *p = pl->data.mapping.pairs.start;
	     p < pl->data.mapping.pairs.top; p++) {
		yaml_node_t *k = pair_key(st, pl, p);
		yaml_node_t *v = yaml_document_get_node(st->doc, p->value);
		const char *sec = NULL;
		if (!k)
			return st->rd->r.err->code;
		for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_pipeline_keys); i++)
			if (!strcmp(node_str(k), yaml_pipeline_keys[i].key))
				sec = yaml_pipeline_keys[i].section;
		if (!sec) {
			struct dp_suggest sg;
			char hint[96];
			dp_suggest_init(&sg, node_str(k));
			for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_pipeline_keys); i++)
				dp_suggest_add(&sg, yaml_pipeline_keys[i].key);
			return NODE_ERR(k, -EINVAL, "unknown pipeline section '%.*s'%s",
					YAML_NAME_SHOWN, node_str(k), dp_suggest_hint(&sg, hint, sizeof(hint)));
		}
		int ret = yaml_list(st, k, v, sec);
		if (ret)
			return ret;
	}
	return 0;
}

static int yaml_env(struct yaml_file_st *st, yaml_node_t *env)
{
	if (node_is_null(env))
		return 0;
	if (env->type != YAML_MAPPING_NODE)
		return NODE_ERR(env, -EINVAL, "'env' must be a map of NAME: value");
	for (yaml_node_pair_t *p = env->data.mapping.pairs.start;
	     p < env->data.mapping.pairs.top; p++) {
		yaml_node_t *k = pair_key(st, env, p);
		yaml_node_t *v = yaml_document_get_node(st->doc, p->value);
		if (!k)
			return st->rd->r.err->code;
		if (v->type != YAML_SCALAR_NODE)
			return NODE_ERR(k, -EINVAL, "env '%.*s' is %s, not a scalar",
					YAML_NAME_SHOWN, node_str(k), node_kind(v));
		if (dp_conf_var_set(st->rd->r.c, node_str(k), node_is_null(v) ? "" : node_str(v)))
			return NODE_ERR(k, -ENOMEM, "out of memory");
	}
	return 0;
}

/* plugins: [ path, ... ] -> one [PLUGINS] Path per item, loaded by the
 * runtime (runtime/dp_plugin_load.c) relative to this file. */
static int yaml_plugins(struct yaml_file_st *st, yaml_node_t *v)
{
	struct dp_conf *c = st->rd->r.c;

	if (node_is_null(v))
		return 0;
	if (v->type != YAML_SEQUENCE_NODE)
		return NODE_ERR(v, -EINVAL, "'plugins' must be a list of shared object paths");
	for (yaml_node_item_t *it = v->data.sequence.items.start;
	     it < v->data.sequence.items.top; it++) {
		yaml_node_t *f = yaml_document_get_node(st->doc, *it);
		if (f->type != YAML_SCALAR_NODE || !*node_str(f))
			return NODE_ERR(f, -EINVAL, "each item of 'plugins' must be a file name");
		if (!dp_conf_section_add(c, "PLUGINS", st->name, node_line(f)) ||
		    dp_conf_kv_add(c, &c->sec[c->nsec - 1], "Path", node_str(f), st->name, node_line(f)))
			return NODE_ERR(f, -ENOMEM, "out of memory");
	}
	return 0;
}

static int yaml_file(struct yaml_rd *rd, const char *path, const char *from, int from_line);

static int yaml_includes(struct yaml_file_st *st, yaml_node_t *inc)
{
	if (node_is_null(inc))
		return 0;
	if (inc->type != YAML_SEQUENCE_NODE)
		return NODE_ERR(inc, -EINVAL, "'includes' must be a list of file names");
	const char *slash = strrchr(st->name, '/');
	for (yaml_node_item_t *it = inc->data.sequence.items.start;
	     it < inc->data.sequence.items.top; it++) {
		yaml_node_t *f = yaml_document_get_node(st->doc, *it);
		char *path;
		if (f->type != YAML_SCALAR_NODE || !*node_str(f))
			return NODE_ERR(f, -EINVAL, "each item of 'includes' must be a file name");
		if (node_str(f)[0] != '/' && slash) {
			if (asprintf(&path, "%.*s/%s", (int)(slash - st->name), st->name,
				     node_str(f)) < 0)
				path = NULL;
		} else {
			path = strdup(node_str(f));
		}
		if (!path)
			return NODE_ERR(f, -ENOMEM, "out of memory");
		int ret = yaml_file(st->rd, path, st->name, node_line(f));
		free(path);
		if (ret)
			return ret;
	}
	return 0;
}

/* Top-level lists of maps, read like the pipeline's. */
static const struct {
	const char *key, *section;
} yaml_top_lists[] = {
	{ "parsers", "PARSER" },
	{ "multiline_parsers", "MULTILINE_PARSER" },
	{ "stream_processor", "STREAM_TASK" },
};

/* Sections Fluent Bit's YAML has and sluice does not (yet). */
static const char *const yaml_unsupported[] = {
	"upstream_servers", "customs",
};

/* "unknown section 'x' (did you mean 'y'?)" over every top-level name. */
static int yaml_unknown(struct yaml_file_st *st, yaml_node_t *k)
{
	static const char *const known[] = { "service", "pipeline", "env", "includes", "plugins" };
	struct dp_suggest sg;
	char hint[96];

	dp_suggest_init(&sg, node_str(k));
	for (size_t i = 0; i < DP_ARRAY_SIZE(known); i++)
		dp_suggest_add(&sg, known[i]);
	for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_top_lists); i++)
		dp_suggest_add(&sg, yaml_top_lists[i].key);
	for (size_t i = 0; i < DP_ARRAY_SIZE(yaml_unsupported); i++)
		dp_suggest_add(&sg, yaml_unsupported[i]);
	return NODE_ERR(k, -EINVAL, "unknown section '%.*s'%s", YAML_NAME_SHOWN, node_str(k),
			dp_suggest_hint(&sg, hint, sizeof(hint)));
}

static int yaml_walk(struct yaml_file_st *st)
{
	yaml_node_t *root = yaml_document_get_root_node(st->doc);

	if (!root || node_is_null(root))
		return 0;       /* an empty file (or only comments) */
	if (root->type != YAML_MAPPING_NODE)
		return NODE_ERR(root, -EINVAL, "the top level must be a map of sections");
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = pair_key(st, root, p);
		yaml_node_t *v = yaml_document_get_node(st->doc, p->value);
		int ret = 0;
		if (!k)
			return st->rd->r.err->code;
		const char *name = node_str(k);
		if (!strcmp(name, "service")) {
			ret = yaml_section(st, v, "SERVICE", node_line(k));
		} else if (!strcmp(name, "pipeline")) {
			ret = yaml_pipeline(st, v);
		} else if (!strcmp(name, "env")) {
			ret = yaml_env(st, v);
		} else if (!strcmp(name, "includes")) {
			ret = yaml_includes(st, v);
		} else if (!strcmp(name, "plugins")) {
			ret = yaml_plugins(st, v);
		} else {
			size_t i;
			for (i = 0; i < DP_ARRAY_SIZE(yaml_top_lists); i++)
				if (!strcmp(name, yaml_top_lists[i].key))
					break;
			if (i < DP_ARRAY_SIZE(yaml_top_lists)) {
				ret = yaml_list(st, k, v, yaml_top_lists[i].section);
			} else {
				for (size_t j = 0; j < DP_ARRAY_SIZE(yaml_unsupported); j++)
					if (!strcmp(name, yaml_unsupported[j]))
						return NODE_ERR(k, -ENOTSUP,
								"section '%s' is not supported yet", name);
				return yaml_unknown(st, k);
			}
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* libyaml's complaint as "file:line: problem". A reader error (bad
 * UTF-8, control characters) has an offset instead of a mark. */
static int yaml_syntax_err(struct yaml_rd *rd, const yaml_parser_t *ps, const char *name,
			   const char *buf, size_t len)
{
	int line = (int)ps->problem_mark.line + 1;

	if (ps->error == YAML_MEMORY_ERROR)
		return dp_conf_err_at(rd->r.err, name, line, -ENOMEM, "out of memory");
	if (ps->error == YAML_READER_ERROR) {
		const char *p = buf, *end = buf + DP_MIN(ps->problem_offset, len);
		for (line = 1; (p = memchr(p, '\n', end - p)); p++)
			line++;
	}
	const char *problem = ps->problem ? ps->problem : "invalid YAML";
	int cline = (int)ps->context_mark.line + 1;
	/* The parser's context says where the unclosed block or flow began,
	 * and so does the scanner's at the end of the file ("found unexpected
	 * end of stream"); its other contexts only repeat the line before. */
	bool eos = ps->error == YAML_SCANNER_ERROR && ps->problem &&
		   strstr(ps->problem, "end of stream");
	if (ps->context && (ps->error == YAML_PARSER_ERROR || eos) && cline != line)
		return dp_conf_err_at(rd->r.err, name, line, -EINVAL, "%s (%s at line %d)",
				problem, ps->context, cline);
	return dp_conf_err_at(rd->r.err, name, line, -EINVAL, "%s", problem);
}

static int yaml_parse(struct yaml_rd *rd, const char *buf, size_t len, const char *path)
{
	yaml_parser_t ps;
	yaml_document_t doc, more;
	struct yaml_file_st st = { .rd = rd, .doc = &doc, .name = path };
	int ret;

	if (!yaml_parser_initialize(&ps))
		return dp_err_set(rd->r.err, -ENOMEM, "out of memory");
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&ps, &doc)) {
		ret = yaml_syntax_err(rd, &ps, path, buf, len);
		goto out;
	}
	ret = yaml_walk(&st);
	yaml_document_delete(&doc);
	if (ret)
		goto out;
	/* A second document would be ignored by a plain load: refuse it. */
	if (!yaml_parser_load(&ps, &more)) {
		ret = yaml_syntax_err(rd, &ps, path, buf, len);
		goto out;
	}
	if (yaml_document_get_root_node(&more))
		ret = dp_conf_err_at(rd->r.err, path, (int)more.start_mark.line + 1, -EINVAL,
			       "only one YAML document per file is supported");
	yaml_document_delete(&more);
out:
	yaml_parser_delete(&ps);
	return ret;
}

static int yaml_parse_cb(void *rd, const char *buf, size_t len, const char *path)
{
	return yaml_parse(rd, buf, len, path);
}

/* Read one file (dp_conf.c does the reading, the limits and cycles);
 * from/from_line name the includes item that asked for it. */
static int yaml_file(struct yaml_rd *rd, const char *path, const char *from, int from_line)
{
	return dp_conf_read_file(&rd->r.files, path, from, from_line, "includes", yaml_parse_cb, rd,
				 rd->r.err);
}

/* Read a file (path) or a buffer (buf, len, name) into a new dp_conf. */
static struct dp_conf *yaml_load(const char *path, const char *buf, size_t len, const char *name,
				 const struct dp_conf *parent, struct dp_err *err)
{
	struct yaml_rd rd = { .r.parent = parent };
	return dp_conf_load_with(&rd.r, path, buf, len, name, yaml_parse_cb, "includes", err);
}

struct dp_conf *dp_conf_load_yaml(const char *path, struct dp_err *err)
{
	return yaml_load(path, NULL, 0, NULL, NULL, err);
}

struct dp_conf *dp_conf_yaml_load_sub(const char *path, const struct dp_conf *parent, struct dp_err *err)
{
	return yaml_load(path, NULL, 0, NULL, parent, err);
}

struct dp_conf *dp_conf_load_yaml_buffer(const char *buf, size_t len, const char *name,
					 struct dp_err *err)
{
	return yaml_load(NULL, buf, len, name, NULL, err);
}
