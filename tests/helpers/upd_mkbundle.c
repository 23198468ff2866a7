/*
 * upd_mkbundle: test-only helper that assembles a signed bundle directory from component
 * bytes given as files, with no checks on what those bytes are. exai-bundle refuses unsafe
 * sources; this helper is how the tests build the hostile tar components an insider with a
 * valid release key could sign. Built only for tests, never installed.
 *
 * usage: upd_mkbundle --out DIR --channel C --sequence N --created T --expires T
 *          [--class X]... [--site Y]... [--recipient SITE.pub]... [--sign REL.key]...
 *          [--min-root N] [--root-chain ROOTFILE]...
 *          --comp TYPE:NAME:VERSION:ENC:TARGET:ENTRIES:UNPACKED:FLAGS:FILE ...
 * Without --recipient the bundle is plain. ENTRIES/UNPACKED may be "auto" (raw: 1/size).
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exai/aead.h"
#include "exai/bundle.h"
#include "exai/file.h"
#include "exai/secmem.h"
#include "exai/sign.h"

#define MAXN  32
#define CHUNK (64u << 10)

static _Noreturn void die(const char *what, const exai_error *e)
{
	fprintf(stderr, "upd_mkbundle: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
	exit(2);
}

static void put(const char *dir, const char *name, const void *buf, size_t len)
{
	char *p = exai_path_join(dir, name);
	exai_error e;

	if (!p || exai_file_write_atomic(p, buf, len, 0644, &e))
		die(name, &e);
	free(p);
}

/* A file line: @size bytes, hash of @hdata (the file itself, or for payload the table). */
static void add_file(exai_index *ix, const char *name, uint64_t size, const void *hdata,
		     size_t hlen)
{
	exai_index_file *f = &ix->files[ix->n_files++];
	exai_error e;

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	if (exai_sha256_buf(hdata, hlen, f->sha256, &e))
		die("hash", &e);
}

static void parse_comp(char *spec, exai_component *c, char **file)
{
	char *f[9], *save = NULL;
	int n = 0;

	for (char *t = strtok_r(spec, ":", &save); t && n < 9; t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n != 9 || !exai_ctype_parse(f[0], &c->type))
		die("--comp TYPE:NAME:VERSION:ENC:TARGET:ENTRIES:UNPACKED:FLAGS:FILE", NULL);
	snprintf(c->name, sizeof(c->name), "%s", f[1]);
	snprintf(c->version, sizeof(c->version), "%s", f[2]);
	c->encoding = !strcmp(f[3], "raw") ? EXAI_CENC_RAW : EXAI_CENC_TAR;
	snprintf(c->target, sizeof(c->target), "%s", f[4]);
	c->entries = strcmp(f[5], "auto") ? strtoull(f[5], NULL, 10) : 0;
	c->unpacked = strcmp(f[6], "auto") ? strtoull(f[6], NULL, 10) : 0;
	if (!exai_cflags_parse(f[7], &c->flags))
		die("--comp: FLAGS is -, setuid, world-writable or setuid,world-writable", NULL);
	*file = f[8];
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"out", 1, 0, 'o'},
					     {"channel", 1, 0, 'c'},
					     {"sequence", 1, 0, 'n'},
					     {"created", 1, 0, 't'},
					     {"expires", 1, 0, 'x'},
					     {"class", 1, 0, 'C'},
					     {"site", 1, 0, 'S'},
					     {"recipient", 1, 0, 'r'},
					     {"sign", 1, 0, 'k'},
					     {"comp", 1, 0, 'm'},
					     {"min-root", 1, 0, 'R'},
					     {"root-chain", 1, 0, 'H'},
					     {0, 0, 0, 0}};
	const char *out = NULL, *recips[MAXN], *keys[MAXN], *roots[MAXN];
	size_t nr = 0, nk = 0, nroots = 0;
	exai_index *ix = calloc(1, sizeof(*ix));
	exai_manifest m = {0};
	uint8_t *payload = NULL, key[EXAI_DATA_KEY_LEN];
	size_t plen = 0;
	exai_error e;
	int ch;

	if (!ix || !(m.c = calloc(MAXN, sizeof(*m.c))) || exai_init(&e))
		die("init", NULL);
	ix->min_root_version = 1;
	ix->chunk_size = CHUNK;
	snprintf(ix->channel, sizeof(ix->channel), "stable");
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'c':
			snprintf(ix->channel, sizeof(ix->channel), "%s", optarg);
			break;
		case 'n':
			ix->sequence = strtoull(optarg, NULL, 10);
			break;
		case 't':
			ix->created = strtoull(optarg, NULL, 10);
			break;
		case 'x':
			ix->expires = strtoull(optarg, NULL, 10);
			break;
		case 'R':
			ix->min_root_version = strtoull(optarg, NULL, 10);
			break;
		case 'C':
			snprintf(ix->classes[ix->n_classes++], EXAI_NAME_MAX + 1, "%s", optarg);
			break;
		case 'S':
			snprintf(ix->sites[ix->n_sites++], EXAI_NAME_MAX + 1, "%s", optarg);
			break;
		case 'r':
			recips[nr++] = optarg;
			break;
		case 'k':
			keys[nk++] = optarg;
			break;
		case 'H':
			roots[nroots++] = optarg;
			break;
		case 'm': {
			exai_component *c = &m.c[m.n++];
			char *file;
			uint8_t *data;
			size_t len;
			parse_comp(optarg, c, &file);
			if (exai_file_read_bounded(file, 1u << 30, &data, &len, &e))
				die(file, &e);
			if (c->encoding == EXAI_CENC_RAW) {
				c->entries = 1;
				c->unpacked = len;
			} else {
				c->entries = c->entries ? c->entries : 1000;
				c->unpacked = c->unpacked ? c->unpacked : len;
			}
			c->offset = plen;
			c->size = len;
			if (exai_sha256_buf(data, len, c->sha256, &e))
				die("hash", &e);
			payload = realloc(payload, plen + len + 1);
			memcpy(payload + plen, data, len);
			plen += len;
			free(data);
			break;
		}
		default:
			die("bad option", NULL);
		}
	}
	if (!out || !m.n || exai_mkdir_p(out, 0755, &e))
		die("need --out and --comp", NULL);
	ix->payload_size = plen;
	ix->chunk_count = plen / CHUNK + (plen % CHUNK != 0);
	ix->encryption = nr ? EXAI_ENC_AES256GCM : EXAI_ENC_NONE;
	randombytes_buf(ix->bundle_id, sizeof(ix->bundle_id));
	randombytes_buf(key, sizeof(key));

	/* keys */
	uint8_t *kb = calloc(nr ? nr : 1, EXAI_KEYID_LEN + 80);
	exai_site_pub pubs[MAXN];
	for (size_t i = 0; i < nr; i++)
		if (exai_site_pub_load(recips[i], &pubs[i], &e))
			die(recips[i], &e);
	for (size_t i = 0; i < nr; i++) {
		memcpy(ix->recipients[ix->n_recipients++], pubs[i].id, EXAI_KEYID_LEN);
		memcpy(kb + i * 88, pubs[i].id, EXAI_KEYID_LEN);
		crypto_box_seal(kb + i * 88 + EXAI_KEYID_LEN, key, sizeof(key), pubs[i].pk);
	}
	/* payload and chunk table */
	size_t tag = nr ? EXAI_AEAD_TAG : 0, ctlen = plen + ix->chunk_count * tag;
	uint8_t *ct = malloc(ctlen + 1), *table = malloc(ix->chunk_count * 32 + 1);
	for (uint64_t i = 0, off = 0, coff = 0; i < ix->chunk_count; i++) {
		size_t n = plen - off < CHUNK ? plen - off : CHUNK;
		if (nr) {
			if (exai_chunk_seal(key, ix->bundle_id, i, ix->chunk_count, payload + off,
					    n, ct + coff, &e))
				die("seal", &e);
		} else {
			memcpy(ct + coff, payload + off, n);
		}
		if (exai_sha256_buf(ct + coff, n + tag, table + i * 32, &e))
			die("hash", &e);
		off += n;
		coff += n + tag;
	}
	char *mtext = exai_manifest_text(&m);
	size_t mlen = strlen(mtext);
	uint8_t *mbytes = (uint8_t *)mtext;
	if (nr) {
		mbytes = malloc(mlen + EXAI_AEAD_TAG);
		if (exai_manifest_seal(key, ix->bundle_id, (uint8_t *)mtext, mlen, mbytes, &e))
			die("seal manifest", &e);
		mlen += EXAI_AEAD_TAG;
	}
	put(out, "manifest", mbytes, mlen);
	put(out, "chunks", table, ix->chunk_count * 32);
	put(out, "payload", ct, ctlen);
	add_file(ix, "manifest", mlen, mbytes, mlen);
	add_file(ix, "chunks", ix->chunk_count * 32, table, ix->chunk_count * 32);
	add_file(ix, "payload", ctlen, table, ix->chunk_count * 32);
	if (nr) {
		put(out, "keys", kb, nr * 88);
		add_file(ix, "keys", nr * 88, kb, nr * 88);
	}
	for (size_t i = 0; i < nroots; i++) {
		uint8_t *rb;
		size_t rl;
		exai_root *r;
		char name[32];
		if (exai_file_read_bounded(roots[i], EXAI_ROOT_MAX_BYTES, &rb, &rl, &e) ||
		    exai_root_parse(rb, rl, roots[i], &r, &e))
			die(roots[i], &e);
		snprintf(name, sizeof(name), "roots/%llu", (unsigned long long)r->version);
		char *rd = exai_path_join(out, "roots");
		if (exai_mkdir_p(rd, 0755, &e))
			die("roots", &e);
		free(rd);
		put(out, name, rb, rl);
		add_file(ix, name, rl, rb, rl);
		free(r);
		free(rb);
	}
	exai_index_sort(ix);
	if (exai_index_validate(ix, &e))
		die("index", &e);
	char *itext = exai_index_text(ix);
	put(out, "index", itext, strlen(itext));
	char *sd = exai_path_join(out, "sig");
	if (exai_mkdir_p(sd, 0755, &e))
		die("sig", &e);
	free(sd);
	for (size_t i = 0; i < nk; i++) {
		exai_seckey *sk;
		char *sig, name[64], id[EXAI_KEYID_STR];
		if (exai_seckey_load(keys[i], NULL, &sk, &e) ||
		    exai_minisig_sign(sk, (uint8_t *)itext, strlen(itext), NULL, &sig, &e))
			die(keys[i], &e);
		exai_keyid_str(sk->id, id);
		snprintf(name, sizeof(name), "sig/%s.minisig", id);
		put(out, name, sig, strlen(sig));
		free(sig);
		exai_seckey_free(sk);
	}
	printf("%s\n", out);
	if (mbytes != (uint8_t *)mtext)
		free(mbytes);
	free(mtext);
	free(itext);
	free(ct);
	free(table);
	free(kb);
	free(payload);
	free(m.c);
	free(ix);
	return 0;
}
