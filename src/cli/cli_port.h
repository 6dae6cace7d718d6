/* cli_port: the device connection options (--port/-p, --baud/-b, --before, --after,
 * --connect-attempts) of the commands that talk to the ROM bootloader (info, efuse, flash):
 * taken out of the command line before the command's own words, and the link opened from them. */
#ifndef ESPFAB_CLI_CLI_PORT_H
#define ESPFAB_CLI_CLI_PORT_H

#include "core/err.h"
#include "loader/loader.h"

/* Initialises o from the connection options in argv and removes them, keeping argv[0] and the
 * order of the other words (*argc updated). Returns 0, or ERR_USAGE with e set. */
int cli_port_take_options(struct loader_opts *o, int *argc, char **argv, err_t *e);
/* 0 when a port was named, else ERR_USAGE ("--port is required"). */
int cli_port_check_port(const struct loader_opts *o, err_t *e);
/* Checks the port and opens the loader: 0, ERR_USAGE, or the link's exit code (ERR_DEVICE when
 * it names none). */
int cli_port_open_loader(loader_t *l, const struct loader_opts *o, err_t *e);

#endif
