/* casecmd: one case folder of a vector set: its case.json loaded, and its "command" (the
 * reference tool's argv as a JSON array of words) turned into an espfab command line, the tool's
 * name replaced by `espfab SUBCOMMAND`, so every case is replayed as the reference tool was run. */
#ifndef ESPFAB_TESTS_CASECMD_H
#define ESPFAB_TESTS_CASECMD_H

#include <jansson.h>

/* A NULL-terminated, heap-owned argv {"espfab", subcommand, cmd[1], ...}; *argc (may be NULL)
 * receives its length. Free with casecmd_free_argv. */
char **casecmd_build_argv(json_t *cmd, const char *subcommand, int *argc);
void casecmd_free_argv(char **argv);
/* set/name/case.json, loaded (the test fails when it cannot be); *dir receives the case folder
 * (free it). Release the result with json_decref. */
json_t *casecmd_load_case(const char *set, const char *name, char **dir);

#endif
