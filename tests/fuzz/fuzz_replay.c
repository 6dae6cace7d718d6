/* fuzz_replay: a main() for compilers without libFuzzer (gcc): runs the target once on each file
 * named on the command line (files in a named folder too), so the seeds and the crash inputs kept
 * as regressions still run under the sanitizers. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target (libFuzzer calls it once before the first input). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "fuzz_replay: cannot open %s\n", path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 0, bad = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (argv[i][0] == '-')
			continue; /* libFuzzer options, meaningless here */
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;

			while (d && (de = readdir(d)) != NULL) {
				char path[4096];

				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
				bad |= fuzz_replay_file(path) != 0;
				runs++;
			}
			if (d)
				closedir(d);
		} else {
			bad |= fuzz_replay_file(argv[i]) != 0;
			runs++;
		}
	}
	printf("fuzz_replay: %d inputs run\n", runs);
	return bad;
}
