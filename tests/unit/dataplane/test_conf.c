/*
 * test_conf.c — the classic-format reader (dp_conf_classic.c): sections and
 * keys with their lines, @INCLUDE (relative, glob, nesting, missing files,
 * cycles), @SET and ${VAR}, and every error with its exact file:line.
 * Files are written under a fresh mkdtemp directory per test.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "dp_conf.h"
#include "conf_tmp.h"
#include "dp_opt.h"
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>


/* Load text written to tdir/name and expect failure with message msg, in
 * which every "{D}" stands for the test directory. */
static void expect_err(const char *name, const char *text, const char *msg)
{
	struct dp_err err = { 0 };
	char want[512];
	texpand(msg, want, sizeof(want));
	twrite(name, text);
	struct dp_conf *c = dp_conf_load(tp(name), &err);
	assert_null(c);
	assert_string_equal(err.msg, want);
	assert_true(err.code < 0);
}

static struct dp_conf *buf_load(const char *text, struct dp_err *err)
{
	return dp_conf_load_buffer(text, strlen(text), "mem.conf", err);
}

static const char *val(const struct dp_conf_section *s, const char *key)
{
	const struct dp_conf_kv *kv = dp_conf_kv_get(s, key);
	return kv ? kv->val : NULL;
}

static void test_sections_and_keys(void **state)
{
	struct dp_err err = { 0 };
	(void)state;
	twrite("sluice.conf",
	       "# leading comment\n"
	       "\n"
	       "[SERVICE]\n"
	       "    Flush        1\n"
	       "    # indented comment\n"
	       "    Log_Level    info  \n"
	       "\n"
	       "[INPUT]\r\n"
	       "    Name   syslog\r\n"
	       "    Path   /a b/c # not a comment\n"
	       "    Tag    one\n"
	       "    tag    two\n"
	       "    Sep\ttabbed value\n"
	       "#col0 comment\n"
	       "[ OUTPUT ]\n"
	       "\tName\tstdout\n"
	       "\tMatch\t*");
	struct dp_conf *c = dp_conf_load(tp("sluice.conf"), &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 3);
	assert_string_equal(c->sec[0].name, "SERVICE");
	assert_int_equal(c->sec[0].line, 3);
	assert_string_equal(c->sec[0].file, tp("sluice.conf"));
	assert_int_equal(c->sec[0].nkv, 2);
	assert_string_equal(c->sec[0].kv[1].key, "Log_Level");
	assert_string_equal(c->sec[0].kv[1].val, "info");
	assert_int_equal(c->sec[0].kv[1].line, 6);
	assert_ptr_equal(c->sec[0].kv[1].file, c->sec[0].file);

	const struct dp_conf_section *in = &c->sec[1];
	assert_string_equal(in->name, "INPUT");
	assert_int_equal(in->line, 8);
	assert_int_equal(in->nkv, 5);
	assert_string_equal(val(in, "NAME"), "syslog");
	assert_string_equal(val(in, "path"), "/a b/c # not a comment");
	assert_string_equal(val(in, "Tag"), "two");           /* last wins */
	assert_int_equal(dp_conf_kv_get(in, "TAG")->line, 12);
	assert_string_equal(in->kv[3].key, "tag");             /* kept as written */
	assert_string_equal(val(in, "Sep"), "tabbed value");
	assert_null(dp_conf_kv_get(in, "Missing"));

	assert_string_equal(c->sec[2].name, "OUTPUT");
	assert_int_equal(c->sec[2].line, 15);
	assert_string_equal(val(&c->sec[2], "Match"), "*");
	assert_int_equal(c->sec[2].kv[1].line, 17);
	assert_int_equal(c->nfiles, 1);
	dp_conf_destroy(c);
}

static void test_buffer_and_bom(void **state)
{
	struct dp_err err = { 0 };
	(void)state;
	const char text[] = "\xef\xbb\xbf[INPUT]\n  Name dummy\n";
	struct dp_conf *c = dp_conf_load_buffer(text, sizeof(text) - 1, NULL, &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 1);
	assert_string_equal(c->sec[0].name, "INPUT");
	assert_string_equal(c->sec[0].file, "<buffer>");
	dp_conf_destroy(c);

	/* not NUL-terminated: the reader must stop at len */
	char raw[] = { '[', 'A', ']', '\n', ' ', 'k', ' ', 'v', 'X' };
	c = dp_conf_load_buffer(raw, sizeof(raw) - 1, "raw", &err);
	assert_non_null(c);
	assert_string_equal(val(&c->sec[0], "k"), "v");
	dp_conf_destroy(c);

	const char nul[] = "[A]\n k v\n k2 v\0x\n";
	assert_null(dp_conf_load_buffer(nul, sizeof(nul) - 1, "nul.conf", &err));
	assert_string_equal(err.msg, "nul.conf:3: NUL byte in file");

	/* empty input is an empty configuration */
	c = dp_conf_load_buffer("", 0, "e", &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 0);
	dp_conf_destroy(c);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_err("e.conf", "# c\n    Name cpu\n",
		   "{D}/e.conf:2: key 'Name' before any [SECTION]");
	expect_err("e.conf", "Name cpu\n", "{D}/e.conf:1: key 'Name' before any [SECTION]");
	expect_err("e.conf", "[INPUT]\n    Name cpu\nTag x\n",
		   "{D}/e.conf:3: key 'Tag' must be indented under [INPUT]");
	expect_err("e.conf", "[INPUT]\n    Name cpu\n  [OUTPUT]\n",
		   "{D}/e.conf:3: section header must start in column 1");
	expect_err("e.conf", "[SERVICE]\n  Flush 1\n[INPUT\n",
		   "{D}/e.conf:3: unterminated section header '[INPUT'");
	expect_err("e.conf", "[INPUT] # comment\n", "{D}/e.conf:1: unexpected text after ']'");
	expect_err("e.conf", "[  ]\n", "{D}/e.conf:1: empty section name");
	expect_err("e.conf", "[INPUT]\n    Name   \n", "{D}/e.conf:2: key 'Name' has no value");
	expect_err("e.conf", "[INPUT]\n    Name cpu\n  Tag x\n",
		   "{D}/e.conf:3: invalid indentation: 2 blanks where line 2 has 4");
	expect_err("e.conf", "[INPUT]\n    Name cpu\n        Tag x\n",
		   "{D}/e.conf:3: invalid indentation: 8 blanks where line 2 has 4");
	expect_err("e.conf", "[INPUT]\n    Name cpu\n\tTag x\n",
		   "{D}/e.conf:3: inconsistent use of tabs and spaces (see line 2)");
	expect_err("e.conf", "[INPUT]\n    Name cpu\n  \t  Tag x\n",
		   "{D}/e.conf:3: inconsistent use of tabs and spaces (see line 2)");
	expect_err("e.conf", "@FOO bar\n", "{D}/e.conf:1: unknown command '@FOO'");
	expect_err("e.conf", "[A]\n  k v\n  @INCLUDE x.conf\n",
		   "{D}/e.conf:3: command '@INCLUDE' must start in column 1");
	expect_err("e.conf", "@SET novalue\n", "{D}/e.conf:1: @SET needs NAME=VALUE");
	expect_err("e.conf", "@SET =v\n", "{D}/e.conf:1: @SET needs NAME=VALUE");
	expect_err("e.conf", "@INCLUDE   \n", "{D}/e.conf:1: @INCLUDE needs a file name");
	expect_err("e.conf", "[A]\n  k v\n  k2 a${B\n",
		   "{D}/e.conf:3: unterminated '${' in 'a${B'");
	expect_err("e.conf", "[A]\n  k ${}\n", "{D}/e.conf:2: empty variable name '${}'");

	/* each section fixes its own indentation */
	struct dp_err err = { 0 };
	struct dp_conf *c = buf_load("[A]\n    k v\n[B]\n\tk v\n[C]\n k v\n", &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 3);
	dp_conf_destroy(c);
	/* a section without keys is the core's business */
	c = buf_load("[A]\n[B]\n  k v\n", &err);
	assert_non_null(c);
	assert_int_equal(c->sec[0].nkv, 0);
	dp_conf_destroy(c);
}

static void test_missing_top_file(void **state)
{
	struct dp_err err = { 0 };
	char want[256];
	(void)state;
	assert_null(dp_conf_load(tp("nope.conf"), &err));
	snprintf(want, sizeof(want), "cannot open '%s/nope.conf': No such file or directory",
		 tdir);
	assert_string_equal(err.msg, want);
	assert_int_equal(err.code, -ENOENT);
	assert_null(dp_conf_load(tdir, &err));   /* a directory */
	snprintf(want, sizeof(want), "'%s' is not a regular file", tdir);
	assert_string_equal(err.msg, want);
}

static void test_include_relative_nested(void **state)
{
	struct dp_err err = { 0 };
	(void)state;
	tmkdir("etc");
	tmkdir("etc/sub");
	twrite("etc/main.conf",
	       "[SERVICE]\n"
	       "    Flush 1\n"
	       "@include sub/in.conf\n"
	       "    Grace 5\n"
	       "[OUTPUT]\n"
	       "    Name null\n");
	twrite("etc/sub/in.conf",
	       "\n"
	       "[INPUT]\n"
	       "  Name cpu\n"
	       "@INCLUDE deeper.conf\n");
	twrite("etc/sub/deeper.conf", "[FILTER]\n  Name grep\n");
	struct dp_conf *c = dp_conf_load(tp("etc/main.conf"), &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 4);
	assert_string_equal(c->sec[1].name, "INPUT");
	assert_string_equal(c->sec[1].file, tp("etc/sub/in.conf"));
	assert_int_equal(c->sec[1].line, 2);
	assert_int_equal(c->sec[1].kv[0].line, 3);
	assert_string_equal(c->sec[1].kv[0].file, tp("etc/sub/in.conf"));
	assert_string_equal(c->sec[2].name, "FILTER");
	assert_string_equal(c->sec[2].file, tp("etc/sub/deeper.conf"));
	/* after the include, the includer's section goes on */
	assert_int_equal(c->sec[0].nkv, 2);
	assert_string_equal(val(&c->sec[0], "Grace"), "5");
	assert_int_equal(c->sec[0].kv[1].line, 4);
	assert_string_equal(c->sec[0].kv[1].file, tp("etc/main.conf"));
	assert_string_equal(c->sec[3].file, tp("etc/main.conf"));
	assert_int_equal(c->sec[3].line, 5);
	assert_int_equal(c->nfiles, 3);
	dp_conf_destroy(c);

	/* absolute path, and the same file twice side by side is fine */
	char text[512];
	snprintf(text, sizeof(text), "@INCLUDE %s\n@INCLUDE %s\n", tp("etc/sub/deeper.conf"),
		 tp("etc/sub/deeper.conf"));
	c = buf_load(text, &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 2);
	dp_conf_destroy(c);

	/* an included file starts without a section */
	twrite("etc/sub/nosec.conf", "  Name x\n");
	twrite("etc/top.conf", "[INPUT]\n  Name y\n@INCLUDE sub/nosec.conf\n");
	assert_null(dp_conf_load(tp("etc/top.conf"), &err));
	char want[256];
	snprintf(want, sizeof(want), "%s: key 'Name' before any [SECTION]",
		 tp("etc/sub/nosec.conf:1"));
	assert_string_equal(err.msg, want);
}

static void test_include_glob(void **state)
{
	struct dp_err err = { 0 };
	(void)state;
	tmkdir("conf.d");
	twrite("conf.d/20-b.conf", "[B]\n  k 2\n");
	twrite("conf.d/10-a.conf", "[A]\n  k 1\n");
	twrite("conf.d/30-c.conf", "[C]\n  k 3\n");
	twrite("conf.d/README", "not a config\n");
	twrite("main.conf", "@INCLUDE conf.d/*.conf\n@INCLUDE empty.d/*.conf\n"
	       "@INCLUDE conf.d/?0-c.conf\n");
	struct dp_conf *c = dp_conf_load(tp("main.conf"), &err);
	assert_non_null(c);
	assert_int_equal(c->nsec, 4);
	assert_string_equal(c->sec[0].name, "A");
	assert_string_equal(c->sec[1].name, "B");
	assert_string_equal(c->sec[2].name, "C");
	assert_string_equal(c->sec[3].name, "C");
	assert_string_equal(c->sec[1].file, tp("conf.d/20-b.conf"));
	dp_conf_destroy(c);

	/* an error inside a globbed file names that file */
	twrite("conf.d/40-bad.conf", "[D]\n  novalue\n");
	c = dp_conf_load(tp("main.conf"), &err);
	assert_null(c);
	char want[256];
	snprintf(want, sizeof(want), "%s:2: key 'novalue' has no value",
		 tp("conf.d/40-bad.conf"));
	assert_string_equal(err.msg, want);
}

static void test_include_errors(void **state)
{
	(void)state;
	expect_err("m.conf", "[A]\n  k v\n\n@INCLUDE missing.conf\n",
		   "{D}/m.conf:4: cannot open '{D}/missing.conf': No such file or directory");
	tmkdir("dir");
	expect_err("m.conf", "@INCLUDE dir\n", "{D}/m.conf:1: '{D}/dir' is not a regular file");

	/* a cycle through two files, and a file including itself */
	twrite("b.conf", "[B]\n  k v\n@INCLUDE a.conf\n");
	expect_err("a.conf", "@INCLUDE b.conf\n",
		   "{D}/b.conf:3: @INCLUDE cycle: '{D}/a.conf' is already being read");
	expect_err("self.conf", "# me\n@INCLUDE self.conf\n",
		   "{D}/self.conf:2: @INCLUDE cycle: '{D}/self.conf' is already being read");

	/* a chain of 20 distinct files trips the depth limit */
	char name[32], text[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "chain%d.conf", i);
		snprintf(text, sizeof(text), "@INCLUDE chain%d.conf\n", i + 1);
		twrite(name, text);
	}
	expect_err("chain0.conf", "@INCLUDE chain1.conf\n",
		   "{D}/chain15.conf:1: @INCLUDE nested deeper than 16 files");
}

static void test_set_and_env(void **state)
{
	struct dp_err err = { 0 };
	(void)state;
	setenv("SLUICE_T_ENV", "from-env", 1);
	setenv("SLUICE_T_BOTH", "env-loses", 1);
	setenv("SLUICE_T_RAW", "${SLUICE_T_ENV}", 1);
	unsetenv("SLUICE_T_UNDEF");
	twrite("v.conf",
	       "@SET SLUICE_T_BOTH=set-wins\n"
	       "@SET port = 5140\n"
	       "@SET combo=${port}-${SLUICE_T_ENV}\n"
	       "[INPUT]\n"
	       "    Env     ${SLUICE_T_ENV}\n"
	       "    Both    ${SLUICE_T_BOTH}\n"
	       "    Mixed   a${port}b${port}c\n"
	       "    Combo   ${combo}\n"
	       "    Undef   x${SLUICE_T_UNDEF}y\n"
	       "    Raw     ${SLUICE_T_RAW}\n"
	       "    Dollars $5 $ {x} ${\n"
	       "    Late    ${late}\n"
	       "    Case    ${PORT}\n"
	       "@SET late=first\n"
	       "@SET late=second\n");
	/* "${" at the end of Dollars is unterminated: fix that line first */
	struct dp_conf *c = dp_conf_load(tp("v.conf"), &err);
	assert_null(c);
	char want[256];
	snprintf(want, sizeof(want), "%s:11: unterminated '${' in '$5 $ {x} ${'",
		 tp("v.conf"));
	assert_string_equal(err.msg, want);

	twrite("v.conf",
	       "@SET SLUICE_T_BOTH=set-wins\n"
	       "@SET port = 5140\n"
	       "@SET combo=${port}-${SLUICE_T_ENV}\n"
	       "[INPUT]\n"
	       "    Env     ${SLUICE_T_ENV}\n"
	       "    Both    ${SLUICE_T_BOTH}\n"
	       "    Mixed   a${port}b${port}c\n"
	       "    Combo   ${combo}\n"
	       "    Undef   x${SLUICE_T_UNDEF}y\n"
	       "    Raw     ${SLUICE_T_RAW}\n"
	       "    Dollars $5 $ {x} $\n"
	       "    Late    ${late}\n"
	       "    Case    ${PORT}\n"
	       "@SET late=first\n"
	       "@SET late=second\n");
	c = dp_conf_load(tp("v.conf"), &err);
	assert_non_null(c);
	const struct dp_conf_section *s = &c->sec[0];
	assert_string_equal(val(s, "Env"), "from-env");
	assert_string_equal(val(s, "Both"), "set-wins");       /* @SET before env */
	assert_string_equal(val(s, "Mixed"), "a5140b5140c");
	assert_string_equal(val(s, "Combo"), "5140-from-env");
	assert_string_equal(val(s, "Undef"), "xy");
	assert_string_equal(val(s, "Raw"), "${SLUICE_T_ENV}");  /* not rescanned */
	assert_string_equal(val(s, "Dollars"), "$5 $ {x} $");
	assert_string_equal(val(s, "Late"), "second");          /* as Fluent Bit */
	assert_string_equal(val(s, "Case"), "");                /* names are case-sensitive */
	assert_int_equal(c->nundef, 2);
	assert_string_equal(c->undef[0].name, "SLUICE_T_UNDEF");
	assert_int_equal(c->undef[0].line, 9);
	assert_string_equal(c->undef[0].file, tp("v.conf"));
	assert_string_equal(c->undef[1].name, "PORT");
	assert_int_equal(c->nvars, 4);
	dp_conf_destroy(c);
	unsetenv("SLUICE_T_ENV");
	unsetenv("SLUICE_T_BOTH");
	unsetenv("SLUICE_T_RAW");
}

static void test_include_path_vars(void **state)
{
	struct dp_err err = { 0 };
	(void)state;
	tmkdir("inc");
	twrite("inc/one.conf", "[ONE]\n  k v\n");
	setenv("SLUICE_T_DIR", "inc", 1);
	twrite("p.conf", "@SET f=one\n@INCLUDE ${SLUICE_T_DIR}/${f}.conf\n");
	struct dp_conf *c = dp_conf_load(tp("p.conf"), &err);
	assert_non_null(c);
	assert_string_equal(c->sec[0].name, "ONE");
	dp_conf_destroy(c);
	/* include paths see only the @SETs above them */
	expect_err("p.conf", "@INCLUDE ${SLUICE_T_DIR}/${g}.conf\n@SET g=one\n",
		   "{D}/p.conf:1: cannot open '{D}/inc/.conf': No such file or directory");
	unsetenv("SLUICE_T_DIR");
}

static void test_expansion_limit(void **state)
{
	struct dp_err err = { 0 };
	char text[4096];
	size_t n = 0;
	(void)state;
	n += snprintf(text + n, sizeof(text) - n, "@SET v0=0123456789abcdef\n");
	for (int i = 1; i < 20; i++)
		n += snprintf(text + n, sizeof(text) - n, "@SET v%d=${v%d}${v%d}\n", i, i - 1,
			      i - 1);
	assert_null(buf_load(text, &err));
	assert_string_equal(err.msg, "mem.conf:14: value longer than 65536 bytes after ${} expansion");
}

static void test_builders(void **state)
{
	(void)state;
	struct dp_conf *c = dp_conf_create();
	assert_non_null(c);
	struct dp_conf_section *s = dp_conf_section_add(c, "INPUT", "<command line>", 0);
	assert_non_null(s);
	assert_int_equal(dp_conf_kv_add(c, s, "Name", "${NOT_EXPANDED}", "<command line>", 0), 0);
	assert_int_equal(dp_conf_kv_add(c, s, "port", "1", "<command line>", 0), 0);
	assert_int_equal(dp_conf_kv_add(c, s, "PORT", "2", "<command line>", 0), 0);
	for (int i = 0; i < 40; i++)   /* several reallocations */
		assert_non_null(dp_conf_section_add(c, "OUTPUT", "other", i));
	s = &c->sec[0];
	assert_string_equal(val(s, "name"), "${NOT_EXPANDED}");
	assert_string_equal(val(s, "Port"), "2");
	assert_int_equal(c->nsec, 41);
	assert_int_equal(c->nfiles, 2);
	assert_ptr_equal(c->sec[0].file, s->kv[0].file);
	assert_ptr_equal(c->sec[1].file, c->sec[40].file);
	assert_int_equal(c->sec[40].line, 39);
	dp_conf_destroy(c);
	dp_conf_destroy(NULL);
}

/* ${HOSTNAME} is predefined: the environment's HOSTNAME when set, else
 * gethostname(2); a @SET of the name wins over both (Fluent Bit's
 * flb_env.c; docs.fluentbit.io/manual/administration/configuring-fluent-bit/
 * yaml/environment-variables-section "Predefined variables"). */
static void test_hostname(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	char host[256] = "";
	char *saved = getenv("HOSTNAME") ? strdup(getenv("HOSTNAME")) : NULL;
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	unsetenv("HOSTNAME");
	const char *text = "[INPUT]\n    Tag ${HOSTNAME}.x\n";
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "h.conf", &err);
	assert_non_null(c);
	char want[300];
	snprintf(want, sizeof(want), "%s.x", host);
	assert_string_equal(val(&c->sec[0], "Tag"), want);
	assert_int_equal(c->nundef, 0);
	dp_conf_destroy(c);
	setenv("HOSTNAME", "from-env", 1);
	c = dp_conf_load_buffer(text, strlen(text), "h.conf", &err);
	assert_string_equal(val(&c->sec[0], "Tag"), "from-env.x");
	dp_conf_destroy(c);
	const char *set = "@SET HOSTNAME=from-set\n[INPUT]\n    Tag ${HOSTNAME}\n";
	c = dp_conf_load_buffer(set, strlen(set), "h.conf", &err);
	assert_string_equal(val(&c->sec[0], "Tag"), "from-set");
	dp_conf_destroy(c);
	if (saved)
		setenv("HOSTNAME", saved, 1);
	else
		unsetenv("HOSTNAME");
	free(saved);
}

/* ${VAR:-default}: the default when VAR is unset or empty, not listed as
 * undefined (docs.fluentbit.io/manual/administration/configuring-fluent-bit/
 * classic-mode/variables, "Fallback behavior", v5.0.6+). */
static void test_default_value(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	setenv("SLUICE_T_SET", "yes", 1);
	setenv("SLUICE_T_EMPTY", "", 1);
	const char *text = "[INPUT]\n"
			   "    A ${SLUICE_T_UNSET:-/var/log/x}\n"
			   "    B ${SLUICE_T_EMPTY:-d}\n"
			   "    C ${SLUICE_T_SET:-d}\n"
			   "    D ${SLUICE_T_UNSET:-}\n"
			   "    E ${SLUICE_T_UNSET2}\n";
	struct dp_conf *c = dp_conf_load_buffer(text, strlen(text), "d.conf", &err);
	assert_non_null(c);
	assert_string_equal(val(&c->sec[0], "A"), "/var/log/x");
	assert_string_equal(val(&c->sec[0], "B"), "d");
	assert_string_equal(val(&c->sec[0], "C"), "yes");
	assert_string_equal(val(&c->sec[0], "D"), "");
	assert_string_equal(val(&c->sec[0], "E"), "");
	assert_int_equal(c->nundef, 1);              /* only E warns */
	assert_string_equal(c->undef[0].name, "SLUICE_T_UNSET2");
	assert_int_equal(c->undef[0].line, 6);
	dp_conf_destroy(c);
	unsetenv("SLUICE_T_SET");
	unsetenv("SLUICE_T_EMPTY");
}

/* An error names a long path and a long key in full (dp_err was 160 bytes
 * once and cut them): through a real file in deep directories, and through
 * dp_opt_apply with a file name near PATH_MAX. */
static void test_long_messages(void **state)
{
	(void)state;
	struct dp_err err = { 0 };
	char path[1400], seg[101];
	memset(seg, 'd', 100);
	seg[100] = '\0';
	snprintf(path, sizeof(path), "%s", tdir);
	for (int i = 0; i < 10; i++) {   /* a path of 1000-odd bytes */
		strcat(path, "/");
		strcat(path, seg);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	strcat(path, "/x.conf");
	char key[301];
	memset(key, 'K', 300);
	key[300] = '\0';
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s value\n", key);
	fclose(f);
	assert_null(dp_conf_load(path, &err));
	char want[1500];
	snprintf(want, sizeof(want), "%s:1: key '%s' before any [SECTION]", path, key);
	assert_string_equal(err.msg, want);

	char file[PATH_MAX - 10];
	memset(file, 'f', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	struct dp_conf *c = dp_conf_create();
	struct dp_conf_section *s = dp_conf_section_add(c, "OUTPUT", file, 3);
	char bad[301];
	memcpy(bad, key, sizeof(bad));
	assert_int_equal(dp_conf_kv_add(c, s, bad, "1", file, 4), 0);
	struct { int64_t port; } cfg;
	static const struct dp_opt tab[] = {
		{ "Port", DP_OPT_INT, "1", 0, NULL, 0, 0, 0, "p" },
		{ NULL },
	};
	const struct dp_opt *tabs[1] = { tab };
	void *cfgs[1] = { &cfg };
	assert_int_equal(dp_opt_apply(tabs, cfgs, 1, s, "[OUTPUT] x", NULL, &err), -ENOENT);
	char *want2 = malloc(sizeof(file) + 400);
	sprintf(want2, "%s:4: [OUTPUT] x: unknown key '%s'", file, bad);
	assert_string_equal(err.msg, want2);
	free(want2);
	dp_conf_destroy(c);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sections_and_keys),
		T(test_buffer_and_bom),
		T(test_syntax_errors),
		T(test_missing_top_file),
		T(test_include_relative_nested),
		T(test_include_glob),
		T(test_include_errors),
		T(test_set_and_env),
		T(test_include_path_vars),
		T(test_expansion_limit),
		T(test_builders),
		T(test_hostname),
		T(test_default_value),
		T(test_long_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
