/*
 * dp_conf.h — the configuration as read: sections of key/value pairs, each
 * remembering the file and line it came from so every later error can name
 * them. Readers: the classic Fluent Bit format (dp_conf_classic.c), Fluent
 * Bit's YAML format (dp_conf_yaml.c) and the command line (dp_cli.c).
 * Control thread only.
 */
#ifndef DP_CONF_H
#define DP_CONF_H

#include <stdbool.h>
#include "dp_common.h"

struct dp_conf_kv {
	char *key;
	char *val;          /* ${VAR} already substituted */
	const char *file;   /* owned by struct dp_conf */
	int line;
};

struct dp_conf_section {
	char *name;         /* as written, e.g. "INPUT" */
	const char *file;
	int line;
	struct dp_conf_kv *kv;
	unsigned nkv, cap;
};

struct dp_conf_undef {
	char *name;
	const char *file;   /* owned by struct dp_conf */
	int line;
};

struct dp_conf {
	struct dp_conf_section *sec;
	unsigned nsec, cap;
	char **files;       /* every file name referenced by sections and keys */
	unsigned nfiles;
	/* @SET variables, consulted before the environment */
	char **var_names, **var_vals;
	unsigned nvars;
	/* ${VAR} references that neither @SET / env: nor the environment
	 * defined (nor gethostname, for HOSTNAME), without a ":-default";
	 * they were replaced by "" (as Fluent Bit does) and are listed here
	 * so the caller can warn with file:line (sluice --strict: refuse). */
	struct dp_conf_undef *undef;
	unsigned nundef;
	/* --strict: an undefined ${VAR} is an error, in this file and in the
	 * files it names that are read later (Parsers_File, Streams_File:
	 * dp_conf_undef_check). Set by the caller; no reader sets it. */
	bool strict_vars;
};

/* Read a classic-format file (with @INCLUDE, @SET, ${VAR}). NULL on error
 * with err->msg like "x.conf:7: invalid indentation". The rules (what is
 * accepted where Fluent Bit is vague) are written up at the top of
 * dp_conf_classic.c. A path ending in .yaml or .yml (any case) is read by
 * dp_conf_load_yaml instead. */
struct dp_conf *dp_conf_load(const char *path, struct dp_err *err);

/* A file another names (Parsers_File, Streams_File): read as dp_conf_load
 * does, with parent's @SET variables defined first (Fluent Bit shares one
 * environment among all its files; the file's own @SET wins). */
struct dp_conf *dp_conf_load_sub(const char *path, const struct dp_conf *parent, struct dp_err *err);

/* Read a Fluent Bit YAML file (env, includes, service, pipeline, parsers,
 * multiline_parsers, stream_processor) into the same sections the classic
 * reader makes: [SERVICE], [INPUT], [FILTER], [OUTPUT], [PARSER],
 * [MULTILINE_PARSER], [STREAM_TASK]. Rules at the top of dp_conf_yaml.c. */
struct dp_conf *dp_conf_load_yaml(const char *path, struct dp_err *err);
/* The same over a buffer (tests, fuzzing); includes resolve against the
 * working directory. */
struct dp_conf *dp_conf_load_yaml_buffer(const char *buf, size_t len, const char *name,
					 struct dp_err *err);

/* The same reader over bytes in memory (the fuzzer, tests, configuration
 * received over HTTP). name is used in messages and, for @INCLUDE of a
 * relative path, its directory is the base. buf need not be
 * NUL-terminated; a NUL byte in it is an error. */
struct dp_conf *dp_conf_load_buffer(const char *buf, size_t len, const char *name,
				    struct dp_err *err);

struct dp_conf *dp_conf_create(void);
void dp_conf_destroy(struct dp_conf *c);

/* Builders for the command line and tests; file may be a literal such as
 * "<command line>" (it is copied). Values are stored as given (no ${VAR}
 * substitution). The section pointer stays valid only until the next
 * dp_conf_section_add (the array may move); NULL / -ENOMEM when out of
 * memory. */
struct dp_conf_section *dp_conf_section_add(struct dp_conf *c, const char *name,
					    const char *file, int line);
int dp_conf_kv_add(struct dp_conf *c, struct dp_conf_section *s, const char *key,
		   const char *val, const char *file, int line);

/* Define a variable for ${NAME} (as @SET does; the last definition wins);
 * both strings are copied. 0 or -ENOMEM. */
int dp_conf_var_set(struct dp_conf *c, const char *name, const char *val);

/* Replace ${NAME} in every value, once all variables are known; names
 * left undefined become "" and are listed in c->undef. 0 or -errno with
 * err->msg naming the value's file:line. */
int dp_conf_expand(struct dp_conf *c, struct dp_err *err);

/* The ${VAR}s c->undef lists (a configuration file and its @INCLUDEs,
 * or a Parsers_File / Streams_File it names): each a warning naming its
 * file:line, as Fluent Bit's flb_env.c warns; with `strict`, the first is
 * an error instead (-EINVAL, err->msg "FILE:LINE: variable ${X} is not
 * set (--strict)"). The one check for every file sluice reads. */
int dp_conf_undef_check(const struct dp_conf *c, bool strict, struct dp_err *err);

/* Last value of key in s (case-insensitive), or NULL. */
const struct dp_conf_kv *dp_conf_kv_get(const struct dp_conf_section *s, const char *key);

/* A section's contents as one number (FNV-1a over its name, then each key,
 * lower-cased, and value, in order): equal for sections written alike,
 * which is how a reload tells an unchanged [INPUT] (runtime/dp_reload.c).
 * seed chains several sections. */
uint64_t dp_conf_section_sig(const struct dp_conf_section *s, uint64_t seed);

#endif
