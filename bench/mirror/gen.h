/*
 * gen.h: the benchmark's records, shared by the batching client (client.c) and the bare
 * SQLite loop (sqlite_loop.c) so both sides store the same bytes. Record i is a telemetry
 * line of about 230 bytes with a body and three attributes; one in 100 carries an e-mail
 * address, so the scrubber has real work (it runs on every string either way).
 */
#ifndef BENCH_MIRROR_GEN_H
#define BENCH_MIRROR_GEN_H

#include <stdint.h>
#include <stdio.h>

#define GEN_LINE_MAX 512

/* Writes record @i (with its newline) into @out; returns its length. */
static inline int gen_record(uint64_t i, char out[GEN_LINE_MAX])
{
	static const char *const hosts[] = {"node-a", "node-b", "node-c", "node-d"};
	const char *who = i % 100 == 7 ? "contact ops-team@example.com" : "no contact";

	return snprintf(out, GEN_LINE_MAX,
			"{\"class\":\"telemetry\",\"time\":%llu,\"body\":{\"seq\":%llu,"
			"\"msg\":\"request served in %llu us by worker %llu, %s\","
			"\"status\":200},\"attributes\":{\"host\":\"%s\",\"service\":"
			"\"runtime\",\"route\":\"/v1/infer/%llu\"}}\n",
			(unsigned long long)(1796000000 + i / 1000), (unsigned long long)i,
			(unsigned long long)(i * 7919 % 100000), (unsigned long long)(i % 16), who,
			hosts[i % 4], (unsigned long long)(i % 1000));
}

#endif
