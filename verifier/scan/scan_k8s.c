/*
 * scan_k8s: checks on YAML that describes what runs: Kubernetes manifests (multi-document),
 * Helm values files and compose files.
 *
 * Documents are parsed leniently (third-party YAML may use anchors), so every walk is bounded
 * in depth and in nodes visited (an alias can make a small file look huge); a walk cut short
 * is a scan.incomplete finding. The walk and the image references are the extractor's
 * (scan_imageref.c). Any mapping key `image` (a reference, or a values-style map with
 * repository/tag/registry/digest),
 * `imagePullPolicy`/`pullPolicy` and `hostNetwork` is checked wherever it appears, so CRDs and
 * values files are covered too. Kind-specific checks: Service type, NetworkPolicy egress,
 * CoreDNS Corefile, Istio ServiceEntry. Namespaces that run workloads but have no default-deny
 * egress policy are only known at the end of the scan (vf_k8s_finish).
 *
 * A Helm values file (values.yaml, values-*.yaml) is the chart's configuration surface, read
 * without helm: any map with repository+tag/digest or registry+repository is an image (in
 * every YAML file), a `type: LoadBalancer`/`ExternalName` under a key naming a service is a
 * Service of that type, `allowExternalEgress: true` opens egress, and telemetry switches set
 * to true (reportingEnabled, telemetry.enabled, usageStats ...) are reported.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "exai/yaml.h"
#include "scan_dup.h"
#include "scan_k8s.h"
#include "scan_net.h"
#include "scan_imageref.h"
#include "scan_lit.h"

typedef struct ns_rec {
	char *name;
	char *path, *rel;
	uint64_t line, col;
	bool denied; /* has a default-deny egress policy */
	bool used;   /* has workloads or a Namespace object */
} ns_rec;

struct vf_k8s_state {
	ns_rec *v;
	size_t n, cap;
	bool ns_over;	      /* a namespace was refused over VF_K8S_NS_MAX (reported once) */
	struct vf_lits *hard; /* prefilter over vf_k8s_hard_words */
};

typedef struct hard_pos {
	size_t *v, n, cap;
	bool all; /* out of memory or over VF_K8S_HARD_MAX: every document is hard */
} hard_pos;

typedef struct kctx {
	vf_scan *s;
	const vf_buf *b;
	exai_yaml *y;
	uint64_t emitted;  /* findings from this buffer, capped by max_findings_per_file */
	uint64_t line_off; /* lines before the document parsed on its own */
	bool values;	   /* a Helm values file */
} kctx;

exai_status vf_k8s_state_new(struct vf_k8s_state **out, exai_error *e)
{
	size_t n = 0;

	if (!(*out = calloc(1, sizeof(**out))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	while (vf_k8s_hard_words[n])
		n++;
	return vf_lits_build_raw((const char *const *)vf_k8s_hard_words, NULL, n, &(*out)->hard, e);
}

void vf_k8s_state_free(struct vf_k8s_state *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->v[i].name);
		free(k->v[i].path);
		free(k->v[i].rel);
	}
	free(k->v);
	vf_lits_free(k->hard);
	free(k);
}

static void emit(kctx *k, vf_check c, const exai_ynode *n, const char *evidence,
		 const char *message)
{
	const vf_rule *r = vf_rules_for(k->s->rules, c);

	if (r && k->emitted++ < k->s->rules->set.max_findings_per_file)
		vf_scan_emit(k->s, r, k->b, k->line_off + exai_yaml_line(n), exai_yaml_col(n), 0,
			     evidence, message);
}

/* ---- images ---- */

static bool registry_is_local(const vf_settings *set, const char *reg)
{
	const char *colon = strrchr(reg, ':');
	size_t hl = colon ? (size_t)(colon - reg) : strlen(reg);

	for (size_t i = 0; i < set->local_registries.n; i++)
		if (fnmatch(set->local_registries.v[i], reg, 0) == 0 ||
		    (strlen(set->local_registries.v[i]) == hl &&
		     strncmp(set->local_registries.v[i], reg, hl) == 0))
			return true;
	if (reg[0] == '[') /* [v6]:port */
		return false;
	return vf_net_host_is_local(set, reg, hl);
}

static void check_image_at(kctx *k, const char *ref, const exai_ynode *n)
{
	uint64_t max = k->s->rules->set.max_findings_per_file;

	if (k->emitted >= max) { /* an image left unjudged: reported as scan.incomplete */
		k->emitted = max + 1;
		return;
	}
	k->emitted +=
	    vf_k8s_check_image(k->s, k->b, ref, k->line_off + exai_yaml_line(n), exai_yaml_col(n));
}

unsigned vf_k8s_check_image(vf_scan *s, const vf_buf *b, const char *ref, uint64_t line,
			    uint64_t col)
{
	const vf_settings *set = &s->rules->set;
	char name[1024], reg[256] = "";
	const char *at = strchr(ref, '@'), *slash, *colon;
	size_t nl;
	bool digest, tagged, latest;
	const vf_rule *r;
	unsigned n = 0;

	if (!*ref || strlen(ref) >= sizeof(name) || strpbrk(ref, "{}$ <>\t\"'"))
		return 0; /* templated, empty or not a reference */
	nl = at ? (size_t)(at - ref) : strlen(ref);
	memcpy(name, ref, nl);
	name[nl] = '\0';
	digest = at && strncmp(at + 1, "sha256:", 7) == 0 && strlen(at + 8) == 64;
	slash = strchr(name, '/');
	if (slash && (size_t)(slash - name) < sizeof(reg) &&
	    (memchr(name, '.', (size_t)(slash - name)) ||
	     memchr(name, ':', (size_t)(slash - name)) || strncmp(name, "localhost/", 10) == 0)) {
		memcpy(reg, name, (size_t)(slash - name));
		reg[slash - name] = '\0';
	}
	colon = strrchr(name, ':');
	tagged = colon && (!slash || colon > strrchr(name, '/'));
	latest = tagged && strcmp(colon + 1, "latest") == 0;
	if (!reg[0] && (r = vf_rules_for(s->rules, VF_CHK_K8S_IMAGE_NO_REGISTRY)) && ++n)
		vf_scan_emit(s, r, b, line, col, 0, ref, NULL);
	if (reg[0] && !registry_is_local(set, reg) &&
	    (r = vf_rules_for(s->rules, VF_CHK_K8S_IMAGE_REGISTRY)) && ++n)
		vf_scan_emit(s, r, b, line, col, 0, ref, NULL);
	if (!digest && (r = vf_rules_for(s->rules, VF_CHK_K8S_IMAGE_DIGEST)) && ++n)
		vf_scan_emit(s, r, b, line, col, 0, ref, NULL);
	if ((latest || (!tagged && !digest)) &&
	    (r = vf_rules_for(s->rules, VF_CHK_K8S_IMAGE_TAG)) && ++n)
		vf_scan_emit(s, r, b, line, col, 0, ref, NULL);
	return n;
}

/* A key, lower-cased without '_' and '-', into out (empty when too long). */
static void norm_key(const char *key, char *out, size_t cap)
{
	size_t o = 0;

	for (const char *c = key; *c; c++) {
		if (*c == '_' || *c == '-')
			continue;
		if (o + 1 >= cap) {
			o = 0;
			break;
		}
		out[o++] = (char)tolower((unsigned char)*c);
	}
	out[o] = '\0';
}

static bool in_set(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static bool is_true(const char *sv)
{
	return sv && (!strcmp(sv, "true") || !strcmp(sv, "True") || !strcmp(sv, "yes") ||
		      !strcmp(sv, "on") || !strcmp(sv, "1"));
}

/* Values-file checks on one key (@parent: the key of the map it is in, or NULL). */
static void check_value(kctx *k, const char *parent, const char *key, exai_ynode *v)
{
	static const char *const switches[] = {"reportingenabled",
					       "usagereporting",
					       "usagestats",
					       "sendusagestats",
					       "anonymoususage",
					       "anonymousstats",
					       "telemetryenabled",
					       "telemetry",
					       "analyticsenabled",
					       "analytics",
					       "phonehome",
					       "enablephonehome",
					       "crashreporting",
					       "sendcrashreports",
					       "sendanonymoususage",
					       "usagedata",
					       "enabletelemetry",
					       "enableanalytics",
					       NULL};
	const char *sv = exai_yaml_scalar(v);
	char nk[64], np[64] = "", ev[256];

	if (!sv)
		return;
	norm_key(key, nk, sizeof(nk));
	if (parent)
		norm_key(parent, np, sizeof(np));
	if (!strcmp(nk, "type") && strstr(np, "service")) {
		if (!strcmp(sv, "LoadBalancer"))
			emit(k, VF_CHK_K8S_SVC_LOADBALANCER, v, "type: LoadBalancer", NULL);
		else if (!strcmp(sv, "ExternalName"))
			emit(k, VF_CHK_K8S_SVC_EXTERNALNAME, v, "type: ExternalName", NULL);
	} else if (!strcmp(nk, "allowexternalegress") && is_true(sv)) {
		emit(k, VF_CHK_K8S_NETPOL_EGRESS_PUBLIC, v, "allowExternalEgress: true",
		     "chart value allows egress to every destination");
	} else if (is_true(sv) &&
		   (in_set(nk, switches) || (!strcmp(nk, "enabled") && in_set(np, switches)))) {
		snprintf(ev, sizeof(ev), "%s%s%s: %s",
			 parent && !in_set(nk, switches) ? parent : "",
			 parent && !in_set(nk, switches) ? "." : "", key, sv);
		emit(k, VF_CHK_VALUES_TELEMETRY, v, ev, NULL);
	}
}

/* ---- the generic walk (scan_imageref.c) ---- */

/* An image reference of the document. A map whose repository is a URL is not an image. */
static void on_ref(void *arg, const vf_iref *r)
{
	if (!r->url_repo)
		check_image_at(arg, r->ref, r->at);
}

/* Every other key: pull policy, host network, values-file checks. */
static void on_key(void *arg, const char *parent, const char *key, exai_ynode *v)
{
	kctx *k = arg;
	const char *sv = exai_yaml_scalar(v);

	if ((!strcmp(key, "imagePullPolicy") || !strcmp(key, "pullPolicy")) && sv &&
	    !strcmp(sv, "Always"))
		emit(k, VF_CHK_K8S_PULL_ALWAYS, v, "imagePullPolicy: Always", NULL);
	else if (!strcmp(key, "hostNetwork") && sv && !strcmp(sv, "true"))
		emit(k, VF_CHK_K8S_HOST_NETWORK, v, "hostNetwork: true", NULL);
	else if (k->values)
		check_value(k, parent, key, v);
}

/* Walks one document; a walk cut short by its bounds is a scan.incomplete finding. */
static void walk_doc(kctx *k, exai_ynode *root)
{
	vf_iref_walk w;
	char what[200];

	vf_imageref_init(&w, on_ref, k);
	w.on_key = on_key;
	vf_imageref_walk(&w, k->y, root);
	if (!w.incomplete)
		return;
	snprintf(what, sizeof(what),
		 "YAML document at line %llu nests deeper than %u levels or has over %u nodes "
		 "(aliases): its Kubernetes / values checks did not see all of it",
		 (unsigned long long)k->line_off + exai_yaml_line(root), (unsigned)VF_IREF_DEPTH,
		 (unsigned)VF_IREF_BUDGET);
	vf_scan_incomplete(k->s, k->b, 0, what);
}

/* ---- namespaces and NetworkPolicies ---- */

/* The record of namespace @name, added when new; NULL with @e set when it cannot be
 * (EXAI_ETOOBIG over VF_K8S_NS_MAX, EXAI_ENOMEM). */
static ns_rec *ns_get(struct vf_k8s_state *st, const char *name, exai_error *e)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->v[i].name, name) == 0)
			return &st->v[i];
	if (EXAI_GROW(&st->v, &st->cap, st->n, 1, VF_K8S_NS_MAX, e))
		return NULL;
	memset(&st->v[st->n], 0, sizeof(*st->v));
	if (!(st->v[st->n].name = strdup(name))) {
		exai_error_set(e, EXAI_ENOMEM, "out of memory");
		return NULL;
	}
	return &st->v[st->n++];
}

void vf_k8s_ns_mark(vf_scan *s, const vf_buf *b, const char *ns, uint64_t line, uint64_t col,
		    bool denied)
{
	ns_rec *r;
	exai_error e;
	bool first_over = false;
	char what[400];

	vf_dup_rec_ns(b->path, b->rel, ns, line, col, denied);
	pthread_mutex_lock(&s->lock);
	r = ns_get(s->k8s, ns, &e);
	if (!r && e.code == EXAI_ETOOBIG && (first_over = !s->k8s->ns_over))
		s->k8s->ns_over = true;
	if (r && denied) {
		r->denied = true;
	} else if (r && (!r->used || !r->path || strcmp(b->path, r->path) < 0 ||
			 (strcmp(b->path, r->path) == 0 && line < r->line))) {
		/* Keep the first location in path order, whatever order the workers ran in. */
		free(r->path);
		free(r->rel);
		r->used = true;
		r->path = strdup(b->path);
		r->rel = strdup(b->rel);
		r->line = line;
		r->col = col;
	}
	pthread_mutex_unlock(&s->lock);
	if (r || (e.code == EXAI_ETOOBIG && !first_over))
		return;
	if (e.code != EXAI_ETOOBIG) {
		exai_error_prefix(&e, "namespaces");
		return vf_scan_fail(s, &e);
	}
	vf_dup_rec_taint(); /* a copy must not say it again */
	snprintf(what, sizeof(what),
		 "namespace '%.200s' (line %llu) and any later new one not tracked: over %u "
		 "namespaces in one scan; their default-deny egress check was not done",
		 ns, (unsigned long long)line, (unsigned)VF_K8S_NS_MAX);
	vf_scan_incomplete(s, b, 0, what);
}

static void ns_mark(kctx *k, const char *ns, const exai_ynode *at, bool denied)
{
	vf_k8s_ns_mark(k->s, k->b, ns, k->line_off + exai_yaml_line(at), exai_yaml_col(at), denied);
}

static bool seq_has(exai_yaml *y, exai_ynode *seq, const char *s)
{
	for (size_t i = 0; i < exai_yaml_seq_len(seq); i++) {
		const char *v = exai_yaml_scalar(exai_yaml_seq_at(y, seq, i));
		if (v && strcmp(v, s) == 0)
			return true;
	}
	return false;
}

static bool empty_selector(exai_yaml *y, exai_ynode *sel)
{
	if (!exai_yaml_is_map(sel))
		return false;
	for (size_t i = 0; i < exai_yaml_map_len(sel); i++) {
		exai_ynode *v = exai_yaml_map_value(y, sel, i);
		if (exai_yaml_map_len(v) || exai_yaml_seq_len(v))
			return false;
	}
	return true;
}

static void check_egress_rule(kctx *k, exai_ynode *rule)
{
	exai_ynode *to = exai_yaml_get(k->y, rule, "to");
	const vf_settings *set = &k->s->rules->set;

	if (!to || exai_yaml_seq_len(to) == 0) {
		emit(k, VF_CHK_K8S_NETPOL_EGRESS_PUBLIC, rule, "egress rule without 'to'",
		     "egress rule allows every destination");
		return;
	}
	for (size_t i = 0; i < exai_yaml_seq_len(to); i++) {
		exai_ynode *peer = exai_yaml_seq_at(k->y, to, i);
		exai_ynode *cn = exai_yaml_get(k->y, exai_yaml_get(k->y, peer, "ipBlock"), "cidr");
		const char *cidr = exai_yaml_scalar(cn);
		vf_cidr c;
		bool local = false;
		if (!cidr)
			continue;
		/* Local only when the whole block lies inside one local range. */
		if (vf_net_cidr_parse(cidr, &c) == EXAI_OK)
			for (size_t j = 0; j < set->local_cidrs.n && !local; j++)
				local =
				    set->local_cidrs.v[j].bits <= c.bits &&
				    vf_net_cidrs_contain(
					&(vf_cidrs){.v = &set->local_cidrs.v[j], .n = 1}, c.addr);
		if (!local)
			emit(k, VF_CHK_K8S_NETPOL_EGRESS_PUBLIC, cn, cidr, NULL);
	}
}

static void check_netpol(kctx *k, exai_ynode *spec, const char *ns)
{
	exai_ynode *types = exai_yaml_get(k->y, spec, "policyTypes");
	exai_ynode *egress = exai_yaml_get(k->y, spec, "egress");
	bool egress_type = seq_has(k->y, types, "Egress") || (!types && egress);

	if (!egress_type)
		return;
	if (empty_selector(k->y, exai_yaml_get(k->y, spec, "podSelector")) &&
	    exai_yaml_seq_len(egress) == 0)
		ns_mark(k, ns, spec, true);
	for (size_t i = 0; i < exai_yaml_seq_len(egress); i++)
		check_egress_rule(k, exai_yaml_seq_at(k->y, egress, i));
}

/* ---- CoreDNS and Services ---- */

static void check_corefile(kctx *k, exai_ynode *n)
{
	const char *text = exai_yaml_scalar(n);
	bool block = n->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		     n->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
	uint64_t line = k->line_off + exai_yaml_line(n) + (block ? 1 : 0);

	for (const char *l = text; l && *l; line++) {
		const char *end = strchr(l, '\n'), *f;
		size_t len = end ? (size_t)(end - l) : strlen(l);
		char buf[512], *tok, *save = NULL;
		if (len < sizeof(buf) && (f = strstr(l, "forward")) && f < l + len) {
			memcpy(buf, f, len - (size_t)(f - l));
			buf[len - (size_t)(f - l)] = '\0';
			strtok_r(buf, " \t", &save);	    /* forward */
			tok = strtok_r(NULL, " \t", &save); /* the zone */
			while (tok && (tok = strtok_r(NULL, " \t{", &save))) {
				char *h = strstr(tok, "://") ? strstr(tok, "://") + 3 : tok;
				char *colon = strrchr(h, ':');
				uint8_t a[16];
				if (colon && strchr(h, '.') && !strchr(colon + 1, '.'))
					*colon = '\0'; /* 8.8.8.8:53 */
				if (vf_net_ip_parse(h, strlen(h), a) &&
				    !vf_net_host_is_local(&k->s->rules->set, h, strlen(h))) {
					const vf_rule *r =
					    vf_rules_for(k->s->rules, VF_CHK_K8S_COREDNS_FORWARD);
					if (r)
						vf_scan_emit(k->s, r, k->b, line, 0, 0, h, NULL);
				}
			}
		}
		l = end ? end + 1 : NULL;
	}
}

static void check_kind(kctx *k, exai_ynode *root, const char *kind)
{
	exai_yaml *y = k->y;
	exai_ynode *meta = exai_yaml_get(y, root, "metadata"),
		   *spec = exai_yaml_get(y, root, "spec");
	const char *ns = exai_yaml_scalar(exai_yaml_get(y, meta, "namespace"));

	if (!ns)
		ns = "default";
	if (vf_k8s_is_workload(kind, strlen(kind)))
		ns_mark(k, ns, root, false);
	if (strcmp(kind, "Namespace") == 0) {
		const char *name = exai_yaml_scalar(exai_yaml_get(y, meta, "name"));
		if (name)
			ns_mark(k, name, root, false);
	} else if (strcmp(kind, "NetworkPolicy") == 0 && exai_yaml_is_map(spec)) {
		check_netpol(k, spec, ns);
	} else if (strcmp(kind, "Service") == 0) {
		exai_ynode *t = exai_yaml_get(y, spec, "type");
		const char *ts = exai_yaml_scalar(t);
		if (ts && strcmp(ts, "LoadBalancer") == 0)
			emit(k, VF_CHK_K8S_SVC_LOADBALANCER, t, "type: LoadBalancer", NULL);
		else if (ts && strcmp(ts, "ExternalName") == 0) {
			const char *en = exai_yaml_scalar(exai_yaml_get(y, spec, "externalName"));
			emit(k, VF_CHK_K8S_SVC_EXTERNALNAME, t, en ? en : "type: ExternalName",
			     NULL);
		}
	} else if (strcmp(kind, "ConfigMap") == 0) {
		exai_ynode *cf = exai_yaml_get(y, exai_yaml_get(y, root, "data"), "Corefile");
		if (exai_yaml_scalar(cf))
			check_corefile(k, cf);
	} else if (strcmp(kind, "ServiceEntry") == 0) {
		exai_ynode *hosts = exai_yaml_get(y, spec, "hosts");
		for (size_t i = 0; i < exai_yaml_seq_len(hosts); i++) {
			exai_ynode *h = exai_yaml_seq_at(y, hosts, i);
			const char *hs = exai_yaml_scalar(h);
			if (hs && !vf_net_host_is_local(&k->s->rules->set, hs, strlen(hs)))
				emit(k, VF_CHK_K8S_SERVICE_ENTRY, h, hs, NULL);
		}
	}
}

static void on_doc(kctx *k, exai_yaml *y)
{
	exai_ynode *root = exai_yaml_root(y);
	const char *kind = exai_yaml_scalar(exai_yaml_get(y, root, "kind"));

	k->y = y;
	walk_doc(k, root);
	if (kind && exai_yaml_get(y, root, "apiVersion"))
		check_kind(k, root, kind);
}

bool vf_k8s_is_workload(const char *kind, size_t len)
{
	static const char *const workloads[] = {
	    "Pod", "Deployment", "StatefulSet",		  "DaemonSet", "ReplicaSet",
	    "Job", "CronJob",	 "ReplicationController", NULL};

	for (const char *const *w = workloads; *w; w++)
		if (strlen(*w) == len && memcmp(*w, kind, len) == 0)
			return true;
	return false;
}

static exai_status each_doc(exai_yaml *y, void *arg, exai_error *e)
{
	(void)e;
	on_doc(arg, y);
	return EXAI_OK;
}

/* Parses the documents in p[0..n) (lines before them: @line_off). */
static void parse_doc(kctx *k, const uint8_t *p, size_t n, uint64_t line_off)
{
	exai_error e;

	k->line_off = line_off;
	if (n > EXAI_YAML_MAX_BYTES) {
		/* Bigger than any Kubernetes object can be (etcd stores at most 1.5 MiB), but
		 * its checks were not run: say so rather than pass it. */
		char what[160];
		snprintf(
		    what, sizeof(what),
		    "YAML document at line %llu is over %u bytes: its Kubernetes / values checks "
		    "were not run (the text rules were)",
		    (unsigned long long)line_off + 1, (unsigned)EXAI_YAML_MAX_BYTES);
		vf_scan_incomplete(k->s, k->b, 0, what);
		return;
	}
	if (exai_yaml_each_doc(k->b->path, p, n, each_doc, k, &e) != EXAI_OK) {
		if (e.code == EXAI_ENOMEM)
			vf_scan_fail(k->s, &e);
		else {
			vf_dup_rec_count(0, 0, 0, 1);
			__atomic_add_fetch(&k->s->yaml_errors, 1, __ATOMIC_RELAXED);
		}
	}
}

/* True at a bare "---" or "..." line (nothing after it but blanks or a comment). A marker
 * line with content ("--- |") stays inside its slice, and libyaml handles that slice. */
static bool doc_marker(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p + 3;

	if (end - p < 3 || (memcmp(p, "---", 3) != 0 && memcmp(p, "...", 3) != 0))
		return false;
	while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
		q++;
	return q == end || *q == '\n' || (*q == '#' && q > p + 3);
}

static void on_hard(void *arg, const vf_lit *l, size_t pos)
{
	hard_pos *h = arg;

	(void)l;
	if (h->all)
		return;
	if (EXAI_GROW(&h->v, &h->cap, h->n, 1, VF_K8S_HARD_MAX, NULL)) {
		h->all = true;
		return;
	}
	h->v[h->n++] = pos;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* values.yaml, values.yml, values-prod.yaml, values.prod.yaml, prod.values.yaml */
static bool is_values_name(const char *base)
{
	size_t l = strlen(base);

	return strncmp(base, "values", 6) == 0 || (l > 12 && strstr(base, ".values.y"));
}

void vf_scan_k8s(vf_scan *s, const vf_buf *b)
{
	kctx k = {.s = s, .b = b, .values = is_values_name(b->base)};
	const uint8_t *p = b->p, *end = b->p + b->n, *doc = p;
	uint64_t line = 1, doc_line = 1;
	hard_pos hp = {0};
	size_t hi = 0;
	char note[512];

	/* A values file is read as a whole, by libyaml: its checks are not the fast path's. */
	if (k.values) {
		parse_doc(&k, p, b->n, 0);
		goto out;
	}
	/* Most YAML says nothing these checks care about: skip it then. */
	if (!memmem(p, b->n, "image", 5) && !memmem(p, b->n, "kind", 4) &&
	    !memmem(p, b->n, "hostNetwork", 11) && !memmem(p, b->n, "repository", 10))
		return;
	/* Where the words are that the textual path must leave to libyaml: one pass. */
	if (!vf_lits_scan(s->k8s->hard, p, b->n, on_hard, &hp))
		hp.all = true; /* positions lost: none can be trusted */
	if (hp.n > 1 && !hp.all)
		qsort(hp.v, hp.n, sizeof(*hp.v), size_cmp);
	/* Documents end at a "---" line in column 0 (YAML forbids that inside any scalar), so
	 * each is handled on its own: textually when it is plain, else by libyaml. */
	for (const uint8_t *l = p;;) {
		bool last = l >= end, marker = !last && doc_marker(l, end), hard;
		const uint8_t *nl;
		if ((last || marker) && l > doc) {
			while (hi < hp.n && hp.v[hi] < (size_t)(doc - p))
				hi++;
			hard = hp.all || (hi < hp.n && hp.v[hi] < (size_t)(l - p));
			if (hard ||
			    !vf_k8s_fast_doc(s, b, doc, (size_t)(l - doc), doc_line, &k.emitted))
				parse_doc(&k, doc, (size_t)(l - doc), doc_line - 1);
		}
		if (last)
			break;
		nl = memchr(l, '\n', (size_t)(end - l));
		l = nl ? nl + 1 : end;
		line++;
		if (marker) {
			doc = l;
			doc_line = line;
		}
	}
out:
	free(hp.v);
	if (k.emitted > s->rules->set.max_findings_per_file) {
		snprintf(note, sizeof(note),
			 "more than %llu YAML findings in this file: the rest were not judged "
			 "(raise settings.max_findings_per_file to see them all)",
			 (unsigned long long)s->rules->set.max_findings_per_file);
		vf_scan_incomplete(s, b, 0, note);
	}
}

void vf_k8s_finish(vf_scan *s)
{
	const vf_rule *r = vf_rules_for(s->rules, VF_CHK_K8S_NETPOL_DEFAULT_DENY);
	char ev[300];

	for (size_t i = 0; r && i < s->k8s->n; i++) {
		const ns_rec *ns = &s->k8s->v[i];
		if (!ns->used || ns->denied || !ns->path)
			continue;
		snprintf(ev, sizeof(ev), "namespace %.256s", ns->name);
		vf_scan_emit(s, r, &(vf_buf){.path = ns->path, .rel = ns->rel, .base = ns->path},
			     ns->line, ns->col, 0, ev, NULL);
	}
}
