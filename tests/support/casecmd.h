/* casecmd: a case.json "command" (the reference tool's argv as a JSON array of words) turned
 * into an espfab command line: the tool's name replaced by `espfab SUBCOMMAND`, the other
 * words kept, so every case is replayed exactly as the reference tool was run. */
#ifndef ESPFAB_TESTS_CASECMD_H
#define ESPFAB_TESTS_CASECMD_H

#include <jansson.h>

/* A NULL-terminated, heap-owned argv {"espfab", subcommand, cmd[1], ...}; *argc (may be NULL)
 * receives its length. Free with casecmd_free_argv. */
char **casecmd_build_argv(json_t *cmd, const char *subcommand, int *argc);
void casecmd_free_argv(char **argv);

#endif
