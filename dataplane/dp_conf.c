/*
 * dp_conf.c — struct dp_conf, what both configuration readers (classic:
 * dp_conf_classic.c, YAML: dp_conf_yaml.c) fill: sections, keys with their
 * file and line, @SET / env variables and ${VAR} expansion. Control thread
 * only (getenv(3)).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dp_conf_int.h"
#include "dp_log.h"

int dp_conf_err_at(struct dp_err *err, const char *file, int line, int code,
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

/* ---- struct dp_conf and its builders ---- */

struct dp_conf *dp_conf_create(void)
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
const char *dp_conf_file_intern(struct dp_conf *c, const char *file)
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

struct dp_conf_section *dp_conf_section_add_n(struct dp_conf *c, const char *name,
					     size_t n, const char *file, int line)
{
	const char *f = dp_conf_file_intern(c, file ? file : "");
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
	return dp_conf_section_add_n(c, name, strlen(name), file, line);
}

int dp_conf_kv_add_n(struct dp_conf *c, struct dp_conf_section *s, const char *key,
		    size_t nkey, const char *val, size_t nval, const char *file, int line)
{
	const char *f = dp_conf_file_intern(c, file ? file : "");
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
	return dp_conf_kv_add_n(c, s, key, strlen(key), val, strlen(val), file, line);
}

const struct dp_conf_kv *dp_conf_kv_get(const struct dp_conf_section *s, const char *key)
{
	for (unsigned i = s->nkv; i-- > 0;)
		if (!strcasecmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

/* ---- variables ---- */

/* @SET / env: first, then the environment, then the predefined ${HOSTNAME}
 * (Fluent Bit's order, flb_env.c: it presets HOSTNAME from gethostname(2)
 * only when the environment has none, and a configured variable of the
 * same name replaces the preset). */
static const char *var_get(const struct dp_conf *c, const char *name)
{
	static char host[256];   /* control thread only */

	for (unsigned i = 0; i < c->nvars; i++)
		if (!strcmp(c->var_names[i], name))
			return c->var_vals[i];
	const char *v = getenv(name);
	if (v || strcmp(name, "HOSTNAME"))
		return v;
	if (gethostname(host, sizeof(host) - 1))
		return NULL;
	host[sizeof(host) - 1] = '\0';
	return host;
}

/* Takes ownership of name and val. */
int dp_conf_var_take(struct dp_conf *c, char *name, char *val)
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
	return dp_conf_var_take(c, n, v);
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

/* ${VAR}s that nothing defined expanded to "" (Fluent Bit's behaviour:
 * docs.fluentbit.io .../classic-mode/variables; flb_env.c warns "variable
 * ${X} is used but not set", for parsers files too: flb_parser.c reads
 * every key through flb_env_var_translate). */
int dp_conf_undef_check(const struct dp_conf *c, bool strict, struct dp_err *err)
{
	for (unsigned i = 0; i < c->nundef; i++) {
		const struct dp_conf_undef *u = &c->undef[i];
		if (strict)
			return dp_err_set(err, -EINVAL, "%s:%d: variable ${%s} is not set (--strict)",
					  u->file, u->line, u->name);
		dp_warn("%s:%d: variable ${%s} is not set: it expands to an empty string", u->file,
			u->line, u->name);
	}
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
char *dp_conf_subst(struct dp_conf *c, const char *s, size_t n, const char *file,
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
			dp_conf_err_at(err, file, line, -EINVAL, "unterminated '${' in '%.*s'",
				 (int)DP_MIN(n, CONF_KEY_SHOWN), end - n);
			goto fail;
		}
		if (close == d + 2) {
			dp_conf_err_at(err, file, line, -EINVAL, "empty variable name '${}'");
			goto fail;
		}
		if (!(name = strndup(d + 2, close - d - 2))) {
			ret = -ENOMEM;
			break;
		}
		/* ${NAME:-default}: the default when NAME is unset or empty
		 * (Fluent Bit 5.0.6+); the default is taken literally. */
		char *dflt = strstr(name, ":-");
		if (dflt) {
			*dflt = '\0';
			dflt += 2;
		}
		const char *v = var_get(c, name);
		if (dflt && (!v || !*v))
			ret = str_cat(&out, &len, &cap, dflt, strlen(dflt));
		else if (!v)
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
		dp_conf_err_at(err, file, line, ret, "value longer than %u bytes after ${} expansion",
			 CONF_MAX_VALUE);
	else
		dp_conf_err_at(err, file, line, ret, "out of memory");
fail:
	free(out);
	return NULL;
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
			char *v = dp_conf_subst(c, kv->val, strlen(kv->val), kv->file, kv->line, err);
			if (!v)
				return err->code;
			free(kv->val);
			kv->val = v;
		}
	}
	return 0;
}

/* See dp_conf_int.h. */
int dp_conf_read_file(struct dp_conf_files *fs, const char *path, const char *from, int from_line,
		      const char *what, dp_conf_parse_fn parse, void *rd, struct dp_err *err)
{
	struct stat sb;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r = 0;
	int ret;

	if (fs->depth >= CONF_MAX_DEPTH)
		return dp_conf_err_at(err, from, from_line, -ELOOP,
				"%s nested deeper than %d files", what, CONF_MAX_DEPTH);
	if (fs->nread >= CONF_MAX_FILES)
		return dp_conf_err_at(err, from, from_line, -EMFILE,
				"more than %d configuration files", CONF_MAX_FILES);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &sb)) {
		ret = dp_conf_err_at(err, from, from_line, -errno, "cannot open '%s': %s",
			       path, strerror(errno));
		goto out;
	}
	ret = -EINVAL;
	if (!S_ISREG(sb.st_mode)) {
		dp_conf_err_at(err, from, from_line, ret, "'%s' is not a regular file", path);
		goto out;
	}
	if (sb.st_size > CONF_MAX_FILE_SIZE) {
		ret = dp_conf_err_at(err, from, from_line, -EFBIG, "'%s' is larger than %u MiB",
			       path, CONF_MAX_FILE_SIZE >> 20);
		goto out;
	}
	for (unsigned i = 0; i < fs->depth; i++) {
		if (fs->open[i].known && fs->open[i].dev == sb.st_dev &&
		    fs->open[i].ino == sb.st_ino) {
			ret = dp_conf_err_at(err, from, from_line, -ELOOP,
				       "%s cycle: '%s' is already being read", what, path);
			goto out;
		}
	}
	/* Ask for one byte more than st_size: a file growing under us is cut
	 * at the size we checked. Regular files do not return EINTR. */
	if (!(buf = malloc(sb.st_size + 1))) {
		ret = dp_conf_err_at(err, from, from_line, -ENOMEM, "out of memory");
		goto out;
	}
	while (len <= (size_t)sb.st_size && (r = read(fd, buf + len, sb.st_size + 1 - len)) > 0)
		len += r;
	if (r < 0) {
		ret = dp_conf_err_at(err, from, from_line, -errno, "cannot read '%s': %s",
			       path, strerror(errno));
		goto out;
	}
	fs->open[fs->depth].dev = sb.st_dev;
	fs->open[fs->depth].ino = sb.st_ino;
	fs->open[fs->depth].known = true;
	fs->depth++;
	fs->nread++;
	ret = parse(rd, buf, DP_MIN(len, (size_t)sb.st_size), path);
	fs->depth--;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

struct dp_conf *dp_conf_load_with(struct dp_conf_rd *rd, const char *path, const char *buf,
				  size_t len, const char *name, dp_conf_parse_fn parse, const char *what,
				  struct dp_err *err)
{
	struct dp_err tmp;
	rd->c = dp_conf_create();
	rd->err = err ? err : &tmp;
	if (!rd->c) {
		dp_err_set(rd->err, -ENOMEM, "out of memory");
		return NULL;
	}
	int ret = 0;
	for (unsigned i = 0; rd->parent && i < rd->parent->nvars && !ret; i++)
		ret = dp_conf_var_set(rd->c, rd->parent->var_names[i], rd->parent->var_vals[i]);
	if (ret) {
		dp_conf_destroy(rd->c);
		dp_err_set(rd->err, ret, "out of memory");
		return NULL;
	}
	if (path) {
		ret = dp_conf_read_file(&rd->files, path, NULL, 0, what, parse, rd, rd->err);
	} else {
		rd->files.depth = rd->files.nread = 1;   /* open[0] stays unknown: no inode */
		ret = parse(rd, buf, len, name ? name : "<buffer>");
	}
	if (!ret)
		ret = dp_conf_expand(rd->c, rd->err);
	if (ret) {
		dp_conf_destroy(rd->c);
		return NULL;
	}
	return rd->c;
}

/* A key lower-cased (keys compare without case), or a value, into h,
 * then a separator so that "ab"+"c" and "a"+"bc" differ. */
static uint64_t fnv(uint64_t h, const char *p, bool lower)
{
	for (; *p; p++) {
		uint8_t c = (uint8_t)(lower ? tolower((unsigned char)*p) : *p);
		h = dp_fnv1a(h, &c, 1);
	}
	return dp_fnv1a(h, "\xff", 1);
}

uint64_t dp_conf_section_sig(const struct dp_conf_section *s, uint64_t seed)
{
	uint64_t h = seed ? seed : DP_FNV1A_INIT;
	h = fnv(h, s->name, true);
	for (unsigned k = 0; k < s->nkv; k++) {
		h = fnv(h, s->kv[k].key, true);
		h = fnv(h, s->kv[k].val, false);
	}
	return h;
}
