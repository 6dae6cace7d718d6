#include "simrun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static pid_t simrun_running;

static bool simrun_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* A port the OS just gave out (bound to port 0, then released): another test's simulator or a
 * lingering socket cannot be sitting on it. */
static int simrun_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t n = sizeof a;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &n) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool simrun_try_start(struct simrun *s, const char *chip, const char *const *extra)
{
	s->port = simrun_free_port();
	if (s->port <= 0)
		return false;
	char port[16];
	snprintf(port, sizeof port, "%d", s->port);
	fflush(stdout); /* the child's freopen would flush a second copy of what is buffered */
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		const char *argv[32] = {testutil_sim_bin(), "--chip", chip, "--tcp", port, "--flash", s->flash,
					"--efuse", s->efuse, "--flash-size", "8MB"};
		int n = 11;
		for (int i = 0; extra && extra[i] && n < 31; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	simrun_running = s->pid;
	/* The first connection is the readiness probe; the simulator serves the next one. */
	for (int i = 0; i < 150; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			simrun_running = 0;
			return false; /* it could not listen there */
		}
		if (simrun_accepts(s->port)) {
			usleep(50000);
			return true;
		}
		usleep(20000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	simrun_running = 0;
	return false;
}

void simrun_start(struct simrun *s, const char *dir, const char *chip, const char *const *extra)
{
	if (!s->flash) {
		s->flash = testutil_join_path(dir, "flash.bin");
		s->efuse = testutil_join_path(dir, "efuse.bin");
	}
	for (int attempt = 0; attempt < 3; attempt++)
		if (simrun_try_start(s, chip, extra))
			return;
	fail_msg("espfab-sim did not come up");
}

void simrun_stop(struct simrun *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		simrun_running = 0;
	}
}

void simrun_free(struct simrun *s)
{
	simrun_stop(s);
	free(s->flash);
	free(s->efuse);
	s->flash = s->efuse = NULL;
}

void simrun_kill_leftover(void)
{
	if (simrun_running > 0) {
		kill(simrun_running, SIGKILL);
		waitpid(simrun_running, NULL, 0);
		simrun_running = 0;
	}
}
