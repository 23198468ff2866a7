/*
 * cmd_init.c: 'exai-egress init', the provisioning step of the ratchet record (ratchet.h).
 * Run once: it creates the state directory (0700) and the record, and refuses when a record
 * is already there. When pins survive (a record lost while the programs stay attached), the
 * record starts at the pinned state's sequence rather than 0, so re-provisioning without a
 * reboot re-opens nothing.
 */
#include <stdio.h>
#include <string.h>

#include "egress_cli.h"
#include "exai/json.h"
#include "pins.h"
#include "ratchet.h"

const char egress_init_help[] =
    "usage: exai-egress init [--state-dir DIR] [--pin-dir DIR] [--json]\n"
    "\n"
    "Provisioning, once: creates the state directory DIR (default " EGRESS_DEFAULT_STATE_DIR ",\n"
    "mode 0700) and in it the ratchet record DIR/" EGRESS_RATCHET_FILE
    ", which every signed apply and\n"
    "reload reads and raises: the sequence below which a signed policy is refused, kept\n"
    "across reboots and detach. Without a record, signed policies are refused. The record\n"
    "starts at 0, or at the pinned policy's sequence when pins exist. Refused (exit 1) when\n"
    "a record already exists; running init again after a record was lost re-opens replays\n"
    "of older signed policies down to what is pinned: an operator decision.\n";

enum { O_STATE_DIR = EGRESS_O_FIRST_OWN };

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"state-dir", true, O_STATE_DIR},
				    {NULL, false, 0}};

/* The pinned state's sequence, 0 when nothing is pinned (or it cannot be read: said). */
static uint64_t pinned_sequence(const exai_cli_call *call, const char *pin_dir)
{
	egress_pins pins;
	struct egress_state s = {0};
	exai_error e = {0};

	egress_pins_init(&pins, pin_dir);
	if (!egress_pins_exist(pin_dir))
		return 0;
	if (egress_pins_open(pin_dir, &pins, &e) != EXAI_OK ||
	    egress_state_get(&pins, &s, &e) != EXAI_OK) {
		fprintf(stderr,
			"%s: note: the pinned state cannot be read (%s): the record "
			"starts at 0\n",
			call->who, e.msg);
		s.sequence = 0;
	}
	egress_pins_close(&pins);
	return s.sequence;
}

int egress_cmd_init(const exai_cli_call *call, int argc, char **argv)
{
	const char *v, *dir = NULL, *pin_dir = NULL;
	char path[EGRESS_RATCHET_PATH_MAX];
	bool json = call->json;
	exai_cli_parser p;
	exai_error e = {0};
	uint64_t seq;
	int c;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			json = true;
		else if (c == EGRESS_O_PIN_DIR)
			pin_dir = v;
		else if (c == O_STATE_DIR)
			dir = v;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			return exai_cli_exit(c);
	}
	dir = egress_state_dir(dir);
	if (egress_ratchet_path(dir, path, sizeof(path), &e) != EXAI_OK)
		return egress_fail(call, json, &e, EXAI_EXIT_USAGE);
	seq = pinned_sequence(call, egress_pin_dir(pin_dir));
	if (egress_ratchet_init(dir, seq, &e) != EXAI_OK)
		return egress_fail(call, json, &e, EXAI_EXIT_FAIL);
	if (json) {
		json_t *o = json_object();

		exai_json_set(o, "ok", json_true());
		exai_json_set(o, "record", json_string(path));
		exai_json_set(o, "sequence", json_integer((json_int_t)seq));
		(void)exai_json_emit(o, stdout);
	} else {
		printf("exai-egress init: ratchet record %s created, sequence %llu%s\n", path,
		       (unsigned long long)seq, seq ? " (the pinned policy's)" : "");
	}
	fprintf(stderr,
		"%s: provisioned %s: signed policies are checked against it from now on (a "
		"re-init after a loss re-opens replays of older signed policies)\n",
		call->who, path);
	return EXAI_EXIT_OK;
}
