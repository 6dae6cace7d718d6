/* cli: the subcommand table of the espfab program. Each subcommand lives in its own cmd_*.c and
 * registers itself with CLI_COMMAND, so adding one touches no shared file; main() dispatches on
 * the first word and prints `espfab: message` for a failed one, exiting with its err code. */
#ifndef ESPFAB_CLI_CLI_H
#define ESPFAB_CLI_CLI_H

#include <stdint.h>

#include "core/err.h"

struct cli_command {
	const char *name;
	const char *synopsis; /* one line for `espfab help` */
	int order;            /* place in the help listing */
	/* argv[0] is the subcommand name; returns an exit code (DESIGN.md §4). */
	int (*run)(int argc, char **argv, err_t *e);
};

void cli_register_command(const struct cli_command *cmd);
const struct cli_command *cli_find_command(const char *name);

#define CLI_COMMAND(ident, name_, order_, synopsis_, fn_)                                 \
	static const struct cli_command cli_cmd_##ident = {name_, synopsis_, order_, fn_};     \
	__attribute__((constructor)) static void cli_register_##ident(void)                   \
	{                                                                                     \
		cli_register_command(&cli_cmd_##ident);                                       \
	}

/* Numbers as the Python tools accept them: decimal, or hex with 0x. Errors name `what`. */
int cli_parse_u32(const char *s, const char *what, uint32_t *out, err_t *e);
int cli_parse_u64(const char *s, const char *what, uint64_t *out, err_t *e);

#endif
