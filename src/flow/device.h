/* device: what the provisioning engine needs from a chip, as one small interface: detect it and
 * read its eFuse state, burn a key or the security eFuses, write and read flash. The ROM-loader
 * implementation sits on src/loader (serial port, pty or socket to espfab-sim); tests can supply
 * their own. Key bytes are passed as key files hold them: the implementation applies each
 * purpose's byte order, as `espfab efuse burn-key` does. */
#ifndef ESPFAB_FLOW_DEVICE_H
#define ESPFAB_FLOW_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "flow/plan.h"

struct flow_progress {
	void (*fn)(void *ctx, uint64_t done, uint64_t total);
	void *ctx;
};

struct flow_device;

struct flow_device_ops {
	/* Chip type, revision, MAC, flash size and eFuse state. */
	int (*detect)(struct flow_device *d, struct plan_chip *chip, err_t *e);
	/* Burns key (len bytes) into key block `block` with `purpose`, then write-protects the
	 * purpose and the block and, when read_protect, read-protects it. */
	int (*burn_key)(struct flow_device *d, int block, uint8_t purpose, const uint8_t *key, size_t len,
			bool read_protect, err_t *e);
	/* The three BLOCK0 operations below may be NULL where the link cannot do them yet; a plan
	 * that needs one is then refused before anything is burned. */
	/* Turns flash encryption on: development (counter = 1) or release mode bits. */
	int (*burn_fe_enable)(struct flow_device *d, bool release, err_t *e);
	/* SECURE_BOOT_EN (and the revocations and RD_DIS write protection that go with it). */
	int (*burn_secure_boot)(struct flow_device *d, err_t *e);
	/* Secure Download Mode, or download mode off where the chip has no SDM. Cuts the link. */
	int (*lockdown)(struct flow_device *d, err_t *e);
	/* Plain (not chip-encrypted) writes: encrypted regions get host-encrypted data. */
	int (*write_flash)(struct flow_device *d, uint32_t offset, const uint8_t *data, size_t len,
			   const struct flow_progress *p, err_t *e);
	int (*read_flash)(struct flow_device *d, uint32_t offset, size_t len, buf_t *out,
			  const struct flow_progress *p, err_t *e);
	void (*close)(struct flow_device *d);
};

struct flow_device {
	const struct flow_device_ops *ops;
};

#endif
