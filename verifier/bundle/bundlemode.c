/*
 * bundlemode: the bundle mode's verdict. Verification is the shared library's, in its order
 * (exai/bundle.h): open (index parsed strictly), verify (root chain, release signatures,
 * every entry's hash, expiry), unlock (site key, manifest), stream (every chunk hashed against
 * the signed table before it is decrypted, every component's plaintext hash). The stream's
 * sink is the scanner (bundlemode_scan.c), so the media is read once.
 *
 * A verification failure is one bundle.verify finding carrying the library's message
 * (file, chunk, key id) and nothing else: if the payload fails part way, the findings of the
 * components already scanned are dropped with their report, so a report never holds findings
 * from a bundle that did not verify. An encrypted bundle without a site key is verified as far
 * as it can be (signatures, entries, chunk hashes) and then fails closed with a
 * bundle.encrypted finding: its contents were not scanned.
 *
 * What exai-update apply would refuse is a verification failure too, with the same rules and
 * limits (exai/tarcheck.h): the manifest's unpacked-to-stored ratio before the stream
 * ("extraction limits"), and every tar component's entries during it ("extraction rules"),
 * each message naming the component and the entry.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundlemode.h"
#include "exai/progress.h"
#include "exai/tarcheck.h"
#include "exai/text.h"
#include "scan_walk.h"

#define DEFAULT_WINDOW_MIB 64

exai_status vf_bm_declare(const vf_rules *rules, vf_report *r, exai_error *e)
{
	exai_status rc;

	if ((rc = vf_rules_declare(rules, r, e)) ||
	    (rc = vf_report_rule(r, VF_BM_RULE_VERIFY, VF_SEV_CRITICAL,
				 "the bundle failed offline verification (root chain, signatures, "
				 "hashes, decryption), or exai-update's extraction rules",
				 e)) ||
	    (rc = vf_report_rule(
		 r, VF_BM_RULE_ENCRYPTED, VF_SEV_HIGH,
		 "encrypted bundle whose contents could not be scanned (no site key)", e)) ||
	    (rc = vf_report_rule(r, VF_BM_RULE_MISSING, VF_SEV_HIGH,
				 "an image the bundle's chart or manifests reference is not in its "
				 "images components by digest",
				 e)))
		return rc;
	return vf_report_rule(r, VF_BM_RULE_UNPINNED, VF_SEV_MEDIUM,
			      "an image referenced without a digest: the closure cannot be checked",
			      e);
}

static exai_status new_report(const vf_bm_opts *o, vf_report **out, exai_error *e)
{
	exai_status rc;

	if (!(*out = vf_report_new("bundle")))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = vf_bm_declare(o->rules, *out, e))) {
		vf_report_free(*out);
		*out = NULL;
	}
	return rc;
}

static exai_status verify_finding(vf_report *r, const char *media, const char *stage,
				  const exai_error *why, exai_error *e)
{
	char msg[256];
	vf_finding f = {.rule_id = VF_BM_RULE_VERIFY,
			.severity = VF_SEV_CRITICAL,
			.path = media,
			.evidence = why->msg,
			.message = msg,
			.hint =
			    "do not install this bundle: get a fresh copy of the media from the "
			    "vendor, and check that --root is this site's trust root"};

	if (!strncmp(stage, "extraction", 10))
		f.hint =
		    "do not install this bundle: exai-update apply refuses it; the vendor must "
		    "rebuild it (declaring setuid or world_writable in the spec where such modes "
		    "are intended)";
	snprintf(msg, sizeof(msg), "bundle verification failed (%s)", stage);
	return vf_report_add(r, &f, e);
}

static exai_status notef(vf_report *r, exai_error *e, const char *fmt, ...) EXAI_PRINTF(3, 4);
static exai_status notef(vf_report *r, exai_error *e, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return vf_report_note(r, buf, e);
}

static exai_status signer_notes(vf_report *r, const exai_bundle *b, exai_error *e)
{
	static const char *const st[] = {"valid", "unknown key", "bad", "duplicate"};
	exai_status rc = notef(r, e,
			       "signatures: %u valid of %u required (trust root version %llu); "
			       "entries match the signed index",
			       b->valid_signatures, b->root->release_threshold,
			       (unsigned long long)b->root->version);

	for (size_t i = 0; i < b->n_signers && !rc; i++) {
		char id[EXAI_KEYID_STR];
		if (b->signers[i].state == EXAI_SIG_VALID)
			continue;
		exai_keyid_str(b->signers[i].id, id);
		rc = notef(r, e, "signature %s: %s (not counted)%s%s", id, st[b->signers[i].state],
			   b->signers[i].detail[0] ? ": " : "", b->signers[i].detail);
	}
	return rc;
}

static exai_status encrypted_finding(vf_report *r, const exai_bundle *b, const char *media,
				     exai_error *e)
{
	char ev[600] = "recipients:";
	size_t used = strlen(ev);
	vf_finding f = {.rule_id = VF_BM_RULE_ENCRYPTED,
			.severity = VF_SEV_HIGH,
			.path = media,
			.evidence = ev,
			.message =
			    "encrypted bundle and no --key: signatures, entries and every chunk "
			    "hash verified, but the contents were not decrypted, so they were "
			    "not scanned and the image closure was not checked",
			.hint = "run again with --key SITE.key, the secret key of one of the "
				"recipient sites"};

	for (size_t i = 0; i < b->index->n_recipients && used + 20 < sizeof(ev); i++) {
		char id[EXAI_KEYID_STR];
		exai_keyid_str(b->index->recipients[i], id);
		used += (size_t)snprintf(ev + used, sizeof(ev) - used, " %s", id);
	}
	return vf_report_add(r, &f, e);
}

static bool has_chart(const exai_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->c[i].type == EXAI_C_CHART)
			return true;
	return false;
}

static exai_status stream(exai_bundle *b, const exai_sink *sink, exai_error *e)
{
	exai_progress prog;
	exai_status rc;

	exai_progress_start(&prog, "bundle", exai_index_file_get(b->index, "payload")->size);
	rc = exai_bundle_stream(b, sink, &prog, e);
	exai_progress_finish(&prog);
	return rc;
}

/* Streams with the scanner as the sink and scans; on a failed stream, *r is replaced by a
 * report holding only the verification failure. */
static exai_status scan_contents(const vf_bm_opts *o, exai_bundle *b, vf_report **r,
				 vf_bm_result *res, exai_error *e)
{
	uint64_t window = (uint64_t)(o->window_mib ? o->window_mib : DEFAULT_WINDOW_MIB) << 20;
	vf_closure *cl = NULL;
	vf_bm_scanner *sc = NULL;
	exai_sink sink = {0};
	exai_error verr;
	vf_scan s;
	bool ready = false;
	exai_status rc;

	if ((rc = vf_scan_init(&s, o->rules, o->allow, *r, e)))
		return rc;
	ready = true;
	s.helm_render = false;
	if ((rc = vf_closure_new(&cl, e)) ||
	    (rc = vf_bm_scanner_new(&s, cl, o->media, window, o->max_ratio, &sc, e)))
		goto out;
	vf_bm_scanner_sink(sc, &sink);
	if (stream(b, &sink, &verr)) {
		const char *stage = "payload";
		vf_bm_scanner_abort(sc);
		if (vf_bm_scanner_refusal(sc)) {
			verr = *vf_bm_scanner_refusal(sc);
			stage = "extraction rules";
		} else if (vf_bm_scanner_failed(sc) || s.fatal) {
			rc = exai_error_set(e, verr.code, "%s", verr.msg);
			goto out;
		}
		/* Drop everything scanned so far: it came from a bundle that did not verify. */
		vf_bm_scanner_free(sc);
		sc = NULL;
		vf_scan_fini(&s);
		ready = false;
		vf_report_free(*r);
		*r = NULL;
		if ((rc = new_report(o, r, e)) ||
		    (rc = verify_finding(*r, o->media, stage, &verr, e)))
			goto out;
		res->verify_failed = true;
		rc = notef(*r, e, "nothing from this bundle's contents is reported: %s",
			   strcmp(stage, "payload") ? "exai-update apply would refuse it"
						    : "the payload did not verify");
		goto out;
	}
	if ((rc = vf_scan_finish(&s, e)) || (rc = vf_closure_check(cl, &s, e)))
		goto out;
	rc = notef(
	    *r, e,
	    "verified: every chunk hash (checked before decryption) and the plaintext hash of "
	    "%s %zu %s; scanned %llu %s, %llu %s",
	    b->manifest->n == 1 ? "its" : "all", b->manifest->n,
	    exai_plural(b->manifest->n, "component", "components"), (unsigned long long)s.files,
	    exai_plural(s.files, "file", "files"), (unsigned long long)s.bytes,
	    exai_plural(s.bytes, "byte", "bytes"));
	if (!rc && has_chart(b->manifest))
		rc =
		    notef(*r, e,
			  "helm template: not run in bundle mode; chart values.yaml and templates/ "
			  "were scanned as files");
	if (!rc && s.yaml_errors)
		rc =
		    notef(*r, e,
			  "%llu YAML file(s) did not parse (templates?): Kubernetes checks skipped "
			  "for them, text rules ran",
			  (unsigned long long)s.yaml_errors);
out:
	vf_bm_scanner_free(sc);
	if (ready)
		vf_scan_fini(&s);
	vf_closure_free(cl);
	return rc;
}

exai_status vf_bundlemode_run(const vf_bm_opts *o, vf_bm_result *res, exai_error *e)
{
	exai_verify_opts vo = {.now = o->now};
	exai_bundle *b = NULL;
	vf_report *r = NULL;
	exai_error verr;
	const char *stage = NULL;
	struct stat st;
	exai_status rc;

	memset(res, 0, sizeof(*res));
	if (stat(o->media, &st) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s", o->media);
	if ((rc = new_report(o, &r, e)))
		return rc;
	if (exai_bundle_open(o->media, &b, &verr))
		stage = "open";
	else if (exai_bundle_verify(b, o->root, &vo, &verr))
		stage = "root chain, signatures, entries";
	if (stage)
		goto failed;
	if ((rc = signer_notes(r, b, e)))
		goto out;
	if (b->index->encryption != EXAI_ENC_NONE && !o->key) {
		if (stream(b, NULL, &verr)) {
			stage = "payload";
			goto failed;
		}
		if ((rc =
			 notef(r, e, "payload: every chunk hash matches the signed chunk table")) ||
		    (rc = encrypted_finding(r, b, o->media, e)))
			goto out;
		res->unscanned = true;
		goto done;
	}
	if (exai_bundle_unlock(b, o->key, &verr)) {
		stage = "unlock";
		goto failed;
	}
	for (size_t i = 0; i < b->manifest->n; i++)
		if (exai_tarcheck_component(&b->manifest->c[i], o->max_ratio, &verr)) {
			stage = "extraction limits";
			goto failed;
		}
	if ((rc = scan_contents(o, b, &r, res, e)))
		goto out;
	goto done;
failed:
	if ((rc = verify_finding(r, o->media, stage, &verr, e)))
		goto out;
	res->verify_failed = true;
done:
	vf_report_sort(r);
	res->report = r;
	r = NULL;
out:
	vf_report_free(r);
	exai_bundle_free(b);
	return rc;
}
