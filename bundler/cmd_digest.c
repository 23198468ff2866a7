/*
 * digest: the component digest of a file, as a bundle's manifest records it, so a reviewer
 * can compare an artifact with `exai-bundle inspect --key` without another tool. Format 2's
 * digest (exai/cdigest.h) is not what sha256sum prints; format 1's is.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exb_cli.h"
#include "exai/cdigest.h"
#include "exai/index.h"
#include "exai/json.h"

const char exb_digest_help[] =
    "usage: exai-bundle digest FILE... [--format-version N] [--json]\n"
    "\n"
    "Prints each FILE's component digest as a bundle of format version N (default 2)\n"
    "records it in its manifest (exai-bundle inspect --key shows it): 'DIGEST  FILE',\n"
    "one line a file. Version 2's digest is a tree over 16 KiB leaves (docs/format.md\n"
    "section 7.1) and differs from what sha256sum prints; --format-version 1 gives\n"
    "plain SHA-256. For a raw component, give the source file; for a tar component the\n"
    "digest is of the tar stream the bundle holds, not of a directory.\n"
    "Exit status: 0 every file hashed, 1 a file could not be read (named), 2 usage.\n";

enum { O_FORMAT, O_JSON };

static exai_status digest_file(const char *path, unsigned format, uint8_t md[EXAI_SHA256_LEN],
			       uint64_t *size, exai_error *e)
{
	struct stat st;
	exai_status rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return exai_error_set(e, EXAI_EUNSAFE, "%s: not a regular file", path);
	}
	*size = (uint64_t)st.st_size;
	if (format == EXAI_FORMAT_V1) {
		close(fd);
		return exai_sha256_file(path, *size, md, size, NULL, e);
	}
	rc = exai_cdigest_fd(fd, *size, md, NULL, e);
	close(fd);
	if (rc)
		exai_error_prefix(e, "%s", path);
	return rc;
}

int exb_cmd_digest(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    {"format-version", true, O_FORMAT},
	    {"json", false, O_JSON},
	    {NULL, false, 0},
	};
	const char *files[256];
	size_t n = 0;
	unsigned format = EXAI_FORMAT_CURRENT;
	bool json = false;
	exai_cli_parser p;
	const char *v;
	int id, ret = EXB_OK;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == O_FORMAT) {
			if (strcmp(v, "1") && strcmp(v, "2"))
				return exai_cli_refuse(call, "--format-version: '%s' is not 1 or 2",
						       v);
			format = v[0] == '1' ? EXAI_FORMAT_V1 : EXAI_FORMAT_V2;
		} else if (id == O_JSON) {
			json = true;
		} else if (id == EXAI_CLI_ARG) {
			if (n == sizeof(files) / sizeof(files[0]))
				return exai_cli_refuse(call, "at most %zu files at once", n);
			files[n++] = v;
		} else {
			return exai_cli_exit(id);
		}
	}
	if (!n)
		return exai_cli_refuse(call, "usage: digest FILE...");
	json_t *out = json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		uint8_t md[EXAI_SHA256_LEN];
		char hex[EXAI_SHA256_HEX];
		uint64_t size = 0;
		exai_error e;

		if (digest_file(files[i], format, md, &size, &e)) {
			if (json)
				json_array_append_new(
				    out, json_pack("{s:s,s:s}", "file", files[i], "error", e.msg));
			else
				fprintf(stderr, "exai-bundle digest: %s\n", e.msg);
			ret = EXB_FAIL;
			continue;
		}
		exai_hex_encode(md, sizeof(md), hex);
		if (json)
			json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:i}", "file", files[i],
							     "size", (json_int_t)size, "digest",
							     hex, "format_version", (int)format));
		else
			printf("%s  %s\n", hex, files[i]);
	}
	if (json)
		exai_json_emit(json_pack("{s:b,s:o}", "ok", ret == EXB_OK, "files", out), stdout);
	return ret;
}
