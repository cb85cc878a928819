/*
 * test_cli.c — the command line becomes sections of a dp_conf: -p, -m and
 * -t land in the right section even when -f/-R add [SERVICE] in between
 * (which moves the section array), outputs get Match * by default, and
 * misplaced options are errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dp_registry.h"
#include "dp_cli.h"
#include "dp_filter.h"
#include "dp_plugin.h"
#include <stdio.h>
#include <stdlib.h>

static int parse(struct dp_cli *cli, struct dp_err *err, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return dp_cli_parse(argc, argv, cli, err);
}

static const char *get(const struct dp_cli *cli, const char *sec, unsigned nth, const char *key)
{
	for (unsigned i = 0; i < cli->conf->nsec; i++) {
		const struct dp_conf_section *s = &cli->conf->sec[i];
		if (strcmp(s->name, sec) == 0 && nth-- == 0) {
			const struct dp_conf_kv *kv = dp_conf_kv_get(s, key);
			return kv ? kv->val : NULL;
		}
	}
	return NULL;
}

static void test_sections(void **state)
{
	(void)state;
	char *argv[] = { "sluice", "-i", "syslog", "-f", "0.5", "-p", "mode=tcp", "-t", "in.tag",
			 "-R", "p.conf", "-p", "port=5140", "-o", "stdout", "-f", "1", "-p", "format=json_lines",
			 "-o", "null", "-m", "a.*", NULL };
	struct dp_cli cli;
	struct dp_err err = { 0 };
	assert_int_equal(parse(&cli, &err, argv), 0);
	assert_string_equal(get(&cli, "INPUT", 0, "Name"), "syslog");
	assert_string_equal(get(&cli, "INPUT", 0, "mode"), "tcp");
	assert_string_equal(get(&cli, "INPUT", 0, "Port"), "5140");
	assert_string_equal(get(&cli, "INPUT", 0, "Tag"), "in.tag");
	assert_string_equal(get(&cli, "OUTPUT", 0, "Name"), "stdout");
	assert_string_equal(get(&cli, "OUTPUT", 0, "format"), "json_lines");
	assert_string_equal(get(&cli, "OUTPUT", 0, "Match"), "*");
	assert_string_equal(get(&cli, "OUTPUT", 1, "Match"), "a.*");
	assert_string_equal(get(&cli, "SERVICE", 0, "Flush"), "1");
	assert_string_equal(get(&cli, "SERVICE", 0, "Parsers_File"), "p.conf");
	assert_null(get(&cli, "INPUT", 0, "Match"));
	dp_conf_destroy(cli.conf);
}

/* -f adds [SERVICE] as the 9th section: the array grows past its first
 * 8 slots and moves while the 8th (-i dummy) is the one -p must reach. */
static void test_section_array_moves(void **state)
{
	(void)state;
	char *argv[] = { "sluice", "-o", "null", "-o", "null", "-o", "null", "-o", "null", "-o", "null",
			 "-o", "null", "-o", "null", "-i", "dummy", "-f", "1", "-p", "rate=5", "-t", "t", NULL };
	struct dp_cli cli;
	struct dp_err err = { 0 };
	assert_int_equal(parse(&cli, &err, argv), 0);
	assert_int_equal(cli.conf->nsec, 9);
	assert_string_equal(get(&cli, "INPUT", 0, "rate"), "5");
	assert_string_equal(get(&cli, "INPUT", 0, "Tag"), "t");
	assert_string_equal(get(&cli, "SERVICE", 0, "Flush"), "1");
	dp_conf_destroy(cli.conf);
}

static void test_errors(void **state)
{
	(void)state;
	char *a1[] = { "sluice", "-p", "k=v", NULL };
	char *a2[] = { "sluice", "-i", "dummy", "-p", "novalue", NULL };
	char *a3[] = { "sluice", "-i", "dummy", "-m", "*", NULL };
	char *a4[] = { "sluice", "-o", "null", "-t", "x", NULL };
	char *a5[] = { "sluice", "stray", NULL };
	char **cases[] = { a1, a2, a3, a4, a5 };
	for (unsigned i = 0; i < 5; i++) {
		struct dp_cli cli;
		struct dp_err err = { 0 };
		assert_int_equal(parse(&cli, &err, cases[i]), -EINVAL);
		assert_true(strlen(err.msg) > 0);
		dp_conf_destroy(cli.conf);
	}
}

/* Fluent Bit's flags (docs.fluentbit.io/manual/administration/
 * configuring-fluent-bit, "Command line interface"): -T adds a stream
 * task named flb-console:N as Fluent Bit's flb_sp.c names them, -l is
 * [SERVICE] Log_File, -H/-P/-L the HTTP server keys, -v counts, --strict. */
static void test_fluent_bit_flags(void **state)
{
	(void)state;
	char *argv[] = { "sluice", "-i", "dummy", "-T", "SELECT * FROM TAG:'a';", "-l", "/tmp/x.log",
			 "-o", "stdout", "-T", "SELECT b FROM TAG:'b';", "-H", "-P", "2021",
			 "--http_listen=127.0.0.1", "-vv", "--strict", "--sp-task=SELECT c FROM TAG:'c';",
			 NULL };
	struct dp_cli cli;
	struct dp_err err = { 0 };
	assert_int_equal(parse(&cli, &err, argv), 0);
	assert_string_equal(get(&cli, "STREAM_TASK", 0, "Name"), "flb-console:0");
	assert_string_equal(get(&cli, "STREAM_TASK", 0, "Exec"), "SELECT * FROM TAG:'a';");
	assert_string_equal(get(&cli, "STREAM_TASK", 1, "Name"), "flb-console:1");
	assert_string_equal(get(&cli, "STREAM_TASK", 1, "Exec"), "SELECT b FROM TAG:'b';");
	assert_string_equal(get(&cli, "STREAM_TASK", 2, "Name"), "flb-console:2");
	assert_string_equal(get(&cli, "SERVICE", 0, "Log_File"), "/tmp/x.log");
	assert_string_equal(get(&cli, "SERVICE", 0, "HTTP_Server"), "On");
	assert_string_equal(get(&cli, "SERVICE", 0, "HTTP_Port"), "2021");
	assert_string_equal(get(&cli, "SERVICE", 0, "HTTP_Listen"), "127.0.0.1");
	/* -T does not end the -o: its Match default still lands on stdout */
	assert_string_equal(get(&cli, "OUTPUT", 0, "Match"), "*");
	assert_null(get(&cli, "STREAM_TASK", 0, "Match"));
	assert_int_equal(cli.verbose, 2);
	assert_true(cli.strict);
	assert_false(cli.quiet);
	dp_conf_destroy(cli.conf);
}

/* Fluent Bit's -d, -b, -w and -e: the first two set [SERVICE] keys that
 * are not supported yet (so they fail at start-up, clearly), -w is kept
 * for main's chdir, -e (load an external plugin) is refused at once. */
static void test_refused_flags(void **state)
{
	(void)state;
	char *argv[] = { "sluice", "-d", "-b", "/var/lib/x", "-w", "/tmp", "-i", "dummy", NULL };
	struct dp_cli cli;
	struct dp_err err = { 0 };
	assert_int_equal(parse(&cli, &err, argv), 0);
	assert_string_equal(get(&cli, "SERVICE", 0, "Daemon"), "On");
	assert_string_equal(get(&cli, "SERVICE", 0, "storage.path"), "/var/lib/x");
	assert_string_equal(cli.workdir, "/tmp");
	dp_conf_destroy(cli.conf);
	char *argv2[] = { "sluice", "-i", "dummy", "--plugin=/x/out_go.so", NULL };
	assert_int_equal(parse(&cli, &err, argv2), 0);
	assert_string_equal(get(&cli, "PLUGINS", 0, "Path"), "/x/out_go.so");
	dp_conf_destroy(cli.conf);
}

/* A -p key of any length is kept whole. */
static void test_long_prop_key(void **state)
{
	(void)state;
	char arg[400];
	memset(arg, 'k', 300);
	strcpy(arg + 300, "=v");
	char *argv[] = { "sluice", "-i", "dummy", "-p", arg, NULL };
	struct dp_cli cli;
	struct dp_err err = { 0 };
	assert_int_equal(parse(&cli, &err, argv), 0);
	arg[300] = '\0';
	assert_string_equal(get(&cli, "INPUT", 0, arg), "v");
	dp_conf_destroy(cli.conf);
}

/* --help lists every plugin of the registry (so it cannot go stale). */
static void test_usage_lists_plugins(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	dp_cli_usage(f);
	fclose(f);
	for (unsigned i = 0; dp_registry_inputs[i]; i++)
		assert_non_null(strstr(buf, dp_registry_inputs[i]->name));
	for (unsigned i = 0; dp_registry_filters[i]; i++)
		assert_non_null(strstr(buf, dp_registry_filters[i]->name));
	for (unsigned i = 0; dp_registry_outputs[i]; i++)
		assert_non_null(strstr(buf, dp_registry_outputs[i]->name));
	assert_non_null(strstr(buf, "\nInputs\n  syslog "));
	assert_non_null(strstr(buf, "--sp-task=SQL"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_section_array_moves),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_fluent_bit_flags),
		cmocka_unit_test(test_long_prop_key),
		cmocka_unit_test(test_refused_flags),
		cmocka_unit_test(test_usage_lists_plugins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
