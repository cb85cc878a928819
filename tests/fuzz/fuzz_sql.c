/*
 * fuzz_sql.c — libFuzzer target for the stream processor's SQL: the lexer
 * and parser (sp_parse) and, when a statement parses, the planner through
 * sp_engine_create (so type checks and key resolution see odd trees too).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dp_conf.h"
#include "sp.h"
#include "sp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_err err = { 0 };
	struct sp_stmt *st = sp_parse((const char *)data, size, &err);
	if (!st)
		return 0;
	sp_stmt_free(st);
	char *text = malloc(size + 1);
	if (!text || memchr(data, 0, size)) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = 0;
	struct dp_conf *conf = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(conf, "STREAM_TASK", "fuzz", 1);
	dp_conf_kv_add(conf, s, "Name", "t", "fuzz", 2);
	dp_conf_kv_add(conf, s, "Exec", text, "fuzz", 3);
	const struct dp_conf_section *secs[1] = { &conf->sec[0] };
	struct sp_engine *e = sp_engine_create(secs, 1, 2, &err);
	if (e) {
		struct sp_shard *sh = sp_shard_create(e, 0);
		sp_shard_destroy(sh);
		sp_engine_destroy(e);
	}
	dp_conf_destroy(conf);
	free(text);
	return 0;
}
