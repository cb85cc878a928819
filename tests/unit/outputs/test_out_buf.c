/*
 * test_out_buf.c — the text formats of the stdout and file outputs, written
 * through a real file descriptor: exact bytes for each format, dropped
 * records skipped, a buffer smaller than the output flushed as it fills.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "dp_chunk.h"
#include "out_buf.h"
#include "psr_json.h"

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];
static struct dp_chunk chunk;

static void fill(const char *const *lines, unsigned n)
{
	dp_chunk_init(&chunk, recs, fields, data);
	for (unsigned i = 0; i < n; i++) {
		dp_chunk_rec_begin(&chunk, 1700000000 + i, 250000000);
		assert_int_equal(psr_json_parse(&chunk, lines[i], strlen(lines[i])), 0);
		assert_int_equal(dp_chunk_rec_end(&chunk), 0);
	}
}

/* Run one format over the chunk into a temp file and return its text. */
static char *render(enum out_fmt fmt, size_t bufcap)
{
	char path[] = "/tmp/sluice-outbuf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	struct out_buf b;
	assert_int_equal(out_buf_init(&b, bufcap), 0);
	struct out_fmt_opts o = { .fmt = fmt, .json = { .date_key = "date" } };
	strcpy(o.delim, fmt == OUT_FMT_LTSV ? "\t" : ",");
	strcpy(o.label_delim, ":");
	uint64_t skipped = 0;
	assert_int_equal(out_buf_begin(&b, fd, &o), 0);
	assert_int_equal(out_buf_add_chunk(&b, fd, &o, &chunk, "app.log", 7, &skipped), 0);
	assert_int_equal(out_buf_end(&b, fd, &o), 0);
	assert_int_equal(skipped, 0);
	out_buf_fini(&b);
	off_t n = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)n + 1);
	assert_int_equal(pread(fd, text, (size_t)n, 0), n);
	close(fd);
	return text;
}

static const char *const two[] = {
	"{\"msg\":\"hi\",\"n\":1}",
	"{\"msg\":\"a\\\"b\",\"ok\":true,\"l\":[1,2]}",
};

static void test_json_lines(void **state)
{
	(void)state;
	fill(two, 2);
	char *t = render(OUT_FMT_JSON_LINES, OUT_BUF_SIZE);
	assert_string_equal(t, "{\"date\":1700000000.250000,\"msg\":\"hi\",\"n\":1}\n"
			       "{\"date\":1700000001.250000,\"msg\":\"a\\\"b\",\"ok\":true,\"l\":[1,2]}\n");
	free(t);
}

static void test_json_array_and_stream(void **state)
{
	(void)state;
	fill(two, 2);
	char *t = render(OUT_FMT_JSON, OUT_BUF_SIZE);
	assert_string_equal(t, "[{\"date\":1700000000.250000,\"msg\":\"hi\",\"n\":1},"
			       "{\"date\":1700000001.250000,\"msg\":\"a\\\"b\",\"ok\":true,\"l\":[1,2]}]\n");
	free(t);
	t = render(OUT_FMT_JSON_STREAM, OUT_BUF_SIZE);
	assert_string_equal(t, "{\"date\":1700000000.250000,\"msg\":\"hi\",\"n\":1}"
			       "{\"date\":1700000001.250000,\"msg\":\"a\\\"b\",\"ok\":true,\"l\":[1,2]}");
	free(t);
}

static void test_out_file_and_plain(void **state)
{
	(void)state;
	fill(two, 1);
	char *t = render(OUT_FMT_OUT_FILE, OUT_BUF_SIZE);
	assert_string_equal(t, "app.log: [1700000000.250000000, {\"msg\":\"hi\",\"n\":1}]\n");
	free(t);
	t = render(OUT_FMT_PLAIN, OUT_BUF_SIZE);
	assert_string_equal(t, "{\"msg\":\"hi\",\"n\":1}\n");
	free(t);
}

static void test_csv_ltsv(void **state)
{
	(void)state;
	fill(two, 2);
	char *t = render(OUT_FMT_CSV, OUT_BUF_SIZE);
	assert_string_equal(t, "1700000000.250000000,\"hi\",1\n1700000001.250000000,\"a\"\"b\",true,[1,2]\n");
	free(t);
	t = render(OUT_FMT_LTSV, OUT_BUF_SIZE);
	assert_string_equal(t, "time:1700000000.250000\tmsg:hi\tn:1\n"
			       "time:1700000001.250000\tmsg:a\"b\tok:true\tl:[1,2]\n");
	free(t);
}

static void test_msgpack_is_the_chunk(void **state)
{
	(void)state;
	fill(two, 2);
	char *t = render(OUT_FMT_MSGPACK, OUT_BUF_SIZE);
	assert_memory_equal(t, chunk.data, chunk.data_len);
	free(t);
}

static void test_dropped_skipped(void **state)
{
	(void)state;
	fill(two, 2);
	chunk.recs[0].flags |= DP_REC_DROPPED;
	char *t = render(OUT_FMT_PLAIN, OUT_BUF_SIZE);
	assert_string_equal(t, "{\"msg\":\"a\\\"b\",\"ok\":true,\"l\":[1,2]}\n");
	free(t);
}

static void test_small_buffer_flushes(void **state)
{
	(void)state;
	/* 500 records through a 200-byte buffer: many flushes, same bytes. */
	static const char *many[500];
	for (unsigned i = 0; i < 500; i++)
		many[i] = "{\"message\":\"the same line again\",\"i\":12345}";
	fill(many, 500);
	char *big = render(OUT_FMT_JSON_LINES, OUT_BUF_SIZE);
	unsigned lines = 0;
	for (char *p = big; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 500);
	/* Every buffer size from one record to a few: some of them end a
	 * record (and its separator) on the buffer's last byte. */
	for (size_t cap = 80; cap < 300; cap++) {
		char *small = render(OUT_FMT_JSON_LINES, cap);
		assert_string_equal(big, small);
		free(small);
	}
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_json_array_and_stream),
		cmocka_unit_test(test_out_file_and_plain),
		cmocka_unit_test(test_csv_ltsv),
		cmocka_unit_test(test_msgpack_is_the_chunk),
		cmocka_unit_test(test_dropped_skipped),
		cmocka_unit_test(test_small_buffer_flushes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
