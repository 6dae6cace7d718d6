/* transport: the byte pipe to a chip, behind one interface so the ROM protocol does not care
 * whether it talks to a USB serial adapter (libserialport), a pseudo-terminal (simulator, QEMU)
 * or a TCP socket (`socket://HOST:PORT`, as esptool accepts). Reads wait with a timeout;
 * modem lines are no-ops where the medium has none. */
#ifndef ESPFAB_LINK_TRANSPORT_H
#define ESPFAB_LINK_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum transport_kind {
	TRANSPORT_SERIAL, /* libserialport */
	TRANSPORT_PTY,    /* plain file descriptor on a tty/pty */
	TRANSPORT_TCP,    /* socket://HOST:PORT */
};

typedef struct transport transport_t;

struct transport_ops {
	/* Writes all bytes or fails (timeout_ms for the whole write). */
	int (*write)(transport_t *t, const uint8_t *data, size_t len, unsigned timeout_ms,
		     err_t *e);
	/* Waits up to timeout_ms for the first byte, returns what is available (≤ len): the count,
	 * 0 on timeout, -1 on error (e.g. the device went away). */
	long (*read)(transport_t *t, uint8_t *buf, size_t len, unsigned timeout_ms, err_t *e);
	int (*set_baud)(transport_t *t, unsigned baud, err_t *e);
	/* DTR / RTS: 1 asserted, 0 released, -1 leave as is. */
	int (*set_lines)(transport_t *t, int dtr, int rts, err_t *e);
	int (*flush_input)(transport_t *t, err_t *e);
	void (*close)(transport_t *t);
};

struct transport {
	const struct transport_ops *ops;
	enum transport_kind kind;
	char *name;     /* as given by the user */
	unsigned baud;
	uint16_t usb_vid, usb_pid; /* 0 when unknown / not USB */
	bool has_lines; /* DTR/RTS really reach a chip (reset sequences make sense) */
	uint64_t bytes_written, bytes_read;
};

/* Opens "socket://HOST:PORT", a pty path, or a serial device. baud 0 = 115200. */
int transport_open(const char *spec, unsigned baud, transport_t **out, err_t *e);
void transport_close(transport_t *t);

int transport_write(transport_t *t, const uint8_t *data, size_t len, unsigned timeout_ms,
		    err_t *e);
long transport_read(transport_t *t, uint8_t *buf, size_t len, unsigned timeout_ms, err_t *e);
int transport_set_baud(transport_t *t, unsigned baud, err_t *e);
int transport_set_lines(transport_t *t, int dtr, int rts, err_t *e);
int transport_flush_input(transport_t *t, err_t *e);
/* True where bytes travel as UART symbols at t->baud (a serial adapter): a baud change then
 * garbles the line for a moment. A socket or pty moves whole bytes and never does. */
bool transport_has_symbol_line(const transport_t *t);

/* Constructors used by transport_open (exposed for tests). */
int transport_open_serial(const char *path, unsigned baud, transport_t **out, err_t *e);
int transport_open_tty_fd(const char *path, unsigned baud, transport_t **out, err_t *e);
int transport_open_tcp(const char *host, const char *port, transport_t **out, err_t *e);
/* Wraps an already open descriptor (socketpair in tests); takes ownership of fd. */
transport_t *transport_wrap_fd(int fd, enum transport_kind kind, const char *name);

/* Monotonic milliseconds, for deadlines. */
uint64_t transport_now_ms(void);
void transport_sleep_ms(unsigned ms);

#endif
