/*
 * dp_main.c — sluice's entry point: read the configuration, check it,
 * start the pipeline, and wait for signals on the control thread.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigtimedwait, so no handler runs inside a shard. SIGTERM/SIGINT: stop
 * accepting, drain in-flight records to the outputs (within Grace), log
 * the counters and exit 0 (1 when something could not be delivered).
 * SIGUSR1: print the counters as JSON on stderr. SIGHUP: ignored until
 * reload exists. With HTTP_Server On the HTTP server (dp_http.h) runs
 * from just after the pipeline starts to just before it stops.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "dp_registry.h"
#include "dp_cli.h"
#include "dp_conf.h"
#include "dp_http.h"
#include "dp_log.h"
#include "dp_notify.h"
#include "dp_pipeline.h"
#include "dp_prom.h"
#include "dp_stats.h"
#include "dp_suggest.h"
#ifdef SLUICE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.1.0"
#endif

/* jemalloc must be the allocator, not merely linked: check that a malloc
 * here moves jemalloc's own per-thread counter. */
static void check_allocator(void)
{
#ifdef SLUICE_JEMALLOC
	const char *ver = NULL;
	size_t len = sizeof(ver);
	uint64_t before = 0, after = 0;
	size_t l8 = sizeof(uint64_t);
	if (mallctl("version", &ver, &len, NULL, 0) || mallctl("thread.allocated", &before, &l8, NULL, 0)) {
		dp_warn("jemalloc is linked but mallctl fails: the allocator is not jemalloc");
		return;
	}
	void *volatile p = malloc(4096);
	mallctl("thread.allocated", &after, &l8, NULL, 0);
	free(p);
	if (after > before)
		dp_info("allocator: jemalloc %s", ver);
	else
		dp_warn("jemalloc %s is linked but malloc() does not go through it", ver);
#else
	dp_info("allocator: libc malloc (built without jemalloc)");
#endif
}

/* Each TCP connection is a descriptor: take the hard limit, as servers do. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct dp_conf *merge(struct dp_conf *file, struct dp_conf *cli)
{
	if (!file)
		return cli;
	for (unsigned i = 0; i < cli->nsec; i++) {
		struct dp_conf_section *s = &cli->sec[i];
		struct dp_conf_section *d = dp_conf_section_add(file, s->name, s->file, s->line);
		for (unsigned k = 0; k < s->nkv; k++)
			dp_conf_kv_add(file, d, s->kv[k].key, s->kv[k].val, s->kv[k].file, s->kv[k].line);
	}
	dp_conf_destroy(cli);
	return file;
}

/* The log level the command line asks for, or -1 to take Log_Level's.
 * -v is debug and -vv trace, as in Fluent Bit, but never quieter than
 * Log_Level; -q is errors only. */
static int cli_log_level(const struct dp_cli *cli, int from_conf)
{
	if (cli->quiet)
		return DP_LOG_ERROR;
	if (!cli->verbose)
		return from_conf;
	int lvl = DP_LOG_INFO + cli->verbose;
	lvl = lvl > DP_LOG_TRACE ? DP_LOG_TRACE : lvl;
	return lvl > from_conf ? lvl : from_conf;
}

/* The signals the control thread takes; every thread blocks them. */
static void control_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

static int run(struct dp_pipeline *pl)
{
	sigset_t set;
	control_signals(&set);
	struct dp_err err = { 0 };
	/* Bound before any data thread starts: a port in use stops here. */
	struct dp_http *http = dp_http_create(pl, &err);
	if (!http && err.code) {
		dp_error("%s", err.msg);
		return 1;
	}
	if (dp_pipeline_start(pl, &err)) {
		dp_error("%s", err.msg);
		dp_http_destroy(http);
		dp_pipeline_stop(pl);
		return 1;
	}
	if (http && dp_http_start(http, &err)) {
		dp_error("%s", err.msg);
		dp_http_destroy(http);
		dp_pipeline_stop(pl);
		return 1;
	}
	dp_info("started: %u shards, %u inputs, %u outputs (%u workers)", pl->nshards, pl->nin, pl->nout,
		pl->nworkers);
	double iv = pl->svc.stats_file ? pl->svc.stats_interval : 3600;
	if (iv < 0.01)
		iv = 0.01;
	iv = dp_notify_wait_cap(iv);   /* WatchdogSec: wake at least twice per period */
	dp_notify_ready();
	struct timespec ts = { (time_t)iv, (long)((iv - (double)(time_t)iv) * 1e9) };
	for (;;) {
		int sig = sigtimedwait(&set, NULL, &ts);
		dp_notify_watchdog();
		if (pl->svc.stats_file)
			dp_stats_write_file(pl, pl->svc.stats_file);
		if (sig == SIGTERM || sig == SIGINT) {
			dp_notify_stopping();
			break;
		}
		if (sig == SIGUSR1)
			dp_stats_print_json(pl, stderr);
		if (sig == SIGHUP)
			dp_info("SIGHUP: reload is not supported yet; ignored");
	}
	dp_http_destroy(http);
	dp_info("stopping: draining in-flight records (Grace %.1fs)", pl->svc.grace);
	int rc = dp_pipeline_stop(pl);
	if (pl->svc.stats_file)
		dp_stats_write_file(pl, pl->svc.stats_file);
	dp_stats_log(pl);
	return rc ? 1 : 0;
}

/* --version, --doc-config, --help and usage: the exit code, or -1 to go on. */
static int informational(const struct dp_cli *cli)
{
	if (cli->version) {
		printf("sluice %s\n", SLUICE_VERSION);
		return 0;
	}
	if (cli->doc) {
		dp_cli_doc(stdout);
		return 0;
	}
	if (cli->doc_man) {
		dp_cli_man(stdout);
		return 0;
	}
	if (cli->doc_metrics) {
		dp_prom_doc(stdout);
		return 0;
	}
	if (cli->help) {
		if (!cli->help_name) {
			dp_cli_usage(stdout);
			return 0;
		}
		if (dp_cli_plugin_help(stdout, cli->help_kind, cli->help_name)) {
			char hint[96];
			fprintf(stderr, "sluice: unknown %s plugin '%s'%s\n", cli->help_kind, cli->help_name,
				dp_suggest_plugin_hint(cli->help_kind, cli->help_name, hint, sizeof(hint)));
			return 2;
		}
		return 0;
	}
	if (!cli->config && cli->conf->nsec == 0) {
		dp_cli_usage(stderr);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	sigset_t set;
	control_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct dp_cli cli;
	struct dp_err err = { 0 };
	if (dp_cli_parse(argc, argv, &cli, &err)) {
		fprintf(stderr, "sluice: %s\n", err.msg);
		dp_conf_destroy(cli.conf);
		return 2;
	}
	int rc = informational(&cli);
	if (rc >= 0) {
		dp_conf_destroy(cli.conf);
		return rc;
	}
	/* -w, as Fluent Bit: relative paths (the configuration too) from DIR. */
	if (cli.workdir && chdir(cli.workdir)) {
		fprintf(stderr, "sluice: -w %s: %s\n", cli.workdir, strerror(errno));
		dp_conf_destroy(cli.conf);
		return 1;
	}
	struct dp_conf *file = NULL;
	if (cli.config && !(file = dp_conf_load(cli.config, &err))) {
		fprintf(stderr, "sluice: %s\n", err.msg);
		dp_conf_destroy(cli.conf);
		return 1;
	}
	/* Start-up warnings follow -q / -v before Log_Level is known. */
	dp_log_level = cli_log_level(&cli, DP_LOG_INFO);
	/* An undefined ${VAR}: a warning, or with --strict an error; the
	 * same check for the Parsers_File and Streams_File the pipeline
	 * reads (conf->strict_vars). */
	if (file && dp_conf_undef_check(file, cli.strict, &err)) {
		fprintf(stderr, "sluice: %s\n", err.msg);
		dp_conf_destroy(file);
		dp_conf_destroy(cli.conf);
		return 1;
	}
	struct dp_conf *conf = merge(file, cli.conf);
	conf->strict_vars = cli.strict;
	struct dp_pipeline *pl = dp_pipeline_create(conf, &err);
	if (!pl) {
		fprintf(stderr, "sluice: %s\n", err.msg);
		dp_conf_destroy(conf);
		return 1;
	}
	if (cli.dry_run) {
		printf("configuration test is successful\n");
		dp_pipeline_destroy(pl);
		dp_conf_destroy(conf);
		return 0;
	}
	dp_log_level = cli_log_level(&cli, pl->svc.log_level);
	if (pl->svc.log_file) {
		int fd = open(pl->svc.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "sluice: cannot open Log_File '%s': %s\n", pl->svc.log_file, strerror(errno));
			dp_pipeline_destroy(pl);
			dp_conf_destroy(conf);
			return 1;
		}
		dp_log_set_fd(fd);
	}
	dp_info("sluice %s", SLUICE_VERSION);
	/* -v: what was read; -vv: every section, where it was written. */
	dp_debug("configuration: %u sections, %u variables unset, log level %d", conf->nsec,
		 file ? file->nundef : 0, dp_log_level);
	for (unsigned i = 0; i < conf->nsec; i++)
		dp_log(DP_LOG_TRACE, "[%s] at %s:%d, %u keys", conf->sec[i].name, conf->sec[i].file,
		       conf->sec[i].line, conf->sec[i].nkv);
	check_allocator();
	raise_fd_limit();
	rc = run(pl);
	if (rc == 1 && dp_pipeline_has_stuck_worker(pl)) {
		/* A worker still runs (blocked in its output): freeing under it
		 * would be a use-after-free. Leave at once, memory and all. */
		fflush(NULL);
		_exit(rc);
	}
	dp_pipeline_destroy(pl);
	dp_conf_destroy(conf);
	return rc;
}
