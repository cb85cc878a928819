/*
 * dp_cli.c — the command line (see dp_cli.h) and the generated help and
 * configuration reference.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

void dp_cli_usage(FILE *f)
{
	fprintf(f,
		"Usage: sluice [OPTION]...\n"
		"\n"
		"  -c, --config=FILE     read a configuration file (Fluent Bit classic, or YAML\n"
		"                        when it ends in .yaml or .yml)\n"
		"  -i, --input=NAME      add an input (see Inputs below)\n"
		"  -F, --filter=NAME     add a filter (see Filters below)\n"
		"  -o, --output=NAME     add an output (see Outputs below)\n"
		"  -p, --prop=KEY=VALUE  set a key of the last -i, -F or -o\n"
		"  -m, --match=PATTERN   Match of the last -F or -o (default *)\n"
		"  -t, --tag=TAG         Tag of the last -i\n"
		"  -T, --sp-task=SQL     add a stream processor task ([STREAM_TASK] flb-console:N)\n"
		"  -f, --flush=SECONDS   [SERVICE] Flush\n"
		"  -R, --parser=FILE     [SERVICE] Parsers_File\n"
		"  -l, --log_file=FILE   [SERVICE] Log_File: write the log to FILE\n"
		"  -H, --http            [SERVICE] HTTP_Server On: the HTTP server (metrics, health)\n"
		"  -P, --port=PORT       [SERVICE] HTTP_Port\n"
		"  -L, --http_listen=ADDR [SERVICE] HTTP_Listen\n"
		"  -Y, --enable-hot-reload [SERVICE] Hot_Reload On: POST /api/v2/reload reloads\n"
		"  -w, --workdir=DIR     change to DIR before reading the configuration\n"
		"  -d, --daemon, -b, --storage_path=PATH, -e, --plugin=FILE\n"
		"                        accepted as Fluent Bit's, refused: not supported yet\n"
		"  -D, --dry-run         check the configuration and exit\n"
		"      --strict          an undefined ${VAR} is an error, not a warning\n"
		"  -v, --verbose         log level debug (-vv: trace)\n"
		"  -q, --quiet           log errors only\n"
		"  -h, --help            this help; after -i/-F/-o NAME: that plugin's keys\n"
		"  -V, --version         print the version\n"
		"      --doc-config      print the configuration reference (Markdown)\n"
		"      --doc-metrics     print the HTTP server's metrics reference (Markdown)\n");
	fprintf(f, "\nInputs\n");
	for (unsigned i = 0; dp_registry_inputs[i]; i++)
		usage_plugin(f, dp_registry_inputs[i]->name, dp_registry_inputs[i]->desc);
	fprintf(f, "\nFilters\n");
	for (unsigned i = 0; dp_registry_filters[i]; i++)
		usage_plugin(f, dp_registry_filters[i]->name, dp_registry_filters[i]->desc);
	fprintf(f, "\nOutputs\n");
	for (unsigned i = 0; dp_registry_outputs[i]; i++)
		usage_plugin(f, dp_registry_outputs[i]->name, dp_registry_outputs[i]->desc);
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
		case 'e':
			/* The same answer as a YAML plugins: section. */
			return dp_err_set(err, -ENOTSUP, "-e %s: external plugins are not supported yet",
					  optarg);
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

void dp_cli_doc(FILE *f)
{
	fprintf(f, "# Configuration reference\n\n"
		"<!-- Generated by `sluice --doc-config` from the option tables; do not edit by hand. -->\n\n"
		"sluice reads Fluent Bit's classic configuration format (`[SERVICE]`, `[INPUT]`, `[OUTPUT]` "
		"sections, `@INCLUDE`, `@SET`, `${VAR}`) and, for files ending in `.yaml` or `.yml`, its YAML "
		"format (`env`, `includes`, `service`, `pipeline: inputs / filters / outputs`, `parsers`, "
		"`multiline_parsers`, `stream_processor`; see conf/sluice.yaml). "
		"The keys below are the same in both. Values may use `${VAR}` (a `@SET` or `env:` variable, else "
		"the environment; `${HOSTNAME}` is predefined) and `${VAR:-default}`. Keys are case-insensitive. Sizes take Fluent Bit's "
		"suffixes (k, M, G = x1000); times are seconds, optionally with s, ms, m or h. A key that "
		"is unknown, or a value that does not parse, stops sluice at start-up with the file and "
		"line. Keys marked *not supported yet* accept only their default value.\n\n");
	fprintf(f, "## [SERVICE]\n\n");
	dp_opt_print_markdown(f, dp_service_opts);
	fprintf(f, "\n## Keys of every [INPUT]\n\n`Name` selects the plugin.\n\n");
	dp_opt_print_markdown(f, dp_input_common_opts);
	for (unsigned i = 0; dp_registry_inputs[i]; i++) {
		const struct dp_input_ops *ops = dp_registry_inputs[i];
		fprintf(f, "\n## [INPUT] %s\n\n%s.\n\n", ops->name, ops->desc);
		if (ops->opts)
			dp_opt_print_markdown(f, ops->opts);
	}
	fprintf(f, "\n## Keys of every [FILTER]\n\n`Name` selects the plugin. Filters run on every "
		"shard, in the order they are written, on the records whose tag their `Match` covers.\n\n");
	dp_opt_print_markdown(f, dp_filter_common_opts);
	for (unsigned i = 0; dp_registry_filters[i]; i++) {
		const struct dp_filter_ops *ops = dp_registry_filters[i];
		fprintf(f, "\n## [FILTER] %s\n\n%s.\n\n", ops->name, ops->desc);
		if (ops->opts)
			dp_opt_print_markdown(f, ops->opts);
		else
			fprintf(f, "No keys of its own.\n");
	}
	fprintf(f, "\n## [PARSER]\n\nIn a `Parsers_File` (as Fluent Bit has them) or the main "
		"configuration. Used by the `parser` filter and by inputs' `Parser` key.\n\n");
	dp_opt_print_markdown(f, psr_parser_opts);
	fprintf(f, "\n## [MULTILINE_PARSER]\n\nIn a `Parsers_File` or the main configuration. "
		"Built in: java, python, go, ruby, nodejs, docker, cri. Rules are `rule \"STATE\" \"/REGEX/\" "
		"\"NEXT_STATE\"`, one per line, in order; one state must be `start_state`.\n\n");
	dp_opt_print_markdown(f, psr_ml_opts);
	fprintf(f, "\n## [STREAM_TASK]\n\nIn the `Streams_File` (or the main configuration). "
		"The language is in docs/SQL.md.\n\n"
		"| Key | Type | Default | Description |\n| --- | --- | --- | --- |\n"
		"| `Name` | string | (required) | Name of the task, used in messages and as the tag of a "
		"plain SELECT's results. |\n"
		"| `Exec` | string | (required) | One SQL statement. |\n"
		"| `Max_Groups` | integer | 100000 | sluice: most groups an aggregating query keeps per window "
		"and shard; records of further groups are counted as dropped. |\n");
	fprintf(f, "\n## Keys of every [OUTPUT]\n\n`Name` selects the plugin.\n\n");
	dp_opt_print_markdown(f, dp_output_common_opts);
	for (unsigned i = 0; dp_registry_outputs[i]; i++) {
		const struct dp_output_ops *ops = dp_registry_outputs[i];
		fprintf(f, "\n## [OUTPUT] %s\n\n%s.\n\n", ops->name, ops->desc);
		if (ops->opts)
			dp_opt_print_markdown(f, ops->opts);
		else
			fprintf(f, "No keys of its own.\n");
	}
}
