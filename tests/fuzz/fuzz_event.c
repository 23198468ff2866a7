/*
 * fuzz_event: libFuzzer harness for the audit event line (lib/core/event.c). Byte 0 even: the
 * rest is a line for exai_event_parse, which must refuse it with a message or accept exactly
 * what exai_event_line makes of the result (one event, one line). Byte 0 odd: the rest is an
 * error message for exai_event_text, whose output must be valid UTF-8 within its buffer, and
 * an event with that reason must encode within EXAI_EVENT_LINE_MAX and parse back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exai/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static exai_event ev, back;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	exai_error e;
	char *line;

	if (!size)
		return 0;
	if (!(data[0] & 1)) {
		exai_status rc = exai_event_parse((const char *)data + 1, size - 1, &ev, &e);
		if (rc) {
			CHECK(rc == EXAI_EFORMAT && e.msg[0]);
			return 0;
		}
		CHECK((line = exai_event_line(&ev, &e)) != NULL);
		CHECK(strlen(line) == size - 1 && !memcmp(line, data + 1, size - 1));
		free(line);
		return 0;
	}
	char *text = malloc(size);
	CHECK(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0'; /* an embedded NUL just ends the message, as in C */
	memset(&ev, 0, sizeof(ev));
	strcpy(ev.source, "fuzz");
	strcpy(ev.op, "apply");
	strcpy(ev.outcome, "failed");
	exai_event_text(ev.reason,
			(size_t)(data[0] >> 1) + 1 < sizeof(ev.reason) && data[0] > 1
			    ? (size_t)(data[0] >> 1) + 1
			    : sizeof(ev.reason),
			text);
	free(text);
	CHECK(strlen(ev.reason) <= EXAI_EVENT_REASON_MAX);
	CHECK((line = exai_event_line(&ev, &e)) != NULL); /* valid UTF-8, or this fails */
	CHECK(strlen(line) <= EXAI_EVENT_LINE_MAX);
	CHECK(exai_event_parse(line, strlen(line), &back, &e) == EXAI_OK);
	CHECK(!strcmp(back.reason, ev.reason));
	free(line);
	return 0;
}
