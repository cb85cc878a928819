/*
 * psr_parser_int.h — what a compiled [PARSER] holds, shared by its
 * configuration (psr_parser.c) and its execution (psr_parser_exec.c).
 * Not for other modules: they use psr_parser.h.
 */
#ifndef PSR_PARSER_INT_H
#define PSR_PARSER_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include "psr_parser.h"
#include "psr_strptime.h"

/* Fluent Bit's own parsers.conf gives syslog-rfc3164 two Time_Format
 * lines; each is tried in turn until one reads the time. */
#define PSR_TFMT_ALT 4

enum { PSR_FMT_REGEX, PSR_FMT_JSON, PSR_FMT_LOGFMT, PSR_FMT_LTSV };
enum { PSR_TY_STR, PSR_TY_INT, PSR_TY_FLOAT, PSR_TY_BOOL, PSR_TY_HEX };
enum { PSR_DEC_JSON, PSR_DEC_ESCAPED, PSR_DEC_ESCAPED_UTF8 };
enum { PSR_ACT_NONE, PSR_ACT_TRY_NEXT, PSR_ACT_DO_NEXT };

/* The option table's struct (psr_parser_opts). */
struct psr_parser_cfg {
	char *name;
	int format;
	char *regex;
	char *time_key;
	char *time_format;
	bool time_keep;
	char *time_offset;
	bool time_system_tz;
	bool time_strict;
	char *types;
	char *decode_field;     /* walked from the section (repeats) */
	char *decode_field_as;
	bool skip_empty;
	bool no_bare_keys;      /* Logfmt_No_Bare_Keys */
};

struct psr_cap {
	char *name;
	uint16_t len;
	uint16_t group;
	/* Onigmo allows two groups of one name: the first holds the field
	 * (its value from whichever of them matched, in group order: next
	 * chains the others), the others are `dup` and emit nothing. */
	int16_t next;
	bool dup;
};

struct psr_type {
	char *key;
	uint16_t klen;
	uint8_t type;
};

struct psr_dec {
	char *key;
	uint16_t klen;
	bool as;           /* Decode_Field_As (else Decode_Field) */
	uint8_t backend;
	uint8_t action;
};

struct psr_parser {
	char *name;
	int format;
	/* regex */
	pcre2_code *re;
	bool jit;
	char *set_pat;         /* pattern for a re_set prefilter (NULL: UTF mode, none) */
	unsigned set_flags;    /* its RE_* flags */
	struct psr_cap *caps;  /* in group order */
	unsigned ncaps;
	bool skip_empty;
	bool no_bare_keys;     /* logfmt: a key without a value fails the line */
	/* time */
	bool has_time;
	bool time_keep;
	char *time_key;
	size_t time_key_len;
	struct psr_tfmt tfmt[PSR_TFMT_ALT];  /* Time_Format lines, tried in order */
	unsigned ntfmt;
	int32_t time_off;
	unsigned tflags;
	/* Types, decoders */
	struct psr_type *types;
	unsigned ntypes;
	struct psr_dec *decs;
	unsigned ndecs;
};

#endif
