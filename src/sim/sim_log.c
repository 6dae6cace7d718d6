/* sim_log: command log sink (see sim_log.h). */
#include "sim/sim_log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

static FILE *sim_log_file;

int sim_log_open(const char *path, err_t *e)
{
	if (!path) {
		sim_log_file = stderr;
		return 0;
	}
	sim_log_file = fopen(path, "a");
	if (!sim_log_file)
		return err_set_msg(e, ERR_USAGE, "--log %s: %s", path, strerror(errno));
	return 0;
}

void sim_log_close(void)
{
	if (sim_log_file && sim_log_file != stderr)
		fclose(sim_log_file);
	sim_log_file = NULL;
}

void sim_log_write(const char *fmt, ...)
{
	FILE *f = sim_log_file ? sim_log_file : stderr;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(f, "%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}
