/* Runs a libFuzzer harness without libFuzzer, as a plain test: every file named on the
 * command line (or in a named directory), every 61st prefix of it, and 300 seeded random
 * mutations of it (byte flips, insertions of interesting bytes), so the harness's code paths
 * run under the normal and the sanitizer builds on every `ctest`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (4u << 20)

static unsigned long runs;

static void one(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1); /* exact-size copy: ASan sees any overread */

	memcpy(copy, p, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	runs++;
}

static void mutate_all(const uint8_t *p, size_t n, unsigned seed)
{
	static const uint8_t interesting[] = {0, 0xff, 0x7f, 0x80, '\n', ':', '/', '.', '-', '{'};
	uint8_t *q = malloc(n + 1);

	one(p, n);
	for (size_t cut = 0; cut < n; cut += n / 61 + 1)
		one(p, cut);
	for (int r = 0; r < 300 && n; r++) {
		size_t m = n;
		memcpy(q, p, n);
		for (int k = 0; k < 1 + r % 8; k++) {
			size_t at = (size_t)rand_r(&seed) % m;
			q[at] = (rand_r(&seed) & 1)
				    ? (uint8_t)rand_r(&seed)
				    : interesting[rand_r(&seed) % sizeof(interesting)];
		}
		one(q, m);
	}
	free(q);
}

static int file(const char *path, unsigned seed)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(REPLAY_MAX_INPUT);
	size_t n;

	if (!f || !buf) {
		perror(path);
		free(buf);
		if (f)
			fclose(f);
		return 1;
	}
	n = fread(buf, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	mutate_all(buf, n, seed);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;
			while (d && (de = readdir(d))) {
				char p[4096];
				if (de->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
				if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
					rc |= file(p, (unsigned)i * 7919u + (unsigned)st.st_size);
			}
			if (d)
				closedir(d);
		} else {
			rc |= file(argv[i], (unsigned)i);
		}
	}
	printf("%lu inputs\n", runs);
	return rc;
}
