/*
 * test_goproxy.c — what Fluent Bit's Go interface shares between its
 * output and input (dp_goproxy.h): FLBPluginInit is given the api struct
 * of flb_api.h; the keys answer the same during and after FLBPluginInit
 * (fluent-bit-go plugins call FLBPluginConfigKey in a flush too), and
 * the newest section after a second init, with the pointer the plugin
 * kept from the first still good; the metrics getters give a defined
 * NULL; an init that fails names the failure; fini calls the exit once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dp_goproxy.h"

static struct flbgo_plugin *kept;   /* what a plugin keeps from FLBPluginInit */
static const char *seen;
static int answer = FLB_OK;
static int exits, exit_ctxs;

static int fake_init(void *plugin)
{
	kept = plugin;
	seen = kept->api->input_get_property("param", kept->ins);
	return answer;
}

static int fake_exit(void)
{
	exits++;
	return FLB_OK;
}

static int fake_exit_ctx(void *ctx)
{
	(void)ctx;
	exit_ctxs++;
	return FLB_OK;
}

static struct dp_conf_section section(struct dp_conf_kv *kv, unsigned n)
{
	return (struct dp_conf_section){ .name = "INPUT", .file = "t.conf", .line = 1, .kv = kv, .nkv = n };
}

static void test_keys_for_life(void **state)
{
	(void)state;
	struct dp_conf_kv kv1[] = { { "Name", "gx", "t.conf", 2 }, { "Param", "one", "t.conf", 3 } };
	struct dp_conf_kv kv2[] = { { "Param", "two", "t.conf", 3 } };
	struct dp_conf_section s1 = section(kv1, 2), s2 = section(kv2, 1);
	struct dp_goproxy_inst gi = { 0 };
	struct dp_err err = { 0 };
	exits = exit_ctxs = 0;
	assert_int_equal(dp_goproxy_init(&gi, fake_init, "gx", &s1, -1, &err), 0);
	assert_string_equal(seen, "one");
	assert_string_equal(kept->name, "gx");
	assert_ptr_equal(kept->context, &gi.pctx);
	/* after init, from the pointer the plugin kept; case as Fluent Bit */
	assert_string_equal(kept->api->output_get_property("PARAM", kept->ins), "one");
	assert_null(kept->api->input_get_property("Missing", kept->ins));
	assert_null(kept->api->output_get_cmt_instance(kept->ins));
	assert_null(kept->api->input_get_cmt_instance(kept->ins));
	struct flbgo_plugin *first = kept;
	assert_int_equal(dp_goproxy_init(&gi, fake_init, "gx", &s2, 2, &err), 0);
	assert_string_equal(first->api->input_get_property("Param", first->ins), "two");
	assert_true(first->api->input_log_check(first->ins, 2));
	assert_false(first->api->input_log_check(first->ins, 3));
	dp_goproxy_fini(&gi, fake_exit, NULL);
	dp_goproxy_fini(&gi, fake_exit, NULL);
	assert_int_equal(exits, 1);
	assert_null(kept->api->input_get_property("Param", kept->ins));
}

static void test_init_fails(void **state)
{
	(void)state;
	struct dp_conf_kv kv[] = { { "Param", "x", "t.conf", 3 } };
	struct dp_conf_section s = section(kv, 1);
	struct dp_goproxy_inst gi = { 0 };
	struct dp_err err = { 0 };
	exits = exit_ctxs = 0;
	answer = FLB_ERROR;
	assert_int_equal(dp_goproxy_init(&gi, fake_init, "gx", &s, -1, &err), -EINVAL);
	answer = FLB_OK;
	assert_non_null(strstr(err.msg, "FLBPluginInit failed (returned 0)"));
	dp_goproxy_fini(&gi, fake_exit, fake_exit_ctx);
	assert_int_equal(exits + exit_ctxs, 0);   /* never inited: no exit */
}

static void test_exit_ctx_first(void **state)
{
	(void)state;
	struct dp_conf_section s = section(NULL, 0);
	struct dp_goproxy_inst gi = { 0 };
	struct dp_err err = { 0 };
	exits = exit_ctxs = 0;
	assert_int_equal(dp_goproxy_init(&gi, fake_init, "gx", &s, -1, &err), 0);
	assert_null(seen);
	dp_goproxy_fini(&gi, fake_exit, fake_exit_ctx);
	assert_int_equal(exit_ctxs, 1);
	assert_int_equal(exits, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_for_life),
		cmocka_unit_test(test_init_fails),
		cmocka_unit_test(test_exit_ctx_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
