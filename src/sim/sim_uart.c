/* sim_uart: paced byte transport (see sim_uart.h). */
#include "sim/sim_uart.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t sim_uart_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sim_uart_sleep_until(int64_t t_us)
{
	for (;;) {
		int64_t left = t_us - sim_uart_now_us();
		if (left <= 0)
			return;
		struct timespec ts = {(time_t)(left / 1000000), (long)(left % 1000000) * 1000};
		/* A signal (SIGTERM) cuts the sleep short; the caller's loop notices the flag. */
		if (nanosleep(&ts, NULL) != 0 && errno == EINTR)
			return;
	}
}

void sim_uart_init(sim_uart_t *u, bool throttle)
{
	memset(u, 0, sizeof(*u));
	u->baud = SIM_UART_ROM_BAUD;
	u->throttle = throttle;
}

int64_t sim_uart_wire_us(const sim_uart_t *u, size_t n)
{
	if (!u->throttle || !u->baud)
		return 0;
	return (int64_t)((uint64_t)n * 10u * 1000000u / u->baud);
}

void sim_uart_note_rx(sim_uart_t *u, size_t n, int64_t now_us)
{
	if (!u->throttle)
		return;
	int64_t start = u->rx_done_us > now_us ? u->rx_done_us : now_us;
	u->rx_done_us = start + sim_uart_wire_us(u, n);
}

void sim_uart_wait_rx(sim_uart_t *u)
{
	if (u->throttle)
		sim_uart_sleep_until(u->rx_done_us);
}

static int uart_write_all(int fd, const uint8_t *p, size_t n, err_t *e)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = {fd, POLLOUT, 0};
				poll(&pfd, 1, 100);
				continue;
			}
			return err_set_msg(e, ERR_DEVICE, "send to host: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int sim_uart_send(sim_uart_t *u, int fd, const uint8_t *p, size_t n, err_t *e)
{
	if (!u->throttle)
		return uart_write_all(fd, p, n, e);
	/* Hand bytes over in slices of about 2 ms of wire time, each once it would have fully
	 * crossed the wire, so the host never gets a byte earlier than a real UART delivers it. */
	size_t slice = u->baud / 5000;
	if (slice < 1)
		slice = 1;
	/* A reply ready at a known instant starts then, even if this process woke up late: the
	 * chip's UART has no scheduler delay, and a late wake-up must not be charged to the link.
	 * Bytes are still never handed over before they would have crossed the wire. */
	int64_t start = u->tx_ready_us ? u->tx_ready_us : sim_uart_now_us();
	u->tx_ready_us = 0;
	if (u->tx_done_us < start)
		u->tx_done_us = start;
	while (n) {
		size_t k = n < slice ? n : slice;
		u->tx_done_us += sim_uart_wire_us(u, k);
		sim_uart_sleep_until(u->tx_done_us);
		if (uart_write_all(fd, p, k, e))
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}
