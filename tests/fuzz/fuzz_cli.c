/*
 * fuzz_cli: libFuzzer harness for the CLI layer (lib/core/cli.c). The input, split at NUL
 * bytes, is a command line (at most 32 arguments) for a test tool with global options, a
 * command with commands of its own, and a command that stops at its first argument; it goes
 * through exai_cli_dispatch with stdout and stderr sent to /dev/null. What a command sees
 * must keep the option syntax (exai/cli.h): a flag has no value, an option's value is never
 * empty and, given separately, never starts with '-' unless it is "-"; a positional argument
 * before "--" is never an option; the rest of a stopped parse is exactly the arguments after
 * it, NULL-terminated; and a command line ends only in exit 0, 2 or the command's own code.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

#define MAX_ARGS 32
#define RAN	 77 /* a command's exit code: it parsed to the end */

enum { O_FLAG, O_VALUE, O_JSON };

static const exai_cli_opt opts[] = {
    {"flag", false, O_FLAG}, {"value", true, O_VALUE}, {"json", false, O_JSON}, {NULL, false, 0}};

/* Whether argv[i] comes after a "--" of argv[1..i-1]. */
static int after_dashdash(char **argv, int i)
{
	for (int j = 1; j < i; j++)
		if (!strcmp(argv[j], "--"))
			return 1;
	return 0;
}

static int run_plain(const exai_cli_call *call, int argc, char **argv)
{
	exai_cli_parser p;
	const char *v;
	int id, i = 0;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		CHECK(id >= EXAI_CLI_ERROR && id <= O_JSON);
		if (id == EXAI_CLI_HELP || id == EXAI_CLI_ERROR) {
			CHECK(v == NULL && exai_cli_next(&p, &v) == id);
			return exai_cli_exit(id);
		}
		CHECK(p.next > i && p.next <= argc);
		if (id == O_FLAG || id == O_JSON) {
			CHECK(v == NULL);
		} else if (id == O_VALUE) {
			const char *last = argv[p.next - 1];
			CHECK(v && *v);
			if (!strncmp(last, "--value=", 8)) /* "--value=V" */
				CHECK(v == last + 8);
			else /* "--value V", V not option-like */
				CHECK(v == last && p.next >= 3 &&
				      !strcmp(argv[p.next - 2], "--value") &&
				      (v[0] != '-' || !v[1]));
		} else {
			CHECK(v == argv[p.next - 1]);
			CHECK(v[0] != '-' || !v[1] || after_dashdash(argv, p.next - 1));
		}
		i = p.next;
	}
	CHECK(exai_cli_next(&p, &v) == EXAI_CLI_END && v == NULL);
	return RAN;
}

static int run_stop(const exai_cli_call *call, int argc, char **argv)
{
	exai_cli_parser p;
	const char *v;
	char **rest;
	int id, n;

	exai_cli_parser_init(&p, call, opts, argc, argv, EXAI_CLI_STOP_AT_ARG);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		CHECK(id != EXAI_CLI_ARG);
		if (id < 0)
			return exai_cli_exit(id);
	}
	rest = exai_cli_rest(&p, &n);
	CHECK(n >= 0 && n < argc && rest[n] == NULL);
	CHECK(rest + n == argv + argc);
	if (n > 0 && !after_dashdash(argv, argc - n))
		CHECK(rest[0][0] != '-' || !rest[0][1]);
	return RAN;
}

static const exai_cli_cmd sub_cmds[] = {
    {"one", "one", "usage: f grp one\n", run_plain, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const exai_cli_opt global[] = {{"json", false, O_JSON}, {NULL, false, 0}};

static const exai_cli_tool sub = {
    .name = "f grp", .usage = "usage: f grp\n", .cmds = sub_cmds, .global = global};

static const exai_cli_cmd cmds[] = {
    {"plain", "plain", "usage: f plain\n", run_plain, NULL},
    {"stop", "stop", "usage: f stop\n", run_stop, NULL},
    {"grp", "grp", NULL, NULL, &sub},
    {NULL, NULL, NULL, NULL, NULL},
};

static const exai_cli_tool tool = {
    .name = "f", .usage = "usage: f\n", .cmds = cmds, .global = global, .version = true};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	int argc = 0, rc, out, err;
	size_t at = 0;

	CHECK(buf);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"f";
	while (at <= size && argc <= MAX_ARGS) {
		argv[argc++] = buf + at;
		at += strlen(buf + at) + 1;
	}
	argv[argc] = NULL;
	if (devnull < 0)
		CHECK((devnull = open("/dev/null", O_WRONLY)) >= 0);
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	CHECK(out >= 0 && err >= 0 && dup2(devnull, 1) == 1 && dup2(devnull, 2) == 2);
	rc = exai_cli_dispatch(&tool, argc, argv);
	fflush(stdout);
	fflush(stderr);
	CHECK(dup2(out, 1) == 1 && dup2(err, 2) == 2);
	close(out);
	close(err);
	CHECK(rc == EXAI_EXIT_OK || rc == EXAI_EXIT_USAGE || rc == RAN);
	free(buf);
	return 0;
}
