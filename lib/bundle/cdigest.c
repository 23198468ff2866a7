/*
 * cdigest: the format-2 component digest, a one-level tree over 16 KiB leaves of the
 * component's own bytes (exai/cdigest.h; docs/format.md section 7.1).
 *
 * Invariants: d->fed counts every byte taken, whether hashed here (update) or as a leaf hash
 * computed elsewhere (add_leaf); d->in_leaf is true exactly when fed is not at a leaf boundary
 * (fed % LEAF != 0 and fed < size). A leaf hash is appended to the top hash only once the
 * leaf's last byte is taken, so the top hash always covers whole leaves in order.
 */
#include "exai/cdigest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/progress.h"

#define LEAF EXAI_CDIGEST_LEAF

uint64_t exai_cdigest_leaf_len(uint64_t size, uint64_t j)
{
	if (j >= (size + LEAF - 1) / LEAF)
		return 0;
	return size - j * LEAF < LEAF ? size - j * LEAF : LEAF;
}

bool exai_cdigest_leaf_inside(uint64_t size, uint64_t j, uint64_t a, uint64_t b)
{
	uint64_t len = exai_cdigest_leaf_len(size, j);

	return len && j * LEAF >= a && j * LEAF + len <= b;
}

exai_status exai_cdigest_init(exai_cdigest *d, uint64_t size, exai_error *e)
{
	uint8_t be[8];
	exai_status rc;

	memset(d, 0, sizeof(*d));
	if ((rc = exai_sha256_init(&d->top, e)))
		return rc;
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(size >> (56 - 8 * i));
	exai_sha256_update(&d->top, EXAI_CDIGEST_TAG, strlen(EXAI_CDIGEST_TAG));
	exai_sha256_update(&d->top, be, sizeof(be));
	d->size = size;
	d->live = true;
	return EXAI_OK;
}

void exai_cdigest_free(exai_cdigest *d)
{
	if (d->in_leaf)
		exai_sha256_free(&d->leaf);
	if (d->live)
		exai_sha256_free(&d->top);
	d->in_leaf = d->live = false;
}

exai_status exai_cdigest_add_leaf(exai_cdigest *d, const uint8_t md[EXAI_SHA256_LEN], exai_error *e)
{
	uint64_t len = exai_cdigest_leaf_len(d->size, d->fed / LEAF);

	if (!d->live || d->in_leaf || d->fed % LEAF || !len)
		return exai_error_set(e, EXAI_EINTERNAL, "component digest: leaf out of place");
	exai_sha256_update(&d->top, md, EXAI_SHA256_LEN);
	d->fed += len;
	return EXAI_OK;
}

/* Whole leaves from @p (at a leaf boundary), four at a time; returns the bytes taken. */
static exai_status whole_leaves(exai_cdigest *d, const uint8_t *p, size_t n, size_t *took,
				exai_error *e)
{
	const uint8_t *data[EXAI_SHA256_MULTI_MAX];
	size_t len[EXAI_SHA256_MULTI_MAX];
	uint8_t md[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];
	size_t done = 0;
	exai_status rc;

	*took = 0;
	for (;;) {
		size_t k = 0, got = 0;
		while (k < EXAI_SHA256_MULTI_MAX) {
			uint64_t l = exai_cdigest_leaf_len(d->size, (d->fed + got) / LEAF);
			if (!l || l > n - done - got)
				break;
			data[k] = p + done + got;
			len[k++] = (size_t)l;
			got += (size_t)l;
		}
		if (!k)
			break;
		if ((rc = exai_sha256_multi(k, data, len, md, e)))
			return rc;
		for (size_t i = 0; i < k; i++)
			exai_sha256_update(&d->top, md[i], EXAI_SHA256_LEN);
		d->fed += got;
		done += got;
	}
	*took = done;
	return EXAI_OK;
}

exai_status exai_cdigest_update(exai_cdigest *d, const uint8_t *p, size_t n, exai_error *e)
{
	exai_status rc;

	if (!d->live)
		return exai_error_set(e, EXAI_EINTERNAL, "component digest: not started");
	if (n > d->size - d->fed)
		return exai_error_set(e, EXAI_EINTERNAL,
				      "component digest: more bytes than the %llu declared",
				      (unsigned long long)d->size);
	while (n > 0) {
		uint64_t j = d->fed / LEAF;
		uint64_t in = d->fed - j * LEAF;
		uint64_t left = exai_cdigest_leaf_len(d->size, j) - in;
		size_t took;

		if (!d->in_leaf) {
			if ((rc = whole_leaves(d, p, n, &took, e)))
				return rc;
			p += took;
			n -= took;
			if (!n)
				break;
			if ((rc = exai_sha256_init(&d->leaf, e)))
				return rc;
			d->in_leaf = true;
			continue;
		}
		took = n < left ? n : (size_t)left;
		exai_sha256_update(&d->leaf, p, took);
		p += took;
		n -= took;
		d->fed += took;
		if (took == left) {
			uint8_t md[EXAI_SHA256_LEN];
			exai_sha256_final(&d->leaf, md);
			d->in_leaf = false;
			exai_sha256_update(&d->top, md, sizeof(md));
		}
	}
	return EXAI_OK;
}

exai_status exai_cdigest_final(exai_cdigest *d, uint8_t out[EXAI_SHA256_LEN], exai_error *e)
{
	if (!d->live || d->in_leaf || d->fed != d->size) {
		uint64_t fed = d->fed, size = d->size;
		exai_cdigest_free(d);
		return exai_error_set(e, EXAI_EINTERNAL,
				      "component digest: %llu of %llu bytes taken",
				      (unsigned long long)fed, (unsigned long long)size);
	}
	exai_sha256_final(&d->top, out);
	d->live = false;
	return EXAI_OK;
}

size_t exai_cdigest_span_max(uint64_t len)
{
	return (size_t)(len / LEAF) + 1;
}

exai_status exai_cdigest_span(uint64_t size, uint64_t a, uint64_t b, const uint8_t *p,
			      uint8_t (*out)[EXAI_SHA256_LEN], size_t *count, exai_error *e)
{
	const uint8_t *data[EXAI_SHA256_MULTI_MAX];
	size_t len[EXAI_SHA256_MULTI_MAX];
	uint64_t j = (a + LEAF - 1) / LEAF;
	size_t n = 0;
	exai_status rc;

	*count = 0;
	while (exai_cdigest_leaf_inside(size, j, a, b)) {
		size_t k = 0;
		for (; k < EXAI_SHA256_MULTI_MAX && exai_cdigest_leaf_inside(size, j, a, b);
		     k++, j++) {
			data[k] = p + (j * LEAF - a);
			len[k] = (size_t)exai_cdigest_leaf_len(size, j);
		}
		if ((rc = exai_sha256_multi(k, data, len, out + n, e)))
			return rc;
		n += k;
	}
	*count = n;
	return EXAI_OK;
}

exai_status exai_cdigest_buf(const void *p, size_t n, uint8_t out[EXAI_SHA256_LEN], exai_error *e)
{
	exai_cdigest d;
	exai_status rc;

	if ((rc = exai_cdigest_init(&d, n, e)))
		return rc;
	if ((rc = exai_cdigest_update(&d, p, n, e))) {
		exai_cdigest_free(&d);
		return rc;
	}
	return exai_cdigest_final(&d, out, e);
}

#define FD_BUF ((size_t)4 << 20)

exai_status exai_cdigest_fd(int fd, uint64_t size, uint8_t out[EXAI_SHA256_LEN],
			    struct exai_progress *progress, exai_error *e)
{
	uint8_t *buf = malloc(FD_BUF);
	uint64_t got = 0;
	exai_cdigest d;
	exai_status rc;

	if (!buf)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = exai_cdigest_init(&d, size, e)))
		goto out;
	while (got < size) {
		size_t want = size - got < FD_BUF ? (size_t)(size - got) : FD_BUF;
		ssize_t k = read(fd, buf, want);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc =
			    k < 0
				? exai_error_sys(e, EXAI_EIO, "read at offset %llu",
						 (unsigned long long)got)
				: exai_error_set(e, EXAI_ESHORT, "ended after %llu of %llu bytes",
						 (unsigned long long)got, (unsigned long long)size);
			goto out_free;
		}
		if ((rc = exai_cdigest_update(&d, buf, (size_t)k, e)))
			goto out_free;
		got += (uint64_t)k;
		if (progress)
			exai_progress_add(progress, (uint64_t)k);
	}
	rc = exai_cdigest_final(&d, out, e);
	goto out;
out_free:
	exai_cdigest_free(&d);
out:
	free(buf);
	return rc;
}
