/*
 * dp_conf_int.h — what the configuration readers share with dp_conf.c and
 * nothing else does. Control thread only.
 */
#ifndef DP_CONF_INT_H
#define DP_CONF_INT_H

#include <stddef.h>
#include "dp_conf.h"

#define CONF_MAX_VALUE (64u << 10)  /* after ${} expansion: stops 2^n blowups */
#define CONF_KEY_SHOWN 64           /* key bytes quoted in an error */

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

#endif
