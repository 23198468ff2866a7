/*
 * policy.c: parsing and checking the egress policy YAML (policy.h has the format). Nothing
 * here touches the kernel: a policy that parses is complete and canonical, and the caller
 * compiles it (compile.c) before anything running is changed.
 */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/text.h"
#include "exai/yaml.h"

void egress_policy_free(egress_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nworkloads; i++)
		free(p->workloads[i].rules);
	free(p->workloads);
	free(p);
}

exai_status egress_cgroup2_root(char *out, size_t size, exai_error *e)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	exai_status st = EXAI_ENOENT;

	if (!f)
		return exai_error_sys(e, EXAI_EIO, "open /proc/mounts");
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") == 0 && strlen(m->mnt_dir) < size) {
			snprintf(out, size, "%s", m->mnt_dir);
			st = EXAI_OK;
			break;
		}
	}
	endmntent(f);
	if (st != EXAI_OK)
		exai_error_set(e, st, "no cgroup2 file system is mounted (see /proc/mounts)");
	return st;
}

exai_status egress_cgroup_id(const char *path, uint64_t *out, exai_error *e)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	int mount_id;

	memset(&h, 0, sizeof(h));
	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) != 0)
		return exai_error_sys(e, EXAI_EIO, "cgroup %s", path);
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return exai_error_set(e, EXAI_EINVAL, "cgroup %s: not a cgroup2 directory", path);
	memcpy(out, h.fh.f_handle, sizeof(*out));
	return EXAI_OK;
}

static bool host_bits_zero(const uint8_t *a, unsigned plen, unsigned bits)
{
	for (unsigned b = plen; b < bits; b++)
		if (a[b / 8] & (0x80u >> (b % 8)))
			return false;
	return true;
}

bool egress_parse_cidr(const char *s, egress_rule *r, const char **why)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned bits;
	uint64_t plen;

	*why = "not an IPv4 or IPv6 address or CIDR";
	if (alen == 0 || alen >= sizeof(buf))
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(r->addr, 0, sizeof(r->addr));
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = 4;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(r->addr, mapped, sizeof(mapped)) == 0) {
			*why =
			    "an IPv4-mapped IPv6 address is decided as IPv4: write the IPv4 form";
			return false;
		}
		r->family = 6;
		bits = 128;
	} else {
		return false;
	}
	plen = bits;
	if (slash && !exai_parse_u64_canon(slash + 1, &plen)) {
		*why = "the prefix length is not a number";
		return false;
	}
	if (plen > bits) {
		*why = "the prefix length is too long for the address";
		return false;
	}
	if (!host_bits_zero(r->addr, (unsigned)plen, bits)) {
		*why = "host bits are set after the prefix length";
		return false;
	}
	r->plen = (uint8_t)plen;
	return true;
}

struct parse {
	exai_yaml *y;
	egress_policy *p;
	const char *cgroot;
	exai_error *e;
};

static exai_status parse_port_range(struct parse *ps, exai_ynode *n, struct egress_ports *out)
{
	const char *s = exai_yaml_scalar(n);
	const char *dash;
	char lo[16];
	uint64_t a, b;

	if (!s)
		return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
				       "a port is a number or a range LOW-HIGH");
	dash = strchr(s, '-');
	if (dash) {
		size_t n1 = (size_t)(dash - s);

		if (n1 == 0 || n1 >= sizeof(lo))
			goto bad;
		memcpy(lo, s, n1);
		lo[n1] = '\0';
		if (!exai_parse_u64_canon(lo, &a) || !exai_parse_u64_canon(dash + 1, &b))
			goto bad;
	} else {
		if (!exai_parse_u64_canon(s, &a))
			goto bad;
		b = a;
	}
	if (a < 1 || b > 65535 || a > b)
		return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
				       "port '%s' is out of range (1-65535, LOW <= HIGH)", s);
	out->lo = (uint16_t)a;
	out->hi = (uint16_t)b;
	return EXAI_OK;
bad:
	return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
			       "port '%s' is not a number or a range LOW-HIGH", s);
}

/* ports: absent or "any" (every port), one port or range, or a list of them. */
static exai_status parse_ports(struct parse *ps, exai_ynode *rule, egress_rule *r)
{
	exai_ynode *n = exai_yaml_get(ps->y, rule, "ports");
	size_t count;

	r->nranges = 1;
	r->r[0].lo = 0;
	r->r[0].hi = 65535;
	if (!n || (exai_yaml_is_scalar(n) && strcmp(exai_yaml_scalar(n), "any") == 0))
		return EXAI_OK;
	if (r->proto != EGRESS_PROTO_TCP && r->proto != EGRESS_PROTO_UDP)
		return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
				       "ports need protocol tcp or udp");
	if (!exai_yaml_is_seq(n)) {
		r->nranges = 1;
		return parse_port_range(ps, n, &r->r[0]);
	}
	count = exai_yaml_seq_len(n);
	if (count == 0)
		return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
				       "an empty list of ports allows nothing: drop the rule");
	if (count > EGRESS_MAX_RANGES)
		return exai_yaml_error(ps->y, n, ps->e, EXAI_ETOOBIG,
				       "%zu port ranges: at most %d per rule", count,
				       EGRESS_MAX_RANGES);
	r->nranges = (uint8_t)count;
	for (size_t i = 0; i < count; i++) {
		exai_status st = parse_port_range(ps, exai_yaml_seq_at(ps->y, n, i), &r->r[i]);

		if (st != EXAI_OK)
			return st;
	}
	return EXAI_OK;
}

static exai_status parse_proto(struct parse *ps, exai_ynode *rule, egress_rule *r)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} protos[] = {{"tcp", EGRESS_PROTO_TCP},
		      {"udp", EGRESS_PROTO_UDP},
		      {"icmp", EGRESS_PROTO_ICMP},
		      {"any", EGRESS_PROTO_ANY}};
	const char *s = NULL;
	exai_status st = exai_yaml_get_str(ps->y, rule, "protocol", true, &s, ps->e);

	if (st != EXAI_OK)
		return st;
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (strcmp(s, protos[i].name) == 0) {
			r->proto = protos[i].proto;
			return EXAI_OK;
		}
	}
	return exai_yaml_error(ps->y, exai_yaml_get(ps->y, rule, "protocol"), ps->e, EXAI_EFORMAT,
			       "protocol '%s': one of tcp, udp, icmp, any", s);
}

static exai_status parse_rule(struct parse *ps, exai_ynode *rule, egress_rule *r)
{
	static const char *const keys[] = {"cidr", "protocol", "ports", NULL};
	const char *cidr = NULL;
	const char *why = NULL;
	exai_status st;

	memset(r, 0, sizeof(*r));
	r->line = exai_yaml_line(rule);
	r->col = exai_yaml_col(rule);
	if ((st = exai_yaml_expect_map(ps->y, rule, "a rule", ps->e)) != EXAI_OK ||
	    (st = exai_yaml_check_keys(ps->y, rule, keys, ps->e)) != EXAI_OK ||
	    (st = exai_yaml_get_str(ps->y, rule, "cidr", true, &cidr, ps->e)) != EXAI_OK)
		return st;
	if (!egress_parse_cidr(cidr, r, &why))
		return exai_yaml_error(ps->y, exai_yaml_get(ps->y, rule, "cidr"), ps->e,
				       EXAI_EFORMAT, "cidr '%s': %s", cidr, why);
	if ((st = parse_proto(ps, rule, r)) != EXAI_OK)
		return st;
	return parse_ports(ps, rule, r);
}

static exai_status resolve_cgroup(struct parse *ps, exai_ynode *n, const char *path,
				  egress_workload *w)
{
	char joined[EGRESS_CGROUP_PATH_MAX];
	char *real = NULL;
	exai_error sub = {0};
	size_t rootlen = strlen(ps->cgroot);
	exai_status st = EXAI_OK;
	int len;

	if (path[0] == '/')
		len = snprintf(joined, sizeof(joined), "%s", path);
	else
		len = snprintf(joined, sizeof(joined), "%s/%s", ps->cgroot, path);
	if (len < 0 || (size_t)len >= sizeof(joined))
		return exai_yaml_error(ps->y, n, ps->e, EXAI_ETOOBIG, "cgroup path is too long");
	real = realpath(joined, NULL);
	if (!real)
		return exai_yaml_error(ps->y, n, ps->e, EXAI_ENOENT, "cgroup %s: %s", joined,
				       strerror(errno));
	if (strncmp(real, ps->cgroot, rootlen) != 0 || (real[rootlen] != '/' && real[rootlen]))
		st = exai_yaml_error(ps->y, n, ps->e, EXAI_EUNSAFE,
				     "cgroup %s is not under the cgroup2 mount %s", real,
				     ps->cgroot);
	else if (strlen(real) >= sizeof(w->cgroup))
		st = exai_yaml_error(ps->y, n, ps->e, EXAI_ETOOBIG, "cgroup path is too long");
	else if (egress_cgroup_id(real, &w->cgid, &sub) != EXAI_OK)
		st = exai_yaml_error(ps->y, n, ps->e, EXAI_EINVAL, "%s", sub.msg);
	if (st == EXAI_OK)
		snprintf(w->cgroup, sizeof(w->cgroup), "%s", real);
	free(real);
	return st;
}

static exai_status check_unique(struct parse *ps, exai_ynode *n, size_t upto)
{
	const egress_workload *w = &ps->p->workloads[upto];

	for (size_t i = 0; i < upto; i++) {
		if (strcmp(ps->p->workloads[i].name, w->name) == 0)
			return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
					       "workload '%s' is named twice", w->name);
		if (ps->p->workloads[i].cgid == w->cgid)
			return exai_yaml_error(ps->y, n, ps->e, EXAI_EFORMAT,
					       "cgroup %s is already workload '%s'", w->cgroup,
					       ps->p->workloads[i].name);
	}
	return EXAI_OK;
}

static exai_status parse_rules(struct parse *ps, exai_ynode *wn, egress_workload *w)
{
	exai_ynode *rules = NULL;
	exai_status st = exai_yaml_get_seq(ps->y, wn, "rules", false, &rules, ps->e);
	size_t n = rules ? exai_yaml_seq_len(rules) : 0;

	if (st != EXAI_OK || n == 0)
		return st; /* no rules: everything denied */
	if (n > EGRESS_POLICY_MAX_RULES - ps->p->nrules)
		return exai_yaml_error(ps->y, rules, ps->e, EXAI_ETOOBIG,
				       "more than %u rules in the policy", EGRESS_POLICY_MAX_RULES);
	w->rules = calloc(n, sizeof(*w->rules));
	if (!w->rules)
		return exai_error_set(ps->e, EXAI_ENOMEM, "out of memory for %zu rules", n);
	for (size_t i = 0; i < n; i++) {
		st = parse_rule(ps, exai_yaml_seq_at(ps->y, rules, i), &w->rules[i]);
		if (st != EXAI_OK)
			return st;
		w->nrules++;
	}
	ps->p->nrules += n;
	return EXAI_OK;
}

static exai_status parse_workload(struct parse *ps, exai_ynode *wn, size_t idx)
{
	static const char *const keys[] = {"name", "cgroup", "rules", NULL};
	egress_workload *w = &ps->p->workloads[idx];
	const char *name = NULL, *path = NULL;
	exai_status st;

	if ((st = exai_yaml_expect_map(ps->y, wn, "a workload", ps->e)) != EXAI_OK ||
	    (st = exai_yaml_check_keys(ps->y, wn, keys, ps->e)) != EXAI_OK ||
	    (st = exai_yaml_get_str(ps->y, wn, "name", true, &name, ps->e)) != EXAI_OK ||
	    (st = exai_yaml_get_str(ps->y, wn, "cgroup", true, &path, ps->e)) != EXAI_OK)
		return st;
	if (!exai_name_valid(name) || strlen(name) >= sizeof(w->name))
		return exai_yaml_error(ps->y, exai_yaml_get(ps->y, wn, "name"), ps->e, EXAI_EFORMAT,
				       "workload name '%s' is not a valid name", name);
	snprintf(w->name, sizeof(w->name), "%s", name);
	if ((st = resolve_cgroup(ps, exai_yaml_get(ps->y, wn, "cgroup"), path, w)) != EXAI_OK ||
	    (st = check_unique(ps, wn, idx)) != EXAI_OK)
		return st;
	return parse_rules(ps, wn, w);
}

static exai_status parse_header(struct parse *ps, exai_ynode *root)
{
	static const char *const keys[] = {"version",  "default",   "mode",
					   "sequence", "workloads", NULL};
	const char *def = NULL, *mode = NULL;
	uint64_t version = 0;
	exai_status st;

	if ((st = exai_yaml_expect_map(ps->y, root, "the policy", ps->e)) != EXAI_OK ||
	    (st = exai_yaml_check_keys(ps->y, root, keys, ps->e)) != EXAI_OK ||
	    (st = exai_yaml_get_u64(ps->y, root, "version", true, 1, 1, &version, ps->e)) !=
		EXAI_OK ||
	    (st = exai_yaml_get_str(ps->y, root, "default", true, &def, ps->e)) != EXAI_OK ||
	    (st = exai_yaml_get_str(ps->y, root, "mode", false, &mode, ps->e)) != EXAI_OK)
		return st;
	if ((st = exai_yaml_get_u64(ps->y, root, "sequence", false, 1, UINT64_MAX, &ps->p->sequence,
				    ps->e)) != EXAI_OK)
		return st;
	if (strcmp(def, "deny") != 0)
		return exai_yaml_error(ps->y, exai_yaml_get(ps->y, root, "default"), ps->e,
				       EXAI_EFORMAT, "default '%s': the only default is deny", def);
	ps->p->mode = EGRESS_MODE_ENFORCE;
	if (mode && strcmp(mode, "audit") == 0)
		ps->p->mode = EGRESS_MODE_AUDIT;
	else if (mode && strcmp(mode, "enforce") != 0)
		return exai_yaml_error(ps->y, exai_yaml_get(ps->y, root, "mode"), ps->e,
				       EXAI_EFORMAT, "mode '%s': enforce or audit", mode);
	return EXAI_OK;
}

static exai_status parse_doc(struct parse *ps)
{
	exai_ynode *root = exai_yaml_root(ps->y);
	exai_ynode *wl = NULL;
	size_t n;
	exai_status st;

	if ((st = parse_header(ps, root)) != EXAI_OK ||
	    (st = exai_yaml_get_seq(ps->y, root, "workloads", true, &wl, ps->e)) != EXAI_OK)
		return st;
	n = exai_yaml_seq_len(wl);
	if (n == 0)
		return exai_yaml_error(ps->y, wl, ps->e, EXAI_EFORMAT,
				       "no workloads: nothing to enforce");
	if (n > EGRESS_MAX_WORKLOADS)
		return exai_yaml_error(ps->y, wl, ps->e, EXAI_ETOOBIG, "%zu workloads: at most %d",
				       n, EGRESS_MAX_WORKLOADS);
	ps->p->workloads = calloc(n, sizeof(*ps->p->workloads));
	if (!ps->p->workloads)
		return exai_error_set(ps->e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		st = parse_workload(ps, exai_yaml_seq_at(ps->y, wl, i), i);
		ps->p->nworkloads = i + 1; /* freed by egress_policy_free even on error */
		if (st != EXAI_OK)
			return st;
	}
	return EXAI_OK;
}

exai_status egress_policy_parse(const char *name, const void *buf, size_t len, const char *cgroot,
				egress_policy **out, exai_error *e)
{
	struct parse ps = {.cgroot = cgroot, .e = e};
	exai_status st;

	*out = NULL;
	if (len > EGRESS_POLICY_MAX_BYTES)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: %zu bytes, a policy has at most %u",
				      name, len, EGRESS_POLICY_MAX_BYTES);
	st = exai_yaml_load_buf_max(name, buf, len, EGRESS_POLICY_MAX_BYTES, EXAI_YAML_STRICT,
				    &ps.y, e);
	if (st != EXAI_OK)
		return st;
	ps.p = calloc(1, sizeof(*ps.p));
	if (!ps.p)
		st = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	else
		st = parse_doc(&ps);
	exai_yaml_free(ps.y);
	if (st != EXAI_OK) {
		egress_policy_free(ps.p);
		return st;
	}
	*out = ps.p;
	return EXAI_OK;
}
