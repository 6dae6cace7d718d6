/* espfab mfg: esp-matter-mfg-tool's options and output tree. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "flow/mfg.h"

static void mfg_print_usage(FILE *f)
{
	fprintf(f,
		"usage: espfab mfg -v VID -p PID [-n COUNT] [--paa|--pai -c CERT -k KEY] [--dac-cert F --dac-key F]\n"
		"       [-cd CD.der] [--passcode N] [--discriminator N] [--salt B64 --verifier B64] [--iteration-count N]\n"
		"       [-cf 0|1|2] [-dm 2|4|6] [--vendor-name S] [--product-name S] [--hw-ver N] [--hw-ver-str S]\n"
		"       [--mfg-date YYYYMMDD] [--serial-num S] [--enable-rotating-device-id [--rd-id-uid HEX]]\n"
		"       [--product-finish F] [--product-color C] [--part-number S] [--calendar-types T ...]\n"
		"       [--locales L ...] [--fixed-labels EP/K/V ...] [--product-label S] [--product-url S]\n"
		"       [--csv F --mcsv F] [--dac-in-secure-cert] [--commissionable-data-in-secure-cert]\n"
		"       [--rd-id-uid-in-secure-cert] [-e] [-s SIZE] [--no-bin] [--outdir DIR] [-lt DAYS] [-vf DATE]\n"
		"       [--threads N]\n"
		"Writes OUTDIR/<vid>_<pid>/<uuid>/ with <uuid>-partition.bin, <uuid>-onb_codes.csv,\n"
		"<uuid>-qrcode.png and internal/, like esp-matter-mfg-tool.\n");
}

static int cmd_mfg_run(int argc, char **argv, err_t *e)
{
	struct mfg_options o;
	bool help;
	if (mfg_parse_args(argc, argv, &o, &help, e))
		return e->code ? e->code : ERR_USAGE;
	if (help) {
		mfg_print_usage(stdout);
		return 0;
	}
	if (mfg_check_options(&o, e))
		return e->code ? e->code : ERR_USAGE;
	struct mfg_batch b;
	if (mfg_run_batch(&o, &b, e))
		return e->code ? e->code : ERR_CHECK;
	for (size_t i = 0; i < b.count; i++)
		printf("%s %s\n", b.devices[i].uuid, b.devices[i].dir);
	printf("Generated %zu device%s in %s\n", b.count, b.count == 1 ? "" : "s", b.top_dir);
	mfg_free_batch(&b);
	return 0;
}

CLI_COMMAND(mfg, "mfg", 60, "Matter factory partitions in batches (options of esp-matter-mfg-tool)", cmd_mfg_run)
