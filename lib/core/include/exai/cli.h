/*
 * cli: the command line every tool keeps (README, "Exit codes and errors"), and the machinery
 * that keeps it: one command table with its dispatcher, one option parser.
 *   exit 0  done (verified, applied, clean)
 *   exit 1  a check failed or was refused (nothing changed)
 *   exit 2  usage or setup error (bad option, missing file, bad config)
 *   (a tool documents its codes above 2: exai-update 3 and 4, signals 128+N)
 * A usage error is one line on stderr, "<tool> <command>: <what is wrong>", then a hint
 * "(see '<tool> <command> --help')", and with --json anywhere on the command line also one
 * JSON document on stdout:
 *   {"ok":false,"error":{"code":"EINVAL","message":"<what is wrong>"}}
 * tests/cli/cli_conformance.sh holds every tool to it; tests/unit/lib/test_cli.c the parser.
 *
 * Option syntax (the same in every tool and command):
 *   --name            a flag; "--name=VALUE" is refused (a flag takes no value)
 *   --name VALUE      an option with a value, or "--name=VALUE"; the value may not be empty,
 *                     and a separate VALUE that starts with '-' (but is not "-" alone) is
 *                     refused as one that looks like an option: write "--name=-x" for it
 *   --help, -h        the command's own help, on stdout, exit 0
 *   --                ends the options: every argument after it is positional
 *   anything else starting with '-' (but "-" alone) is an unknown option, refused with the
 *   nearest known name ("did you mean '--json'?"); names are matched exactly (no prefixes).
 * Positional arguments may come before, between and after options; they keep their order.
 * The parser holds its state in its struct (no optind): parsers may nest and repeat.
 */
#ifndef EXAI_CLI_H
#define EXAI_CLI_H

#include <stdbool.h>

#include "exai/error.h"

enum { EXAI_EXIT_OK = 0, EXAI_EXIT_FAIL = 1, EXAI_EXIT_USAGE = 2 };

/* Whether "--json" is one of the arguments (before "--", which ends the tool's own options). */
bool exai_cli_json_requested(int argc, char *const argv[]);

/* A setting every tool takes the same way: the option's value when given (non-empty), else
 * the environment variable @env when set and non-empty, else @dflt. */
const char *exai_cli_setting(const char *opt, const char *env, const char *dflt);

/* Prints the usage error "@who: <message>" (and "(@hint)" on its own line when given) to
 * stderr, with @json also the JSON error document on stdout; returns EXAI_EXIT_USAGE. */
int exai_cli_usage(const char *who, bool json, const char *hint, const char *fmt, ...)
    EXAI_PRINTF(4, 5);

/* An option: "--@name" (a flag, @value false) or "--@name VALUE" (@value true). @id (>= 0)
 * is what exai_cli_next returns for it. A table ends with an entry whose @name is NULL and
 * holds at most EXAI_CLI_OPTS_MAX options; "help" is built in and never listed. */
typedef struct exai_cli_opt {
	const char *name;
	bool value;
	int id;
} exai_cli_opt;
#define EXAI_CLI_OPTS_MAX 64

typedef struct exai_cli_call exai_cli_call;

struct exai_cli_tool;

/* A command: its @name, a one-line @summary for the tool's help, its whole @help (starting
 * "usage: <tool> <name>", printed on stdout by "<tool> <name> --help" and "<tool> help
 * <name>") and the function that runs it, given argv[0] = @name and the arguments after it
 * (with the tool's options given before the command moved after argv[0]). @run returns the
 * process exit code. A command with commands of its own ("exai-bundle root init") has @sub
 * instead of @help and @run: the arguments from its name on are dispatched to @sub, and
 * its help is @sub's. A table ends with an entry whose @name is NULL. */
typedef struct exai_cli_cmd {
	const char *name;
	const char *summary;
	const char *help;
	int (*run)(const exai_cli_call *call, int argc, char **argv);
	const struct exai_cli_tool *sub;
} exai_cli_cmd;

/* A tool (or the @sub of a command with commands of its own, named "exai-bundle root"):
 * @name as it names itself in messages; @usage, the first lines of its help ("usage: ...");
 * @epilog, the text after the list of commands (NULL: none). @global: the options that may also
 * come before the command (NULL: none); each command's own table must list them too, as they are
 * handed to it after the command's name. @version: answers --version (exai_version_print).
 * @prepare (NULL: none) runs before a command does, never for help or version; a nonzero
 * return is the exit code, and the command does not run. */
typedef struct exai_cli_tool {
	const char *name;
	const char *usage;
	const char *epilog;
	const exai_cli_cmd *cmds;
	const exai_cli_opt *global;
	bool version;
	int (*prepare)(const exai_cli_call *call);
} exai_cli_tool;

/* What a command is run with: its tool and table entry, @who ("<tool> <command>", the prefix
 * of its messages) and whether --json is on the command line (its errors are then JSON). */
struct exai_cli_call {
	const exai_cli_tool *tool;
	const exai_cli_cmd *cmd;
	char who[96];
	bool json;
};

/* Runs the command line @argv (argv[0]: the tool) against @tool's table:
 *   TOOL --help | -h | help        the tool's help (usage, commands with summaries, epilog)
 *   TOOL help CMD                  CMD's help
 *   TOOL --version                 the version and build details (when @tool->version)
 *   TOOL [GLOBAL-OPTIONS] CMD ...  CMD's run, after @tool->prepare
 * on stdout with exit 0, or CMD's exit code. A missing command, an unknown one (with the
 * nearest name: "did you mean 'verify'?"), an unknown or malformed option before the command
 * are usage errors (exai_cli_usage, exit EXAI_EXIT_USAGE). Reorders @argv in place: the
 * global options given before CMD are moved after it. */
int exai_cli_dispatch(const exai_cli_tool *tool, int argc, char **argv);

/* The usage error "@call->who: <message>" with the hint "see '<who> --help'" (text and, with
 * --json, JSON), for a command's own checks of its arguments; returns EXAI_EXIT_USAGE. */
int exai_cli_refuse(const exai_cli_call *call, const char *fmt, ...) EXAI_PRINTF(2, 3);

/* Parsing flag: the first positional argument, or "--", ends the options; it and everything
 * after it are the rest (exai_cli_rest), a command line of its own (airgap-verifier run). */
#define EXAI_CLI_STOP_AT_ARG 1u

/* What exai_cli_next returns besides an option's id. */
enum {
	EXAI_CLI_END = -1,   /* every argument has been seen */
	EXAI_CLI_ARG = -2,   /* a positional argument, in *value */
	EXAI_CLI_HELP = -3,  /* --help: the command's help has been printed; exit EXAI_EXIT_OK */
	EXAI_CLI_ERROR = -4, /* a refusal has been reported; exit EXAI_EXIT_USAGE */
};

/* A parse of one command's arguments (argv[0]: the command) against an option table. */
typedef struct exai_cli_parser {
	const exai_cli_opt *opts;
	int argc;
	char **argv;
	int next;	  /* index of the next argument to look at */
	unsigned flags;	  /* EXAI_CLI_STOP_AT_ARG */
	bool only_args;	  /* "--" has been seen */
	int ended;	  /* 0, or what every later exai_cli_next returns */
	const char *help; /* printed on --help: the command's (NULL: only returns EXAI_CLI_HELP) */
	const char *who;  /* the prefix of every refusal */
	bool json;	  /* refusals also as a JSON document */
	char hint[128];	  /* the hint of every refusal */
} exai_cli_parser;

/* Starts parsing @argv (@argc entries, argv[0] the command: never looked at) of @call's
 * command against @opts, with @flags. */
void exai_cli_parser_init(exai_cli_parser *p, const exai_cli_call *call, const exai_cli_opt *opts,
			  int argc, char **argv, unsigned flags);

/* The next argument: an option's id (*@value its value, NULL for a flag), EXAI_CLI_ARG
 * (*@value the argument), EXAI_CLI_END, EXAI_CLI_HELP or EXAI_CLI_ERROR (both already
 * reported: the caller returns the exit code, EXAI_EXIT_OK or EXAI_EXIT_USAGE). After
 * EXAI_CLI_ERROR, EXAI_CLI_HELP or EXAI_CLI_END it keeps returning that. */
int exai_cli_next(exai_cli_parser *p, const char **value);

/* With EXAI_CLI_STOP_AT_ARG, after EXAI_CLI_END: the arguments from the first positional
 * one (or after "--") to the end, *@n of them (0 if there are none: @argv's NULL end). */
char **exai_cli_rest(const exai_cli_parser *p, int *n);

/* The exit code for a return of exai_cli_next that ends a parse early: EXAI_EXIT_OK for
 * EXAI_CLI_HELP, EXAI_EXIT_USAGE for EXAI_CLI_ERROR; anything else is an exit code already
 * and returned as it is. A command's own parse function may so return either. */
int exai_cli_exit(int next);

#endif
