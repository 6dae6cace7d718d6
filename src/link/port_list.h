/* port_list: enumerates the host's serial ports with their USB identity, so the technician can
 * pick the board (and the connect logic can choose the USB-Serial-JTAG reset) without guessing. */
#ifndef ESPFAB_LINK_PORT_LIST_H
#define ESPFAB_LINK_PORT_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct port_info {
	char name[256];        /* /dev/ttyUSB0 */
	char description[256];
	char manufacturer[128];
	char product[128];
	char serial[128];
	uint16_t usb_vid, usb_pid; /* 0 when not a USB port */
	const char *adapter;   /* "CP210x", "CH340", "CH343", "FTDI", "USB-Serial-JTAG", … or NULL */
	int is_usb;
};

/* Fills a malloc'd array; free with free(). */
int port_list_enumerate(struct port_info **ports, size_t *count, err_t *e);
/* Adapter family for a USB id, or NULL. */
const char *port_list_adapter_name(uint16_t vid, uint16_t pid);

#endif
