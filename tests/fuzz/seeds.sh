# Sourced by run-fuzz.sh and run-long.sh: fuzz_seed_corpus TARGET DIR fills DIR with the
# target's starting inputs: its own small seeds and regressions (tests/fuzz/seeds/TARGET/) and
# files taken from the golden vectors ($ESPFAB_VECTORS), which are copied, never committed.
fuzz_seed_corpus() {
	local target=$1 dir=$2 src vec f n=0
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	vec=${ESPFAB_VECTORS:-$src/../../../shared/vectors}
	mkdir -p "$dir"
	if [ -d "$src/seeds/$target" ]; then
		cp "$src/seeds/$target"/* "$dir"/ 2>/dev/null || true
	fi
	[ -d "$vec" ] || return 0
	# copy_vec GLOB...: each matching file under a unique name (set_case_file)
	copy_vec() {
		local g
		for g in "$@"; do
			for f in $vec/$g; do
				[ -f "$f" ] || continue
				cp "$f" "$dir/vec_$(echo "${f#"$vec"/}" | tr '/' '_')"
			done
		done
	}
	# csv_column FILE COLUMN-NAME...: each non-empty value of the columns as its own seed
	csv_column() {
		local file=$1 col
		shift
		[ -f "$file" ] || return 0
		for col in "$@"; do
			awk -F, -v col="$col" -v out="$dir/vec_$(basename "$(dirname "$file")")_$col" '
				NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
				c && $c != "" { printf "%s", $c > (out "_" NR); close(out "_" NR) }' "$file"
		done
	}
	case "$target" in
	fuzz_seccert)
		copy_vec 'secure_cert/*/expected.bin' 'mfg/*/esp_secure_cert.bin' ;;
	fuzz_parttable_bin)
		copy_vec 'partition_table/*/expected.bin' ;;
	fuzz_parttable_csv)
		copy_vec 'partition_table/*/*.csv' ;;
	fuzz_payload)
		csv_column "$vec/onboarding/vectors.csv" qr manual_short manual_long
		for f in "$vec"/mfg/*/onb_codes.csv; do
			csv_column "$f" qrcode manualcode
		done ;;
	fuzz_keyfile)
		copy_vec 'secure_cert/*/*.pem' 'secure_cert/*/*.der' ;;
	fuzz_nvs)
		copy_vec 'nvs/*/expected.bin' 'nvs/*/plain.bin' 'mfg/*/factory_partition.bin' ;;
	fuzz_seccert_csv)
		copy_vec 'secure_cert/*/config.csv' ;;
	fuzz_label_template)
		cp "$src"/../../assets/labels/*.ini "$dir"/ 2>/dev/null || true ;;
	fuzz_cd)
		copy_vec 'mfg/*/inputs/CD.der' ;;
	fuzz_attest_cert)
		copy_vec 'mfg/*/inputs/*_cert.pem' 'mfg/*/internal/*_cert.der' 'secure_cert/*/*cert*.der' \
			'secure_cert/*/*cert*.pem' ;;
	fuzz_profile)
		cp "$src"/../../assets/profiles/*.ini "$dir"/ 2>/dev/null || true ;;
	fuzz_nvs_csv)
		copy_vec 'nvs/*/input*.csv' 'mfg/*/partition_portable.csv' ;;
	esac
}
