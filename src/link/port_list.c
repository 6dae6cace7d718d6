/* port_list: serial port enumeration through libserialport (see port_list.h). */
#include "link/port_list.h"

#include <libserialport.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

const char *port_list_adapter_name(uint16_t vid, uint16_t pid)
{
	switch (vid) {
	case 0x10C4:
		if (pid == 0xEA60 || pid == 0xEA70 || pid == 0xEA71 || pid == 0xEA63)
			return "CP210x";
		break;
	case 0x1A86:
		if (pid == 0x7523 || pid == 0x7522)
			return "CH340";
		if (pid == 0x5523)
			return "CH341";
		if (pid == 0x55D3)
			return "CH343";
		if (pid == 0x55D4)
			return "CH9102";
		break;
	case 0x0403:
		if (pid == 0x6001 || pid == 0x6010 || pid == 0x6011 || pid == 0x6014 || pid == 0x6015)
			return "FTDI";
		break;
	case 0x303A:
		if (pid == 0x1001)
			return "USB-Serial-JTAG";
		if (pid == 0x0002 || pid == 0x0009)
			return "USB-OTG";
		return "Espressif";
	}
	return NULL;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

int port_list_enumerate(struct port_info **ports, size_t *count, err_t *e)
{
	struct sp_port **list = NULL;
	*ports = NULL;
	*count = 0;
	if (sp_list_ports(&list) != SP_OK) {
		char *msg = sp_last_error_message();
		err_set_msg(e, ERR_DEVICE, "listing serial ports failed: %s", msg ? msg : "unknown");
		sp_free_error_message(msg);
		return -1;
	}
	size_t n = 0;
	while (list[n])
		n++;
	struct port_info *out = mem_alloc_zeroed((n ? n : 1) * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		struct port_info *p = &out[i];
		copy_str(p->name, sizeof p->name, sp_get_port_name(list[i]));
		copy_str(p->description, sizeof p->description, sp_get_port_description(list[i]));
		if (sp_get_port_transport(list[i]) == SP_TRANSPORT_USB) {
			int vid = 0, pid = 0;
			p->is_usb = 1;
			if (sp_get_port_usb_vid_pid(list[i], &vid, &pid) == SP_OK) {
				p->usb_vid = (uint16_t)vid;
				p->usb_pid = (uint16_t)pid;
			}
			copy_str(p->manufacturer, sizeof p->manufacturer,
				 sp_get_port_usb_manufacturer(list[i]));
			copy_str(p->product, sizeof p->product, sp_get_port_usb_product(list[i]));
			copy_str(p->serial, sizeof p->serial, sp_get_port_usb_serial(list[i]));
			p->adapter = port_list_adapter_name(p->usb_vid, p->usb_pid);
		}
	}
	sp_free_port_list(list);
	*ports = out;
	*count = n;
	return 0;
}
