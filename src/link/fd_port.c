/* fd_port: transports on a plain file descriptor: a pty (the simulator, QEMU) and a TCP socket
 * (socket://HOST:PORT). Reads use poll() so every wait has a deadline. On a pty DTR/RTS go
 * through TIOCMSET when the driver allows it and are otherwise ignored; a socket has no lines. */
#include "link/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "core/buf.h"

struct fd_transport {
	transport_t base;
	int fd;
	int lines; /* TIOCM bits last set */
};

static int fd_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = {fd, events, 0};
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		return p.revents ? 1 : 0;
	}
}

static int fd_write(transport_t *t, const uint8_t *data, size_t len, unsigned timeout_ms, err_t *e)
{
	struct fd_transport *f = (struct fd_transport *)t;
	uint64_t deadline = transport_now_ms() + timeout_ms;
	size_t off = 0;
	while (off < len) {
		uint64_t now = transport_now_ms();
		if (now >= deadline)
			return err_set_msg(e, ERR_DEVICE, "%s: write timed out after %u ms", t->name,
					   timeout_ms);
		int r = fd_wait(f->fd, POLLOUT, (int)(deadline - now));
		if (r < 0)
			return err_set_msg(e, ERR_DEVICE, "%s: %s", t->name, strerror(errno));
		if (r == 0)
			continue;
		ssize_t n = t->kind == TRANSPORT_TCP ? send(f->fd, data + off, len - off, MSG_NOSIGNAL)
						     : write(f->fd, data + off, len - off);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return err_set_msg(e, ERR_DEVICE, "%s: write failed: %s (device disconnected?)",
					   t->name, strerror(errno));
		}
		off += (size_t)n;
	}
	return 0;
}

static long fd_read(transport_t *t, uint8_t *buf, size_t len, unsigned timeout_ms, err_t *e)
{
	struct fd_transport *f = (struct fd_transport *)t;
	int r = fd_wait(f->fd, POLLIN, (int)timeout_ms);
	if (r < 0)
		return err_set_msg(e, ERR_DEVICE, "%s: %s", t->name, strerror(errno));
	if (r == 0)
		return 0;
	ssize_t n = read(f->fd, buf, len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		/* EIO on a pty master that went away */
		return err_set_msg(e, ERR_DEVICE, "%s: read failed: %s (device disconnected?)",
				   t->name, strerror(errno));
	}
	if (n == 0)
		return err_set_msg(e, ERR_DEVICE, "%s: the device closed the connection", t->name);
	return (long)n;
}

static speed_t fd_speed(unsigned baud)
{
	switch (baud) {
	case 9600: return B9600;
	case 19200: return B19200;
	case 38400: return B38400;
	case 57600: return B57600;
	case 115200: return B115200;
	case 230400: return B230400;
	case 460800: return B460800;
	case 921600: return B921600;
	case 1500000: return B1500000;
	case 2000000: return B2000000;
	default: return 0;
	}
}

static int fd_set_baud(transport_t *t, unsigned baud, err_t *e)
{
	struct fd_transport *f = (struct fd_transport *)t;
	if (t->kind != TRANSPORT_PTY)
		return 0; /* a socket carries bytes, not symbols */
	struct termios tio;
	speed_t sp = fd_speed(baud);
	if (!sp)
		return err_set_msg(e, ERR_USAGE, "%s: baud rate %u is not supported on this port",
				   t->name, baud);
	if (tcgetattr(f->fd, &tio) == 0) {
		cfsetispeed(&tio, sp);
		cfsetospeed(&tio, sp);
		tcsetattr(f->fd, TCSANOW, &tio); /* a pty accepts and ignores it */
	}
	return 0;
}

static int fd_set_lines(transport_t *t, int dtr, int rts, err_t *e)
{
	struct fd_transport *f = (struct fd_transport *)t;
	(void)e;
	if (t->kind != TRANSPORT_PTY)
		return 0;
	int bits = f->lines;
	if (dtr >= 0)
		bits = dtr ? bits | TIOCM_DTR : bits & ~TIOCM_DTR;
	if (rts >= 0)
		bits = rts ? bits | TIOCM_RTS : bits & ~TIOCM_RTS;
	f->lines = bits;
	(void)ioctl(f->fd, TIOCMSET, &bits); /* unsupported on most ptys: harmless */
	return 0;
}

static int fd_flush_input(transport_t *t, err_t *e)
{
	struct fd_transport *f = (struct fd_transport *)t;
	uint8_t junk[512];
	(void)e;
	if (t->kind == TRANSPORT_PTY)
		tcflush(f->fd, TCIFLUSH);
	/* Sockets (and ptys whose flush is a no-op) are drained by hand. */
	for (int i = 0; i < 256; i++) {
		if (fd_wait(f->fd, POLLIN, 0) <= 0)
			break;
		ssize_t n = read(f->fd, junk, sizeof junk);
		if (n <= 0)
			break;
	}
	return 0;
}

static void fd_close(transport_t *t)
{
	struct fd_transport *f = (struct fd_transport *)t;
	if (f->fd >= 0)
		close(f->fd);
	free(t->name);
	free(f);
}

static const struct transport_ops fd_ops = {
	.write = fd_write,
	.read = fd_read,
	.set_baud = fd_set_baud,
	.set_lines = fd_set_lines,
	.flush_input = fd_flush_input,
	.close = fd_close,
};

transport_t *transport_wrap_fd(int fd, enum transport_kind kind, const char *name)
{
	struct fd_transport *f = mem_alloc_zeroed(sizeof(*f));
	f->fd = fd;
	f->base.ops = &fd_ops;
	f->base.kind = kind;
	f->base.name = mem_strdup(name);
	f->base.baud = 115200;
	f->base.has_lines = false;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return &f->base;
}

int transport_open_tty_fd(const char *path, unsigned baud, transport_t **out, err_t *e)
{
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_set_msg(e, ERR_DEVICE, "port %s: %s", path, strerror(errno));
	struct termios tio;
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		tio.c_cflag |= CLOCAL | CREAD;
		tio.c_cflag &= ~(tcflag_t)CRTSCTS;
		tio.c_cc[VMIN] = 0;
		tio.c_cc[VTIME] = 0;
		tcsetattr(fd, TCSANOW, &tio);
	}
	transport_t *t = transport_wrap_fd(fd, TRANSPORT_PTY, path);
	if (fd_set_baud(t, baud, e)) {
		fd_close(t);
		return -1;
	}
	t->baud = baud;
	*out = t;
	return 0;
}

int transport_open_tcp(const char *host, const char *port, transport_t **out, err_t *e)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return err_set_msg(e, ERR_DEVICE, "socket://%s:%s: %s", host, port, gai_strerror(rc));
	int fd = -1, last_errno = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && fd_wait(fd, POLLOUT, 5000) > 0) {
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr == 0)
				break;
			last_errno = soerr;
		} else {
			last_errno = errno == EINPROGRESS ? ETIMEDOUT : errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set_msg(e, ERR_DEVICE, "socket://%s:%s: cannot connect: %s", host, port,
				   strerror(last_errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char name[300];
	snprintf(name, sizeof name, "socket://%s:%s", host, port);
	*out = transport_wrap_fd(fd, TRANSPORT_TCP, name);
	return 0;
}
