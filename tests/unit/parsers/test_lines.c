/*
 * test_lines.c — the tail input's line reader (psr_lines.h), driven the
 * way in_tail_files.c drives it: a file of bytes read at an offset into a
 * buffer of cap bytes, lines cut from it, the offset moved past what was
 * consumed, read again. Each stream is read with every buffer size from
 * the smallest allowed (max_line + 2) up, so lines, CR LF pairs and long
 * lines fall across reads at every position; the lines must come out the
 * same every time. Behaviour pinned to Fluent Bit's
 * plugins/in_tail/tail_file.c (process_content) and the tail docs
 * (https://docs.fluentbit.io/manual/data-pipeline/inputs/tail:
 * Skip_Long_Lines, Skip_Empty_Lines, Buffer_Max_Size).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "psr_lines.h"

/* Read s as a growing file would be: returns the lines joined with '|',
 * and *stop_at the offset where -EMSGSIZE stopped it (or -1). */
static char *read_all(const char *s, size_t len, uint32_t max_line, unsigned flags, size_t cap,
		      long *stop_at, uint64_t *nlong)
{
	struct psr_lines lr;
	psr_lines_init(&lr, max_line, flags);
	char *buf = malloc(cap);
	char *out = calloc(1, len * 2 + 2);
	size_t olen = 0;
	uint64_t off = 0;
	*stop_at = -1;
	for (;;) {
		size_t n = len - off < cap ? len - off : cap;
		if (n == 0)
			break;
		memcpy(buf, s + off, n);
		size_t pos = 0;
		struct psr_line ln;
		int rc;
		while ((rc = psr_lines_next(&lr, buf, n, &pos, &ln)) == 1) {
			memcpy(out + olen, ln.p, ln.len);
			olen += ln.len;
			out[olen++] = '|';
		}
		if (rc == -EMSGSIZE) {
			*stop_at = (long)(off + pos);
			break;
		}
		off += pos;
		if (n < cap)
			break;   /* the end of what is written: the tail waits */
		assert_true(pos > 0);   /* a full buffer always makes progress */
	}
	*nlong = lr.nlong;
	free(buf);
	return out;
}

static void check(const char *s, uint32_t max_line, unsigned flags, const char *want, long want_stop,
		  uint64_t want_long)
{
	size_t len = strlen(s);
	for (size_t cap = max_line + 2; cap <= len + max_line + 4; cap++) {
		long stop;
		uint64_t nlong;
		char *got = read_all(s, len, max_line, flags, cap, &stop, &nlong);
		if (strcmp(got, want) || stop != want_stop || nlong != want_long)
			fail_msg("cap %zu: got '%s' stop %ld long %llu, want '%s' stop %ld long %llu", cap,
				 got, stop, (unsigned long long)nlong, want, want_stop,
				 (unsigned long long)want_long);
		free(got);
	}
}

static void test_partial_lines(void **state)
{
	(void)state;
	/* the unterminated last line is not a line yet */
	check("one\ntwo\nthree\nfour", 8, 0, "one|two|three|", -1, 0);
	check("x\n", 4, 0, "x|", -1, 0);
	check("", 4, 0, "", -1, 0);
}

static void test_crlf(void **state)
{
	(void)state;
	/* one CR before LF dropped; a CR elsewhere kept */
	check("a\r\nb\rc\r\n\r\n", 6, 0, "a|b\rc||", -1, 0);
	/* a line of exactly max_line bytes fits, with or without CR */
	check("abcd\r\nefgh\n", 4, 0, "abcd|efgh|", -1, 0);
}

static void test_empty_lines(void **state)
{
	(void)state;
	/* Fluent Bit keeps empty lines as records unless Skip_Empty_Lines */
	check("a\n\n\nb\n", 4, 0, "a|||b|", -1, 0);
	check("a\n\n\r\nb\n", 4, PSR_LINES_SKIP_EMPTY, "a|b|", -1, 0);
}

static void test_nul_after_copytruncate(void **state)
{
	(void)state;
	/* NULs at a line's start (a writer's hole after copytruncate) */
	char s[] = "\0\0\0a\nb\n";
	size_t len = sizeof(s) - 1;
	long stop;
	uint64_t nlong;
	for (size_t cap = 6; cap < 12; cap++) {
		char *got = read_all(s, len, 4, 0, cap, &stop, &nlong);
		assert_string_equal(got, "a|b|");
		free(got);
	}
}

static void test_skip_long_lines(void **state)
{
	(void)state;
	/* Skip_Long_Lines: the long line dropped, however many reads it
	 * spans, its neighbours kept */
	check("ok\n0123456789abcdef\nfine\nXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\nend\n", 5,
	      PSR_LINES_SKIP_LONG, "ok|fine|end|", -1, 2);
	/* long by its CR-less length only: max_line 4, "abcd\r" fits */
	check("abcd\r\nabcde\n", 4, PSR_LINES_SKIP_LONG, "abcd|", -1, 1);
}

static void test_buffer_max_size_stops(void **state)
{
	(void)state;
	/* Fluent Bit's default: a line over Buffer_Max_Size stops the file;
	 * the lines before it are delivered, the offset stays at its start */
	check("ok\n0123456789\nnever\n", 5, 0, "ok|", 3, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_lines),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_empty_lines),
		cmocka_unit_test(test_nul_after_copytruncate),
		cmocka_unit_test(test_skip_long_lines),
		cmocka_unit_test(test_buffer_max_size_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
