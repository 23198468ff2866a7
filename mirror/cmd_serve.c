/*
 * cmd_serve: `exai-mirror serve [--config FILE]`, the daemon. Loads the config, opens (or
 * creates) the store, binds the socket, starts the writer and serves until SIGTERM or SIGINT,
 * then drains (every line read is stored and acked) and exits 0. SIGHUP reloads the tenant map
 * (mir_config_reload: the rest needs a restart, and is named); SIGPIPE is ignored (replies use
 * MSG_NOSIGNAL).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "exai/cli.h"
#include "exai/file.h"
#include "ingest.h"
#include "mir_cli.h"
#include "note.h"
#include "store.h"
#include "writer.h"

const char mir_serve_help[] =
    "usage: exai-mirror serve [--config FILE] [--json]\n"
    "\n"
    "Serves the ingest socket named by the config (default /etc/exai/mirror.yaml, or\n"
    "$EXAI_MIRROR_CONFIG) until SIGTERM, then drains and exits 0. --json: setup errors\n"
    "as a JSON document on stdout.\n";

typedef struct serve_ctx {
	mir_config *cfg;
	mir_store *store;
	mir_logkey *key;
	mir_scrubber *scrub;
	mir_writer *w;
	int sig_fd, wake_fd, listen_fd;
	bool bound;
} serve_ctx;

/* Fail closed: a database that is missing while the log has signed checkpoints (the record
 * beside it) is a lost log, never a fresh start: a new tree under the same key would be signed
 * inconsistent with every checkpoint an auditor already holds. */
static exai_status refuse_lost_db(const mir_config *cfg, const char *db, exai_error *e)
{
	char *cp = mir_config_cp_path(cfg);
	struct stat st;
	bool db_missing = lstat(db, &st) != 0 && errno == ENOENT, has_cp;

	if (!cp)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	has_cp = lstat(cp, &st) == 0;
	free(cp);
	if (db_missing && has_cp)
		return exai_error_set(
		    e, EXAI_ECONFIG,
		    "%s is missing but this log has signed checkpoints (%s/checkpoint): restore "
		    "the "
		    "database from a backup; a new log needs a new state_dir and log key (refused: "
		    "nothing was created)",
		    db, cfg->state_dir);
	return EXAI_OK;
}
static exai_status setup(serve_ctx *s, const char *path, exai_error *e)
{
	sigset_t set;
	char *db = NULL;
	exai_status rc;

	if ((rc = mir_config_load(path, &s->cfg, e)))
		return rc;
	if ((rc = mir_scrubber_new(NULL, &s->scrub, e)))
		return exai_error_prefix(e, "scrubber");
	if ((rc = mir_key_load(s->cfg->log_key, &s->key, e)))
		return exai_error_prefix(e, "log_key (make one with 'exai-mirror keygen')");
	if (strcmp(s->key->pub.name, s->cfg->origin))
		return exai_error_set(e, EXAI_ECONFIG,
				      "log_key %s is the key of '%s', the origin is '%s'",
				      s->cfg->log_key, s->key->pub.name, s->cfg->origin);
	if ((rc = exai_mkdir_p(s->cfg->state_dir, 0750, e)))
		return exai_error_prefix(e, "state_dir");
	if (!(db = mir_config_db_path(s->cfg)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = refuse_lost_db(s->cfg, db, e))) {
		free(db);
		return rc;
	}
	rc = mir_store_open(db, s->cfg->origin, &s->store, e);
	free(db);
	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before the writer starts, so only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0)
		return exai_error_sys(e, EXAI_EIO, "signalfd");
	if ((s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return exai_error_sys(e, EXAI_EIO, "eventfd");
	if ((rc = mir_ingest_listen(s->cfg, &s->listen_fd, e)))
		return rc;
	s->bound = true;
	rc = mir_writer_start(s->cfg, s->store, s->key, s->wake_fd, &s->w, e);
	s->store = NULL; /* the writer owns them, even on failure */
	s->key = NULL;
	return rc;
}

static void teardown(serve_ctx *s)
{
	mir_writer_free(s->w);
	mir_store_close(s->store);
	mir_key_free(s->key);
	mir_scrubber_free(s->scrub);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->bound)
		unlink(s->cfg->socket_path);
	if (s->sig_fd >= 0)
		close(s->sig_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	mir_config_free(s->cfg);
}

int mir_cmd_serve(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {MIR_GLOBAL_OPTS, {NULL, false, 0}};
	serve_ctx s = {.sig_fd = -1, .wake_fd = -1, .listen_fd = -1};
	mir_common c = {0};
	exai_cli_parser p;
	const char *v;
	exai_error e;
	int id, code = EXAI_EXIT_OK;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		if (!mir_common_opt(&c, id, v))
			return exai_cli_exit(id);
	}
	if (setup(&s, mir_config_path(c.config), &e)) {
		code = mir_report("serve", &e, c.json, mir_exit_code(&e));
		goto out;
	}
	fprintf(stderr, "exai-mirror serve: listening on %s\n", s.cfg->socket_path);
	if (mir_ingest_run(s.cfg, s.scrub, s.w, s.listen_fd, s.wake_fd, s.sig_fd, &e))
		code = mir_report("serve", &e, false, EXAI_EXIT_FAIL);
	mir_writer_stop(s.w);
	fprintf(stderr, "exai-mirror serve: drained, exiting\n");
out:
	teardown(&s);
	return code;
}
