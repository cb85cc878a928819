/*
 * fuzz_conf_yaml.c — libFuzzer target for the YAML configuration reader
 * (dp_conf_load_yaml_buffer): any bytes either load into a dp_conf whose
 * sections and keys are whole, or fail with a message; no crash, no leak.
 * Inputs naming an include are skipped: includes resolve against the
 * working directory, which the fuzzer must not read from.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "dp_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536 || memmem(data, size, "includes", 8))
		return 0;
	struct dp_err err = { 0 };
	struct dp_conf *c = dp_conf_load_yaml_buffer((const char *)data, size, "fuzz.yaml", &err);
	if (!c) {
		if (err.msg[0] == '\0')
			abort();   /* a failure must say why */
		return 0;
	}
	for (unsigned i = 0; i < c->nsec; i++) {
		const struct dp_conf_section *s = &c->sec[i];
		if (!s->name || !s->file)
			abort();
		for (unsigned k = 0; k < s->nkv; k++)
			if (!s->kv[k].key || !s->kv[k].val || strlen(s->kv[k].key) == 0)
				abort();
	}
	dp_conf_destroy(c);
	return 0;
}
