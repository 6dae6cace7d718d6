/* profile: a product profile, the INI file that tells the provisioning engine what to make of
 * every board of one product (Matter identity inputs, partition layout, security path and mode,
 * code policies, serial pattern, output). Loading validates every value and names file:line and
 * key on error; relative paths are resolved against the profile's own folder. */
#ifndef ESPFAB_FLOW_PROFILE_H
#define ESPFAB_FLOW_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum profile_path {
	PROFILE_PATH_AUTO = 0,
	PROFILE_PATH_ECDSA_EFUSE,
	PROFILE_PATH_DS,
	PROFILE_PATH_FLASH_ENC,
};

enum profile_mode {
	PROFILE_MODE_DEVELOPMENT = 0,
	PROFILE_MODE_PRODUCTION,
};

/* A tri-state for options whose default depends on the path. */
enum profile_switch {
	PROFILE_SWITCH_AUTO = 0,
	PROFILE_SWITCH_ON,
	PROFILE_SWITCH_OFF,
};

#define PROFILE_MAX_CHIPS 8
#define PROFILE_NAME_MAX 32     /* Matter Basic-Information vendor/product name limit */
#define PROFILE_HWSTR_MAX 64
#define PROFILE_SERIAL_MAX 32

struct profile {
	char *file; /* the profile's own path, as given */
	char *dir;  /* its folder: base of relative paths */

	/* [product] */
	uint16_t vendor_id, product_id;
	char *vendor_name, *product_name;
	uint32_t hardware_version;
	char *hardware_version_string;
	/* Chips this product is built on ("esp32h2", ...); none listed = any. */
	char *chips[PROFILE_MAX_CHIPS];
	int n_chips;

	/* [attestation]: either pai_cert + pai_key (DACs made per device) or dac_dir. */
	char *pai_cert, *pai_key, *dac_dir, *cd;

	/* [partitions]: the app's partitions.csv and the labels the engine writes. */
	char *partition_table;
	char *secure_cert_label, *factory_label, *nvs_keys_label;

	/* [security] */
	enum profile_path path;
	enum profile_mode mode;
	enum profile_switch flash_encryption;
	bool nvs_encryption;
	char *secure_boot_digest; /* SHA-256 digest file of the secure-boot key, optional */

	/* [commissioning] */
	uint32_t iteration_count;
	bool passcode_fixed, discriminator_fixed;
	uint32_t passcode, discriminator;
	uint32_t commissioning_flow, discovery;
	bool rotating_id;

	/* [device] */
	char *serial_pattern;
	uint64_t serial_start;
	char *mfg_date; /* NULL = the run's date */
	char *extra_nvs;
	uint32_t baud; /* working baud after connect; 0 = not given (the front end's default) */

	/* [output] */
	char *output_dir;
	char *label_template;

	/* [firmware] */
	char *flasher_args;
};

/* Parses and validates the profile file. On error returns -1 with "file:line: [section] key:
 * problem" (ERR_CHECK) and leaves p empty. */
int profile_load(const char *file, struct profile *p, err_t *e);
/* Checks that every file the profile names exists and is readable. */
int profile_check_files(const struct profile *p, err_t *e);
void profile_free(struct profile *p);

/* Builds a serial number from the pattern: {seq} / {seq:0N} the device sequence number,
 * {mac} / {MAC} the MAC as 12 lower/upper hex digits, {{ and }} literal braces. */
int profile_format_serial(const char *pattern, uint64_t seq, const uint8_t mac[6], char *out,
			  size_t n, err_t *e);

bool profile_allows_chip(const struct profile *p, const char *chip);
/* The passcodes the Matter specification forbids (all-same digits, 12345678, 87654321, 0) and
 * anything above 99999998. */
bool profile_passcode_forbidden(uint32_t passcode);

const char *profile_name_path(enum profile_path path);
const char *profile_name_mode(enum profile_mode mode);

#endif
