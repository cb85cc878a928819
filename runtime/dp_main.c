/*
 * dp_main.c — sluice's entry point: read the configuration, check it,
 * start the pipeline, and wait for signals on the control thread.
 *
 * Signals are blocked in every thread and taken synchronously here with
 * sigtimedwait, so no handler runs inside a shard. SIGTERM/SIGINT: stop
 * accepting, drain in-flight records to the outputs (within Grace), log
 * the counters and exit 0 (1 when something could not be delivered).
 * SIGUSR1: print the counters as JSON on stderr. SIGHUP (or POST
 * /api/v2/reload): read the configuration again and switch to it without
 * losing a record (dp_reload.h); a bad one is refused and the running one
 * stays. With HTTP_Server On the HTTP server (dp_http.h) runs from just
 * after the pipeline starts to just before it stops; a reload keeps it.
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
#include "dp_plugin_load.h"
#include "dp_prom.h"
#include "dp_reload.h"
#include "dp_stats.h"
#include "dp_suggest.h"
#include "dp_time.h"
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

/* What the control thread runs: the pipeline, the configuration it was
 * made from (it outlives the pipeline: names point into it), and what a
 * reload needs to read the configuration again as at start. */
struct run_state {
	struct dp_pipeline *pl;
	struct dp_conf *conf;
	struct dp_http *http;
	struct dp_reload *reload;
	int argc;
	char **argv;
};

/* The configuration, read again as main read it (file, then the command
 * line's sections), checked whole, and put in place (dp_reload.h). */
static int reload(struct run_state *st, struct dp_err *err)
{
	struct dp_cli cli;
	if (dp_cli_parse(st->argc, st->argv, &cli, err)) {
		dp_conf_destroy(cli.conf);
		return -EINVAL;
	}
	struct dp_conf *file = NULL;
	if (cli.config && !(file = dp_conf_load(cli.config, err))) {
		dp_conf_destroy(cli.conf);
		return -EINVAL;
	}
	if (file && dp_conf_undef_check(file, cli.strict, err)) {
		dp_conf_destroy(file);
		dp_conf_destroy(cli.conf);
		return -EINVAL;
	}
	struct dp_conf *conf = merge(file, cli.conf);
	conf->strict_vars = cli.strict;
	uint64_t t0 = dp_time_mono_ns();
	struct dp_pipeline *next = dp_pipeline_create(conf, err);
	if (!next) {
		dp_conf_destroy(conf);
		return -EINVAL;
	}
	dp_info("reload: configuration read and checked in %.1f ms (the running one goes on meanwhile)",
		(double)(dp_time_mono_ns() - t0) / 1e6);
	int rc = dp_reload_apply(&st->pl, next, st->http, err);
	if (rc == 0) {
		dp_conf_destroy(st->conf);
		st->conf = conf;
		dp_log_level = cli_log_level(&cli, st->pl->svc.log_level);
		return 0;
	}
	dp_conf_destroy(conf);
	if (rc != -EAGAIN)
		return rc;
	/* The old pipeline stopped and the new one did not start: the old
	 * configuration again, or nothing can run. */
	struct dp_err e2 = { 0 };
	struct dp_pipeline *again = dp_pipeline_create(st->conf, &e2);
	if (!again || dp_pipeline_start(again, &e2)) {
		dp_error("reload: the previous configuration does not start again either: %s", e2.msg);
		if (again) {
			dp_pipeline_stop(again);
			dp_pipeline_destroy(again);
		}
		return -EAGAIN;
	}
	dp_http_pipeline_lock(st->http);
	dp_http_pipeline_set(st->http, again);
	st->pl = again;
	return -EINVAL;
}

static int run(struct run_state *st)
{
	sigset_t set;
	control_signals(&set);
	struct dp_err err = { 0 };
	/* Bound before any data thread starts: a port in use stops here. */
	st->http = dp_http_create(st->pl, &err);
	if (!st->http && err.code) {
		dp_error("%s", err.msg);
		return 1;
	}
	if (dp_pipeline_start(st->pl, &err)) {
		dp_error("%s", err.msg);
		dp_http_destroy(st->http);
		dp_pipeline_stop(st->pl);
		return 1;
	}
	st->reload = dp_reload_new();
	dp_http_set_reload(st->http, st->reload);
	if (st->http && dp_http_start(st->http, &err)) {
		dp_error("%s", err.msg);
		dp_http_destroy(st->http);
		dp_pipeline_stop(st->pl);
		return 1;
	}
	struct dp_pipeline *pl = st->pl;
	dp_info("started: %u shards, %u inputs, %u outputs (%u workers)", pl->nshards, pl->nin, pl->nout,
		pl->nworkers);
	int rc = 0;
	dp_notify_ready();
	for (;;) {
		pl = st->pl;
		double iv = pl->svc.stats_file ? pl->svc.stats_interval : 3600;
		if (iv < 0.01)
			iv = 0.01;
		iv = dp_notify_wait_cap(iv);   /* WatchdogSec: wake at least twice per period */
		struct timespec ts = { (time_t)iv, (long)((iv - (double)(time_t)iv) * 1e9) };
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
		if (sig == SIGHUP) {
			uint64_t upto = dp_reload_begin(st->reload);
			dp_info("SIGHUP: reloading the configuration");
			dp_notify_reloading();
			err = (struct dp_err){ 0 };
			int rrc = reload(st, &err);
			dp_notify_ready();
			if (rrc)
				dp_error("reload: %s", err.msg);
			dp_reload_end(st->reload, upto, rrc, err.msg);
			if (rrc == -EAGAIN) {
				rc = 1;
				break;
			}
		}
	}
	dp_http_destroy(st->http);
	st->http = NULL;
	if (!st->pl)
		return 1;
	pl = st->pl;
	dp_info("stopping: draining in-flight records (Grace %.1fs)", pl->svc.grace);
	if (dp_pipeline_stop(pl))
		rc = 1;
	if (pl->svc.stats_file)
		dp_stats_write_file(pl, pl->svc.stats_file);
	dp_stats_log(pl);
	return rc;
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
		/* -e objects first (wherever they stand on the command line):
		 * `-e x.so -o x -h` shows their keys, `-e x.so -h` lists them. */
		struct dp_err err = { 0 };
		if (dp_plugin_load_conf(cli->conf, &err)) {
			fprintf(stderr, "sluice: %s\n", err.msg);
			return 2;
		}
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
	struct run_state st = { .pl = pl, .conf = conf, .argc = argc, .argv = argv };
	rc = run(&st);
	if (!st.pl || (rc == 1 && dp_pipeline_has_stuck_worker(st.pl))) {
		/* A worker still runs (blocked in its output): freeing under it
		 * would be a use-after-free. Leave at once, memory and all. */
		fflush(NULL);
		_exit(1);
	}
	dp_reload_free(st.reload);
	dp_pipeline_destroy(st.pl);
	dp_conf_destroy(st.conf);
	return rc;
}
