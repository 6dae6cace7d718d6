/* memdev: an in-memory device behind the engine's flow_device interface, for tests that drive
 * the engine or the worker without a simulator: a flash array erased by sector as the ROM does,
 * key blocks with purpose and protection bits, the FE counter, secure boot, Secure Download Mode,
 * call counters and an injected write failure. */
#ifndef ESPFAB_TEST_MEMDEV_H
#define ESPFAB_TEST_MEMDEV_H

#include <stdint.h>

#include "flow/device.h"

struct memdev {
	struct flow_device base;
	struct plan_chip chip;
	uint8_t *flash;
	uint8_t key_bytes[PLAN_MAX_KEY_BLOCKS][32];
	int burns, writes, reads, detects; /* calls, refused burns included */
	int fail_write_at; /* 1-based write call that fails with a device error; 0 = never */
};

/* A blank chip: MAC 60:55:f9:00:00:01, 8 MB of erased flash, every key block empty. */
void memdev_init(struct memdev *m, const char *chip, unsigned rev_major);
void memdev_free(struct memdev *m);

#endif
