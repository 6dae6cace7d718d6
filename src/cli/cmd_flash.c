/* espfab flash: write (compressed by default, verified by MD5), verify, or read back regions of
 * a chip's SPI flash through its ROM loader. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_port.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "loader/flasher.h"

#define FLASH_MAX_REGIONS 32

static void flash_progress_print(void *ctx, const struct flash_progress *p)
{
	int *last = ctx;
	int pct = p->total ? (int)(p->done * 100 / p->total) : 100;
	/* a line per 25 % keeps logs short; the TUI gets every event through the library */
	if (pct / 25 == *last / 25 && pct != 100 && p->done != 0)
		return;
	if (pct == *last)
		return;
	*last = pct;
	fprintf(stderr, "%s 0x%08x: %3d%% (%zu/%zu bytes, %.1f kB/s)\n", p->stage, p->addr, pct,
		p->done, p->total, p->bytes_per_s / 1000.0);
}

static int usage(err_t *e)
{
	err_set_msg(e, ERR_USAGE,
		    "usage: flash --port P write ADDR FILE [ADDR FILE ...] [--no-compress] "
		    "[--encrypted-raw] | verify ADDR FILE | read ADDR SIZE OUT");
	return ERR_USAGE;
}

static int cmd_flash_run(int argc, char **argv, err_t *e)
{
	struct loader_opts opts;
	if (cli_port_take_options(&opts, &argc, argv, e))
		return ERR_USAGE;
	struct flash_write_opts wo;
	flash_write_opts_init(&wo);
	const char *pos[2 * FLASH_MAX_REGIONS + 2];
	int npos = 0;
	for (int i = 1; i < argc;) {
		const char *a = argv[i++];
		if (!strcmp(a, "--no-compress") || !strcmp(a, "-u"))
			wo.compress = false;
		else if (!strcmp(a, "--compress") || !strcmp(a, "-z"))
			wo.compress = true;
		else if (!strcmp(a, "--encrypted-raw"))
			wo.encrypted_raw = true;
		else if (!strcmp(a, "--no-verify"))
			wo.no_verify = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(e);
		else if (a[0] == '-' && a[1])
			return err_set_msg(e, ERR_USAGE, "unknown option '%s'", a), ERR_USAGE;
		else if (npos < (int)(sizeof pos / sizeof pos[0]))
			pos[npos++] = a;
		else
			return err_set_msg(e, ERR_USAGE, "too many arguments (at most %d regions)",
					   FLASH_MAX_REGIONS),
			       ERR_USAGE;
	}
	if (npos < 1)
		return usage(e);
	if (cli_port_check_port(&opts, e))
		return ERR_USAGE;
	const char *sub = pos[0];
	int rc = 0;
	int progress_last = -1;
	wo.progress = flash_progress_print;
	wo.progress_ctx = &progress_last;
	if (!strcmp(sub, "write")) {
		if (npos < 3 || (npos - 1) % 2)
			return usage(e);
		size_t n = (size_t)(npos - 1) / 2;
		struct flash_region regions[FLASH_MAX_REGIONS];
		buf_t data[FLASH_MAX_REGIONS];
		memset(data, 0, sizeof data);
		for (size_t k = 0; k < n; k++) {
			if (cli_parse_u32(pos[1 + 2 * k], "ADDR", &regions[k].addr, e)) {
				rc = ERR_USAGE;
				goto free_data;
			}
			if (fileio_read_file(pos[2 + 2 * k], &data[k], e)) {
				rc = ERR_CHECK;
				goto free_data;
			}
			regions[k].data = data[k].data;
			regions[k].len = data[k].len;
		}
		loader_t l;
		if ((rc = cli_port_open_loader(&l, &opts, e)))
			goto free_data;
		struct flash_region_result res[FLASH_MAX_REGIONS];
		if (flasher_write(&l, regions, n, &wo, res, e)) {
			rc = e->code ? e->code : ERR_DEVICE;
		} else {
			for (size_t k = 0; k < n; k++)
				printf("wrote %zu bytes at 0x%08x in %.2f s%s%s\n", regions[k].len,
				       regions[k].addr, res[k].seconds,
				       res[k].verified ? ", verified (MD5)" : ", NOT verified",
				       res[k].attempts > 1 ? " after a retry" : "");
		}
		loader_close(&l);
	free_data:
		for (size_t k = 0; k < n; k++)
			buf_free_data(&data[k]);
		return rc;
	}
	if (!strcmp(sub, "verify")) {
		if (npos != 3)
			return usage(e);
		uint32_t addr;
		buf_t d = BUF_INIT;
		if (cli_parse_u32(pos[1], "ADDR", &addr, e))
			return ERR_USAGE;
		if (fileio_read_file(pos[2], &d, e))
			return ERR_CHECK;
		loader_t l;
		if ((rc = cli_port_open_loader(&l, &opts, e))) {
			buf_free_data(&d);
			return rc;
		}
		bool match = false;
		if (flasher_verify(&l, addr, d.data, d.len, &match, e))
			rc = e->code ? e->code : ERR_DEVICE;
		else if (!match) {
			err_set_msg(e, ERR_CHECK, "flash at 0x%08x does not match %s (%zu bytes, MD5 differs)",
				    addr, pos[2], d.len);
			rc = ERR_CHECK;
		} else
			printf("flash at 0x%08x matches %s (%zu bytes)\n", addr, pos[2], d.len);
		loader_close(&l);
		buf_free_data(&d);
		return rc;
	}
	if (!strcmp(sub, "read")) {
		if (npos != 4)
			return usage(e);
		uint32_t addr, size;
		if (cli_parse_u32(pos[1], "ADDR", &addr, e) || cli_parse_u32(pos[2], "SIZE", &size, e))
			return ERR_USAGE;
		loader_t l;
		if ((rc = cli_port_open_loader(&l, &opts, e)))
			return rc;
		buf_t out = BUF_INIT;
		if (flasher_read(&l, addr, size, &out, flash_progress_print, &progress_last, e))
			rc = e->code ? e->code : ERR_DEVICE;
		loader_close(&l);
		if (rc == 0 && fileio_write_atomic(pos[3], out.data, out.len, FILEIO_MODE_PUBLIC, e))
			rc = ERR_CHECK;
		if (rc == 0)
			printf("read %u bytes at 0x%08x into %s\n", size, addr, pos[3]);
		buf_free_data(&out);
		return rc;
	}
	return usage(e);
}

CLI_COMMAND(flash, "flash", 12,
	    "--port P write ADDR FILE... | verify ADDR FILE | read ADDR SIZE OUT", cmd_flash_run)
