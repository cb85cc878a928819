/*
 * psr_kv.h — the key/value line formats of [PARSER] Format logfmt and
 * ltsv, as tokenizers: psr_parser.c turns each pair into a field (time
 * key, Types, decoders are its business). Pure functions, any thread.
 *
 * logfmt (Fluent Bit's reading): a key is a run of bytes above ' ' other
 * than '=' and '"'; bytes that cannot start a key are skipped. Then
 *   key=value       value: a run of key bytes
 *   key="a \" b"    quoted: up to the next unescaped '"'; backslash
 *                   escapes are decoded (\" \\ \n \t \r \uXXXX ...)
 *   key  or  key=   no value: the boolean true
 *   key=""          the empty string
 * The line ends at the first LF (a CR before it is dropped).
 *
 * LTSV (ltsv.org): label:value pairs separated by TAB; a label is
 * [0-9A-Za-z_.-]+, a value any bytes but TAB, CR and LF. The line ends at
 * the first CR or LF. A pair without ':' or with an empty or invalid label
 * makes the whole line invalid.
 */
#ifndef PSR_KV_H
#define PSR_KV_H

#include <stdbool.h>
#include <stddef.h>

enum psr_kv_kind {
	PSR_KV_PLAIN,    /* val[0..vlen) as it is */
	PSR_KV_ESCAPED,  /* quoted logfmt value with backslashes: psr_kv_unescape */
	PSR_KV_TRUE,     /* logfmt key without value */
};

struct psr_kv_tok {
	const char *key, *val;
	size_t klen, vlen;
	enum psr_kv_kind kind;
};

/* The next pair from *pos: 1 and *t filled, 0 at the end of the line,
 * -1 (LTSV only) when the line is malformed. */
int psr_logfmt_next(const char *s, size_t len, size_t *pos, struct psr_kv_tok *t);
int psr_ltsv_next(const char *s, size_t len, size_t *pos, struct psr_kv_tok *t);

/* Decode backslash escapes of s[0..n) into w (room for n bytes: no escape
 * grows); returns the decoded length. \uXXXX becomes UTF-8; an unknown
 * escape \x is x. */
size_t psr_kv_unescape(const char *s, size_t n, char *w);

#endif
