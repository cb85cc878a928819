/*
 * fuzz_onig.c — libFuzzer target for re_onig_translate (regex/re_onig.h):
 * any pattern either translates or is refused with -EINVAL at an offset
 * inside it; a translation is NUL-terminated at its length, has one name
 * per renamed group, and every group PCRE2 finds named "_k" maps back to
 * names[k]. A pattern with none of the rewritten constructs comes back
 * byte for byte. PCRE2 may refuse the result (the input is arbitrary);
 * it must not crash. Single-threaded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "re_onig.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *pat = (const char *)data;
	struct re_onig o;
	size_t bad = SIZE_MAX;
	int rc = re_onig_translate(pat, size, &o, &bad);
	if (rc) {
		CHECK(rc == -EINVAL && bad < size);
		return 0;
	}
	CHECK(o.pat && o.pat[o.len] == '\0');
	/* Nothing to rewrite: the same bytes. */
	bool plain = !memchr(pat, '(', size) && !memchr(pat, '\\', size);
	if (plain)
		CHECK(o.len == size && !memcmp(o.pat, pat, size));
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)o.pat, o.len, 0, &ec, &eo, NULL);
	if (re) {
		uint32_t count = 0, esize = 0;
		PCRE2_SPTR tab = NULL;
		pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
		pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &tab);
		for (uint32_t i = 0; i < count; i++) {
			const char *name = (const char *)tab + (size_t)i * esize + 2;
			/* our names, or a (?P<x>) PCRE2 read that we did too */
			CHECK(re_onig_name(&o, name) != NULL || name[0] != '_' ||
			      (name[1] < '0' || name[1] > '9'));
		}
		pcre2_code_free(re);
	}
	re_onig_fini(&o);
	return 0;
}
