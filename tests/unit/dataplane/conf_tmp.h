/*
 * conf_tmp.h — a temporary directory for the configuration reader tests
 * (test_conf.c, test_conf_yaml.c): made in setup, removed in teardown,
 * with helpers to write files in it and to expand "{D}" (the directory)
 * in an expected error message.
 */
#ifndef CONF_TMP_H
#define CONF_TMP_H

#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static char tdir[64];

static inline int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static inline int setup(void **state)
{
	(void)state;
	strcpy(tdir, "/tmp/sluice-test-conf-XXXXXX");
	return mkdtemp(tdir) ? 0 : -1;
}

static inline int teardown(void **state)
{
	(void)state;
	return nftw(tdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

/* Path of rel inside the test directory; a few rotating buffers. */
static inline const char *tp(const char *rel)
{
	static char buf[8][256];
	static int i;
	char *b = buf[i++ % 8];
	snprintf(b, 256, "%s/%s", tdir, rel);
	return b;
}

static inline void tmkdir(const char *rel)
{
	assert_int_equal(mkdir(tp(rel), 0700), 0);
}

static inline void twrite(const char *rel, const char *text)
{
	FILE *f = fopen(tp(rel), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* msg with every "{D}" replaced by the test directory, into want. */
static inline void texpand(const char *msg, char *want, size_t cap)
{
	size_t n = 0;
	for (const char *p = msg; *p && n < cap - 80;) {
		if (!strncmp(p, "{D}", 3)) {
			n += snprintf(want + n, cap - n, "%s", tdir);
			p += 3;
		} else {
			want[n++] = *p++;
		}
	}
	want[n] = '\0';
}

#endif
