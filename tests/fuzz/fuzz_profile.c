/* fuzz_profile: the product profile reader (INI sections and keys, value checks, relative paths)
 * and the serial-number pattern, as an operator's profile file reaches `espfab run` and the TUI.
 * The input is written to a scratch file, since profiles are read by path. A serial made from an
 * accepted pattern fits its buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow/profile.h"

static char fuzz_path[64];

static void fuzz_remove_scratch(void)
{
	unlink(fuzz_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(fuzz_path, sizeof fuzz_path, "/tmp/espfab-fuzz-profile.%ld.ini", (long)getpid());
	atexit(fuzz_remove_scratch);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile p;
	err_t e = {0};
	FILE *f = fopen(fuzz_path, "wb");

	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	memset(&p, 0, sizeof p);
	if (profile_load(fuzz_path, &p, &e) == 0) {
		static const uint8_t mac[6] = {0x7c, 0xdf, 0xa1, 0x00, 0x11, 0x22};
		char serial[64];

		if (p.serial_pattern &&
		    profile_format_serial(p.serial_pattern, p.serial_start, mac, serial, sizeof serial, &e) == 0 &&
		    strlen(serial) >= sizeof serial)
			abort();
		(void)profile_allows_chip(&p, "esp32h2");
		profile_free(&p);
	}
	/* the pattern reader on the raw text too */
	char *pat = malloc(size + 1), out[48];
	if (pat) {
		memcpy(pat, data, size);
		pat[size] = '\0';
		(void)profile_format_serial(pat, 7, (const uint8_t *)"\x01\x02\x03\x04\x05\x06", out, sizeof out, &e);
		free(pat);
	}
	return 0;
}
