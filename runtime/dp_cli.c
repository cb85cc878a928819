/*
 * dp_cli.c — the command line (see dp_cli.h) and the generated help,
 * configuration reference (Markdown) and man page (roff). Control thread.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "dp_plugin_load.h"
#include "dp_registry.h"
#include "dp_cli.h"
#include "dp_filter.h"
#include "psr_ml.h"
#include "psr_parser.h"
#include "dp_opt.h"
#include "dp_pipeline.h"
#include "dp_plugin.h"

#define CLI_FILE "<command line>"

/* One plugin line of --help: "  name    description". */
static void usage_plugin(FILE *f, const char *name, const char *desc)
{
	fprintf(f, "  %-22s%s\n", name, desc ? desc : "");
}

/* The command line's options: --help prints them, and so does the man
 * page (dp_cli_man). A '\n' in a description is where --help breaks the
 * line; the man page lets roff fill it. */
static const struct { const char *flags, *desc; } cli_opts[] = {
	{ "-c, --config=FILE", "read a configuration file (Fluent Bit classic, or YAML\n"
	  "when it ends in .yaml or .yml)" },
	{ "-i, --input=NAME", "add an input (see Inputs below)" },
	{ "-F, --filter=NAME", "add a filter (see Filters below)" },
	{ "-o, --output=NAME", "add an output (see Outputs below)" },
	{ "-p, --prop=KEY=VALUE", "set a key of the last -i, -F or -o" },
	{ "-m, --match=PATTERN", "Match of the last -F or -o (default *)" },
	{ "-t, --tag=TAG", "Tag of the last -i" },
	{ "-T, --sp-task=SQL", "add a stream processor task ([STREAM_TASK] flb-console:N)" },
	{ "-f, --flush=SECONDS", "[SERVICE] Flush" },
	{ "-R, --parser=FILE", "[SERVICE] Parsers_File" },
	{ "-l, --log_file=FILE", "[SERVICE] Log_File: write the log to FILE" },
	{ "-H, --http", "[SERVICE] HTTP_Server On: the HTTP server (metrics, health)" },
	{ "-P, --port=PORT", "[SERVICE] HTTP_Port" },
	{ "-L, --http_listen=ADDR", "[SERVICE] HTTP_Listen" },
	{ "-Y, --enable-hot-reload", "[SERVICE] Hot_Reload On: POST /api/v2/reload reloads" },
	{ "-w, --workdir=DIR", "change to DIR before reading the configuration" },
	{ "-e, --plugin=FILE", "load a plugin shared object ([PLUGINS] Path); with -h,\nits plugins are listed too" },
	{ "-d, --daemon, -b, --storage_path=PATH",
	  "accepted as Fluent Bit's, refused: not supported yet" },
	{ "-D, --dry-run", "check the configuration and exit" },
	{ "    --strict", "an undefined ${VAR} is an error, not a warning" },
	{ "-v, --verbose", "log level debug (-vv: trace)" },
	{ "-q, --quiet", "log errors only" },
	{ "-h, --help", "this help; after -i/-F/-o NAME: that plugin's keys" },
	{ "-V, --version", "print the version" },
	{ "    --doc-config", "print the configuration reference (Markdown)" },
	{ "    --doc-metrics", "print the HTTP server's metrics reference (Markdown)" },
	{ "    --doc-man", "print the man page sluice(1) (roff)" },
};

void dp_cli_usage(FILE *f)
{
	fprintf(f, "Usage: sluice [OPTION]...\n\n");
	for (unsigned i = 0; i < DP_ARRAY_SIZE(cli_opts); i++) {
		/* descriptions from column 25; a longer flag gets a line of its own */
		if (strlen(cli_opts[i].flags) <= 22)
			fprintf(f, "  %-21s ", cli_opts[i].flags);
		else
			fprintf(f, "  %s\n%24s", cli_opts[i].flags, "");
		for (const char *d = cli_opts[i].desc; *d; d++) {
			if (*d == '\n')
				fprintf(f, "\n%24s", "");
			else
				fputc(*d, f);
		}
		fputc('\n', f);
	}
	/* The built-ins, then what -e loaded (informational() in dp_main.c
	 * loads the command line's -e objects before --help). */
	fprintf(f, "\nInputs\n");
	for (unsigned i = 0; dp_registry_inputs[i]; i++)
		usage_plugin(f, dp_registry_inputs[i]->name, dp_registry_inputs[i]->desc);
	for (unsigned i = 0; dp_plugin_input_nth(i); i++)
		usage_plugin(f, dp_plugin_input_nth(i)->name, dp_plugin_input_nth(i)->desc);
	fprintf(f, "\nFilters\n");
	for (unsigned i = 0; dp_registry_filters[i]; i++)
		usage_plugin(f, dp_registry_filters[i]->name, dp_registry_filters[i]->desc);
	for (unsigned i = 0; dp_plugin_filter_nth(i); i++)
		usage_plugin(f, dp_plugin_filter_nth(i)->name, dp_plugin_filter_nth(i)->desc);
	fprintf(f, "\nOutputs\n");
	for (unsigned i = 0; dp_registry_outputs[i]; i++)
		usage_plugin(f, dp_registry_outputs[i]->name, dp_registry_outputs[i]->desc);
	for (unsigned i = 0; dp_plugin_output_nth(i); i++)
		usage_plugin(f, dp_plugin_output_nth(i)->name, dp_plugin_output_nth(i)->desc);
}

static struct dp_conf_section *service(struct dp_cli *cli)
{
	for (unsigned i = 0; i < cli->conf->nsec; i++)
		if (!strcmp(cli->conf->sec[i].name, "SERVICE"))
			return &cli->conf->sec[i];
	return dp_conf_section_add(cli->conf, "SERVICE", CLI_FILE, 0);
}

int dp_cli_parse(int argc, char **argv, struct dp_cli *cli, struct dp_err *err)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "prop", required_argument, NULL, 'p' },
		{ "match", required_argument, NULL, 'm' },
		{ "tag", required_argument, NULL, 't' },
		{ "flush", required_argument, NULL, 'f' },
		{ "parser", required_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "filter", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "doc-config", no_argument, NULL, 1 },
		{ "doc-metrics", no_argument, NULL, 3 },
		{ "doc-man", no_argument, NULL, 4 },
		{ "strict", no_argument, NULL, 2 },
		{ "sp-task", required_argument, NULL, 'T' },
		{ "log_file", required_argument, NULL, 'l' },
		{ "http", no_argument, NULL, 'H' },
		{ "http_server", no_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "http_port", required_argument, NULL, 'P' },
		{ "http_listen", required_argument, NULL, 'L' },
		{ "enable-hot-reload", no_argument, NULL, 'Y' },
		{ "plugin", required_argument, NULL, 'e' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "storage_path", required_argument, NULL, 'b' },
		{ "workdir", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	memset(cli, 0, sizeof(*cli));
	cli->conf = dp_conf_create();
	/* The last -i/-o section, by index: adding a section (-f adds
	 * [SERVICE]) may move the array, so no pointer is kept across. */
	int last_i = -1;
	bool last_is_output = false, last_has_match = false;
	int ch, argi;
	unsigned ntasks = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:i:o:F:p:m:t:f:R:T:l:HP:L:Ye:db:w:DvqhV", longopts, NULL)) != -1) {
		argi = optind - 1;
		switch (ch) {
		case 'c':
			cli->config = optarg;
			break;
		case 'i':
		case 'o':
		case 'F':
			/* Outputs and filters take Match (-m), "*" when not given. */
			if (last_i >= 0 && last_is_output && !last_has_match)
				dp_conf_kv_add(cli->conf, &cli->conf->sec[last_i], "Match", "*", CLI_FILE, argi);
			dp_conf_section_add(cli->conf, ch == 'i' ? "INPUT" : ch == 'o' ? "OUTPUT" : "FILTER",
					    CLI_FILE, argi);
			last_i = (int)cli->conf->nsec - 1;
			dp_conf_kv_add(cli->conf, &cli->conf->sec[last_i], "Name", optarg, CLI_FILE, argi);
			last_is_output = ch != 'i';
			last_has_match = false;
			cli->help_kind = ch == 'i' ? "input" : ch == 'o' ? "output" : "filter";
			cli->help_name = optarg;
			break;
		case 'p': {
			char *eq = strchr(optarg, '=');
			if (last_i < 0)
				return dp_err_set(err, -EINVAL, "-p %s: no -i, -F or -o before it", optarg);
			if (!eq || eq == optarg)
				return dp_err_set(err, -EINVAL, "-p %s: expected KEY=VALUE", optarg);
			char *key = strndup(optarg, (size_t)(eq - optarg));   /* any length */
			if (!key)
				return dp_err_set(err, -ENOMEM, "out of memory");
			dp_conf_kv_add(cli->conf, &cli->conf->sec[last_i], key, eq + 1, CLI_FILE, argi);
			if (last_is_output && (!strcasecmp(key, "match") || !strcasecmp(key, "match_regex")))
				last_has_match = true;
			free(key);
			break;
		}
		case 'm':
			if (last_i < 0 || !last_is_output)
				return dp_err_set(err, -EINVAL, "-m %s: no -F or -o before it", optarg);
			dp_conf_kv_add(cli->conf, &cli->conf->sec[last_i], "Match", optarg, CLI_FILE, argi);
			last_has_match = true;
			break;
		case 't':
			if (last_i < 0 || last_is_output)
				return dp_err_set(err, -EINVAL, "-t %s: no -i before it", optarg);
			dp_conf_kv_add(cli->conf, &cli->conf->sec[last_i], "Tag", optarg, CLI_FILE, argi);
			break;
		case 'f':
			dp_conf_kv_add(cli->conf, service(cli), "Flush", optarg, CLI_FILE, argi);
			break;
		case 'R':
			dp_conf_kv_add(cli->conf, service(cli), "Parsers_File", optarg, CLI_FILE, argi);
			break;
		case 'T': {
			/* As Fluent Bit's -T: a task named flb-console:N (N from 0),
			 * the same [STREAM_TASK] a Streams_File holds. */
			char name[32];
			snprintf(name, sizeof(name), "flb-console:%u", ntasks++);
			struct dp_conf_section *t = dp_conf_section_add(cli->conf, "STREAM_TASK", CLI_FILE, argi);
			if (!t || dp_conf_kv_add(cli->conf, t, "Name", name, CLI_FILE, argi) ||
			    dp_conf_kv_add(cli->conf, &cli->conf->sec[cli->conf->nsec - 1], "Exec", optarg,
					   CLI_FILE, argi))
				return dp_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		case 'l':
			dp_conf_kv_add(cli->conf, service(cli), "Log_File", optarg, CLI_FILE, argi);
			break;
		case 'H':
			dp_conf_kv_add(cli->conf, service(cli), "HTTP_Server", "On", CLI_FILE, argi);
			break;
		case 'Y':
			dp_conf_kv_add(cli->conf, service(cli), "Hot_Reload", "On", CLI_FILE, argi);
			break;
		case 'P':
			dp_conf_kv_add(cli->conf, service(cli), "HTTP_Port", optarg, CLI_FILE, argi);
			break;
		case 'L':
			dp_conf_kv_add(cli->conf, service(cli), "HTTP_Listen", optarg, CLI_FILE, argi);
			break;
		case 'e': {
			/* A [PLUGINS] Path, loaded before any instance is made
			 * (dp_plugin_load.c). */
			struct dp_conf_section *p = dp_conf_section_add(cli->conf, "PLUGINS", CLI_FILE, argi);
			if (!p || dp_conf_kv_add(cli->conf, &cli->conf->sec[cli->conf->nsec - 1], "Path", optarg,
						 CLI_FILE, argi))
				return dp_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		case 'd':
			/* Daemon and storage.path are NOT_YET: refused at start-up. */
			dp_conf_kv_add(cli->conf, service(cli), "Daemon", "On", CLI_FILE, argi);
			break;
		case 'b':
			dp_conf_kv_add(cli->conf, service(cli), "storage.path", optarg, CLI_FILE, argi);
			break;
		case 'w':
			cli->workdir = optarg;
			break;
		case 2: cli->strict = true; break;
		case 'D': cli->dry_run = true; break;
		case 'v': cli->verbose++; break;
		case 'q': cli->quiet = true; break;
		case 'h': cli->help = true; break;
		case 'V': cli->version = true; break;
		case 1: cli->doc = true; break;
		case 3: cli->doc_metrics = true; break;
		case 4: cli->doc_man = true; break;
		default:
			return dp_err_set(err, -EINVAL, "unknown option (see sluice --help)");
		}
	}
	if (optind < argc)
		return dp_err_set(err, -EINVAL, "unexpected argument '%s' (see sluice --help)", argv[optind]);
	/* Fluent Bit routes a command-line output to everything by default. */
	if (last_i >= 0 && last_is_output && !last_has_match)
		dp_conf_kv_add(cli->conf, &cli->conf->sec[last_i], "Match", "*", CLI_FILE, argc);
	return 0;
}

int dp_cli_plugin_help(FILE *f, const char *kind, const char *name)
{
	if (!strcmp(kind, "input")) {
		const struct dp_input_ops *ops = dp_registry_input(name);
		if (!ops)
			return -ENOENT;
		fprintf(f, "%s: %s\n\n", ops->name, ops->desc);
		if (ops->opts)
			dp_opt_print_help(f, ops->opts);
		fprintf(f, "\nKeys of every input:\n");
		dp_opt_print_help(f, dp_input_common_opts);
	} else if (!strcmp(kind, "filter")) {
		const struct dp_filter_ops *ops = dp_registry_filter(name);
		if (!ops)
			return -ENOENT;
		fprintf(f, "%s: %s\n\n", ops->name, ops->desc);
		if (ops->opts)
			dp_opt_print_help(f, ops->opts);
		fprintf(f, "\nKeys of every filter:\n");
		dp_opt_print_help(f, dp_filter_common_opts);
	} else {
		const struct dp_output_ops *ops = dp_registry_output(name);
		if (!ops)
			return -ENOENT;
		fprintf(f, "%s: %s\n\n", ops->name, ops->desc);
		if (ops->opts)
			dp_opt_print_help(f, ops->opts);
		fprintf(f, "\nKeys of every output:\n");
		dp_opt_print_help(f, dp_output_common_opts);
	}
	return 0;
}

/*
 * The configuration reference: one walk over the option tables, written
 * as Markdown (--doc-config, docs/CONFIG.md) or as roff (--doc-man, the
 * man page's sections from SERVICE KEYS on). Prose is written once, in
 * Markdown with `code`; doc_text turns that into roff.
 */
struct doc {
	FILE *f;
	bool man;
};

/* "## title" in Markdown. In roff a new ".SH group" (when group is not
 * NULL) and ".SS title" under it. */
static void doc_head(const struct doc *d, const char *group, const char *fmt, ...)
{
	char title[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(title, sizeof(title), fmt, ap);
	va_end(ap);
	if (!d->man) {
		fprintf(d->f, "\n## %s\n\n", title);
		return;
	}
	if (group)
		fprintf(d->f, ".SH %s\n", group);
	fputs(".SS ", d->f);
	dp_opt_roff(d->f, title, true);
	fputc('\n', d->f);
}

/* One paragraph. In roff `code` is bold and *emphasis* italic. */
static void doc_text(const struct doc *d, const char *text)
{
	if (!d->man) {
		fprintf(d->f, "%s\n\n", text);
		return;
	}
	fputs(".PP\n", d->f);
	if (*text == '.' || *text == '\'')
		fputs("\\&", d->f);
	bool code = false, em = false;
	for (const char *p = text; *p; p++) {
		if (*p == '`') {
			fputs((code = !code) ? "\\fB" : "\\fR", d->f);
		} else if (*p == '*' && !code) {
			fputs((em = !em) ? "\\fI" : "\\fR", d->f);
		} else {
			char c[2] = { *p, 0 };
			dp_opt_roff(d->f, c, code);
		}
	}
	fputc('\n', d->f);
}

static void doc_opts(const struct doc *d, const struct dp_opt *tab)
{
	if (d->man)
		dp_opt_print_roff(d->f, tab);
	else
		dp_opt_print_markdown(d->f, tab);
}

static void doc_plugin(const struct doc *d, const char *kind, const char *name, const char *desc,
		       const struct dp_opt *opts)
{
	char text[512];
	doc_head(d, NULL, "[%s] %s", kind, name);
	snprintf(text, sizeof(text), "%s.", desc);
	doc_text(d, text);
	if (opts)
		doc_opts(d, opts);
	else if (strcmp(kind, "INPUT"))
		fprintf(d->f, d->man ? ".PP\nNo keys of its own.\n" : "No keys of its own.\n");
}

static const char doc_intro[] =
	"sluice reads Fluent Bit's classic configuration format (`[SERVICE]`, `[INPUT]`, `[OUTPUT]` "
	"sections, `@INCLUDE`, `@SET`, `${VAR}`) and, for files ending in `.yaml` or `.yml`, its YAML "
	"format (`env`, `includes`, `service`, `pipeline: inputs / filters / outputs`, `parsers`, "
	"`multiline_parsers`, `stream_processor`; see conf/sluice.yaml). "
	"The keys below are the same in both. Values may use `${VAR}` (a `@SET` or `env:` variable, else "
	"the environment; `${HOSTNAME}` is predefined) and `${VAR:-default}`. Keys are case-insensitive. Sizes take Fluent Bit's "
	"suffixes (k, M, G = x1000); times are seconds, optionally with s, ms, m or h. A key that "
	"is unknown, or a value that does not parse, stops sluice at start-up with the file and "
	"line. Keys marked *not supported yet* accept only their default value.";

static void doc_walk(const struct doc *d)
{
	doc_head(d, "SERVICE KEYS", "[SERVICE]");
	doc_opts(d, dp_service_opts);
	doc_head(d, "INPUTS", "Keys of every [INPUT]");
	doc_text(d, "`Name` selects the plugin.");
	doc_opts(d, dp_input_common_opts);
	for (unsigned i = 0; dp_registry_inputs[i]; i++) {
		const struct dp_input_ops *ops = dp_registry_inputs[i];
		doc_plugin(d, "INPUT", ops->name, ops->desc, ops->opts);
	}
	doc_head(d, "FILTERS", "Keys of every [FILTER]");
	doc_text(d, "`Name` selects the plugin. Filters run on every "
		 "shard, in the order they are written, on the records whose tag their `Match` covers.");
	doc_opts(d, dp_filter_common_opts);
	for (unsigned i = 0; dp_registry_filters[i]; i++) {
		const struct dp_filter_ops *ops = dp_registry_filters[i];
		doc_plugin(d, "FILTER", ops->name, ops->desc, ops->opts);
	}
	doc_head(d, "PARSERS", "[PARSER]");
	doc_text(d, "In a `Parsers_File` (as Fluent Bit has them) or the main "
		 "configuration. Used by the `parser` filter and by inputs' `Parser` key.");
	doc_opts(d, psr_parser_opts);
	doc_head(d, NULL, "[MULTILINE_PARSER]");
	doc_text(d, "In a `Parsers_File` or the main configuration. "
		 "Built in: java, python, go, ruby, nodejs, docker, cri. Rules are `rule \"STATE\" \"/REGEX/\" "
		 "\"NEXT_STATE\"`, one per line, in order; one state must be `start_state`.");
	doc_opts(d, psr_ml_opts);
	doc_head(d, "STREAM TASKS", "[STREAM_TASK]");
	doc_text(d, "In the `Streams_File` (or the main configuration). The language is in docs/SQL.md.");
	if (d->man)
		fputs(".TP\n\\fBName\\fR\n\\fIstring\\fR, required\n.br\nName of the task, used in messages "
		      "and as the tag of a plain SELECT's results.\n"
		      ".TP\n\\fBExec\\fR\n\\fIstring\\fR, required\n.br\nOne SQL statement.\n"
		      ".TP\n\\fBMax_Groups\\fR\n\\fIinteger\\fR, default \\fB100000\\fR\n.br\nsluice: most "
		      "groups an aggregating query keeps per window and shard; records of further groups "
		      "are counted as dropped.\n", d->f);
	else
		fputs("| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n"
		      "| `Name` | string | (required) | Name of the task, used in messages and as the tag of a "
		      "plain SELECT's results. |\n"
		      "| `Exec` | string | (required) | One SQL statement. |\n"
		      "| `Max_Groups` | integer | 100000 | sluice: most groups an aggregating query keeps per window "
		      "and shard; records of further groups are counted as dropped. |\n", d->f);
	doc_head(d, "OUTPUTS", "Keys of every [OUTPUT]");
	doc_text(d, "`Name` selects the plugin.");
	doc_opts(d, dp_output_common_opts);
	for (unsigned i = 0; dp_registry_outputs[i]; i++) {
		const struct dp_output_ops *ops = dp_registry_outputs[i];
		doc_plugin(d, "OUTPUT", ops->name, ops->desc, ops->opts);
	}
}

void dp_cli_doc(FILE *f)
{
	const struct doc d = { f, false };
	fprintf(f, "# Configuration reference\n\n"
		"<!-- Generated by `sluice --doc-config` from the option tables; do not edit by hand. -->\n\n"
		"%s\n", doc_intro);
	doc_walk(&d);
}

#ifndef SLUICE_PARSERS_FILE
#define SLUICE_PARSERS_FILE "/etc/sluice/parsers.conf"
#endif

/* The man page sluice(1): the command line, the reference above, and what
 * a service manager needs to know (signals, files). */
void dp_cli_man(FILE *f)
{
	const struct doc d = { f, true };
	/* The configuration directory: where parsers.conf is installed. */
	const char *etc = SLUICE_PARSERS_FILE;
	int etc_len = (int)(strrchr(etc, '/') - etc);
	fprintf(f, ".\\\" Generated by sluice --doc-man from its option tables; do not edit.\n"
		".TH SLUICE 1 \"\" \"sluice %s\" \"User Commands\"\n"
		".SH NAME\nsluice \\- log and event dataplane that reads Fluent Bit's configuration\n"
		".SH SYNOPSIS\n"
		".B sluice\n\\fB\\-c\\fR \\fIFILE\\fR [\\fIOPTION\\fR]...\n.br\n"
		".B sluice\n\\fB\\-i\\fR \\fIINPUT\\fR [\\fB\\-p\\fR \\fIKEY\\fR=\\fIVALUE\\fR]... "
		"\\fB\\-o\\fR \\fIOUTPUT\\fR [\\fB\\-p\\fR \\fIKEY\\fR=\\fIVALUE\\fR]... [\\fIOPTION\\fR]...\n"
		".SH DESCRIPTION\n"
		"sluice takes syslog, TCP, UDP, HTTP, files, the journal and other streams, parses and "
		"filters them, runs SQL over windows of them, and delivers them in batches to Kafka, "
		"HTTP, Elasticsearch, files and other outputs, at least once. It reads its configuration "
		"from a file (\\fB\\-c\\fR) or from the command line (\\fB\\-i\\fR, \\fB\\-o\\fR, "
		"\\fB\\-p\\fR, as Fluent Bit's), and runs in the foreground until SIGTERM or SIGINT.\n",
		SLUICE_VERSION);
	doc_text(&d, doc_intro);
	fputs(".SH OPTIONS\n", f);
	for (unsigned i = 0; i < DP_ARRAY_SIZE(cli_opts); i++) {
		const char *fl = cli_opts[i].flags;
		fputs(".TP\n\\fB", f);
		dp_opt_roff(f, fl + strspn(fl, " "), true);
		fputs("\\fR\n", f);
		dp_opt_roff(f, cli_opts[i].desc, false);
		fputc('\n', f);
	}
	doc_walk(&d);
	fprintf(f, ".SH SIGNALS\n"
		".TP\n\\fBSIGTERM\\fR, \\fBSIGINT\\fR\nStop accepting, drain the records in flight to the "
		"outputs within [SERVICE] \\fBGrace\\fR, log the counters and exit: 0 when everything "
		"was delivered, 1 when something could not be.\n"
		".TP\n.B SIGHUP\nReload the configuration (what \\fBsystemctl reload sluice\\fR sends).\n"
		".TP\n.B SIGUSR1\nPrint the counters as JSON on standard error.\n"
		".PP\nRun by systemd as a Type=notify service, sluice reports READY=1 once its inputs "
		"listen, STOPPING=1 when a drain starts, and pings the watchdog (WatchdogSec=) from its "
		"control thread.\n"
		".SH EXIT STATUS\n0 after a clean stop or a successful \\fB\\-\\-dry\\-run\\fR; 1 when "
		"the configuration is wrong or records could not be delivered; 2 on a command-line error.\n"
		".SH FILES\n"
		".TP\n.I %.*s/sluice.conf\nThe configuration the systemd unit starts sluice with.\n"
		".TP\n.I %s\nThe standard parsers (Fluent Bit's names): read by themselves for a "
		"\\fBParser\\fR a configuration names but does not define.\n"
		".TP\n.I sluice.service\nThe systemd unit, in the system unit directory.\n"
		".SH SEE ALSO\n"
		"\\fBsystemctl\\fR(1), \\fBsystemd.service\\fR(5), \\fBlogger\\fR(1), "
		"\\fBfluent\\-bit\\fR(1); docs/CONFIG.md, docs/SQL.md, docs/OPERATIONS.md and "
		"docs/DEPLOYMENT.md in sluice's sources.\n", etc_len, etc, SLUICE_PARSERS_FILE);
}
