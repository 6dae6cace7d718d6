/* transport: dispatch on the port spec and the thin wrappers (see transport.h). */
#include "link/transport.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"

uint64_t transport_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void transport_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ptys cannot be opened by libserialport (no serial driver behind them), so they take the
 * plain-descriptor path. */
static bool transport_is_pty(const char *path)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return false;
	return strncmp(real, "/dev/pts/", 9) == 0 || strncmp(real, "/dev/pty", 8) == 0;
}

int transport_open(const char *spec, unsigned baud, transport_t **out, err_t *e)
{
	*out = NULL;
	if (!spec || !*spec)
		return err_set_msg(e, ERR_USAGE, "no port given (use --port)");
	if (baud == 0)
		baud = 115200;
	if (strncmp(spec, "socket://", 9) == 0) {
		const char *hp = spec + 9;
		const char *colon = strrchr(hp, ':');
		if (!colon || colon == hp || !colon[1])
			return err_set_msg(e, ERR_USAGE, "port '%s': expected socket://HOST:PORT", spec);
		char host[256];
		size_t hl = (size_t)(colon - hp);
		if (hl >= sizeof host)
			return err_set_msg(e, ERR_USAGE, "port '%s': host name too long", spec);
		memcpy(host, hp, hl);
		host[hl] = '\0';
		/* [::1]:port */
		if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
			memmove(host, host + 1, hl - 2);
			host[hl - 2] = '\0';
		}
		if (transport_open_tcp(host, colon + 1, out, e))
			return -1;
		(*out)->baud = baud;
		free((*out)->name);
		(*out)->name = mem_strdup(spec);
		return 0;
	}
	struct stat st;
	if (stat(spec, &st) != 0)
		return err_set_msg(e, ERR_DEVICE, "port %s: %s", spec, strerror(errno));
	if (transport_is_pty(spec))
		return transport_open_tty_fd(spec, baud, out, e);
	if (transport_open_serial(spec, baud, out, e) == 0)
		return 0;
	/* Not a port libserialport knows (a pty under another name, a FIFO-like tty): try the
	 * plain descriptor before giving up, keeping the first error if that fails too. */
	err_t e2 = {0};
	if (S_ISCHR(st.st_mode) && transport_open_tty_fd(spec, baud, out, &e2) == 0)
		return 0;
	return -1;
}

void transport_close(transport_t *t)
{
	if (t)
		t->ops->close(t);
}

int transport_write(transport_t *t, const uint8_t *data, size_t len, unsigned timeout_ms,
		    err_t *e)
{
	if (t->ops->write(t, data, len, timeout_ms, e))
		return -1;
	t->bytes_written += len;
	return 0;
}

long transport_read(transport_t *t, uint8_t *buf, size_t len, unsigned timeout_ms, err_t *e)
{
	long n = t->ops->read(t, buf, len, timeout_ms, e);
	if (n > 0)
		t->bytes_read += (uint64_t)n;
	return n;
}

int transport_set_baud(transport_t *t, unsigned baud, err_t *e)
{
	if (t->ops->set_baud(t, baud, e))
		return -1;
	t->baud = baud;
	return 0;
}

int transport_set_lines(transport_t *t, int dtr, int rts, err_t *e)
{
	return t->ops->set_lines(t, dtr, rts, e);
}

int transport_flush_input(transport_t *t, err_t *e)
{
	return t->ops->flush_input(t, e);
}

bool transport_has_symbol_line(const transport_t *t)
{
	return t->kind == TRANSPORT_SERIAL;
}
