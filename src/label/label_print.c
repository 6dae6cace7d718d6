#include "label/label_print.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cups/cups.h>

#include "core/fileio.h"

static int label_print_write_temp(const void *data, size_t len, const char *suffix, char *path, size_t n,
				  err_t *e)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, n, "%s/espfab-label-XXXXXX%s", dir, suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	if (fd < 0)
		return err_set_msg(e, ERR_DEVICE, "print: cannot create a spool file in %s: %s", dir, strerror(errno));
	const uint8_t *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = errno;
			close(fd);
			unlink(path);
			return err_set_msg(e, ERR_DEVICE, "print: writing %s: %s", path, strerror(err));
		}
		p += w;
		left -= (size_t)w;
	}
	close(fd);
	return 0;
}

int label_print_data(const struct label_print_job *job, const void *data, size_t len, int *job_id, err_t *e)
{
	*job_id = 0;
	if (job->to_file)
		return fileio_write_atomic(job->to_file, data, len, FILEIO_MODE_PUBLIC, e);

	const char *printer = job->printer;
	if (!printer || !*printer) {
		printer = cupsGetDefault();
		if (!printer)
			return err_set_msg(e, ERR_DEVICE, "print: no printer named and no CUPS default destination");
	}
	char path[4096];
	if (label_print_write_temp(data, len, job->format == LABEL_PRINT_ZPL ? ".zpl" : ".png", path, sizeof path, e))
		return -1;
	cups_option_t *options = NULL;
	int n = 0;
	char ppi[16];
	if (job->format == LABEL_PRINT_ZPL) {
		n = cupsAddOption("raw", "true", n, &options);
	} else {
		n = cupsAddOption("document-format", "image/png", n, &options);
		if (job->dpi) {
			snprintf(ppi, sizeof ppi, "%u", job->dpi);
			n = cupsAddOption("ppi", ppi, n, &options);
		}
	}
	int id = cupsPrintFile(printer, path, job->title ? job->title : "espfab label", n, options);
	cupsFreeOptions(n, options);
	unlink(path);
	if (id <= 0)
		return err_set_msg(e, ERR_DEVICE, "print to '%s': %s", printer, cupsLastErrorString());
	*job_id = id;
	return 0;
}

static const char *label_print_name_state(ipp_jstate_t s)
{
	switch (s) {
	case IPP_JSTATE_PENDING: return "pending";
	case IPP_JSTATE_HELD: return "held";
	case IPP_JSTATE_PROCESSING: return "printing";
	case IPP_JSTATE_STOPPED: return "stopped";
	case IPP_JSTATE_CANCELED: return "cancelled";
	case IPP_JSTATE_ABORTED: return "aborted";
	case IPP_JSTATE_COMPLETED: return "completed";
	}
	return "unknown";
}

int label_print_wait_job(const char *printer, int job_id, int timeout_ms, err_t *e)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		cups_job_t *jobs = NULL;
		int n = cupsGetJobs(&jobs, printer, 0, CUPS_WHICHJOBS_ALL);
		if (n < 0)
			return err_set_msg(e, ERR_DEVICE, "print job %s-%d: %s", printer, job_id, cupsLastErrorString());
		ipp_jstate_t state = IPP_JSTATE_PENDING;
		int found = 0;
		for (int i = 0; i < n; i++)
			if (jobs[i].id == job_id) {
				state = jobs[i].state;
				found = 1;
			}
		cupsFreeJobs(n, jobs);
		if (!found)
			return err_set_msg(e, ERR_DEVICE, "print job %s-%d is not known to the scheduler", printer, job_id);
		if (state == IPP_JSTATE_COMPLETED)
			return 0;
		if (state >= IPP_JSTATE_STOPPED)
			return err_set_msg(e, ERR_DEVICE, "print job %s-%d was %s", printer, job_id,
					   label_print_name_state(state));
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (now.tv_sec - t0.tv_sec) * 1000L + (now.tv_nsec - t0.tv_nsec) / 1000000L;
		if (ms >= timeout_ms)
			return err_set_msg(e, ERR_DEVICE, "print job %s-%d still %s after %d s", printer, job_id,
					   label_print_name_state(state), timeout_ms / 1000);
		struct timespec pause = {0, 100 * 1000000L};
		nanosleep(&pause, NULL);
	}
}
