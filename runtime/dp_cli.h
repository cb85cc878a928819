/*
 * dp_cli.h — sluice's command line, Fluent Bit's flags:
 *   sluice -c FILE [-D|--dry-run]
 *   sluice -i syslog -p mode=tcp -p port=5140 -t tag -o stdout -p format=json_lines -m '*'
 *   sluice -i syslog -h          help of one plugin's keys
 *   sluice -T 'SELECT ...;'      a [STREAM_TASK] (Fluent Bit's -T)
 *   sluice -l FILE -v|-vv|-q     [SERVICE] Log_File; log level
 * -i/-o/-p/-m/-t become [INPUT]/[OUTPUT] sections of a dp_conf, so the
 * command line and files are checked by the same code. Control thread.
 */
#ifndef DP_CLI_H
#define DP_CLI_H

#include <stdbool.h>
#include "dp_conf.h"

struct dp_cli {
	const char *config;
	bool dry_run;
	bool help;
	bool version;
	bool doc;              /* --doc-config: Markdown reference on stdout */
	bool doc_metrics;      /* --doc-metrics: the metrics' reference (dp_prom.h) */
	bool doc_man;          /* --doc-man: the man page sluice(1), roff */
	bool strict;           /* --strict: an undefined ${VAR} is an error */
	const char *workdir;   /* -w: chdir before reading the configuration */
	int verbose;
	bool quiet;
	const char *help_kind; /* "input"/"output" of the last -i/-o, for -h */
	const char *help_name;
	struct dp_conf *conf;  /* sections from -i/-F/-o/-T, and [SERVICE] from
	                          -f/-R/-l/-H/-P/-L */
};

/* 0, or -EINVAL with err->msg naming the bad argument. */
int dp_cli_parse(int argc, char **argv, struct dp_cli *cli, struct dp_err *err);
void dp_cli_usage(FILE *f);
/* Help of one plugin, or the whole Markdown reference. */
int dp_cli_plugin_help(FILE *f, const char *kind, const char *name);
void dp_cli_doc(FILE *f);
void dp_cli_man(FILE *f);

#endif
