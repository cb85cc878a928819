/*
 * test_suggest.c — the "did you mean" helper (dp_suggest.h): distances
 * folded and plain, the threshold that keeps far names out, ties, ENUM
 * choices, and the registry and section hints the pipeline uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dp_registry.h"
#include "dp_suggest.h"

static const char *hint_of(const char *name, const char *const *cands, char *buf, size_t n)
{
	struct dp_suggest s;
	dp_suggest_init(&s, name);
	for (; *cands; cands++)
		dp_suggest_add(&s, *cands);
	return dp_suggest_hint(&s, buf, n);
}

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(dp_suggest_distance("MessageKey", "Message_Key"), 0);   /* folded */
	assert_int_equal(dp_suggest_distance("storage_type", "storage.type"), 0);
	assert_int_equal(dp_suggest_distance("Brokerz", "Brokers"), 1);
	assert_int_equal(dp_suggest_distance("PORT", "port"), 0);               /* any case */
	assert_int_equal(dp_suggest_distance("kitten", "sitting"), 3);
	assert_int_equal(dp_suggest_distance("kafak", "kafka"), 1);          /* a swap is one edit */
	assert_int_equal(dp_suggest_distance("", "abc"), 3);
}

static void test_hints(void **state)
{
	(void)state;
	char buf[128];
	static const char *const keys[] = { "Message_Key", "Message_Key_Field", "Brokers", "Topics",
					    "Format", NULL };
	assert_string_equal(hint_of("MessageKey", keys, buf, sizeof(buf)),
			    " (did you mean 'Message_Key'?)");
	assert_string_equal(hint_of("Brokerz", keys, buf, sizeof(buf)), " (did you mean 'Brokers'?)");
	assert_string_equal(hint_of("Topic", keys, buf, sizeof(buf)), " (did you mean 'Topics'?)");
	assert_string_equal(hint_of("Formt", keys, buf, sizeof(buf)), " (did you mean 'Format'?)");
	/* too far: nothing rather than a wild guess */
	assert_string_equal(hint_of("Zebra", keys, buf, sizeof(buf)), "");
	static const char *const two[] = { "ab", "xy", NULL };
	assert_string_equal(hint_of("xb", two, buf, sizeof(buf)), "");   /* 1 of 2 letters */
	/* ties: the first offered wins */
	static const char *const tie[] = { "abcde1", "abcde2", NULL };
	assert_string_equal(hint_of("abcde", tie, buf, sizeof(buf)), " (did you mean 'abcde1'?)");
	/* the name itself is no suggestion */
	static const char *const same[] = { "Tag", NULL };
	assert_string_equal(hint_of("Tag", same, buf, sizeof(buf)), "");
}

static void test_choices(void **state)
{
	(void)state;
	struct dp_suggest s;
	char best[64], buf[128];
	dp_suggest_init(&s, "jsonlines");
	dp_suggest_add_choices(&s, "msgpack|json|json_lines|json_stream", best, sizeof(best));
	assert_string_equal(dp_suggest_hint(&s, buf, sizeof(buf)), " (did you mean 'json_lines'?)");
	dp_suggest_init(&s, "xml");
	dp_suggest_add_choices(&s, "msgpack|json", best, sizeof(best));
	assert_string_equal(dp_suggest_hint(&s, buf, sizeof(buf)), "");
}

static void test_registry_and_sections(void **state)
{
	(void)state;
	char buf[128];
	assert_string_equal(dp_suggest_plugin_hint("input", "sylog", buf, sizeof(buf)),
			    " (did you mean 'syslog'?)");
	assert_string_equal(dp_suggest_plugin_hint("filter", "rewritetag", buf, sizeof(buf)),
			    " (did you mean 'rewrite_tag'?)");
	assert_string_equal(dp_suggest_plugin_hint("output", "kafak", buf, sizeof(buf)),
			    " (did you mean 'kafka'?)");
	assert_string_equal(dp_suggest_plugin_hint("output", "elasticsearch", buf, sizeof(buf)), "");
	assert_string_equal(dp_suggest_section_hint("OUTPUTS", buf, sizeof(buf)),
			    " (did you mean 'OUTPUT'?)");
	assert_string_equal(dp_suggest_section_hint("MULTILINE-PARSER", buf, sizeof(buf)),
			    " (did you mean 'MULTILINE_PARSER'?)");
	assert_string_equal(dp_suggest_section_hint("PLUGINS", buf, sizeof(buf)), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_registry_and_sections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
