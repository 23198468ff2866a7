/*
 * progress: rate-limited terminal progress line.
 */
#include "exai/progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_NS 100000000ull

uint64_t exai_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void exai_format_bytes(char *buf, size_t cap, double bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	unsigned u = 0;

	while (bytes >= 1024.0 && u < 4) {
		bytes /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0f %s", bytes, units[u]);
	else
		snprintf(buf, cap, "%.1f %s", bytes, units[u]);
}

void exai_progress_format(char *buf, size_t cap, const char *label, uint64_t done, uint64_t total,
			  uint64_t elapsed_ns)
{
	char d[24], t[24], r[24], eta[24] = "--:--";
	double secs = (double)elapsed_ns / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	char bar[21];
	unsigned pct = 0;

	exai_format_bytes(d, sizeof(d), (double)done);
	exai_format_bytes(r, sizeof(r), rate);
	if (total) {
		uint64_t capped = done > total ? total : done;
		pct = (unsigned)(capped * 100 / total);
		exai_format_bytes(t, sizeof(t), (double)total);
		if (rate > 0) {
			unsigned long left = (unsigned long)((double)(total - capped) / rate + 0.5);
			snprintf(eta, sizeof(eta), "%lu:%02lu", left / 60, left % 60);
		}
		memset(bar, '#', pct / 5);
		memset(bar + pct / 5, '.', 20 - pct / 5);
		bar[20] = '\0';
		snprintf(buf, cap, "%-16s [%s] %3u%% %s / %s  %s/s  ETA %s", label, bar, pct, d, t,
			 r, eta);
	} else {
		snprintf(buf, cap, "%-16s %s  %s/s", label, d, r);
	}
}

void exai_progress_start_to(exai_progress *p, const char *label, uint64_t total, FILE *out)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	p->out = out;
	p->start_ns = exai_now_ns();
	pthread_mutex_init(&p->lock, NULL);
}

void exai_progress_start(exai_progress *p, const char *label, uint64_t total)
{
	FILE *out = isatty(STDERR_FILENO) && !getenv("EXAI_NO_PROGRESS") ? stderr : NULL;

	exai_progress_start_to(p, label, total, out);
}

static void draw(exai_progress *p, uint64_t now, const char *end)
{
	char line[160];

	exai_progress_format(line, sizeof(line), p->label,
			     __atomic_load_n(&p->done, __ATOMIC_RELAXED), p->total,
			     now - p->start_ns);
	fprintf(p->out, "\r%s\033[K%s", line, end);
	fflush(p->out);
	__atomic_store_n(&p->last_draw_ns, now, __ATOMIC_RELAXED);
}

void exai_progress_add(exai_progress *p, uint64_t n)
{
	uint64_t now;

	if (!p)
		return;
	__atomic_add_fetch(&p->done, n, __ATOMIC_RELAXED);
	if (!p->out)
		return;
	now = exai_now_ns();
	if (now - __atomic_load_n(&p->last_draw_ns, __ATOMIC_RELAXED) < REDRAW_NS)
		return;
	if (pthread_mutex_trylock(&p->lock) != 0)
		return;
	draw(p, now, "");
	pthread_mutex_unlock(&p->lock);
}

void exai_progress_finish(exai_progress *p)
{
	if (!p)
		return;
	if (p->out) {
		pthread_mutex_lock(&p->lock);
		draw(p, exai_now_ns(), "\n");
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_destroy(&p->lock);
}
