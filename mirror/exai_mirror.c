/*
 * exai-mirror: the site's local audit and telemetry mirror. Front end: the command table
 * (exai/cli.h dispatches; each command parses its own options with exai_cli_next).
 */
#include <openssl/crypto.h>
#include <stdio.h>

#include "exai/cli.h"
#include "exai/hash.h"
#include "exai/secmem.h"
#include "mir_cli.h"

static const exai_cli_cmd cmds[] = {
    {"serve", "run the daemon (ingest socket, store, checkpoints)", mir_serve_help, mir_cmd_serve,
     NULL},
    {"keygen", "make the log key and its verifier key (vkey)", mir_keygen_help, mir_cmd_keygen,
     NULL},
    {"prove", "--index N [--size S] | --from A --to B: inclusion or consistency proof",
     mir_prove_help, mir_cmd_prove, NULL},
    {"verify", "recompute and check the whole log", mir_verify_help, mir_cmd_verify, NULL},
    {"query", "entries by class, tenant, time and payload field", mir_query_help, mir_cmd_query,
     NULL},
    {"stats", "counts, refusals, scrubber hits, last checkpoint", mir_stats_help, mir_cmd_stats,
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/*
 * Whether the command may skip exai_init. query and stats hash nothing and use nothing of
 * libsodium. prove hashes short messages only (leaf data, nodes, one payload), all through
 * exai_sha256_multi, and uses nothing of libsodium but its base64 codec, which needs no
 * sodium_init. With the SHA extensions (exai_sha256_multi_width() > 1) those hashes never
 * reach OpenSSL, so prove needs neither OpenSSL's EVP_MD_fetch (loading the default
 * provider: about 0.5 ms of the command's 2.2 on the bench VM) nor sodium_init (CPU
 * probes). Without them, or under EXAI_SHA_GENERIC=1, prove starts as every command does. A
 * hash that does reach OpenSSL later fetches SHA-256 then (exai_sha256_init), after the
 * OPENSSL_init_crypto below.
 */
static bool light_start(const exai_cli_call *call)
{
	if (call->cmd->run == mir_cmd_query || call->cmd->run == mir_cmd_stats)
		return true;
	return call->cmd->run == mir_cmd_prove && exai_sha256_multi_width() > 1;
}

static int prepare(const exai_cli_call *call)
{
	exai_error e;

	/* OpenSSL serves exai-mirror only SHA-256 (exai/hash.h): no engines, providers or
	 * settings from the system's openssl.cnf, and no time spent reading it on every
	 * command. Before exai_init, whose EVP_MD_fetch would otherwise load the config. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1) {
		fprintf(stderr, "%s: OpenSSL failed to initialise\n", call->who);
		return EXAI_EXIT_USAGE;
	}
	if (light_start(call))
		return EXAI_EXIT_OK;
	if (exai_init(&e) == EXAI_OK)
		return EXAI_EXIT_OK;
	fprintf(stderr, "%s: %s\n", call->who, e.msg);
	return EXAI_EXIT_USAGE;
}

static const exai_cli_tool tool = {
    .name = "exai-mirror",
    .usage = "usage: exai-mirror [--config FILE] [--json] <command> [options]\n"
	     "       exai-mirror --version | --help | help COMMAND\n",
    .epilog = "Run 'exai-mirror <command> --help' for a command's options.\n"
	      "The config is --config FILE, else $EXAI_MIRROR_CONFIG, else "
	      "/etc/exai/mirror.yaml.\n"
	      "Exit status: 0 success, 1 a check failed or was refused, 2 usage or setup error.\n",
    .cmds = cmds,
    .global = mir_global_opts,
    .version = true,
    .prepare = prepare,
};

int main(int argc, char **argv)
{
	return exai_cli_dispatch(&tool, argc, argv);
}
