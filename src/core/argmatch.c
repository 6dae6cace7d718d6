#include "core/argmatch.h"

#include <string.h>

int argmatch_take_value(int argc, char **argv, int *i, const char *const names[], const char **value,
			err_t *e)
{
	const char *arg = argv[*i];
	for (int k = 0; names[k]; k++) {
		const char *name = names[k];
		size_t n = strlen(name);
		if (strncmp(arg, name, n) != 0)
			continue;
		if (arg[n] == '\0') {
			if (*i + 1 >= argc)
				return err_set_msg(e, ERR_USAGE, "option %s needs a value", name);
			*value = argv[*i + 1];
			*i += 2;
			return 1;
		}
		if (arg[n] == '=') { /* argparse splits at '=' for every option spelling */
			*value = arg + n + 1;
			*i += 1;
			return 1;
		}
		/* argparse glues values only to one-letter short options ("-p20202021"). */
		if (name[0] == '-' && name[1] != '-' && n == 2) {
			*value = arg + n;
			*i += 1;
			return 1;
		}
	}
	return 0;
}

int argmatch_is_flag(const char *arg, const char *const names[])
{
	for (int k = 0; names[k]; k++)
		if (strcmp(arg, names[k]) == 0)
			return 1;
	return 0;
}
