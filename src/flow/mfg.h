/* mfg: batch Matter factory data, as esp-matter-mfg-tool makes it: per device a UUID folder with
 * the chip-factory NVS partition (and its intermediate CSV), onboarding codes and QR image, the
 * DAC (generated from a PAA/PAI or given) in the tool's internal/ forms, and optionally an
 * esp_secure_cert partition; batch files (master CSV, summary) in device order. Devices are built
 * on one worker thread per core. */
#ifndef ESPFAB_FLOW_MFG_H
#define ESPFAB_FLOW_MFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MFG_MAX_LIST 64
#define MFG_UUID_LEN 36

/* Every option of esp-matter-mfg-tool 1.0.23 that espfab supports; names follow the tool. */
struct mfg_options {
	/* general */
	uint32_t count;           /* -n; replaced by the mcsv row count with --csv/--mcsv */
	const char *target;       /* --target (esp32, esp32c3, ...) */
	uint32_t size;            /* -s, NVS partition size (default 0x6000) */
	bool encrypt;             /* -e: XTS-encrypt the NVS image, write a keys partition */
	const char *outdir;       /* --outdir (default ./out) */
	bool generate_bin;        /* false with --no-bin */
	bool no_secure_cert_bin;
	/* commissioning */
	bool has_passcode;
	uint32_t passcode;
	bool has_discriminator;   /* --discriminator 0 counts as not given, as in the tool */
	uint16_t discriminator;
	uint8_t commissioning_flow; /* -cf 0/1/2 */
	uint8_t discovery_mode;     /* -dm bitmask 2/4/6 */
	bool enable_dynamic_passcode;
	const char *salt_b64;       /* --salt, with --verifier and --passcode */
	const char *verifier_b64;
	uint32_t iteration_count;   /* default 10000 */
	bool commissionable_data_in_secure_cert;
	/* attestation */
	bool dac_in_secure_cert;
	uint32_t lifetime_days;   /* -lt, default 36500 */
	const char *valid_from;   /* -vf "YYYY-MM-DD[ T]HH:MM:SS" or "YYYY-MM-DD"; NULL: now */
	const char *cn_prefix;    /* -cn, PAI CN prefix (default "ESP32") */
	const char *cert, *key;   /* -c/-k: the PAA or PAI certificate and key */
	bool paa, pai;            /* which one -c/-k are */
	const char *cert_dclrn;   /* -cd */
	const char *dac_cert, *dac_key;
	bool ds_peripheral;       /* -ds (H2; needs the ECDSA eFuse flow, not handled here) */
	int efuse_key_id;
	/* device instance */
	uint16_t vendor_id, product_id; /* -v/-p, required */
	const char *vendor_name, *product_name, *hw_ver_str, *mfg_date, *serial_num;
	bool has_hw_ver;
	uint32_t hw_ver;
	bool enable_rotating_device_id;
	const char *rd_id_uid;    /* 32 hex digits */
	bool rd_id_uid_in_secure_cert;
	const char *product_finish, *product_color, *part_number;
	const char *calendar_types[MFG_MAX_LIST];
	size_t calendar_type_count;
	const char *locales[MFG_MAX_LIST];
	size_t locale_count;
	const char *fixed_labels[MFG_MAX_LIST];
	size_t fixed_label_count;
	size_t supported_mode_count; /* --supported-modes: refused (not implemented) */
	const char *product_label, *product_url;
	const char *csv, *mcsv;
	/* espfab */
	unsigned threads;         /* 0: one worker per online core */
};

/* Defaults of the tool (count 1, size 0x6000, iterations 10000, discovery BLE, lifetime 36500
 * days, outdir "out", cn prefix "ESP32", bins generated). */
void mfg_init_options(struct mfg_options *o);
/* The tool's argument checks (ranges, lengths, combinations); messages name the option. */
int mfg_check_options(struct mfg_options *o, err_t *e);

struct mfg_device {
	char uuid[MFG_UUID_LEN + 1];
	uint32_t passcode;        /* 0 with dynamic passcode */
	uint16_t discriminator;
	char qr[128];
	char manual[32];          /* digits only */
	char dir[4096];           /* <outdir>/<vid>_<pid>/<uuid> */
};

struct mfg_batch {
	char top_dir[4096];       /* <outdir>/<vid>_<pid> */
	struct mfg_device *devices;
	size_t count;
};

/* Reads the tool's command line (argv[0] is skipped) into o, starting from the defaults; *help
 * is set for -h/--help. Options are not cross-checked here (mfg_check_options does that). */
int mfg_parse_args(int argc, char **argv, struct mfg_options *o, bool *help, err_t *e);

/* Generates the whole batch. Per-device secrets are drawn from rng (passcode, salt,
 * discriminator, DAC key, serial number, rotating id, NVS key) unless fixed by options. */
int mfg_run_batch(const struct mfg_options *o, struct mfg_batch *out, err_t *e);
void mfg_free_batch(struct mfg_batch *b);

/* Matter rules used for random commissioning data (exposed for tests): a uniformly drawn valid
 * passcode (1..99999998, forbidden values moved down by one as the tool does) and a 12-bit
 * discriminator. */
int mfg_draw_passcode(uint32_t *out, err_t *e);
int mfg_draw_discriminator(uint16_t *out, err_t *e);
bool mfg_passcode_is_valid(uint32_t passcode);

#endif
