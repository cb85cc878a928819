/*
 * in_tail_tag.c — the tail input's tag per file, as Fluent Bit composes it
 * (plugins/in_tail/tail_file.c, tag_compose):
 *   - Tag with '*' (Tag kube.*): the '*' replaced by the file's path,
 *     '/', '\' and ':' as '.', a leading one dropped, ".." folded, other
 *     '*' and a trailing '.' dropped: kube.var.log.containers.a.log.
 *   - Tag_Regex: each "<name>" of Tag replaced by the named group `name`
 *     of the regex run over the path; a group that is not there, "_".
 *     Fluent Bit stops following a file whose path the regex does not
 *     match (its lines are never read); sluice follows it, every <name>
 *     as "_", and says so once per file: lines are not lost for a tag.
 * The regex runs once per file opened, not per line: no JIT.
 *
 * Threads: setup/teardown on the control thread; in_tail_tag on the
 * shard that opens the file (a match data block of its own per call).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include "dp_log.h"
#include "in_tail.h"

int in_tail_tag_setup(struct dp_input *in, struct tail_cfg *cfg, struct dp_err *err)
{
	if (!cfg->tag_regex)
		return 0;
	err->key = "Tag_Regex";
	int code;
	PCRE2_SIZE at;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)cfg->tag_regex, PCRE2_ZERO_TERMINATED, 0, &code, &at,
				       NULL);
	if (!re) {
		char msg[160];
		pcre2_get_error_message(code, (PCRE2_UCHAR *)msg, sizeof(msg));
		return dp_err_set(err, -EINVAL, "invalid Tag_Regex at offset %zu: %s", (size_t)at, msg);
	}
	cfg->tag_re = re;
	for (const char *p = in->tag; (p = strchr(p, '<')); p++)
		if (!strchr(p, '>'))
			return dp_err_set(err, -EINVAL, "Tag '%s': '<' without its '>'", in->tag);
	return 0;
}

void in_tail_tag_teardown(struct tail_cfg *cfg)
{
	pcre2_code_free(cfg->tag_re);
	cfg->tag_re = NULL;
}

static size_t star(const char *tag, const char *path, char *out)
{
	size_t n = 0;
	const char *st = strchr(tag, '*');
	const char *parts[3] = { tag, path, st ? st + 1 : "" };
	for (unsigned k = 0; k < 3; k++) {
		const char *s = parts[k];
		const char *end = k == 0 && st ? st : s + strlen(s);
		for (; s < end && n < DP_TAG_MAX; s++) {
			char c = *s == '/' || *s == '\\' || *s == ':' ? '.' : *s;
			if (c == '*' || (c == '.' && (n == 0 ? *s != '.' : out[n - 1] == '.')))
				continue;   /* a leading separator, "..", a second '*' */
			out[n++] = c;
		}
	}
	if (n && out[n - 1] == '.')
		n--;
	return n;
}

static size_t put(char *out, size_t n, const char *s, size_t len)
{
	len = DP_MIN(len, DP_TAG_MAX - n);
	memcpy(out + n, s, len);
	return n + len;
}

static size_t by_regex(const struct dp_input *in, const pcre2_code *re, const char *path, char *out)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc = md ? pcre2_match(re, (PCRE2_SPTR)path, strlen(path), 0, 0, md, NULL) : -1;
	if (rc < 0)
		dp_plg_warn(in, "%s: Tag_Regex does not match its path: its tag has '_' for each <name>",
			    path);
	size_t n = 0;
	const char *p = in->tag, *lt;
	while ((lt = strchr(p, '<'))) {
		const char *gt = strchr(lt, '>');
		n = put(out, n, p, (size_t)(lt - p));
		char name[64];
		size_t nl = DP_MIN((size_t)(gt - lt - 1), sizeof(name) - 1);
		memcpy(name, lt + 1, nl);
		name[nl] = 0;
		PCRE2_SIZE vl = 0;
		int g = rc >= 0 ? pcre2_substring_number_from_name(re, (PCRE2_SPTR)name) : -1;
		PCRE2_SIZE *ov = md ? pcre2_get_ovector_pointer(md) : NULL;
		if (g > 0 && g < rc && ov[2 * g] != PCRE2_UNSET && (vl = ov[2 * g + 1] - ov[2 * g]))
			n = put(out, n, path + ov[2 * g], vl);
		else
			n = put(out, n, "_", 1);
		p = gt + 1;
	}
	n = put(out, n, p, strlen(p));
	pcre2_match_data_free(md);
	return n;
}

size_t in_tail_tag(const struct dp_input *in, const struct tail_cfg *cfg, const char *path, char *out)
{
	if (cfg->tag_re)
		return by_regex(in, cfg->tag_re, path, out);
	return star(in->tag, path, out);
}
