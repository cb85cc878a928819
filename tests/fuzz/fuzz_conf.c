/*
 * fuzz_conf.c — libFuzzer target for the classic configuration reader
 * (dp_conf_load_buffer) and the option tables applied to what it reads.
 *
 * @INCLUDE is fuzzed too, inside a sandbox: the input is read as if it
 * were a file in a fresh temporary directory holding a few small files (one
 * includes another, one includes itself), so relative includes land there;
 * the environment is replaced by two known variables and inputs containing
 * '/' are skipped, so no path can leave the sandbox. The working directory
 * is left alone (libFuzzer writes its artifacts there).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dp_conf.h"
#include "dp_opt.h"

static char sandbox[64], input_name[96];

static const char *const sandbox_files[][2] = {
	{ "a.conf", "[A]\n    Name dummy\n    Rate ${FUZZ_A}\n" },
	{ "b.conf", "@SET from_b=1\n@INCLUDE a.conf\n[B]\n\tKey ${from_b}\n" },
	{ "self.conf", "[S]\n  k v\n@INCLUDE self.conf\n" },
	{ "bad.conf", "[X\n" },
};

static void sandbox_path(char *buf, size_t n, const char *file)
{
	snprintf(buf, n, "%s/%s", sandbox, file);
}

static void sandbox_remove(void)
{
	char p[128];
	for (size_t i = 0; i < DP_ARRAY_SIZE(sandbox_files); i++) {
		sandbox_path(p, sizeof(p), sandbox_files[i][0]);
		unlink(p);
	}
	rmdir(sandbox);
}

static void sandbox_make(void)
{
	char p[128];
	strcpy(sandbox, "/tmp/sluice-fuzz-conf-XXXXXX");
	if (!mkdtemp(sandbox))
		abort();
	sandbox_path(input_name, sizeof(input_name), "fuzz.conf");
	for (size_t i = 0; i < DP_ARRAY_SIZE(sandbox_files); i++) {
		sandbox_path(p, sizeof(p), sandbox_files[i][0]);
		FILE *f = fopen(p, "w");
		if (!f)
			abort();
		fputs(sandbox_files[i][1], f);
		fclose(f);
	}
	clearenv();
	setenv("FUZZ_A", "10", 1);
	setenv("FUZZ_B", "${FUZZ_A}", 1);
	atexit(sandbox_remove);
}

struct fcfg {
	char *s;
	int64_t i, z, k;
	bool b;
	double t;
	int e;
	char *n;
};

/* One row per type, with short names the fuzzer can stumble upon. */
static const struct dp_opt ftab[] = {
	{ "s", DP_OPT_STR, "x", offsetof(struct fcfg, s) },
	{ "i", DP_OPT_INT, "1", offsetof(struct fcfg, i), .min = -5, .max = 70000 },
	{ "z", DP_OPT_SIZE, "1k", offsetof(struct fcfg, z) },
	{ "k", DP_OPT_SIZE_KB, "32", offsetof(struct fcfg, k), .min = 1, .max = 1 << 20 },
	{ "b", DP_OPT_BOOL, "off", offsetof(struct fcfg, b), .flags = DP_OPT_NOT_YET },
	{ "t", DP_OPT_SECONDS, "1", offsetof(struct fcfg, t), .max = 3600 },
	{ "e", DP_OPT_ENUM, "udp", offsetof(struct fcfg, e), .choices = "udp|tcp|unix_udp" },
	{ "n", DP_OPT_STR, NULL, offsetof(struct fcfg, n), .flags = DP_OPT_REQUIRED },
	{ NULL }
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const char *const ignore[] = { "Name", NULL };
	const struct dp_opt *const tabs[] = { ftab };
	struct dp_err err;

	if (!ready) {
		sandbox_make();
		ready = true;
	}
	if (memchr(data, '/', size))
		return -1;   /* keep @INCLUDE inside the sandbox */

	struct dp_conf *c = dp_conf_load_buffer((const char *)data, size, input_name, &err);
	if (!c)
		return 0;
	for (unsigned i = 0; i < c->nsec; i++) {
		struct fcfg cfg;
		void *const cfgs[] = { &cfg };
		const struct dp_conf_section *s = &c->sec[i];

		dp_opt_apply(tabs, cfgs, 1, s, "[FUZZ] f", ignore, &err);
		dp_opt_free(ftab, &cfg);
		/* every value through every parser, whatever its key */
		dp_opt_defaults(ftab, &cfg, &err);
		for (unsigned j = 0; j < s->nkv; j++)
			for (const struct dp_opt *o = ftab; o->name; o++)
				dp_opt_set(ftab, &cfg, o->name, s->kv[j].val, &err);
		dp_opt_free(ftab, &cfg);
		(void)dp_conf_kv_get(s, "name");
	}
	dp_conf_destroy(c);
	return 0;
}
