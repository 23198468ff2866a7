/*
 * fuzz_mirror: libFuzzer harness for exai-mirror's two hand-checked readers of hostile bytes.
 * Byte 0 even: the rest is one ingest line for mir_record_parse (mirror/record.c) under a fixed
 * config; it must refuse with a message (EFORMAT, EREFUSED) or yield a record of a configured
 * class whose payload is canonical JSON naming that class and the peer's tenant. Byte 0 odd: the
 * rest is a checkpoint note for mir_checkpoint_open (mirror/note.c) with the harness's fixed key
 * (seed 32 x 0x42, name fuzz.example/log); if it is accepted, signing its size and root again
 * must give the same body.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/secmem.h"
#include "note.h"
#include "record.h"
#include "verify_rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static mir_config cfg;
static mir_scrubber *scrubber;
static mir_logkey key;
static uint8_t sk[64];

static void init(void)
{
	static bool done;
	uint8_t seed[32];
	exai_error e;

	if (done)
		return;
	done = true;
	CHECK(exai_init(&e) == EXAI_OK);
	CHECK(mir_scrubber_new(NULL, &scrubber, &e) == EXAI_OK);
	cfg.max_line = 65536;
	cfg.nclasses = 3;
	strcpy(cfg.classes[0].name, "audit");
	cfg.classes[0].retention_days = 2557;
	strcpy(cfg.classes[1].name, "telemetry");
	cfg.classes[1].retention_days = 30;
	strcpy(cfg.classes[2].name, "prompt");
	memset(seed, 0x42, sizeof(seed));
	crypto_sign_seed_keypair(key.pub.pk, sk, seed);
	key.sk = sk;
	strcpy(key.pub.name, "fuzz.example/log");
	/* key id: SHA-256("fuzz.example/log\n\x01" || pk)[:4], as note.c computes it */
	{
		uint8_t buf[64], d[32];
		size_t n = strlen(key.pub.name);
		memcpy(buf, key.pub.name, n);
		buf[n] = '\n';
		buf[n + 1] = 1;
		memcpy(buf + n + 2, key.pub.pk, 32);
		crypto_hash_sha256(d, buf, n + 34);
		key.pub.id =
		    (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	}
}

static void record(const char *line, size_t len)
{
	mir_record r;
	exai_error e;
	exai_status rc =
	    mir_record_parse(&cfg, scrubber, "tenant-a", 1764460800123, line, len, &r, &e);
	json_t *p;

	if (rc) {
		CHECK((rc == EXAI_EFORMAT || rc == EXAI_EREFUSED || rc == EXAI_ENOMEM) && e.msg[0]);
		return;
	}
	CHECK(r.cls >= cfg.classes && r.cls < cfg.classes + cfg.nclasses);
	if (r.dropped) {
		CHECK(r.cls->retention_days == 0 && !r.payload);
		return;
	}
	CHECK(r.payload && strlen(r.payload) == r.payload_len);
	p = json_loadb(r.payload, r.payload_len, JSON_REJECT_DUPLICATES, NULL);
	CHECK(p);
	CHECK(!strcmp(json_string_value(json_object_get(p, "class")), r.cls->name));
	CHECK(!strcmp(json_string_value(json_object_get(p, "tenant")), "tenant-a"));
	CHECK(json_integer_value(json_object_get(p, "time")) == r.time);
	/* The payload is canonical: jansson's own compact, key-sorted dump of it is the same
	 * bytes, and verify's byte-wise columns check (verify_rows.c) agrees with the parse. */
	{
		char *again = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
		CHECK(again && !strcmp(again, r.payload));
		free(again);
	}
	CHECK(mir_payload_matches((const uint8_t *)r.payload, r.payload_len, r.cls->name,
				  strlen(r.cls->name), "tenant-a", 8, r.time, r.ingest_ms));
	json_decref(p);
	mir_record_clear(&r);
}

static void note(const char *text, size_t len)
{
	uint64_t sz = 0;
	mir_hash root;
	char *again = NULL;
	exai_error e;
	const char *blank;

	if (mir_checkpoint_open(text, len, &key.pub, &sz, root, &e)) {
		CHECK(e.msg[0]);
		return;
	}
	CHECK(mir_checkpoint_sign(&key, sz, root, &again, &e) == EXAI_OK);
	blank = strstr(again, "\n\n");
	CHECK(blank && !memcmp(again, text, (size_t)(blank - again) + 2));
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	init();
	if (!(data[0] & 1))
		record((const char *)data + 1, size - 1);
	else
		note((const char *)data + 1, size - 1);
	return 0;
}
