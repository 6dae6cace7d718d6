#include "casecmd.h"

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

char **casecmd_build_argv(json_t *cmd, const char *subcommand, int *argc)
{
	size_t n = json_array_size(cmd);
	char **argv = calloc(n + 2, sizeof *argv);
	assert_non_null(argv);
	argv[0] = strdup("espfab");
	argv[1] = strdup(subcommand);
	for (size_t i = 1; i < n; i++)
		argv[i + 1] = strdup(json_string_value(json_array_get(cmd, i)));
	if (argc)
		*argc = (int)n + 1;
	return argv;
}

void casecmd_free_argv(char **argv)
{
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

json_t *casecmd_load_case(const char *set, const char *name, char **dir)
{
	*dir = testutil_vector_path(set, name);
	char *path = testutil_join_path(*dir, "case.json");
	json_t *j = testutil_load_json(path);
	if (!j)
		fail_msg("%s: cannot load", path);
	free(path);
	return j;
}
