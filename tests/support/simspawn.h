/* simspawn: espfab-sim started as a child of a test, its stdout a pipe back to the test and
 * killed with it (so a failed assertion never leaves a simulator holding ctest's output), and
 * the one line it announces its endpoint with ("tcp 127.0.0.1:PORT", "pty PATH"). */
#ifndef ESPFAB_TESTS_SIMSPAWN_H
#define ESPFAB_TESTS_SIMSPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* argv: NULL-terminated, argv[0] the simulator binary. Returns the child's pid; *out_fd reads
 * its stdout. Fails the test when it cannot fork. */
pid_t simspawn_start_child(const char *const *argv, int *out_fd);
/* One line from fd without its newline, at most n-1 bytes; empty at end of file. */
void simspawn_read_line(int fd, char *line, size_t n);

#endif
