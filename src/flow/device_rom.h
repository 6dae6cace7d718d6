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
/* Same, then switches the link to `baud` after connect (CHANGE_BAUDRATE); 0 = stay at 115200. */
int device_rom_open_baud(const char *port, unsigned baud, struct flow_device **out, err_t *e);

/* The working baud of a provisioning run when neither the profile nor the operator chooses one:
 * most USB-serial bridges and espfab-sim support 460800, and it is esptool's default for
 * writing, so it is the fastest rate that is safe to assume on an unknown bench. */
#define DEVICE_ROM_DEFAULT_BAUD 460800u

#endif
