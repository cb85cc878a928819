/*
 * dp_conf_int.h — what the configuration readers share with dp_conf.c and
 * nothing else does. Control thread only.
 */
#ifndef DP_CONF_INT_H
#define DP_CONF_INT_H

#include <stddef.h>
#include "dp_conf.h"

#include <stdbool.h>
#include <sys/types.h>

#define CONF_MAX_VALUE (64u << 10)  /* after ${} expansion: stops 2^n blowups */
#define CONF_MAX_DEPTH     16       /* includes within includes */
#define CONF_MAX_FILES     1000     /* files per load */
#define CONF_MAX_FILE_SIZE (16u << 20)
#define CONF_KEY_SHOWN 1024         /* key bytes quoted in an error: a real key
                                       is whole, a runaway line is cut */

/* "FILE:LINE: message" (or the message alone when file is NULL). */
int dp_conf_err_at(struct dp_err *err, const char *file, int line, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The conf's own copy of a file name, shared by all its sections and keys. */
const char *dp_conf_file_intern(struct dp_conf *c, const char *file);
/* Builders over counted strings (NULL / -ENOMEM on failure). */
struct dp_conf_section *dp_conf_section_add_n(struct dp_conf *c, const char *name, size_t n,
					      const char *file, int line);
int dp_conf_kv_add_n(struct dp_conf *c, struct dp_conf_section *s, const char *key, size_t nkey,
		     const char *val, size_t nval, const char *file, int line);
/* Set a variable, taking ownership of name and val (malloc'd). */
int dp_conf_var_take(struct dp_conf *c, char *name, char *val);
/* s[0..n) with ${VAR} expanded (malloc'd), or NULL with err set at file:line. */
char *dp_conf_subst(struct dp_conf *c, const char *s, size_t n, const char *file, int line,
		    struct dp_err *err);

/* The files a load is reading, innermost last: for its limits and to
 * refuse an include cycle (same device and inode). */
struct dp_conf_files {
	unsigned depth, nread;
	struct {
		dev_t dev;
		ino_t ino;
		bool known;         /* false for a buffer, which has no inode */
	} open[CONF_MAX_DEPTH];
};

typedef int (*dp_conf_parse_fn)(void *rd, const char *buf, size_t len, const char *path);

/* What every reader's state starts with (a reader may add its own after). */
struct dp_conf_rd {
	struct dp_conf *c;
	struct dp_err *err;
	struct dp_conf_files files;
	/* The file that named this one (a Parsers_File's configuration): its
	 * @SET variables are this file's too, as Fluent Bit shares one
	 * environment among all the files it reads. NULL for a main file. */
	const struct dp_conf *parent;
};

/* dp_conf_load_sub for a YAML file. */
struct dp_conf *dp_conf_yaml_load_sub(const char *path, const struct dp_conf *parent, struct dp_err *err);

/* The load both readers share: a new conf, the file (path) or the buffer
 * (buf, len, name) given to parse(rd, ...), then ${VAR} expanded. NULL
 * with err set on failure. */
struct dp_conf *dp_conf_load_with(struct dp_conf_rd *rd, const char *path, const char *buf,
				  size_t len, const char *name, dp_conf_parse_fn parse, const char *what,
				  struct dp_err *err);

/* Read path whole (a regular file within the limits, not one being read
 * already) and hand it to parse(rd, ...). Errors name from:from_line, the
 * include that asked for it (from NULL for the top file); `what` names
 * the include mechanism in them ("@INCLUDE", "includes"). */
int dp_conf_read_file(struct dp_conf_files *fs, const char *path, const char *from, int from_line,
		      const char *what, dp_conf_parse_fn parse, void *rd, struct dp_err *err);

#endif
