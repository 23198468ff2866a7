/*
 * run_dns: strict DNS query parsing and NXDOMAIN answers for the run mode's DNS sink.
 *
 * Invariants: no read past @len; a name never exceeds 255 wire octets or 63 octets per label;
 * every compression pointer targets an offset below the start of the name segment being read
 * and at or after the header, so the offsets strictly decrease and the walk ends after at most
 * len/2 jumps; record counts are capped before any record is walked; a parsed message has no
 * trailing bytes. The presentation form escapes every octet outside [A-Za-z0-9_*-] as "\DDD", so
 * names reach reports and terminals without control characters.
 */
#include "run_dns.h"

#include <stdio.h>
#include <string.h>

#define FLAG_QR	    0x8000u
#define FLAG_RD	    0x0100u
#define FLAG_RA	    0x0080u
#define OPCODE_MASK 0x7800u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static bool plain_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '*';
}

/* Appends one label in presentation form; @text has room by construction (see header). */
static void append_label(char *text, size_t *tlen, const uint8_t *label, size_t n)
{
	size_t i;

	if (*tlen > 0)
		text[(*tlen)++] = '.';
	for (i = 0; i < n; i++) {
		if (plain_char(label[i])) {
			text[(*tlen)++] = (char)label[i];
		} else {
			snprintf(text + *tlen, 5, "\\%03u", label[i]);
			*tlen += 4;
		}
	}
	text[*tlen] = '\0';
}

exai_status vf_dns_read_name(const uint8_t *msg, size_t len, size_t *off, char *text, uint8_t *wire,
			     size_t *wire_len, exai_error *e)
{
	size_t pos = *off, seg_start = *off, end = 0, wlen = 0, tlen = 0;
	bool jumped = false;

	text[0] = '\0';
	for (;;) {
		uint8_t c;

		if (pos >= len)
			return exai_error_set(e, EXAI_ESHORT, "name at offset %zu: truncated",
					      *off);
		c = msg[pos];
		if ((c & 0xC0) == 0xC0) {
			size_t target;

			if (pos + 1 >= len)
				return exai_error_set(
				    e, EXAI_ESHORT, "name at offset %zu: truncated pointer", *off);
			target = ((size_t)(c & 0x3F) << 8) | msg[pos + 1];
			if (target < VF_DNS_HEADER_LEN || target >= seg_start)
				return exai_error_set(e, EXAI_EFORMAT,
						      "name at offset %zu: pointer at %zu to %zu "
						      "does not point backwards into the body",
						      *off, pos, target);
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = seg_start = target;
			continue;
		}
		if (c & 0xC0)
			return exai_error_set(
			    e, EXAI_EFORMAT, "name at offset %zu: label type 0x%02x at %zu refused",
			    *off, c & 0xC0, pos);
		if (wlen + 1 + c > VF_DNS_WIRE_NAME)
			return exai_error_set(e, EXAI_ETOOBIG,
					      "name at offset %zu: longer than %d octets", *off,
					      VF_DNS_WIRE_NAME);
		if (c > len - pos - 1)
			return exai_error_set(e, EXAI_ESHORT,
					      "name at offset %zu: label at %zu truncated", *off,
					      pos);
		if (wire) {
			memcpy(wire + wlen, msg + pos, (size_t)c + 1);
		}
		wlen += (size_t)c + 1;
		if (c == 0)
			break;
		append_label(text, &tlen, msg + pos + 1, c);
		pos += (size_t)c + 1;
	}
	if (tlen == 0) {
		text[0] = '.';
		text[1] = '\0';
	}
	if (wire_len)
		*wire_len = wlen;
	*off = jumped ? end : pos + 1;
	return EXAI_OK;
}

static exai_status read_question(const uint8_t *msg, size_t len, size_t *off, vf_dns_question *q,
				 exai_error *e)
{
	exai_status st = vf_dns_read_name(msg, len, off, q->name, q->wire, &q->wire_len, e);

	if (st != EXAI_OK)
		return st;
	if (len - *off < 4)
		return exai_error_set(e, EXAI_ESHORT, "question at offset %zu: truncated", *off);
	q->qtype = get16(msg + *off);
	q->qclass = get16(msg + *off + 2);
	*off += 4;
	return EXAI_OK;
}

static exai_status skip_record(const uint8_t *msg, size_t len, size_t *off, exai_error *e)
{
	char text[VF_DNS_TEXT_NAME];
	size_t start = *off, rdlen;
	exai_status st = vf_dns_read_name(msg, len, off, text, NULL, NULL, e);

	if (st != EXAI_OK)
		return st;
	if (len - *off < 10)
		return exai_error_set(e, EXAI_ESHORT, "record at offset %zu: truncated", start);
	rdlen = get16(msg + *off + 8);
	*off += 10;
	if (rdlen > len - *off)
		return exai_error_set(e, EXAI_ESHORT, "record at offset %zu: rdata truncated",
				      start);
	*off += rdlen;
	return EXAI_OK;
}

exai_status vf_dns_parse(const uint8_t *msg, size_t len, vf_dns_query *out, exai_error *e)
{
	size_t off = VF_DNS_HEADER_LEN, i, records;
	exai_status st = EXAI_OK;

	memset(out, 0, sizeof(*out));
	if (len < VF_DNS_HEADER_LEN)
		return exai_error_set(e, EXAI_ESHORT, "message of %zu bytes: no header", len);
	if (len > VF_DNS_MAX_MSG)
		return exai_error_set(e, EXAI_ETOOBIG, "message of %zu bytes", len);
	out->id = get16(msg);
	out->flags = get16(msg + 2);
	out->opcode = (uint8_t)((out->flags & OPCODE_MASK) >> 11);
	out->is_response = (out->flags & FLAG_QR) != 0;
	out->qdcount = get16(msg + 4);
	records = (size_t)get16(msg + 6) + get16(msg + 8) + get16(msg + 10);
	if (out->qdcount > VF_DNS_MAX_QUESTION || records > VF_DNS_MAX_RECORDS) {
		st = exai_error_set(e, EXAI_ETOOBIG, "%zu questions and %zu records (caps %d, %d)",
				    out->qdcount, records, VF_DNS_MAX_QUESTION, VF_DNS_MAX_RECORDS);
		goto fail;
	}
	for (i = 0; i < out->qdcount; i++) {
		st = read_question(msg, len, &off, &out->q[i], e);
		if (st != EXAI_OK)
			goto fail;
	}
	for (i = 0; i < records; i++) {
		st = skip_record(msg, len, &off, e);
		if (st != EXAI_OK)
			goto fail;
	}
	if (off != len) {
		st = exai_error_set(e, EXAI_EFORMAT, "%zu trailing bytes at offset %zu", len - off,
				    off);
		goto fail;
	}
	return EXAI_OK;
fail:
	out->qdcount = 0;
	return st;
}

size_t vf_dns_build_answer(const vf_dns_query *q, uint8_t rcode, uint8_t *buf, size_t cap)
{
	uint16_t flags = (uint16_t)(FLAG_QR | FLAG_RA | (q->flags & (OPCODE_MASK | FLAG_RD)));
	size_t n = VF_DNS_HEADER_LEN;
	bool echo = q->qdcount > 0;

	if (cap < VF_DNS_HEADER_LEN)
		return 0;
	memset(buf, 0, VF_DNS_HEADER_LEN);
	put16(buf, q->id);
	put16(buf + 2, (uint16_t)(flags | (rcode & 0x0F)));
	if (echo) {
		if (q->q[0].wire_len > VF_DNS_WIRE_NAME || cap - n < q->q[0].wire_len + 4)
			return 0;
		put16(buf + 4, 1);
		memcpy(buf + n, q->q[0].wire, q->q[0].wire_len);
		n += q->q[0].wire_len;
		put16(buf + n, q->q[0].qtype);
		put16(buf + n + 2, q->q[0].qclass);
		n += 4;
	}
	return n;
}

const char *vf_dns_type_name(uint16_t qtype, char *buf, size_t cap)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
	    {1, "A"},	   {2, "NS"},	 {5, "CNAME"},	{6, "SOA"},    {12, "PTR"},
	    {13, "HINFO"}, {15, "MX"},	 {16, "TXT"},	{28, "AAAA"},  {33, "SRV"},
	    {35, "NAPTR"}, {41, "OPT"},	 {43, "DS"},	{46, "RRSIG"}, {48, "DNSKEY"},
	    {52, "TLSA"},  {64, "SVCB"}, {65, "HTTPS"}, {252, "AXFR"}, {255, "ANY"},
	    {257, "CAA"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == qtype)
			return names[i].name;
	snprintf(buf, cap, "TYPE%u", qtype);
	return buf;
}
