/*
 * fuzz_strptime.c — libFuzzer target for psr_strptime. The input is
 * "FORMAT\0TEXT" (no NUL: a fixed format). Any input: compile says 0 or
 * -EINVAL; a parse gives 0 or -EINVAL, and the cached parse gives exactly
 * what the uncached one gives (run twice: miss then hit). Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "psr_strptime.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static struct psr_tcache tc;
	char fmt[PSR_TFMT_MAX + 1];
	const char *text = (const char *)in;
	size_t len = size;
	const uint8_t *z = memchr(in, 0, size);
	if (z) {
		size_t fl = (size_t)(z - in);
		if (fl > PSR_TFMT_MAX)
			return 0;
		memcpy(fmt, in, fl);
		fmt[fl] = '\0';
		text = (const char *)z + 1;
		len = size - fl - 1;
	} else {
		strcpy(fmt, "%Y-%m-%dT%H:%M:%S.%L%z");
	}
	struct psr_tfmt f;
	struct dp_err err = { 0 };
	int rc = psr_tfmt_compile(&f, fmt, &err);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc)
		return 0;
	for (unsigned flags = 0; flags < 2; flags++) {
		int64_t s0, s1, s2;
		uint32_t n0, n1, n2;
		int r0 = psr_strptime(&f, NULL, text, len, 1700000000, 3600, flags, &s0, &n0);
		psr_tcache_init(&tc);
		int r1 = psr_strptime(&f, &tc, text, len, 1700000000, 3600, flags, &s1, &n1);
		int r2 = psr_strptime(&f, &tc, text, len, 1700000000, 3600, flags, &s2, &n2);
		CHECK(r0 == 0 || r0 == -EINVAL);
		CHECK(r0 == r1 && r1 == r2);
		if (!r0)
			CHECK(s0 == s1 && s1 == s2 && n0 == n1 && n1 == n2 && n0 < 1000000000);
	}
	return 0;
}
