/*
 * dp_conf_classic.c — the reader for Fluent Bit's classic configuration
 * format, into a struct dp_conf (dp_conf.c). Control thread only (it opens
 * files, calls glob(3)).
 *
 *   [SECTION]                 header in column 1, name trimmed, kept as
 *       Key    Value          written; only blanks may follow the ']'
 *       # a comment
 *   @SET NAME=value           commands in column 1
 *   @INCLUDE inputs/in-*.conf
 *
 * Where Fluent Bit's documentation leaves a corner open, the choice made:
 * - LF or CRLF; trailing blanks dropped; a UTF-8 BOM skipped; a NUL byte is
 *   an error. A line whose first non-blank is '#' is a comment at any
 *   indentation; there are no end-of-line comments ("Key a # b" has the
 *   value "a # b", as in Fluent Bit).
 * - An entry is indented; the key runs to the first blank, the value is
 *   the rest, trimmed, and must not be empty. A section's first entry fixes
 *   its indentation (spaces, tabs or a mix); later entries must repeat that
 *   exact string, as Fluent Bit demands (it does so per file, so whatever
 *   it accepts is accepted here).
 * - Entries before any section, unindented entries, indented headers or
 *   commands, "[NAME" and unknown @COMMANDs are errors. Section names are
 *   the core's business. The current section belongs to the file: entries
 *   after an @INCLUDE go on into the includer's section, and an included
 *   file opens its own section before its first entry.
 * - @INCLUDE: relative to the including file's directory; a path with *, ?
 *   or [ is a glob(3) pattern read in sorted order, and matching nothing
 *   includes nothing (Fluent Bit fails there, which only hurts an empty
 *   conf.d). Only regular files are opened, so a FIFO cannot block us. A
 *   file including itself, directly or not, is an error (same device and
 *   inode); one file included twice side by side is not. Limits: nesting
 *   CONF_MAX_DEPTH, CONF_MAX_FILES per load, CONF_MAX_FILE_SIZE per file.
 * - @SET NAME=VALUE; VALUE may use the variables above it. ${NAME} in a
 *   value is the @SET variable, else the environment variable, else (for
 *   HOSTNAME) gethostname(2), else "" (listed in c->undef for a warning);
 *   ${NAME:-default} is default when NAME is unset or empty. Values are expanded after the whole
 *   load, since Fluent Bit applies every @SET before any section: the last
 *   @SET of a name wins everywhere. @INCLUDE paths are expanded at once,
 *   with the @SETs above. Names are case-sensitive, expanded text is not
 *   rescanned, and "${" without "}" or "${}" is an error.
 */
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_conf_int.h"


/* What one file's reader remembers between lines. */
struct conf_file_st {
	const char *name;       /* interned in c->files */
	long sec;               /* index in c->sec, -1 before the first header */
	const char *ind;        /* indentation of the section's first entry */
	size_t nind;
	int ind_line;
};

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

/* An error at the line being read (rd, st and line in scope). */
#define LINE_ERR(code, ...) dp_conf_err_at(rd->err, st->name, line, code, __VA_ARGS__)

/* ---- the reader ---- */

static int conf_file(struct dp_conf_rd *rd, const char *path, const char *from, int from_line);

static int conf_include(struct dp_conf_rd *rd, struct conf_file_st *st, const char *arg,
			size_t n, int line)
{
	char *pat = dp_conf_subst(rd->c, arg, n, st->name, line, rd->err);
	char *path = NULL;
	int ret = 0;

	if (!pat)
		return rd->err->code;
	/* only the path as written may be a pattern, not the includer's dir */
	bool is_glob = strpbrk(pat, "*?[") != NULL;
	const char *slash = strrchr(st->name, '/');
	if (pat[0] != '/' && slash) {
		if (asprintf(&path, "%.*s/%s", (int)(slash - st->name), st->name, pat) < 0)
			path = NULL;
	} else {
		path = strdup(pat);
	}
	free(pat);
	if (!path)
		return LINE_ERR(-ENOMEM, "out of memory");
	if (!is_glob) {
		ret = conf_file(rd, path, st->name, line);
		free(path);
		return ret;
	}
	glob_t g;
	memset(&g, 0, sizeof(g));
	int gr = glob(path, 0, NULL, &g);
	if (gr == GLOB_NOMATCH) {
		ret = 0;
	} else if (gr) {
		ret = LINE_ERR(-EIO, "cannot expand '%s'", path);
	} else {
		for (size_t i = 0; i < g.gl_pathc && !ret; i++)
			ret = conf_file(rd, g.gl_pathv[i], st->name, line);
	}
	globfree(&g);
	free(path);
	return ret;
}

static int conf_command(struct dp_conf_rd *rd, struct conf_file_st *st, const char *s,
			size_t n, int line)
{
	size_t w = 0;
	while (w < n && !is_blank(s[w]))
		w++;
	const char *arg = s + w;
	size_t narg = n - w;
	trim(&arg, &narg);

	if (w == 8 && !strncasecmp(s, "@INCLUDE", 8)) {
		if (!narg)
			return LINE_ERR(-EINVAL, "@INCLUDE needs a file name");
		return conf_include(rd, st, arg, narg, line);
	}
	if (w != 4 || strncasecmp(s, "@SET", 4))
		return LINE_ERR(-EINVAL, "unknown command '%.*s'",
				(int)DP_MIN(w, CONF_KEY_SHOWN), s);

	const char *eq = memchr(arg, '=', narg);
	const char *key = arg, *val = eq ? eq + 1 : NULL;
	size_t nkey = eq ? (size_t)(eq - arg) : 0, nval = eq ? narg - nkey - 1 : 0;
	trim(&key, &nkey);
	if (!nkey)
		return LINE_ERR(-EINVAL, "@SET needs NAME=VALUE");
	trim(&val, &nval);
	char *v = dp_conf_subst(rd->c, val, nval, st->name, line, rd->err);
	if (!v)
		return rd->err->code;
	char *k = strndup(key, nkey);
	if (!k) {
		free(v);
		return LINE_ERR(-ENOMEM, "out of memory");
	}
	if (dp_conf_var_take(rd->c, k, v))
		return LINE_ERR(-ENOMEM, "out of memory");
	return 0;
}

static int conf_header(struct dp_conf_rd *rd, struct conf_file_st *st, const char *s,
		       size_t n, int line)
{
	const char *close = memchr(s, ']', n);
	if (!close)
		return LINE_ERR(-EINVAL, "unterminated section header '%.*s'",
				(int)DP_MIN(n, CONF_KEY_SHOWN), s);
	if (close + 1 != s + n)
		return LINE_ERR(-EINVAL, "unexpected text after ']'");
	const char *name = s + 1;
	size_t nname = close - name;
	trim(&name, &nname);
	if (!nname)
		return LINE_ERR(-EINVAL, "empty section name");
	if (!dp_conf_section_add_n(rd->c, name, nname, st->name, line))
		return LINE_ERR(-ENOMEM, "out of memory");
	st->sec = rd->c->nsec - 1;
	st->ind = NULL;
	return 0;
}

static int conf_indent(struct dp_conf_rd *rd, struct conf_file_st *st, const char *s,
		       size_t ind, int line)
{
	if (!st->ind) {
		st->ind = s;
		st->nind = ind;
		st->ind_line = line;
		return 0;
	}
	if (ind == st->nind && !memcmp(s, st->ind, ind))
		return 0;
	bool tab_a = memchr(st->ind, '\t', st->nind), sp_a = memchr(st->ind, ' ', st->nind);
	bool tab_b = memchr(s, '\t', ind), sp_b = memchr(s, ' ', ind);
	if (tab_a != tab_b || sp_a != sp_b)
		return LINE_ERR(-EINVAL, "inconsistent use of tabs and spaces (see line %d)",
				st->ind_line);
	return LINE_ERR(-EINVAL, "invalid indentation: %zu blanks where line %d has %zu",
			ind, st->ind_line, st->nind);
}

static int conf_line(struct dp_conf_rd *rd, struct conf_file_st *st, const char *s,
		     size_t n, int line)
{
	size_t ind = 0, k;

	while (n && (is_blank(s[n - 1]) || s[n - 1] == '\r'))
		n--;
	while (ind < n && is_blank(s[ind]))
		ind++;
	if (ind == n || s[ind] == '#')
		return 0;
	for (k = ind; k < n && !is_blank(s[k]); k++)
		;
	int nkey = (int)DP_MIN(k - ind, CONF_KEY_SHOWN);
	const char *key = s + ind;

	if (ind == 0) {
		if (s[0] == '[')
			return conf_header(rd, st, s, n, line);
		if (s[0] == '@')
			return conf_command(rd, st, s, n, line);
		if (st->sec < 0)
			return LINE_ERR(-EINVAL, "key '%.*s' before any [SECTION]", nkey, key);
		return LINE_ERR(-EINVAL, "key '%.*s' must be indented under [%s]", nkey, key,
				rd->c->sec[st->sec].name);
	}
	if (s[ind] == '[')
		return LINE_ERR(-EINVAL, "section header must start in column 1");
	if (s[ind] == '@')
		return LINE_ERR(-EINVAL, "command '%.*s' must start in column 1", nkey, key);
	if (st->sec < 0)
		return LINE_ERR(-EINVAL, "key '%.*s' before any [SECTION]", nkey, key);
	int ret = conf_indent(rd, st, s, ind, line);
	if (ret)
		return ret;
	const char *val = s + k;
	size_t nval = n - k;
	trim(&val, &nval);
	if (!nval)
		return LINE_ERR(-EINVAL, "key '%.*s' has no value", nkey, key);
	if (dp_conf_kv_add_n(rd->c, &rd->c->sec[st->sec], key, k - ind, val, nval, st->name, line))
		return LINE_ERR(-ENOMEM, "out of memory");
	return 0;
}

static int conf_parse(struct dp_conf_rd *rd, const char *buf, size_t len, const char *name)
{
	struct conf_file_st st = { .sec = -1 };
	const char *p = buf, *end = buf + len;
	int line = 0, ret = 0;

	if (!(st.name = dp_conf_file_intern(rd->c, name)))
		return dp_err_set(rd->err, -ENOMEM, "out of memory");
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		for (line = 1; (p = memchr(p, '\n', nul - p)); p++)
			line++;
		return dp_conf_err_at(rd->err, st.name, line, -EINVAL, "NUL byte in file");
	}
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end && !ret) {
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl : end;
		ret = conf_line(rd, &st, p, le - p, ++line);
		p = nl ? nl + 1 : end;
	}
	return ret;
}

/* One file of this load, read by the shared reader (dp_conf.c). */
static int conf_parse_cb(void *rd, const char *buf, size_t len, const char *path)
{
	return conf_parse(rd, buf, len, path);
}

static int conf_file(struct dp_conf_rd *rd, const char *path, const char *from, int from_line)
{
	return dp_conf_read_file(&rd->files, path, from, from_line, "@INCLUDE", conf_parse_cb, rd,
				 rd->err);
}

/* Read a file (path) or a buffer (buf, len, name) into a new dp_conf. */
static struct dp_conf *conf_load(const char *path, const char *buf, size_t len,
				 const char *name, const struct dp_conf *parent, struct dp_err *err)
{
	struct dp_conf_rd rd = { .parent = parent };
	return dp_conf_load_with(&rd, path, buf, len, name, conf_parse_cb, "@INCLUDE", err);
}

/* Fluent Bit picks the format by the file name's extension too. */
static bool conf_is_yaml(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot && (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml"));
}

struct dp_conf *dp_conf_load(const char *path, struct dp_err *err)
{
	if (conf_is_yaml(path))
		return dp_conf_load_yaml(path, err);
	return conf_load(path, NULL, 0, NULL, NULL, err);
}

struct dp_conf *dp_conf_load_sub(const char *path, const struct dp_conf *parent, struct dp_err *err)
{
	if (conf_is_yaml(path))
		return dp_conf_yaml_load_sub(path, parent, err);
	return conf_load(path, NULL, 0, NULL, parent, err);
}

struct dp_conf *dp_conf_load_buffer(const char *buf, size_t len, const char *name,
				    struct dp_err *err)
{
	return conf_load(NULL, buf, len, name, NULL, err);
}
