/*
 * fuzz_parser.c — libFuzzer target for psr_parser_exec. The first byte
 * picks the parser: a regex (Fluent Bit's apache2, typed, with time), JSON
 * (docker, with decoders), logfmt or LTSV (typed, with time); the rest is
 * the text. Any input: 0 or -EINVAL, nothing left written on -EINVAL, and
 * on 0 a record whose msgpack and index agree. Single-threaded.
 */
#include <errno.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dp_chunk.h"
#include "dp_conf.h"
#include "psr_parser.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

static struct dp_rec recs[DP_CHUNK_RECS];
static struct dp_field fields[DP_CHUNK_FIELDS];
static uint8_t data[DP_CHUNK_DATA];

static const char *const defs[4][12] = {
	{ "Name", "rx", "Format", "regex",
	  "Regex", "^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^ ]*) +\\S*)?\" (?<code>[^ ]*) (?<size>[^ ]*)(?: \"(?<referer>[^\\\"]*)\" \"(?<agent>.*)\")?$",
	  "Time_Format", "%d/%b/%Y:%H:%M:%S %z", "Types", "code:integer size:hex", NULL, NULL },
	{ "Name", "js", "Format", "json", "Time_Format", "%Y-%m-%dT%H:%M:%S.%L%z",
	  "Decode_Field_As", "escaped log do_next", "Decode_Field_As", "json log", NULL, NULL },
	{ "Name", "lf", "Format", "logfmt", "Time_Key", "ts", "Time_Format", "%s.%L",
	  "Types", "n:integer f:float b:bool", NULL, NULL },
	{ "Name", "lt", "Format", "ltsv", "Time_Format", "[%d/%b/%Y:%H:%M:%S %z]",
	  "Types", "status:integer", "Decode_Field", "json msg", NULL, NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct dp_chunk c;
	static struct dp_conf *conf;
	static struct psr_parsers *set;
	static const struct psr_parser *p[4];
	static struct psr_parser_state *st[4];
	if (!set) {
		struct dp_err err = { 0 };
		dp_chunk_init(&c, recs, fields, data);
		conf = dp_conf_create();
		set = psr_parsers_create();
		for (int i = 0; i < 4; i++) {
			struct dp_conf_section *s = dp_conf_section_add(conf, "PARSER", "fuzz", 1);
			for (int k = 0; defs[i][k]; k += 2)
				dp_conf_kv_add(conf, s, defs[i][k], defs[i][k + 1], "fuzz", 2 + k);
			CHECK(psr_parsers_add(set, s, &err) == 0);
			p[i] = psr_parsers_find(set, defs[i][1]);
			st[i] = psr_parser_state_create(p[i]);
			CHECK(st[i]);
		}
	}
	if (size < 1 || size > DP_CHUNK_DATA / 4)
		return 0;
	int which = in[0] & 3;
	dp_chunk_reset(&c);
	dp_chunk_rec_begin(&c, 1700000000, 1);
	int rc = psr_parser_exec(p[which], st[which], &c, (const char *)in + 1, size - 1);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(c.data_len == 14 && c.nfields == 0 && c.cur_nfields == 0);
		dp_chunk_rec_abort(&c);
		return 0;
	}
	if (dp_chunk_rec_end(&c))
		return 0;
	const struct dp_rec *r = &c.recs[0];
	CHECK(dp_mp_object_size(c.data + r->off, r->len) == r->len);
	const struct dp_field *f = dp_rec_fields(&c, r);
	for (unsigned i = 0; i < r->nfields; i++, f++) {
		CHECK(f->key_off + f->key_len <= c.data_len);
		CHECK(f->val_off + f->val_len <= r->off + r->len);
		if (f->type != DP_T_STR)
			CHECK(dp_mp_object_size(c.data + f->val_off, f->val_len) == f->val_len);
	}
	return 0;
}
