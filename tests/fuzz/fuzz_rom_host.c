/* fuzz_rom_host: the host side of the ROM protocol against a device that answers with arbitrary
 * bytes: a memory transport hands the input to rom_conn as the reply stream of a sequence of
 * commands (SYNC, READ_REG, GET_SECURITY_INFO, SPI_SET_PARAMS, SPI_FLASH_MD5, READ_FLASH_SLOW).
 * Whatever the "chip" sends, the host must fail cleanly or decode within its buffers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link/transport.h"
#include "loader/rom_conn.h"

struct fuzz_transport {
	transport_t t;
	const uint8_t *data;
	size_t len, pos;
};

static int fuzz_write(transport_t *t, const uint8_t *data, size_t len, unsigned timeout_ms, err_t *e)
{
	(void)t, (void)data, (void)len, (void)timeout_ms, (void)e;
	return 0;
}

/* What the device sent, a few bytes per read; once exhausted, the device is gone. */
static long fuzz_read(transport_t *t, uint8_t *buf, size_t len, unsigned timeout_ms, err_t *e)
{
	struct fuzz_transport *ft = (struct fuzz_transport *)t;
	(void)timeout_ms;

	if (ft->pos >= ft->len)
		return err_set_msg(e, ERR_DEVICE, "fuzz: end of input");
	size_t n = ft->len - ft->pos;
	if (n > len)
		n = len;
	if (n > 97)
		n = 97;
	memcpy(buf, ft->data + ft->pos, n);
	ft->pos += n;
	return (long)n;
}

static int fuzz_set_baud(transport_t *t, unsigned baud, err_t *e)
{
	(void)e;
	t->baud = baud;
	return 0;
}

static int fuzz_set_lines(transport_t *t, int dtr, int rts, err_t *e)
{
	(void)t, (void)dtr, (void)rts, (void)e;
	return 0;
}

static int fuzz_flush(transport_t *t, err_t *e)
{
	(void)t, (void)e;
	return 0;
}

static void fuzz_close(transport_t *t)
{
	(void)t;
}

static const struct transport_ops fuzz_ops = {fuzz_write, fuzz_read, fuzz_set_baud,
					      fuzz_set_lines, fuzz_flush, fuzz_close};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_transport ft;
	rom_conn_t c;
	err_t e = {0};
	uint32_t value;
	struct rom_security_info si;
	uint8_t md5[16], flash[64];

	memset(&ft, 0, sizeof ft);
	ft.t.ops = &fuzz_ops;
	ft.t.kind = TRANSPORT_PTY;
	ft.t.name = "fuzz";
	ft.t.baud = 115200;
	ft.data = data;
	ft.len = size;
	rom_conn_init(&c, &ft.t);
	(void)rom_cmd_sync(&c, &e);
	(void)rom_cmd_read_reg(&c, 0x40001000, &value, &e);
	(void)rom_cmd_get_security_info(&c, &si, &e);
	(void)rom_cmd_spi_set_params(&c, 4u << 20, &e);
	(void)rom_cmd_flash_md5(&c, 0x1000, 0x1000, md5, &e);
	memset(flash, 0, sizeof flash);
	(void)rom_cmd_read_flash_slow(&c, 0x1000, sizeof flash, flash, &e);
	rom_conn_free(&c);
	return 0;
}
