/* simefuse: espfab-sim's eFuse file (each block's data words in order, then the RS check bytes)
 * read into the loader's efuse_dump, so a test checks what a run burned with the same field and
 * key-block decoders espfab uses, also after the chip went into Secure Download Mode. */
#ifndef ESPFAB_TESTS_SIMEFUSE_H
#define ESPFAB_TESTS_SIMEFUSE_H

#include "loader/efuse.h"

/* Fails the test when the file does not match the chip's layout. */
void simefuse_load(const char *path, const char *chip, struct efuse_dump *d);
/* The key block's data as burned (32 bytes, or the words the block has). */
void simefuse_key_bytes(const struct efuse_dump *d, int key_block, uint8_t out[32]);

#endif
