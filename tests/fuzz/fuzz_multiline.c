/*
 * fuzz_multiline.c — libFuzzer target for the multiline parsers (psr_ml.h).
 *
 * Byte 0 picks the mode. 0 mod 4: the rest is lines (split at '\n') pushed
 * through one stream running all the built-ins (java, python, go, ruby,
 * nodejs) as a comma list, with a tick whenever a line starts with '~'.
 * 2 mod 4: container log lines, as the tail input's docker / cri mode
 * (shards/in_tail_mlc.c) takes them: each parsed by docker's line parser,
 * else cri's (psr_ml_parser_line), and its "log" (and cri's "_p") pushed
 * through that parser's stream.
 * Odd: the rest is a classic configuration whose [MULTILINE_PARSER]
 * sections are added to a set (errors are fine, crashes and leaks are
 * not); when one named "f" was added, the configuration's own lines are
 * then pushed through it. Invariants: a group is never longer than
 * PSR_ML_GROUP_MAX, push returns one of its three values, and after a
 * flush no group is open. Single-threaded.
 */
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

static void run_container(const struct psr_ml_set *set, const uint8_t *d, size_t n)
{
	static struct dp_chunk c;
	static struct dp_rec recs[DP_CHUNK_RECS];
	static struct dp_field fields[DP_CHUNK_FIELDS];
	static uint8_t data[DP_CHUNK_DATA];
	static struct psr_ml_stream cs[2];
	static struct psr_parser_state *pst[2];
	const struct psr_ml_parser *p[2] = { psr_ml_set_find(set, "docker"), psr_ml_set_find(set, "cri") };
	CHECK(p[0] && p[1] && psr_ml_parser_line(p[0]) && psr_ml_parser_line(p[1]));
	if (!pst[0]) {
		dp_chunk_init(&c, recs, fields, data);
		for (unsigned i = 0; i < 2; i++)
			CHECK((pst[i] = psr_parser_state_create(psr_ml_parser_line(p[i]))));
	}
	groups = begins = 0;
	for (unsigned i = 0; i < 2; i++)
		CHECK(psr_ml_stream_init(&cs[i], &p[i], 1, 0, on_begin, on_flush, NULL) == 0);
	uint64_t now = 0;
	while (n) {
		const uint8_t *nl = memchr(d, '\n', n);
		size_t len = nl ? (size_t)(nl - d) : n;
		now += 1000000;
		for (unsigned i = 0; i < 2; i++) {
			dp_chunk_reset(&c);
			dp_chunk_rec_begin(&c, 0, 0);
			if (psr_parser_exec(psr_ml_parser_line(p[i]), pst[i], &c, (const char *)d, len) ||
			    dp_chunk_rec_end(&c))
				continue;
			size_t ll = 0, pl = 0;
			const char *log = str_field(&c, "log", &ll), *pat = i ? str_field(&c, "_p", &pl) : NULL;
			if (!log || psr_ml_parser_match(p[i], pat ? pat : log, pat ? pl : ll) < 0)
				continue;
			int v = psr_ml_stream_push_kp(&cs[i], log, ll, pat, pl, 1, 2, now);
			CHECK(v == PSR_ML_START || v == PSR_ML_CONT);
			break;
		}
		if (!nl)
			break;
		n -= len + 1;
		d = nl + 1;
	}
	for (unsigned i = 0; i < 2; i++) {
		psr_ml_stream_flush(&cs[i]);
		CHECK(!psr_ml_stream_is_open(&cs[i]));
		psr_ml_stream_fini(&cs[i]);
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
		run_container(builtins, data + 1, size - 1);
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
	struct dp_conf *c = dp_conf_load_buffer((const char *)data + 1, size - 1, "fuzz.conf", &err);
	if (!c)
		return 0;
	struct psr_ml_set *s = psr_ml_set_create(&err);
	CHECK(s);
	for (unsigned i = 0; i < c->nsec; i++)
		if (!strcmp(c->sec[i].name, "MULTILINE_PARSER"))
			psr_ml_set_add(s, &c->sec[i], &err);
	const struct psr_ml_parser *f = psr_ml_set_find(s, "f");
	if (f)
		run_lines(&f, 1, data + 1, size - 1);
	psr_ml_set_destroy(s);
	dp_conf_destroy(c);
	return 0;
}
