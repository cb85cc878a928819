/*
 * fuzz_multiline.c — libFuzzer target for the multiline parsers (psr_ml.h).
 *
 * Byte 0 picks the mode. 0 mod 4: the rest is lines (split at '\n') pushed
 * through one stream running all the built-ins (java, python, go, ruby,
 * nodejs) as a comma list, with a tick whenever a line starts with '~'.
 * 2 mod 4: container log lines, as the tail input's parsed-lines mode
 * (shards/in_tail_mlc.c) takes them: each parsed by docker's line parser,
 * else cri's (psr_ml_parser_line), and its "log" (and cri's "_p") pushed
 * through the stream of (that parser, its "stream" value).
 * Odd: the rest is a classic configuration whose [MULTILINE_PARSER] and
 * [PARSER] sections are added to sets (errors are fine, crashes and leaks
 * are not), then resolved (psr_ml_set_resolve); when one named "f" was
 * added, lines are pushed through it: the lines after a line "---", else
 * the configuration's own; parsed first by its `parser` when it has one
 * (the same path as mode 2, with its key_content / key_pattern /
 * key_group). Invariants: a group is never longer than
 * PSR_ML_GROUP_MAX, push returns one of its three values, and after a
 * flush no group is open. Single-threaded.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dp_conf.h"
#include "dp_edit.h"
#include "psr_ml.h"
#include "psr_parser.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static struct psr_ml_stream st;
static uint64_t groups, begins;

static void on_begin(void *arg)
{
	(void)arg;
	begins++;
}

static void on_flush(void *arg, const struct psr_ml_group *g)
{
	(void)arg;
	CHECK(g->len <= PSR_ML_GROUP_MAX + 1);   /* + raw text's final "\n" */
	CHECK(g->lines >= 1);
	groups++;
}

static void run_lines(const struct psr_ml_parser *const *p, unsigned np, const uint8_t *d, size_t n)
{
	CHECK(psr_ml_stream_init(&st, p, np, 0, on_begin, on_flush, NULL) == 0);
	psr_ml_stream_set_text(&st, n & 1);   /* tail's raw lines, or a record's key */
	uint64_t now = 0;
	groups = begins = 0;
	while (n) {
		const uint8_t *nl = memchr(d, '\n', n);
		size_t len = nl ? (size_t)(nl - d) : n;
		now += 1000000;
		if (len && d[0] == '~') {
			psr_ml_stream_tick(&st, now + (uint64_t)len * 1000000000ull);
		} else {
			int v = psr_ml_stream_push(&st, (const char *)d, len, 1, 2, now);
			CHECK(v == PSR_ML_PASS || v == PSR_ML_START || v == PSR_ML_CONT);
		}
		if (!nl)
			break;
		n -= len + 1;
		d = nl + 1;
	}
	psr_ml_stream_flush(&st);
	CHECK(!psr_ml_stream_is_open(&st));
	CHECK(groups == begins);
	psr_ml_stream_fini(&st);
}

static const char *str_field(struct dp_chunk *c, const char *k, size_t *len)
{
	int i = dp_tail_find(c, k, strlen(k));
	if (i < 0 || dp_tail_field(c, (unsigned)i)->type != DP_T_STR)
		return NULL;
	const struct dp_field *f = dp_tail_field(c, (unsigned)i);
	*len = f->val_len;
	return dp_field_val(c, f);
}

#define FZ_GROUPS 4   /* key_group values kept apart per parser, as in_tail_mlc.c's MLC_GROUPS */

/* Lines parsed first, as the tail input's in_tail_mlc.c takes them: each
 * by the first parser whose line parser parses it (psr_ml_parser_line)
 * and whose key_content is a string, then its key_content (and
 * key_pattern) pushed through the stream of (parser, key_group value). A
 * regex parser may pass a line (no rule matched); endswith / equal ones
 * take every line they accept. */
static void run_parsed(const struct psr_ml_parser *const *p, unsigned np, const uint8_t *d, size_t n)
{
	static struct dp_chunk c;
	static struct dp_rec recs[DP_CHUNK_RECS];
	static struct dp_field fields[DP_CHUNK_FIELDS];
	static uint8_t data[DP_CHUNK_DATA];
	static struct psr_ml_stream cs[2][FZ_GROUPS];
	struct psr_parser_state *pst[2] = { NULL, NULL };
	char key[2][FZ_GROUPS][16];
	size_t klen[2][FZ_GROUPS];
	unsigned ng[2] = { 0, 0 };
	CHECK(np >= 1 && np <= 2);
	dp_chunk_init(&c, recs, fields, data);
	for (unsigned i = 0; i < np; i++) {
		CHECK(psr_ml_parser_line(p[i]) && psr_ml_parser_key_content(p[i]));
		CHECK((pst[i] = psr_parser_state_create(psr_ml_parser_line(p[i]))));
	}
	groups = begins = 0;
	uint64_t now = 0;
	while (n) {
		const uint8_t *nl = memchr(d, '\n', n);
		size_t len = nl ? (size_t)(nl - d) : n;
		now += 1000000;
		for (unsigned i = 0; i < np; i++) {
			dp_chunk_reset(&c);
			dp_chunk_rec_begin(&c, 0, 0);
			if (psr_parser_exec(psr_ml_parser_line(p[i]), pst[i], &c, (const char *)d, len) ||
			    dp_chunk_rec_end(&c))
				continue;
			const char *kp = psr_ml_parser_key_pattern(p[i]), *kg = psr_ml_parser_key_group(p[i]);
			size_t ll = 0, pl = 0, gl = 0;
			const char *log = str_field(&c, psr_ml_parser_key_content(p[i]), &ll);
			const char *pat = kp ? str_field(&c, kp, &pl) : NULL;
			const char *grp = kg ? str_field(&c, kg, &gl) : NULL;
			if (!log)
				continue;
			bool rx = psr_ml_parser_is_regex(p[i]);
			if (!rx && psr_ml_parser_match(p[i], pat ? pat : log, pat ? pl : ll) < 0)
				continue;
			if (gl > sizeof(key[0][0]))
				gl = sizeof(key[0][0]);
			unsigned g = 0;
			while (g < ng[i] && !(klen[i][g] == gl && (!gl || !memcmp(key[i][g], grp, gl))))
				g++;
			if (g == FZ_GROUPS) {   /* all taken: the last one is flushed and reused */
				g = FZ_GROUPS - 1;
				psr_ml_stream_flush(&cs[i][g]);
			} else if (g == ng[i]) {
				CHECK(psr_ml_stream_init(&cs[i][g], &p[i], 1, 0, on_begin, on_flush, NULL) == 0);
				ng[i]++;
			}
			memcpy(key[i][g], grp ? grp : "", gl);
			klen[i][g] = gl;
			int v = psr_ml_stream_push_kp(&cs[i][g], log, ll, pat, pl, 1, 2, now);
			CHECK(v == PSR_ML_START || v == PSR_ML_CONT || (rx && v == PSR_ML_PASS));
			break;
		}
		if (!nl)
			break;
		n -= len + 1;
		d = nl + 1;
	}
	for (unsigned i = 0; i < np; i++) {
		for (unsigned g = 0; g < ng[i]; g++) {
			psr_ml_stream_flush(&cs[i][g]);
			CHECK(!psr_ml_stream_is_open(&cs[i][g]));
			psr_ml_stream_fini(&cs[i][g]);
		}
		psr_parser_state_destroy(pst[i]);
	}
	CHECK(groups == begins);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct psr_ml_set *builtins;
	struct dp_err err = { 0 };

	if (size < 1)
		return 0;
	if (!builtins) {
		builtins = psr_ml_set_create(&err);
		CHECK(builtins);
	}
	if ((data[0] & 3) == 2) {
		const struct psr_ml_parser *p[2] = { psr_ml_set_find(builtins, "docker"),
						     psr_ml_set_find(builtins, "cri") };
		run_parsed(p, 2, data + 1, size - 1);
		return 0;
	}
	if (!(data[0] & 1)) {
		static const char *const names[] = { "java", "python", "go", "ruby", "nodejs" };
		const struct psr_ml_parser *p[5];
		for (unsigned i = 0; i < 5; i++)
			CHECK((p[i] = psr_ml_set_find(builtins, names[i])));
		run_lines(p, 5, data + 1, size - 1);
		return 0;
	}
	/* a line "---" ends the configuration: the lines after it are pushed */
	const uint8_t *body = data + 1, *lines = body;
	size_t blen = size - 1, llen = blen;
	for (size_t i = 0; i + 4 <= blen; i++) {
		if ((i == 0 || body[i - 1] == '\n') && !memcmp(body + i, "---\n", 4)) {
			lines = body + i + 4;
			llen = blen - i - 4;
			blen = i;
			break;
		}
	}
	struct dp_conf *c = dp_conf_load_buffer((const char *)body, blen, "fuzz.conf", &err);
	if (!c)
		return 0;
	struct psr_ml_set *s = psr_ml_set_create(&err);
	struct psr_parsers *ps = psr_parsers_create();
	CHECK(s && ps);
	for (unsigned i = 0; i < c->nsec; i++) {
		if (!strcmp(c->sec[i].name, "MULTILINE_PARSER"))
			psr_ml_set_add(s, &c->sec[i], &err);
		else if (!strcmp(c->sec[i].name, "PARSER"))
			psr_parsers_add(ps, &c->sec[i], &err);
	}
	dp_conf_destroy(c);   /* the sets keep what they need */
	/* `parser`: a line parser first (in_tail_mlc.c), when every one
	 * named is there */
	bool resolved = psr_ml_set_resolve(s, ps, &err) == 0;
	const struct psr_ml_parser *f = psr_ml_set_find(s, "f");
	if (f && psr_ml_parser_line_name(f)) {
		if (resolved)
			run_parsed(&f, 1, lines, llen);
	} else if (f) {
		run_lines(&f, 1, lines, llen);
	}
	psr_ml_set_destroy(s);
	psr_parsers_destroy(ps);
	return 0;
}
