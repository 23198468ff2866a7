/*
 * host: `airgap-verifier host`, the live check of an installed appliance: no default route,
 * only allowed listeners, local resolvers and time servers, exai-egress pins present, and no
 * drift of any installed file from exai-update's state database.
 *
 * Everything is read under a root directory (--root, default "/"), so tests run against
 * fixture trees: /proc/net/... and /etc/... of the appliance are <root>/proc/net/... and
 * <root>/etc/.... Paths are resolved inside the root (openat2 RESOLVE_IN_ROOT: an absolute
 * symlink such as /etc/resolv.conf -> /run/... stays under the root). Installed trees are
 * walked without following any symlink at all. Every read is bounded.
 *
 * Modules: host_proc.c (the /proc/net parsers, pure functions over a buffer), host_net.c
 * (local addresses and names, allowlists), host_config.c (the host config file),
 * host_fs.c (root-confined reads), host_checks.c (routes, listeners, egress pins, the rule
 * table), host_servers.c (resolvers, time servers), host_update.c (exai-update's config and
 * state db, read-only), host_drift.c (installed trees against it), host_cmd.c (front end).
 */
#ifndef VF_HOST_H
#define VF_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "report.h"

/* ---- caps ---- */
#define VF_HOST_PROC_MAX   (64u << 20) /* a /proc/net file */
#define VF_HOST_CONF_MAX   (1u << 20)  /* resolv.conf, chrony.conf, ... */
#define VF_HOST_LINE_MAX   1024	       /* a line of any of them */
#define VF_HOST_LIST_MAX   1024	       /* entries of one config list */
#define VF_HOST_INCLUDES   1024	       /* drop-in files per directory; more is an error */
#define VF_HOST_TREE_MAX   1000000     /* entries walked in one installed tree */
#define VF_HOST_DEPTH_MAX  64
#define VF_HOST_EXTRA_SHOW 200 /* host.drift.extra findings per tree; the rest in a note */

/* ---- /proc/net parsers (host_proc.c) ---- */

/* Addresses are 16 bytes; IPv4 is kept IPv4-mapped (::ffff:a.b.c.d). */
typedef struct vf_route {
	unsigned line; /* 1-based line in the file */
	bool v6;
	char iface[32];
	uint8_t dst[16];
	unsigned plen; /* prefix length (IPv4: 0..32) */
	uint8_t gw[16];
	uint32_t flags; /* RTF_* */
	uint32_t metric;
} vf_route;

typedef struct vf_sock {
	unsigned line;
	bool v6, udp;
	uint8_t local[16], remote[16];
	uint16_t lport, rport;
	unsigned state; /* TCP_* (0x0A listen; UDP: 0x07 unconnected) */
	uint64_t uid, inode;
} vf_sock;

/* What a parse skipped: malformed lines are not fatal (the rest is still checked), they are
 * counted and the first one's line number kept, so the caller can report the file as
 * incompletely checked. */
typedef struct vf_proc_stats {
	size_t records, bad;
	unsigned first_bad;
} vf_proc_stats;

typedef exai_status (*vf_route_fn)(void *arg, const vf_route *r, exai_error *e);
typedef exai_status (*vf_sock_fn)(void *arg, const vf_sock *s, exai_error *e);

/* /proc/net/route (@v6 false) or /proc/net/ipv6_route (true). Calls @fn per route. */
exai_status vf_proc_routes(const char *buf, size_t len, bool v6, vf_route_fn fn, void *arg,
			   vf_proc_stats *st, exai_error *e) EXAI_WUR;
/* /proc/net/tcp, tcp6, udp, udp6. Calls @fn per socket (all states). */
exai_status vf_proc_socks(const char *buf, size_t len, bool v6, bool udp, vf_sock_fn fn, void *arg,
			  vf_proc_stats *st, exai_error *e) EXAI_WUR;
/* A default route that carries traffic: destination ::/0 or 0.0.0.0/0, up, not reject. */
bool vf_route_is_default(const vf_route *r);
/* TCP in LISTEN, or UDP bound and not connected. */
bool vf_sock_is_listener(const vf_sock *s);

/* ---- addresses, names, allowlists (host_net.c) ---- */

typedef struct vf_host_cidr {
	uint8_t addr[16];
	unsigned plen; /* over the 128-bit (mapped) form */
} vf_host_cidr;

/* "a.b.c.d" or an IPv6 literal (no brackets) into the 16-byte form. */
bool vf_host_ip_parse(const char *s, uint8_t out[16]);
/* "1.2.3.4" / "2001:db8::1" for display (IPv4-mapped shown as IPv4); @out holds 46+. */
void vf_host_ip_str(const uint8_t ip[16], char *out, size_t cap);
/* Loopback, RFC 1918, link-local, ULA fc00::/7, unspecified. */
bool vf_host_ip_local(const uint8_t ip[16]);
bool vf_host_ip_loopback(const uint8_t ip[16]);
bool vf_host_ip_unspecified(const uint8_t ip[16]);
/* "localhost", names under .local / .internal / .localhost (case-insensitive). */
bool vf_host_name_local(const char *name);

/* An allowlist of servers: names (exact, or "*.suffix"), addresses and CIDRs. */
typedef struct vf_host_allow {
	char **names;
	size_t nnames, capnames;
	vf_host_cidr *cidrs;
	size_t ncidrs, capcidrs;
} vf_host_allow;

/* Adds one entry ("10.0.0.0/8", "2001:db8::1", "ntp.site.example", "*.corp.example");
 * false if it is none of these. */
bool vf_host_allow_add(vf_host_allow *a, const char *entry, bool *oom);
bool vf_host_allow_match(const vf_host_allow *a, const char *server);
void vf_host_allow_free(vf_host_allow *a);
/* Whether @server (an address or a host name, as written in a config) is local: by address
 * or name class, or allowed by @a (NULL: none). */
bool vf_host_server_local(const vf_host_allow *a, const char *server);

/* A listener allowlist entry: "tcp 127.0.0.1:8080", "udp [::1]:53", "tcp *:22", "* *:*". */
typedef struct vf_host_listen_rule {
	char proto; /* 't', 'u' or '*' */
	bool any_addr, any_port;
	uint8_t addr[16];
	uint16_t port;
} vf_host_listen_rule;

bool vf_host_listen_parse(const char *s, vf_host_listen_rule *out);
bool vf_host_listen_match(const vf_host_listen_rule *r, const vf_sock *s);

/* ---- the host config file (host_config.c) ---- */

enum {
	VF_HC_ROUTES = 1u << 0,
	VF_HC_LISTEN = 1u << 1,
	VF_HC_DNS = 1u << 2,
	VF_HC_NTP = 1u << 3,
	VF_HC_EGRESS = 1u << 4,
	VF_HC_DRIFT = 1u << 5,
	VF_HC_ALL = 0x3f,
};

typedef struct vf_host_config {
	unsigned checks; /* VF_HC_* */
	bool allow_default_route;
	bool listen_allow_loopback;
	vf_host_listen_rule *listen;
	size_t nlisten, caplisten;
	vf_host_allow dns, ntp;
	char **pins; /* exai-egress pin paths (absolute, under the root) */
	size_t npins, cappins;
	char *update_config; /* exai-update's config, under the root */
	bool update_config_set;
} vf_host_config;

#define VF_HOST_UPDATE_CONFIG "/etc/exai/update.yaml"

/* Defaults (every check, nothing allowed beyond the local ranges). */
void vf_host_config_init(vf_host_config *c);
/* Loads a config file (strict YAML; errors are "file:line:col: ..."). */
exai_status vf_host_config_load(vf_host_config *c, const char *path, exai_error *e) EXAI_WUR;
exai_status vf_host_config_load_buf(vf_host_config *c, const char *name, const char *buf,
				    size_t len, exai_error *e) EXAI_WUR;
/* Where the host config is looked for under --root when --config is not given. */
#define VF_HOST_DEFAULT_CONFIG "/etc/exai/airgap-host.yaml"
void vf_host_config_free(vf_host_config *c);

/* ---- root-confined reads (host_fs.c) ---- */

typedef struct vf_host_root {
	int fd;	    /* the root directory */
	char *path; /* as given, for messages */
} vf_host_root;

exai_status vf_host_root_open(vf_host_root *r, const char *path, exai_error *e) EXAI_WUR;
void vf_host_root_close(vf_host_root *r);
/* Opens absolute @path inside the root (symlinks resolved within it) with @flags. */
exai_status vf_host_open(const vf_host_root *r, const char *path, int flags, int *fd,
			 exai_error *e) EXAI_WUR;
/* Reads a whole regular file of at most @cap bytes (NUL-terminated, malloc'ed); /proc files,
 * whose size is unknown, are read to their end. EXAI_ENOENT when it does not exist. */
exai_status vf_host_read(const vf_host_root *r, const char *path, size_t cap, char **buf,
			 size_t *len, exai_error *e) EXAI_WUR;
/* The regular files of directory @dir whose name ends in @suffix, sorted, at most
 * VF_HOST_INCLUDES (malloc'ed absolute paths; more is an error, never a cut). A missing dir
 * gives none. */
exai_status vf_host_list_dir(const vf_host_root *r, const char *dir, const char *suffix,
			     char ***out, size_t *n, exai_error *e) EXAI_WUR;
void vf_host_strv_free(char **v, size_t n);

/* ---- the checks (host_checks.c, host_drift.c) ---- */

typedef struct vf_host {
	const vf_host_config *cfg;
	vf_host_root root;
	vf_report *report;
} vf_host;

/* Declares every host rule in the report. */
exai_status vf_host_declare_rules(vf_report *r, exai_error *e) EXAI_WUR;
/* Each check adds its findings and notes; a returned error is a runtime error (exit 2). */
exai_status vf_host_check_routes(vf_host *h, exai_error *e) EXAI_WUR;
exai_status vf_host_check_listen(vf_host *h, exai_error *e) EXAI_WUR;
exai_status vf_host_check_dns(vf_host *h, exai_error *e) EXAI_WUR;
exai_status vf_host_check_ntp(vf_host *h, exai_error *e) EXAI_WUR;
exai_status vf_host_check_egress(vf_host *h, exai_error *e) EXAI_WUR;
exai_status vf_host_check_drift(vf_host *h, exai_error *e) EXAI_WUR;

/* Adds a finding (all strings copied). */
exai_status vf_host_finding(vf_host *h, const char *rule, vf_severity sev, const char *path,
			    unsigned line, unsigned col, const char *evidence, const char *message,
			    const char *hint, exai_error *e) EXAI_WUR;
exai_status vf_host_note(vf_host *h, exai_error *e, const char *fmt, ...) EXAI_PRINTF(3, 4);

#endif
