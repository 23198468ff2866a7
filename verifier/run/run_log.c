/*
 * run_log: bounded, merging tables of egress attempts and DNS lookups.
 *
 * Invariants: nattempts <= VF_RUN_MAX_ATTEMPTS, nlookups <= VF_RUN_MAX_LOOKUPS; no two entries
 * of a table are equal under their merge key. Lookups are linear over at most a few thousand
 * entries, which is cheap next to a packet's trip through the kernel.
 */
#include "run_log.h"

#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"

void vf_run_log_init(vf_run_log *log)
{
	memset(log, 0, sizeof(*log));
}

void vf_run_log_free(vf_run_log *log)
{
	if (!log)
		return;
	free(log->attempts);
	free(log->lookups);
	memset(log, 0, sizeof(*log));
}

static bool same_attempt(const vf_run_attempt *a, const vf_run_attempt *b)
{
	return a->family == b->family && a->proto == b->proto && !memcmp(a->dst, b->dst, 16) &&
	       a->has_port == b->has_port && a->port == b->port && a->has_icmp == b->has_icmp &&
	       a->icmp_type == b->icmp_type;
}

exai_status vf_run_log_packet(vf_run_log *log, const vf_pkt *p, exai_error *e)
{
	vf_run_attempt a;
	size_t i;
	exai_status st;

	memset(&a, 0, sizeof(a));
	a.family = p->family;
	a.proto = p->proto;
	memcpy(a.dst, p->dst, sizeof(a.dst));
	a.has_port = p->has_ports;
	a.port = p->has_ports ? p->dport : 0;
	a.has_icmp = p->has_icmp;
	a.icmp_type = p->has_icmp ? p->icmp_type : 0;
	for (i = 0; i < log->nattempts; i++)
		if (same_attempt(&log->attempts[i], &a)) {
			log->attempts[i].packets++;
			return EXAI_OK;
		}
	if (log->nattempts >= VF_RUN_MAX_ATTEMPTS) {
		log->lost_attempts++;
		return EXAI_OK;
	}
	st =
	    EXAI_GROW(&log->attempts, &log->capattempts, log->nattempts, 1, VF_RUN_MAX_ATTEMPTS, e);
	if (st != EXAI_OK)
		return exai_error_prefix(e, "run log");
	a.packets = 1;
	log->attempts[log->nattempts++] = a;
	return EXAI_OK;
}

exai_status vf_run_log_lookup(vf_run_log *log, const char *name, uint16_t qtype, const char *via,
			      exai_error *e)
{
	vf_run_lookup *l;
	size_t i;
	exai_status st;

	if (strlen(name) >= VF_DNS_TEXT_NAME || strlen(via) >= VF_RUN_VIA_TEXT)
		return exai_error_set(e, EXAI_EINTERNAL, "run log: lookup text too long");
	for (i = 0; i < log->nlookups; i++) {
		l = &log->lookups[i];
		if (l->qtype == qtype && !strcmp(l->name, name) && !strcmp(l->via, via)) {
			l->count++;
			return EXAI_OK;
		}
	}
	if (log->nlookups >= VF_RUN_MAX_LOOKUPS) {
		log->lost_lookups++;
		return EXAI_OK;
	}
	st = EXAI_GROW(&log->lookups, &log->caplookups, log->nlookups, 1, VF_RUN_MAX_LOOKUPS, e);
	if (st != EXAI_OK)
		return exai_error_prefix(e, "run log");
	l = &log->lookups[log->nlookups++];
	memset(l, 0, sizeof(*l));
	memcpy(l->name, name, strlen(name) + 1);
	memcpy(l->via, via, strlen(via) + 1);
	l->qtype = qtype;
	l->count = 1;
	return EXAI_OK;
}
