/*
 * dp_conf_classic.c — the reader for Fluent Bit's classic configuration
 * format, and the struct dp_conf that holds what it read. Control thread
 * only (it opens files, calls glob(3) and getenv(3)).
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
 *   value is the @SET variable, else the environment variable, else ""
 *   (listed in c->undef for a warning). Values are expanded after the whole
 *   load, since Fluent Bit applies every @SET before any section: the last
 *   @SET of a name wins everywhere. @INCLUDE paths are expanded at once,
 *   with the @SETs above. Names are case-sensitive, expanded text is not
 *   rescanned, and "${" without "}" or "${}" is an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dp_conf.h"

#define CONF_MAX_DEPTH     16
#define CONF_MAX_FILES     1000
#define CONF_MAX_FILE_SIZE (16u << 20)
#define CONF_MAX_VALUE     (64u << 10)  /* after ${} expansion: stops 2^n blowups */
#define CONF_KEY_SHOWN     64           /* key bytes quoted in an error */

/* One load: where errors go and which files are open (cycle detection). */
struct conf_rd {
	struct dp_conf *c;
	struct dp_err *err;
	unsigned depth, nread;
	struct {
		dev_t dev;
		ino_t ino;
		bool known;
	} open[CONF_MAX_DEPTH];
};

/* What one file's reader remembers between lines. */
struct conf_file_st {
	const char *name;       /* interned in c->files */
	long sec;               /* index in c->sec, -1 before the first header */
	const char *ind;        /* indentation of the section's first entry */
	size_t nind;
	int ind_line;
};

static __attribute__((format(printf, 5, 6)))
int conf_err(struct dp_err *err, const char *file, int line, int code,
		    const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (file)
		return dp_err_set(err, code, "%s:%d: %s", file, line, msg);
	return dp_err_set(err, code, "%s", msg);
}

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
#define LINE_ERR(code, ...) conf_err(rd->err, st->name, line, code, __VA_ARGS__)

/* ---- struct dp_conf and its builders ---- */

struct dp_conf *dp_conf_new(void)
{
	return calloc(1, sizeof(struct dp_conf));
}

void dp_conf_destroy(struct dp_conf *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->nsec; i++) {
		struct dp_conf_section *s = &c->sec[i];
		for (unsigned j = 0; j < s->nkv; j++) {
			free(s->kv[j].key);
			free(s->kv[j].val);
		}
		free(s->kv);
		free(s->name);
	}
	free(c->sec);
	for (unsigned i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	for (unsigned i = 0; i < c->nvars; i++) {
		free(c->var_names[i]);
		free(c->var_vals[i]);
	}
	for (unsigned i = 0; i < c->nundef; i++)
		free(c->undef[i].name);
	free(c->var_names);
	free(c->var_vals);
	free(c->undef);
	free(c);
}

/* Grow an array of elements of size sz to hold n + 1; cap doubles. */
static int grow(void **arr, unsigned *cap, unsigned n, size_t sz)
{
	if (n < *cap)
		return 0;
	unsigned ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, (size_t)ncap * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* File names are stored once; sections and keys point at the copy. */
static const char *conf_file_intern(struct dp_conf *c, const char *file)
{
	for (unsigned i = 0; i < c->nfiles; i++)
		if (c->files[i] == file || !strcmp(c->files[i], file))
			return c->files[i];
	char **f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));
	if (!f)
		return NULL;
	c->files = f;
	if (!(f[c->nfiles] = strdup(file)))
		return NULL;
	return f[c->nfiles++];
}

static struct dp_conf_section *section_add_n(struct dp_conf *c, const char *name,
					     size_t n, const char *file, int line)
{
	const char *f = conf_file_intern(c, file ? file : "");
	if (!f || grow((void **)&c->sec, &c->cap, c->nsec, sizeof(*c->sec)))
		return NULL;
	struct dp_conf_section *s = &c->sec[c->nsec];
	memset(s, 0, sizeof(*s));
	if (!(s->name = strndup(name, n)))
		return NULL;
	s->file = f;
	s->line = line;
	c->nsec++;
	return s;
}

struct dp_conf_section *dp_conf_section_add(struct dp_conf *c, const char *name,
					    const char *file, int line)
{
	return section_add_n(c, name, strlen(name), file, line);
}

static int kv_add_n(struct dp_conf *c, struct dp_conf_section *s, const char *key,
		    size_t nkey, const char *val, size_t nval, const char *file, int line)
{
	const char *f = conf_file_intern(c, file ? file : "");
	if (!f || grow((void **)&s->kv, &s->cap, s->nkv, sizeof(*s->kv)))
		return -ENOMEM;
	struct dp_conf_kv *kv = &s->kv[s->nkv];
	kv->key = strndup(key, nkey);
	kv->val = strndup(val, nval);
	if (!kv->key || !kv->val) {
		free(kv->key);
		free(kv->val);
		return -ENOMEM;
	}
	kv->file = f;
	kv->line = line;
	s->nkv++;
	return 0;
}

int dp_conf_kv_add(struct dp_conf *c, struct dp_conf_section *s, const char *key,
		   const char *val, const char *file, int line)
{
	return kv_add_n(c, s, key, strlen(key), val, strlen(val), file, line);
}

const struct dp_conf_kv *dp_conf_kv_get(const struct dp_conf_section *s, const char *key)
{
	for (unsigned i = s->nkv; i-- > 0;)
		if (!strcasecmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

/* ---- variables ---- */

static const char *var_get(const struct dp_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nvars; i++)
		if (!strcmp(c->var_names[i], name))
			return c->var_vals[i];
	return getenv(name);
}

/* Takes ownership of name and val. */
static int var_set(struct dp_conf *c, char *name, char *val)
{
	for (unsigned i = 0; i < c->nvars; i++) {
		if (!strcmp(c->var_names[i], name)) {
			free(name);
			free(c->var_vals[i]);
			c->var_vals[i] = val;
			return 0;
		}
	}
	char **n = realloc(c->var_names, (c->nvars + 1) * sizeof(*n));
	if (n)
		c->var_names = n;
	char **v = n ? realloc(c->var_vals, (c->nvars + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(name);
		free(val);
		return -ENOMEM;
	}
	c->var_vals = v;
	n[c->nvars] = name;
	v[c->nvars++] = val;
	return 0;
}

int dp_conf_var_set(struct dp_conf *c, const char *name, const char *val)
{
	char *n = strdup(name), *v = strdup(val);
	if (!n || !v) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	return var_set(c, n, v);
}

static int undef_add(struct dp_conf *c, const char *name, const char *file, int line)
{
	struct dp_conf_undef *u = realloc(c->undef, (c->nundef + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	c->undef = u;
	u += c->nundef;
	if (!(u->name = strdup(name)))
		return -ENOMEM;
	u->file = file;
	u->line = line;
	c->nundef++;
	return 0;
}

/* Append n bytes to a growing string; -E2BIG past CONF_MAX_VALUE. */
static int str_cat(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n > CONF_MAX_VALUE)
		return -E2BIG;
	if (*len + n + 1 > *cap) {
		size_t ncap = DP_MAX(*cap * 2, *len + n + 1);
		char *p = realloc(*buf, ncap);
		if (!p)
			return -ENOMEM;
		*buf = p;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Expand ${NAME} in s[0..n) into a new string; NULL with err set. file and
 * line name the place for errors and for c->undef. */
static char *conf_subst(struct dp_conf *c, const char *s, size_t n, const char *file,
			int line, struct dp_err *err)
{
	char *out = NULL, *name = NULL;
	size_t len = 0, cap = 0;
	const char *end = s + n;
	int ret = str_cat(&out, &len, &cap, "", 0);

	while (!ret && s < end) {
		const char *d = memchr(s, '$', end - s);
		if (!d || d + 1 == end || d[1] != '{') {
			const char *stop = d ? d + 1 : end;
			ret = str_cat(&out, &len, &cap, s, stop - s);
			s = stop;
			continue;
		}
		ret = str_cat(&out, &len, &cap, s, d - s);
		const char *close = memchr(d + 2, '}', end - d - 2);
		if (ret)
			break;
		if (!close) {
			conf_err(err, file, line, -EINVAL, "unterminated '${' in '%.*s'",
				 (int)DP_MIN(n, CONF_KEY_SHOWN), end - n);
			goto fail;
		}
		if (close == d + 2) {
			conf_err(err, file, line, -EINVAL, "empty variable name '${}'");
			goto fail;
		}
		if (!(name = strndup(d + 2, close - d - 2))) {
			ret = -ENOMEM;
			break;
		}
		const char *v = var_get(c, name);
		if (!v)
			ret = undef_add(c, name, file, line);
		else
			ret = str_cat(&out, &len, &cap, v, strlen(v));
		free(name);
		name = NULL;
		s = close + 1;
	}
	if (!ret)
		return out;
	if (ret == -E2BIG)
		conf_err(err, file, line, ret, "value longer than %u bytes after ${} expansion",
			 CONF_MAX_VALUE);
	else
		conf_err(err, file, line, ret, "out of memory");
fail:
	free(out);
	return NULL;
}

/* ---- the reader ---- */

static int conf_file(struct conf_rd *rd, const char *path, const char *from, int from_line);

static int conf_include(struct conf_rd *rd, struct conf_file_st *st, const char *arg,
			size_t n, int line)
{
	char *pat = conf_subst(rd->c, arg, n, st->name, line, rd->err);
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

static int conf_command(struct conf_rd *rd, struct conf_file_st *st, const char *s,
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
	char *v = conf_subst(rd->c, val, nval, st->name, line, rd->err);
	if (!v)
		return rd->err->code;
	char *k = strndup(key, nkey);
	if (!k) {
		free(v);
		return LINE_ERR(-ENOMEM, "out of memory");
	}
	if (var_set(rd->c, k, v))
		return LINE_ERR(-ENOMEM, "out of memory");
	return 0;
}

static int conf_header(struct conf_rd *rd, struct conf_file_st *st, const char *s,
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
	if (!section_add_n(rd->c, name, nname, st->name, line))
		return LINE_ERR(-ENOMEM, "out of memory");
	st->sec = rd->c->nsec - 1;
	st->ind = NULL;
	return 0;
}

static int conf_indent(struct conf_rd *rd, struct conf_file_st *st, const char *s,
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

static int conf_line(struct conf_rd *rd, struct conf_file_st *st, const char *s,
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
	if (kv_add_n(rd->c, &rd->c->sec[st->sec], key, k - ind, val, nval, st->name, line))
		return LINE_ERR(-ENOMEM, "out of memory");
	return 0;
}

static int conf_parse(struct conf_rd *rd, const char *buf, size_t len, const char *name)
{
	struct conf_file_st st = { .sec = -1 };
	const char *p = buf, *end = buf + len;
	int line = 0, ret = 0;

	if (!(st.name = conf_file_intern(rd->c, name)))
		return dp_err_set(rd->err, -ENOMEM, "out of memory");
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		for (line = 1; (p = memchr(p, '\n', nul - p)); p++)
			line++;
		return conf_err(rd->err, st.name, line, -EINVAL, "NUL byte in file");
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

/* Read one file into memory and parse it; from/from_line name the
 * @INCLUDE that asked for it (NULL for the top file). */
static int conf_file(struct conf_rd *rd, const char *path, const char *from, int from_line)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r = 0;
	int ret;

	if (rd->depth >= CONF_MAX_DEPTH)
		return conf_err(rd->err, from, from_line, -ELOOP,
				"@INCLUDE nested deeper than %d files", CONF_MAX_DEPTH);
	if (rd->nread >= CONF_MAX_FILES)
		return conf_err(rd->err, from, from_line, -EMFILE,
				"more than %d configuration files", CONF_MAX_FILES);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb)) {
		ret = conf_err(rd->err, from, from_line, -errno, "cannot open '%s': %s",
			       path, strerror(errno));
		goto out;
	}
	ret = -EINVAL;
	if (!S_ISREG(sb.st_mode)) {
		conf_err(rd->err, from, from_line, ret, "'%s' is not a regular file", path);
		goto out;
	}
	if (sb.st_size > CONF_MAX_FILE_SIZE) {
		ret = conf_err(rd->err, from, from_line, -EFBIG, "'%s' is larger than %u MiB",
			       path, CONF_MAX_FILE_SIZE >> 20);
		goto out;
	}
	for (unsigned i = 0; i < rd->depth; i++) {
		if (rd->open[i].known && rd->open[i].dev == sb.st_dev &&
		    rd->open[i].ino == sb.st_ino) {
			ret = conf_err(rd->err, from, from_line, -ELOOP,
				       "@INCLUDE cycle: '%s' is already being read", path);
			goto out;
		}
	}
	/* Ask for one byte more than st_size: a file growing under us is cut
	 * at the size we checked. Regular files do not return EINTR. */
	if (!(buf = malloc(sb.st_size + 1))) {
		ret = conf_err(rd->err, from, from_line, -ENOMEM, "out of memory");
		goto out;
	}
	while (len <= (size_t)sb.st_size && (r = read(fd, buf + len, sb.st_size + 1 - len)) > 0)
		len += r;
	if (r < 0) {
		ret = conf_err(rd->err, from, from_line, -errno, "cannot read '%s': %s",
			       path, strerror(errno));
		goto out;
	}
	rd->open[rd->depth].dev = sb.st_dev;
	rd->open[rd->depth].ino = sb.st_ino;
	rd->open[rd->depth].known = true;
	rd->depth++;
	rd->nread++;
	ret = conf_parse(rd, buf, DP_MIN(len, (size_t)sb.st_size), path);
	rd->depth--;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* Expand ${} in every value once the whole tree is read (see the top). */
int dp_conf_expand(struct dp_conf *c, struct dp_err *err)
{
	for (unsigned i = 0; i < c->nsec; i++) {
		struct dp_conf_section *s = &c->sec[i];
		for (unsigned j = 0; j < s->nkv; j++) {
			struct dp_conf_kv *kv = &s->kv[j];
			if (!strstr(kv->val, "${"))
				continue;
			char *v = conf_subst(c, kv->val, strlen(kv->val), kv->file, kv->line, err);
			if (!v)
				return err->code;
			free(kv->val);
			kv->val = v;
		}
	}
	return 0;
}

/* Read a file (path) or a buffer (buf, len, name) into a new dp_conf. */
static struct dp_conf *conf_load(const char *path, const char *buf, size_t len,
				 const char *name, struct dp_err *err)
{
	struct dp_err tmp;
	struct conf_rd rd = { .c = dp_conf_new(), .err = err ? err : &tmp };
	int ret;

	if (!rd.c) {
		dp_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	if (path) {
		ret = conf_file(&rd, path, NULL, 0);
	} else {
		rd.depth = rd.nread = 1;   /* open[0] stays unknown: no inode */
		ret = conf_parse(&rd, buf, len, name ? name : "<buffer>");
	}
	if (!ret)
		ret = dp_conf_expand(rd.c, rd.err);
	if (ret) {
		dp_conf_destroy(rd.c);
		return NULL;
	}
	return rd.c;
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
	return conf_load(path, NULL, 0, NULL, err);
}

struct dp_conf *dp_conf_load_buffer(const char *buf, size_t len, const char *name,
				    struct dp_err *err)
{
	return conf_load(NULL, buf, len, name, err);
}
