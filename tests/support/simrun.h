/* simrun: espfab-sim as a TCP peer for tests and benchmarks that drive `espfab run` against it:
 * started on a port the OS just handed out, with its flash and eFuse files in a folder, probed
 * until it listens, and stopped (or killed after a failed assertion) by pid. */
#ifndef ESPFAB_TESTS_SIMRUN_H
#define ESPFAB_TESTS_SIMRUN_H

#include <sys/types.h>

struct simrun {
	pid_t pid;
	int port;
	char *flash, *efuse; /* dir/flash.bin, dir/efuse.bin: kept across restarts */
};

/* Starts the simulator for chip with 8 MB of flash; extra is a NULL-terminated list of further
 * arguments (--no-throttle, --fault SPEC, --log FILE) or NULL. Fails the test when it does not
 * come up after three ports. */
void simrun_start(struct simrun *s, const char *dir, const char *chip, const char *const *extra);
void simrun_stop(struct simrun *s);
void simrun_free(struct simrun *s);
/* Kills the simulator a test left running when an assertion jumped out of it (for teardown). */
void simrun_kill_leftover(void);

#endif
