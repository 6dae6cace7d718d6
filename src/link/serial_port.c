/* serial_port: the transport on a real serial port through libserialport: 8N1, no flow
 * control, DTR/RTS for the reset circuit, blocking reads with a timeout. */
#include "link/transport.h"

#include <libserialport.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/buf.h"

struct serial_transport {
	transport_t base;
	struct sp_port *port;
};

static int sp_fail(transport_t *t, const char *what, err_t *e)
{
	char *msg = sp_last_error_message();
	err_set_msg(e, ERR_DEVICE, "%s: %s failed: %s", t->name, what, msg ? msg : "unknown error");
	sp_free_error_message(msg);
	return -1;
}

static int sp_t_write(transport_t *t, const uint8_t *data, size_t len, unsigned timeout_ms,
		      err_t *e)
{
	struct serial_transport *s = (struct serial_transport *)t;
	enum sp_return r = sp_blocking_write(s->port, data, len, timeout_ms);
	if (r < 0)
		return sp_fail(t, "write", e);
	if ((size_t)r != len)
		return err_set_msg(e, ERR_DEVICE, "%s: write timed out (%d of %zu bytes sent)", t->name,
				   (int)r, len);
	return 0;
}

static long sp_t_read(transport_t *t, uint8_t *buf, size_t len, unsigned timeout_ms, err_t *e)
{
	struct serial_transport *s = (struct serial_transport *)t;
	/* timeout 0 means "forever" to libserialport */
	enum sp_return r = timeout_ms ? sp_blocking_read_next(s->port, buf, len, timeout_ms)
				      : sp_nonblocking_read(s->port, buf, len);
	if (r < 0) {
		sp_fail(t, "read", e);
		err_prepend_context(e, "device disconnected?");
		return -1;
	}
	return (long)r;
}

static int sp_t_set_baud(transport_t *t, unsigned baud, err_t *e)
{
	struct serial_transport *s = (struct serial_transport *)t;
	if (sp_set_baudrate(s->port, (int)baud) != SP_OK)
		return sp_fail(t, "setting the baud rate", e);
	return 0;
}

static int sp_t_set_lines(transport_t *t, int dtr, int rts, err_t *e)
{
	struct serial_transport *s = (struct serial_transport *)t;
	/* Both lines in one TIOCMSET: the "tight" reset relies on EN and the strap pin changing
	 * together (rom-protocol.md §8); libserialport would set them one after the other. */
	int fd = -1;
	if (dtr >= 0 && rts >= 0 && sp_get_port_handle(s->port, &fd) == SP_OK && fd >= 0) {
		int bits;
		if (ioctl(fd, TIOCMGET, &bits) == 0) {
			bits = dtr ? bits | TIOCM_DTR : bits & ~TIOCM_DTR;
			bits = rts ? bits | TIOCM_RTS : bits & ~TIOCM_RTS;
			if (ioctl(fd, TIOCMSET, &bits) == 0)
				return 0;
		}
	}
	if (rts >= 0 && sp_set_rts(s->port, rts ? SP_RTS_ON : SP_RTS_OFF) != SP_OK)
		return sp_fail(t, "setting RTS", e);
	if (dtr >= 0 && sp_set_dtr(s->port, dtr ? SP_DTR_ON : SP_DTR_OFF) != SP_OK)
		return sp_fail(t, "setting DTR", e);
	return 0;
}

static int sp_t_flush_input(transport_t *t, err_t *e)
{
	struct serial_transport *s = (struct serial_transport *)t;
	if (sp_flush(s->port, SP_BUF_INPUT) != SP_OK)
		return sp_fail(t, "flushing input", e);
	return 0;
}

static void sp_t_close(transport_t *t)
{
	struct serial_transport *s = (struct serial_transport *)t;
	if (s->port) {
		sp_close(s->port);
		sp_free_port(s->port);
	}
	free(t->name);
	free(s);
}

static const struct transport_ops sp_ops = {
	.write = sp_t_write,
	.read = sp_t_read,
	.set_baud = sp_t_set_baud,
	.set_lines = sp_t_set_lines,
	.flush_input = sp_t_flush_input,
	.close = sp_t_close,
};

int transport_open_serial(const char *path, unsigned baud, transport_t **out, err_t *e)
{
	struct serial_transport *s = mem_alloc_zeroed(sizeof(*s));
	s->base.ops = &sp_ops;
	s->base.kind = TRANSPORT_SERIAL;
	s->base.name = mem_strdup(path);
	s->base.has_lines = true;
	transport_t *t = &s->base;
	if (sp_get_port_by_name(path, &s->port) != SP_OK) {
		sp_fail(t, "looking up the port", e);
		sp_t_close(t);
		return -1;
	}
	if (sp_open(s->port, SP_MODE_READ_WRITE) != SP_OK) {
		sp_fail(t, "opening", e);
		sp_free_port(s->port);
		s->port = NULL;
		sp_t_close(t);
		return -1;
	}
	if (sp_set_baudrate(s->port, (int)baud) != SP_OK || sp_set_bits(s->port, 8) != SP_OK ||
	    sp_set_parity(s->port, SP_PARITY_NONE) != SP_OK ||
	    sp_set_stopbits(s->port, 1) != SP_OK ||
	    sp_set_flowcontrol(s->port, SP_FLOWCONTROL_NONE) != SP_OK) {
		sp_fail(t, "configuring 8N1", e);
		sp_t_close(t);
		return -1;
	}
	t->baud = baud;
	if (sp_get_port_transport(s->port) == SP_TRANSPORT_USB) {
		int vid = 0, pid = 0;
		if (sp_get_port_usb_vid_pid(s->port, &vid, &pid) == SP_OK) {
			t->usb_vid = (uint16_t)vid;
			t->usb_pid = (uint16_t)pid;
		}
	}
	*out = t;
	return 0;
}
