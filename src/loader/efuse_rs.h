/* efuse_rs: coding schemes of eFuse key blocks (efuse.md §5): the Reed-Solomon (44,32) parity
 * of S2/S3/C2/C3/C6/H2 blocks (as espefuse computes it with reedsolo RSCodec(12)) and the ESP32
 * 3/4 scheme. Used by the host to program blocks and by the simulator to check them. */
#ifndef ESPFAB_LOADER_EFUSE_RS_H
#define ESPFAB_LOADER_EFUSE_RS_H

#include <stddef.h>
#include <stdint.h>

#define EFUSE_RS_DATA_LEN 32
#define EFUSE_RS_PARITY_LEN 12

/* 12 parity bytes for 32 data bytes (GF(2^8), polynomial 0x11D, generator roots α^0..α^11). */
void efuse_rs_encode(const uint8_t data[EFUSE_RS_DATA_LEN], uint8_t parity[EFUSE_RS_PARITY_LEN]);
/* Parity as the three PGM_CHECK_VALUE words (little-endian bytes 0-3, 4-7, 8-11). */
void efuse_rs_check_words(const uint8_t data[EFUSE_RS_DATA_LEN], uint32_t words[3]);
/* Syndrome S_i = c(α^i) of a 44-byte codeword; all zero for a valid codeword. Returns the
 * number of non-zero syndromes (0 = valid). */
int efuse_rs_syndromes(const uint8_t codeword[EFUSE_RS_DATA_LEN + EFUSE_RS_PARITY_LEN],
		       uint8_t syn[EFUSE_RS_PARITY_LEN]);

/* ESP32 3/4 coding: 24 key bytes → 32 block bytes (four 6-byte groups, each followed by the
 * XOR of its bytes and Σ (i+1)·popcount(byte_i)). */
void efuse_34_encode(const uint8_t data[24], uint8_t out[32]);

#endif
