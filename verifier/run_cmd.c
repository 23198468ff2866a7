/*
 * run_cmd: the `airgap-verifier run` front end (work in progress).
 */
#include <stdio.h>

#include "commands.h"

int vf_cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("airgap-verifier run: not implemented yet\n", stderr);
	return 2;
}
