/*
 * psr_ml_builtin.c — the built-in multiline parsers, as tables of rules.
 * java, python, go and ruby reproduce the rules of Fluent Bit's built-ins
 * (src/multiline/flb_ml_parser_{java,python,go,ruby}.c), which come from
 * Google's fluent-plugin-detect-exceptions; their flush timeout is Fluent
 * Bit's default. nodejs is sluice's own: Fluent Bit has none and detects
 * V8 traces through java's rules, whose start needs a character before
 * "Error", so a plain "Error: message" line is missed there.
 * docker and cri join the pieces container runtimes cut long lines into
 * (src/multiline/flb_ml_parser_{docker,cri}.c): docker's json-file driver
 * ends every piece but the last without "\n" in "log"; CRI marks a piece
 * "_p": "P" (partial) or "F" (full, the last). Both join key_content
 * "log" of structured records (the multiline filter) and, on the tail
 * input, of raw lines parsed first by their own line parser, as Fluent
 * Bit's flb_ml_parser->parser: docker a JSON parser (time key "time",
 * Time_Format %Y-%m-%dT%H:%M:%S.%L, kept), cri a regex parser (the same
 * with %z, empty values kept); pieces are kept apart by key_group
 * "stream" (psr_ml.h: psr_ml_parser_line, psr_ml_parser_key_group). The
 * line parsers are built when a plugin first names docker or cri.
 * Control thread only (psr_ml_set_create, psr_ml_set_find).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "psr_ml_int.h"
#include "psr_parser.h"

struct ml_rule_def {
	const char *from, *regex, *to;
};

struct ml_builtin {
	const char *name;
	const struct ml_rule_def *rules;
	unsigned n;
};

static const struct ml_rule_def java_rules[] = {
	{ "start_state, java_start_exception",
	  "/(.)(?:Exception|Error|Throwable|V8 errors stack trace)[:\\r\\n]/", "java_after_exception" },
	{ "java_after_exception", "/^[\\t ]*nested exception is:[\\t ]*/", "java_start_exception" },
	{ "java_after_exception", "/^[\\r\\n]*$/", "java_after_exception" },
	{ "java_after_exception, java", "/^[\\t ]+(?:eval )?at /", "java" },
	/* C#: nested exception, exception from async code */
	{ "java_after_exception, java", "/^[\\t ]+--- End of inner exception stack trace ---$/", "java" },
	{ "java_after_exception, java",
	  "/^--- End of stack trace from previous (?x:)location where exception was thrown ---$/", "java" },
	{ "java_after_exception, java", "/^[\\t ]*(?:Caused by|Suppressed):/", "java_after_exception" },
	{ "java_after_exception, java", "/^[\\t ]*... \\d+ (?:more|common frames omitted)/", "java" },
};

static const struct ml_rule_def python_rules[] = {
	{ "start_state", "/^Traceback \\(most recent call last\\):$/", "python" },
	{ "python", "/^[\\t ]+File /", "python_code" },
	{ "python_code", "/[^\\t ]/", "python" },
	/* the exception line ends the trace */
	{ "python", "/^(?:[^\\s.():]+\\.)*[^\\s.():]+:/", "start_state" },
};

static const struct ml_rule_def go_rules[] = {
	{ "start_state", "/\\bpanic: /", "go_after_panic" },
	{ "start_state", "/http: panic serving/", "go_goroutine" },
	{ "go_after_panic", "/^$/", "go_goroutine" },
	{ "go_after_panic, go_after_signal, go_frame_1", "/^$/", "go_goroutine" },
	{ "go_after_panic", "/^\\[signal /", "go_after_signal" },
	{ "go_goroutine", "/^goroutine \\d+ \\[[^\\]]+\\]:$/", "go_frame_1" },
	{ "go_frame_1", "/^(?:[^\\s.:]+\\.)*[^\\s.():]+\\(|^created by /", "go_frame_2" },
	{ "go_frame_2", "/^\\s/", "go_frame_1" },
};

static const struct ml_rule_def ruby_rules[] = {
	{ "start_state, ruby_start_exception", "/^.+:\\d+:in\\s+.*/", "ruby_after_exception" },
	{ "ruby_after_exception, ruby", "/^\\s+from\\s+.*:\\d+:in\\s+.*/", "ruby" },
};

/* "TypeError: x", "Error: x", "Uncaught RangeError [ERR_X]: x", then V8's
 * "    at f (file.js:1:2)" frames. */
static const struct ml_rule_def nodejs_rules[] = {
	{ "start_state",
	  "/^(?:Uncaught )?(?:[A-Za-z_$][\\w$.]*)?(?:Error|Exception)(?: \\[[\\w-]+\\])?(?::|$)/",
	  "node_after_error" },
	{ "node_after_error, node", "/^[\\t ]+at /", "node" },
	{ "node_after_error, node", "/^[\\t ]+\\.\\.\\. \\d+ more lines matching cause stack trace/",
	  "node" },
	{ "node_after_error, node", "/^[\\t ]+\\[cause\\]: /", "node_after_error" },
};

#define B(n, r) { n, r, DP_ARRAY_SIZE(r) }
static const struct ml_builtin builtins[] = {
	B("java", java_rules),
	B("python", python_rules),
	B("go", go_rules),
	B("ruby", ruby_rules),
	B("nodejs", nodejs_rules),
};

/* A line parser, as Fluent Bit's docker_parser_create / cri_parser_create
 * call flb_parser_create: its [PARSER] keys. */
struct ml_line_def {
	const char *name, *format, *regex, *time_format, *skip_empty;
};

static const struct ml_line_def docker_line = {
	"_ml_json_docker", "json", NULL, "%Y-%m-%dT%H:%M:%S.%L", "on",
};
static const struct ml_line_def cri_line = {
	"_ml_cri", "regex", "^(?<time>.+?) (?<stream>stdout|stderr) (?<_p>F|P) (?<log>.*)$",
	"%Y-%m-%dT%H:%M:%S.%L%z", "off",
};

struct ml_match_builtin {
	const char *name;
	int type;
	const char *match, *key_content, *key_pattern;
	const struct ml_line_def *line;
};

static const struct ml_match_builtin match_builtins[] = {
	{ "docker", ML_ENDSWITH, "\n", "log", NULL, &docker_line },
	{ "cri", ML_EQUAL, "F", "log", "_p", &cri_line },
};

int psr_ml_builtin_line(struct psr_ml_parser *p, struct dp_err *err)
{
	const struct ml_line_def *d = p->line_def;
	static const char file[] = "(built-in)";
	struct dp_conf_kv kv[] = {
		{ (char *)"Name", (char *)d->name, file, 0 },
		{ (char *)"Format", (char *)d->format, file, 0 },
		{ (char *)"Time_Key", (char *)"time", file, 0 },
		{ (char *)"Time_Format", (char *)d->time_format, file, 0 },
		{ (char *)"Time_Keep", (char *)"on", file, 0 },
		{ (char *)"Skip_Empty_Values", (char *)d->skip_empty, file, 0 },
		{ (char *)"Regex", (char *)d->regex, file, 0 },
	};
	struct dp_conf_section sec = {
		.name = (char *)"PARSER", .file = file, .kv = kv, .nkv = d->regex ? 7 : 6,
	};
	struct psr_parsers *set = psr_parsers_create();
	if (!set)
		return dp_err_set(err, -ENOMEM, "out of memory");
	int rc = psr_parsers_add(set, &sec, err);
	if (rc) {
		psr_parsers_destroy(set);
		return rc;
	}
	p->lines = set;
	p->line = psr_parsers_find(set, d->name);
	return 0;
}

static int match_builtin_add(struct psr_ml_set *s, const struct ml_match_builtin *d,
			     struct dp_err *err)
{
	struct psr_ml_parser *p = psr_ml_parser_new(d->name, d->type, PSR_ML_FLUSH_TIMEOUT_MS);
	if (p)
		p->builtin = true;
	if (!p || !(p->match_str = strdup(d->match)) || !(p->key_content = strdup(d->key_content)) ||
	    (d->key_pattern && !(p->key_pattern = strdup(d->key_pattern))) || psr_ml_set_insert(s, p)) {
		psr_ml_parser_free(p);
		return dp_err_set(err, -ENOMEM, "multiline parser %s: out of memory", d->name);
	}
	p->match_len = strlen(d->match);
	p->line_def = d->line;
	if (!(p->key_group = strdup("stream")))
		return dp_err_set(err, -ENOMEM, "multiline parser %s: out of memory", d->name);
	return 0;
}

int psr_ml_builtin_add(struct psr_ml_set *s, struct dp_err *err)
{
	char msg[120];

	for (unsigned b = 0; b < DP_ARRAY_SIZE(match_builtins); b++) {
		int rc = match_builtin_add(s, &match_builtins[b], err);
		if (rc)
			return rc;
	}
	for (unsigned b = 0; b < DP_ARRAY_SIZE(builtins); b++) {
		const struct ml_builtin *d = &builtins[b];
		struct psr_ml_parser *p = psr_ml_parser_new(d->name, ML_REGEX, PSR_ML_FLUSH_TIMEOUT_MS);
		if (!p)
			return dp_err_set(err, -ENOMEM, "multiline parser %s: out of memory", d->name);
		p->builtin = true;
		int rc = 0;
		for (unsigned i = 0; i < d->n && !rc; i++)
			rc = psr_ml_parser_rule(p, d->rules[i].from, d->rules[i].regex, d->rules[i].to, msg,
					    sizeof(msg));
		p->pending = true;   /* compiled when first named (psr_ml_set_find) */
		if (!rc)
			rc = psr_ml_set_insert(s, p);
		if (rc) {
			psr_ml_parser_free(p);
			return dp_err_set(err, rc, "built-in multiline parser %s: %s", d->name, msg);
		}
	}
	return 0;
}
