/*
 * replay_main.c -- run a fuzz target over files without libFuzzer.
 *
 *   fuzz_reply_replay FILE_OR_DIR...
 *
 * Each argument is a file or a directory whose regular files are each one
 * input.  Built with ASan + UBSan (no recovery), so any report aborts with a
 * non-zero exit; LeakSanitizer checks for leaks at exit.  Exits 2 if an
 * argument cannot be read or no input was found at all, so an empty or
 * misplaced corpus never passes silently.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long ninputs = 0;

static int
run_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	/* exact-size copy: ASan sees any read past the input */
	buf = malloc(n > 0 ? (size_t) n : 1);
	if (n > 0 && fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		perror(path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t) n);
	free(buf);
	ninputs++;
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
run_path(const char *path)
{
	struct stat st;
	DIR		   *dir;
	struct dirent *de;
	char	  **names = NULL;
	size_t		nnames = 0,
				cap = 0;
	int			rc = 0;

	if (stat(path, &st) != 0)
	{
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);

	if ((dir = opendir(path)) == NULL)
	{
		perror(path);
		return -1;
	}
	while ((de = readdir(dir)) != NULL)
	{
		if (de->d_name[0] == '.')
			continue;
		if (nnames == cap)
		{
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(char *));
		}
		names[nnames++] = strdup(de->d_name);
	}
	closedir(dir);
	/* sorted, so a failure reproduces in the same order */
	qsort(names, nnames, sizeof(char *), cmp_names);
	for (size_t i = 0; i < nnames; i++)
	{
		size_t		len = strlen(path) + strlen(names[i]) + 2;
		char	   *full = malloc(len);

		snprintf(full, len, "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && run_file(full) != 0)
			rc = -1;
		free(full);
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int			rc = 0;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i]) != 0)
			rc = 2;
	if (ninputs == 0)
	{
		fprintf(stderr, "%s: no inputs found\n", argv[0]);
		rc = 2;
	}
	printf("%s: ran %ld inputs\n", argv[0], ninputs);
	return rc;
}
