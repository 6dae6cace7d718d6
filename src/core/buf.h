/* buf: a growable byte buffer, the common currency for images, partitions and files.
 * Allocation failure aborts (a provisioning tool cannot do anything useful without memory);
 * buffers that held secrets are released with buf_wipe_data. */
#ifndef ESPFAB_CORE_BUF_H
#define ESPFAB_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
} buf_t;

#define BUF_INIT {NULL, 0, 0}

void buf_reserve_bytes(buf_t *b, size_t extra);
void buf_append_bytes(buf_t *b, const void *p, size_t n);
void buf_append_byte(buf_t *b, uint8_t v);
void buf_append_fill(buf_t *b, uint8_t v, size_t n);
void buf_append_u16le(buf_t *b, uint16_t v);
void buf_append_u32le(buf_t *b, uint32_t v);
void buf_append_str(buf_t *b, const char *s);
/* Makes data a NUL-terminated string without counting the NUL in len. */
const char *buf_terminate_str(buf_t *b);
void buf_free_data(buf_t *b);
/* Zeroes the whole allocation before freeing it: for keys, passcodes, plaintext secrets. */
void buf_wipe_data(buf_t *b);

void *mem_alloc_zeroed(size_t n);
char *mem_strdup(const char *s);

#endif
