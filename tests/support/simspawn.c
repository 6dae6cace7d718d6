#include "simspawn.h"

#include "testutil.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

pid_t simspawn_start_child(const char *const *argv, int *out_fd)
{
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	*out_fd = pipefd[0];
	return pid;
}

void simspawn_read_line(int fd, char *line, size_t n)
{
	size_t len = 0;
	while (len < n - 1) {
		ssize_t r = read(fd, line + len, 1);
		if (r <= 0 || line[len] == '\n')
			break;
		len++;
	}
	line[len] = 0;
}
