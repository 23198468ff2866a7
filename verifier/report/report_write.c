/*
 * report_write: writes a report in the format asked for, to a stream (vf_report_write) or to
 * --output (vf_report_emit: replaced atomically, so a reader never sees half a report).
 *
 * A report is only ever presented as complete when every byte of it was produced and
 * written: a writer's failure (a JSON or SARIF tree that could not be built or dumped, a
 * short write) is the caller's error, and vf_report_emit then leaves --output as it was.
 */
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>

#include "exai/file.h"
#include "report_int.h"

exai_status vf_report_write(const vf_report *r, vf_format fmt, FILE *out, exai_error *e)
{
	exai_status rc = EXAI_OK;
	size_t nrules = 0;
	rule_view *t = NULL;

	if ((unsigned)fmt > VF_FMT_SARIF)
		return exai_error_set(e, EXAI_EINVAL, "report: unknown format %d", (int)fmt);
	if (fmt != VF_FMT_TEXT && !(t = vf_report_rule_table(r, &nrules)))
		return exai_error_set(e, EXAI_ENOMEM, "report: out of memory");
	switch (fmt) {
	case VF_FMT_TEXT:
		vf_write_text(r, out);
		break;
	case VF_FMT_JSON:
		rc = vf_write_json(r, t, nrules, out, e);
		break;
	case VF_FMT_SARIF:
		rc = vf_write_sarif(r, t, nrules, out, e);
		break;
	case VF_FMT_JUNIT:
		vf_write_junit(r, t, nrules, out);
		break;
	}
	free(t);
	if ((fflush(out) != 0 || ferror(out)) && !rc)
		rc = exai_error_sys(e, EXAI_EIO, "report: write");
	return rc;
}

/* fopencookie write: straight into the atomic temp file. A failure returns 0, never -1:
 * fopencookie(3) says a write function must not return a negative value, and glibc's fwrite
 * counts a -1 as bytes written when it writes past its buffer (then reads beyond the caller's
 * data). With 0 the stream's error flag is set and the write fails cleanly. */
static ssize_t afile_cookie_write(void *cookie, const char *buf, size_t len)
{
	exai_afile *af = cookie;
	exai_error e;

	return exai_write_full(af->fd, buf, len, af->path, &e) ? 0 : (ssize_t)len;
}

/* The report goes through a large stdio buffer straight into a temp file that replaces
 * --output atomically: no in-memory copy of a report that can be tens of megabytes, and no
 * stream locking (one thread writes it). */
exai_status vf_report_emit(const vf_report *r, vf_format fmt, const char *path, exai_error *e)
{
	static const cookie_io_functions_t io = {.write = afile_cookie_write};
	exai_afile af = {.fd = -1};
	FILE *f;
	exai_status rc;

	if (!path) {
		rc = vf_report_write(r, fmt, stdout, e);
		if (!rc && fflush(stdout) != 0)
			rc = exai_error_sys(e, EXAI_EIO, "write the report to stdout");
		return rc;
	}
	if ((rc = exai_afile_open(&af, path, 0644, e)))
		return rc;
	if (!(f = fopencookie(&af, "w", io))) {
		exai_afile_abort(&af);
		return exai_error_sys(e, EXAI_ENOMEM, "%s: stream", path);
	}
	__fsetlocking(f, FSETLOCKING_BYCALLER);
	setvbuf(f, NULL, _IOFBF, 1u << 20);
	rc = vf_report_write(r, fmt, f, e);
	if ((fflush(f) != 0 || ferror(f)) && !rc)
		rc = exai_error_sys(e, EXAI_EIO, "%s: write", path);
	fclose(f);
	if (rc) {
		exai_afile_abort(&af);
		return rc;
	}
	return exai_afile_commit(&af, e);
}
