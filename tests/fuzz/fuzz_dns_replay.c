/*
 * fuzz_dns_replay: runs every file of the given corpus directories through fuzz_dns's
 * LLVMFuzzerTestOneInput once, without libFuzzer, so the seed corpus is a plain CTest test in
 * every build (and under ASan in the sanitizer build). Exit 0 when every input was run, 1 on
 * an unreadable corpus; a broken contract aborts inside the harness.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_MAX (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return -1;
	buf = malloc(REPLAY_MAX);
	if (!buf) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	/* an exact-size copy, so a read past the end is caught by ASan */
	{
		uint8_t *exact = malloc(n ? n : 1);
		if (!exact) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, n);
		LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	size_t total = 0;
	int i;

	for (i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;

		if (!d) {
			fprintf(stderr, "fuzz_dns_replay: cannot open %s\n", argv[i]);
			return 1;
		}
		while ((de = readdir(d))) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (replay_file(path) < 0) {
				fprintf(stderr, "fuzz_dns_replay: cannot read %s\n", path);
				closedir(d);
				return 1;
			}
			total++;
		}
		closedir(d);
	}
	printf("fuzz_dns_replay: %zu inputs, no contract broken\n", total);
	return total ? 0 : 1;
}
