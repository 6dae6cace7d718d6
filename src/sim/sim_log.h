/* sim_log: the simulator's command log: one line per command received (opcode name, data length,
 * reply status, response frame numbers so --fault drop:N/corrupt:N can be aimed), plus fault and
 * connection events, to --log FILE or stderr. Lines are flushed at once so a test can follow. */
#ifndef ESPFAB_SIM_LOG_H
#define ESPFAB_SIM_LOG_H

#include <stdio.h>

#include "core/err.h"

int sim_log_open(const char *path, err_t *e);
void sim_log_close(void);
void sim_log_write(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
