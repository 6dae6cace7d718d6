/* sim_uart: the chip's UART as a wire with a speed. Every byte costs 10 bit times (8N1) at the
 * baud rate in force, in each direction independently, so a host that measures a transfer against
 * the simulator sees what a real serial link would give it. Also the simulator's clock. */
#ifndef ESPFAB_SIM_UART_H
#define ESPFAB_SIM_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SIM_UART_ROM_BAUD 115200u

typedef struct sim_uart {
	uint32_t baud;        /* rate the chip's UART runs at */
	bool throttle;        /* false: --no-throttle, bytes move as fast as the socket allows */
	int64_t rx_done_us;   /* when the last received byte has fully arrived on the wire */
	int64_t tx_done_us;   /* when the last sent byte has left the wire */
	/* when the reply about to be sent was ready on the chip's clock (0: now). Lets the next
	 * sim_uart_send start on the chip's clock instead of whenever the process woke up. */
	int64_t tx_ready_us;
} sim_uart_t;

int64_t sim_uart_now_us(void);
/* Sleeps until the monotonic time t (no-op if past). */
void sim_uart_sleep_until(int64_t t_us);
void sim_uart_init(sim_uart_t *u, bool throttle);
/* Microseconds the wire needs for n bytes at the current rate. */
int64_t sim_uart_wire_us(const sim_uart_t *u, size_t n);
/* n bytes were read from the host at now_us: they cannot have arrived faster than the wire. */
void sim_uart_note_rx(sim_uart_t *u, size_t n, int64_t now_us);
/* Waits until everything received so far has crossed the wire (a command is handled only then). */
void sim_uart_wait_rx(sim_uart_t *u);
/* Writes all of p to fd, paced at the current rate. Returns -1 with e set if the peer is gone. */
int sim_uart_send(sim_uart_t *u, int fd, const uint8_t *p, size_t n, err_t *e);

#endif
