/*
 * Replays fuzz inputs without libFuzzer: each argument is a file, or a
 * directory whose files (recursively) are replayed.  This is how `make
 * test` runs every fuzz target over its seed corpus under ASan+UBSan;
 * `make fuzz` links the same targets with libFuzzer instead.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay(const char *path, int *count)
{
	struct stat sb;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "%s: cannot stat\n", path);
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		int rc = 0;

		if (d == NULL)
			return -1;
		while (rc == 0 && (de = readdir(d)) != NULL) {
			char sub[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rc = replay(sub, count);
		}
		closedir(d);
		return rc;
	}
	{
		FILE *f = fopen(path, "rb");
		uint8_t *buf;
		size_t n;

		if (f == NULL)
			return -1;
		buf = malloc((size_t)sb.st_size + 1);
		if (buf == NULL) {
			fclose(f);
			return -1;
		}
		n = fread(buf, 1, (size_t)sb.st_size, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		free(buf);
		(*count)++;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int count = 0;

	for (int i = 1; i < argc; i++)
		if (replay(argv[i], &count) != 0)
			return 1;
	printf("replayed %d inputs\n", count);
	/* A target that replays nothing tests nothing. */
	return count > 0 ? 0 : 1;
}
