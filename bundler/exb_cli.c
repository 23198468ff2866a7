/*
 * exb_cli: error reporting, passwords, key loading and time parsing for exai-bundle.
 */
#include "exb_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exai/cli.h"
#include "exai/file.h"
#include "exai/json.h"
#include "exai/secmem.h"
#include "exai/text.h"
#include "prompt.h"

int exb_report(const char *cmd, const exai_error *e, bool json, int code)
{
	if (json)
		exai_json_emit(exai_json_error(e), stdout);
	else
		fprintf(stderr, "exai-bundle %s: %s\n", cmd, e->msg);
	return code;
}

exai_status exb_read_password(const char *path, char **out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;
	exai_status rc;

	*out = NULL;
	if (!path)
		return EXAI_OK;
	rc = exai_file_read_bounded(path, 4096, &buf, &len, e);
	if (rc)
		return exai_error_prefix(e, "password file");
	while (n < len && buf[n] != '\n' && buf[n] != '\r')
		n++;
	*out = exai_secmem_alloc(n + 1);
	if (*out) {
		memcpy(*out, buf, n);
		(*out)[n] = '\0';
	} else {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	}
	exai_wipe(buf, len);
	free(buf);
	if (!rc && n == 0) {
		exai_secmem_free(*out);
		*out = NULL;
		rc = exai_error_set(e, EXAI_EINVAL, "%s: empty password", path);
	}
	return rc;
}

static exai_status wrong_role(const char *path, exai_key_role found, exai_key_role want,
			      const char *job, exai_error *e)
{
	return exai_error_set(e, EXAI_EREFUSED,
			      "%s is a %s key (its key file says so); %s needs a %s key", path,
			      exai_key_role_name(found), job, exai_key_role_name(want));
}

/* The password for the secret key at @path: from @password_file if given; else, for a
 * password-protected key, typed on the terminal (once), or refused off a terminal. *pw stays
 * NULL for a key stored in the clear. */
static exai_status key_password(const char *path, const char *password_file, char **pw,
				exai_error *e)
{
	char prompt[EXAI_ERROR_MSG_MAX];
	bool enc = false;
	exai_status rc;

	*pw = NULL;
	if (password_file)
		return exb_read_password(password_file, pw, e);
	if ((rc = exai_seckey_file_encrypted(path, &enc, e)) || !enc)
		return rc;
	/* A key others can read is refused before anyone types its password. */
	if ((rc = exai_file_secret_mode_ok(path, e)))
		return rc;
	if (!exb_prompt_available())
		return exai_error_set(e, EXAI_EINVAL,
				      "%s is password-protected and standard input is not a "
				      "terminal to ask on: give --password-file FILE",
				      path);
	snprintf(prompt, sizeof(prompt), "Password for %s: ", path);
	if ((rc = exb_prompt_password(prompt, pw, e)))
		return exai_error_prefix(e, "%s", path);
	return EXAI_OK;
}

exai_status exb_load_seckey(const char *path, const char *password_file, exai_key_role want,
			    const char *job, exai_seckey **out, exai_error *e)
{
	exai_key_role found = EXAI_KEY_ROLE_UNKNOWN;
	char *pw = NULL;
	exai_status rc;

	*out = NULL;
	/* The role first: a wrong key is named as such before any password is asked for. */
	if ((rc = exai_keyfile_role(path, &found, e)))
		return rc;
	if (found != EXAI_KEY_ROLE_UNKNOWN && found != want)
		return wrong_role(path, found, want, job, e);
	if ((rc = key_password(path, password_file, &pw, e)))
		return rc;
	rc = exai_seckey_load(path, pw, out, e);
	exai_secmem_free(pw);
	if (rc)
		return rc;
	if ((*out)->role == EXAI_KEY_ROLE_UNKNOWN)
		fprintf(stderr,
			"note: %s carries no exai key role (made by minisign?): make sure it is a "
			"%s key\n",
			path, exai_key_role_name(want));
	return EXAI_OK;
}

exai_status exb_check_key_role(const char *path, exai_key_role want, const char *job, exai_error *e)
{
	exai_key_role found = EXAI_KEY_ROLE_UNKNOWN;
	exai_status rc = exai_keyfile_role(path, &found, e);

	if (rc)
		return rc;
	if (found != EXAI_KEY_ROLE_UNKNOWN && found != want)
		return wrong_role(path, found, want, job, e);
	return EXAI_OK;
}

exai_status exb_load_site_key(const char *path, exai_site_key **out, exai_error *e)
{
	exai_key_role found = EXAI_KEY_ROLE_UNKNOWN;
	exai_status rc;

	*out = NULL;
	if ((rc = exai_keyfile_role(path, &found, e)))
		return rc;
	if (found == EXAI_KEY_ROLE_RELEASE || found == EXAI_KEY_ROLE_ROOT)
		return wrong_role(path, found, EXAI_KEY_ROLE_SITE, "decrypting a bundle", e);
	return exai_site_key_load(path, out, e);
}

uint64_t exb_now(void)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	uint64_t t;

	if (sde && exai_parse_u64(sde, &t))
		return t;
	return (uint64_t)time(NULL);
}

void exb_format_time(uint64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, cap, "%llu", (unsigned long long)t);
}
