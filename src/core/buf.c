#include "core/buf.h"

#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mem_die_oom(size_t n)
{
	fprintf(stderr, "espfab: out of memory (%zu bytes)\n", n);
	abort();
}

void *mem_alloc_zeroed(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		mem_die_oom(n);
	return p;
}

char *mem_strdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		mem_die_oom(strlen(s));
	return p;
}

void buf_reserve_bytes(buf_t *b, size_t extra)
{
	if (b->cap - b->len >= extra + 1)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap - b->len < extra + 1)
		cap *= 2;
	/* Not realloc: a buffer holding a key must not leave a stale copy in freed memory when it
	 * grows, so the old block is wiped before it is released. */
	uint8_t *p = malloc(cap);
	if (!p)
		mem_die_oom(cap);
	if (b->data) {
		memcpy(p, b->data, b->cap); /* all of it, as realloc would keep it */
		mbedtls_platform_zeroize(b->data, b->cap);
		free(b->data);
	}
	b->data = p;
	b->cap = cap;
}

void buf_append_bytes(buf_t *b, const void *p, size_t n)
{
	buf_reserve_bytes(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_append_byte(buf_t *b, uint8_t v)
{
	buf_append_bytes(b, &v, 1);
}

void buf_append_fill(buf_t *b, uint8_t v, size_t n)
{
	buf_reserve_bytes(b, n);
	memset(b->data + b->len, v, n);
	b->len += n;
}

void buf_append_u16le(buf_t *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	buf_append_bytes(b, t, 2);
}

void buf_append_u32le(buf_t *b, uint32_t v)
{
	uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	buf_append_bytes(b, t, 4);
}

void buf_append_str(buf_t *b, const char *s)
{
	buf_append_bytes(b, s, strlen(s));
}

const char *buf_terminate_str(buf_t *b)
{
	buf_reserve_bytes(b, 1);
	b->data[b->len] = '\0';
	return (const char *)b->data;
}

void buf_free_data(buf_t *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_wipe_data(buf_t *b)
{
	if (b->data)
		mbedtls_platform_zeroize(b->data, b->cap);
	buf_free_data(b);
}
