/*
 * ring.c: the deferred-commit ring buffer reader (ring.h). The record header is the kernel's
 * (struct bpf_ringbuf_hdr: a 32-bit length with the busy and discard bits, then the page
 * offset); records are 8-byte aligned.
 */
#include "ring.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

exai_status egress_ring_open(int fd, egress_ring *r, exai_error *e)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return exai_error_sys(e, EXAI_EIO, "event ring buffer: map info");
	if (info.type != BPF_MAP_TYPE_RINGBUF || info.max_entries == 0 ||
	    (info.max_entries & (info.max_entries - 1)))
		return exai_error_set(e, EXAI_EINTERNAL, "the events map is not a ring buffer");
	r->mask = info.max_entries - 1;
	r->cons = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->cons == MAP_FAILED) {
		r->cons = NULL;
		return exai_error_sys(e, EXAI_EIO, "event ring buffer: map the consumer page");
	}
	r->prod_len = (size_t)page + 2 * (size_t)info.max_entries;
	r->prod = mmap(NULL, r->prod_len, PROT_READ, MAP_SHARED, fd, page);
	if (r->prod == MAP_FAILED) {
		r->prod = NULL;
		egress_ring_close(r);
		return exai_error_sys(e, EXAI_EIO, "event ring buffer: map the data pages");
	}
	return EXAI_OK;
}

void egress_ring_close(egress_ring *r)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!r)
		return;
	if (r->cons)
		munmap(r->cons, (size_t)page);
	if (r->prod)
		munmap(r->prod, r->prod_len);
	r->cons = r->prod = NULL;
}

size_t egress_ring_peek(egress_ring *r, size_t max, int (*fn)(void *, const void *, size_t),
			void *ctx)
{
	const uint8_t *data = (const uint8_t *)r->prod + sysconf(_SC_PAGESIZE);
	uint64_t cons = __atomic_load_n((uint64_t *)r->cons, __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n((uint64_t *)r->prod, __ATOMIC_ACQUIRE);
	size_t n = 0;

	r->read_from = r->read_to = cons;
	while (cons < prod && n < max) {
		const uint32_t *hdr = (const uint32_t *)(data + (cons & r->mask));
		uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
		uint32_t size = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);

		if (len & BPF_RINGBUF_BUSY_BIT)
			break; /* reserved, not submitted yet: later */
		if (size > r->mask + 1)
			break; /* cannot be: the kernel caps a record at the ring's size */
		if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
			/* the data pages are mapped twice in a row: a record never wraps */
			if (fn(ctx, (const uint8_t *)hdr + BPF_RINGBUF_HDR_SZ, size) != 0)
				break;
			n++;
		}
		cons += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
		r->read_to = cons;
	}
	return n;
}

bool egress_ring_commit(egress_ring *r)
{
	uint64_t want = r->read_from;

	if (r->read_to == r->read_from)
		return true;
	return __atomic_compare_exchange_n((uint64_t *)r->cons, &want, r->read_to, false,
					   __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}
