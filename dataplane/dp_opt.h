/*
 * dp_opt.h — option tables: one row per configuration key (name, type,
 * default, range, description, where it is stored). They drive parsing,
 * validation, `sluice -i NAME -h` help and the generated reference in
 * docs/CONFIG.md (the librdkafka idea). Control thread only.
 */
#ifndef DP_OPT_H
#define DP_OPT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "dp_common.h"
#include "dp_conf.h"

enum dp_opt_type {
	DP_OPT_STR,      /* char * (strdup'd; NULL when no default) */
	DP_OPT_INT,      /* int64_t */
	DP_OPT_SIZE,     /* int64_t bytes: "32000", "32k", "5M", "1G" (x1000, as Fluent Bit) */
	DP_OPT_SIZE_KB,  /* int64_t bytes from a count of KiB: "32" = 32768 (in_tcp Chunk_Size) */
	DP_OPT_BOOL,     /* bool: on/off, true/false, yes/no, 1/0 */
	DP_OPT_SECONDS,  /* double seconds: "1", "0.25", "5s", "100ms", "2m", "1h" */
	DP_OPT_ENUM,     /* int: index of the value in choices "udp|tcp|unix_udp" */
};

#define DP_OPT_REQUIRED  0x1  /* must be set */
#define DP_OPT_NOT_YET   0x2  /* accepted only with its default value; any other
                                 value is an error "not supported yet" */
#define DP_OPT_HIDDEN    0x4  /* left out of help and docs */

struct dp_opt {
	const char *name;     /* matched case-insensitively */
	enum dp_opt_type type;
	const char *def;      /* default as it would be written; NULL: none */
	size_t off;           /* offsetof() into the config struct */
	const char *choices;  /* DP_OPT_ENUM: "a|b|c" */
	int64_t min, max;     /* inclusive range when max > min, in the unit the user
	                         writes: INT as is, SIZE bytes, SIZE_KB KiB,
	                         SECONDS seconds */
	unsigned flags;
	const char *desc;
};

/* A table ends with a row whose name is NULL. */

/* Set every option of tab in cfg to its default. String fields are
 * overwritten, not freed (cfg may be uninitialised): dp_opt_free first when
 * applying again. */
int dp_opt_defaults(const struct dp_opt *tab, void *cfg, struct dp_err *err);

/* Set one key (cfg defaulted or zeroed: the old string is freed). Returns
 * 0, -ENOENT when tab has no such key, -EINVAL with
 * err->msg such as "invalid value 'x' for 'Port': expected an integer in
 * 1..65535" (without file:line; the caller adds it). */
int dp_opt_set(const struct dp_opt *tab, void *cfg, const char *key, const char *val,
	       struct dp_err *err);

/* Apply a whole section to several (table, struct) pairs: defaults first,
 * then each key to the first table that has it. Keys in `ignore` (a
 * NULL-terminated list, may be NULL) are skipped. Errors name the place:
 * "FILE:LINE: [INPUT] syslog: unknown key 'Foo'" and required keys that are
 * missing. what is e.g. "[INPUT] syslog" (NULL: "[NAME]" of the section).
 * An ignore entry ending in '*' skips every key with that prefix.
 * On failure the strings already stored are freed (fields set to NULL), so
 * calling dp_opt_free afterwards is harmless either way. */
int dp_opt_apply(const struct dp_opt *const *tabs, void *const *cfgs, unsigned n,
		 const struct dp_conf_section *s, const char *what,
		 const char *const *ignore, struct dp_err *err);

/* Value parsers, shared with code that reads values outside tables. */
int dp_opt_parse_size(const char *s, int64_t *out);
int dp_opt_parse_bool(const char *s, bool *out);
int dp_opt_parse_seconds(const char *s, double *out);

/* Free the strings an applied table allocated (and NULL them: idempotent). */
void dp_opt_free(const struct dp_opt *tab, void *cfg);

/* Help text (sluice -i NAME -h) and a Markdown table (docs/CONFIG.md). */
void dp_opt_print_help(FILE *f, const struct dp_opt *tab);
void dp_opt_print_markdown(FILE *f, const struct dp_opt *tab);
/* The same as roff for the man page (sluice --doc-man): one .TP per key.
 * dp_opt_roff writes text that roff prints as is: backslashes and a '.'
 * or '\'' that would start a request escaped, and with code '-' as \-
 * (a minus that can be copied into a shell, for keys and values). */
void dp_opt_print_roff(FILE *f, const struct dp_opt *tab);
void dp_opt_roff(FILE *f, const char *s, bool code);

#endif
