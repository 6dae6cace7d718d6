/* device_rom: the engine's device interface on a real (or simulated) chip in its ROM loader,
 * through src/loader: detection and eFuse state from the loader session, key burns through the
 * eFuse module, plain writes of host-encrypted data and READ_FLASH_SLOW readback through the
 * flasher. The port is a serial device, a pty or socket://HOST:PORT (espfab-sim). */
#ifndef ESPFAB_FLOW_DEVICE_ROM_H
#define ESPFAB_FLOW_DEVICE_ROM_H

#include "core/err.h"
#include "flow/device.h"

/* Opens the port and connects to the ROM loader; close with dev->ops->close. ERR_DEVICE when
 * the chip does not answer. */
int device_rom_open(const char *port, struct flow_device **out, err_t *e);

#endif
