#!/usr/bin/env bash
# test_bad_inputs: the catalogue of bad inputs across the CLI. Each row runs one espfab command on
# a bad input and requires: the expected non-zero exit (1 bad data or failed check, 2 usage,
# 3 device or link), a message on stderr naming the input at fault, no crash (exit >= 128 or a
# sanitizer report), no output file left behind (nor a temporary one). Decoder rows also require
# that what can be decoded is printed. The table is printed in the test log.
set -u
E=${ESPFAB_BIN:?ESPFAB_BIN not set}
V=${ESPFAB_VECTORS:-}
if [ -z "$V" ] || [ ! -d "$V/secure_cert" ]; then
	echo "test_bad_inputs: vectors absent, skipped"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/espfab-badin.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# ---- fixtures (key files copied with mode 0600 so no permission warning muddles stderr)
S1=$V/secure_cert/s01_matter_dac_ecdsa_der
S4=$V/secure_cert/s04_rsa2048_ds_esp32c3
S6=$V/secure_cert/s06_ecdsa_peripheral_esp32h2
install -m 0600 "$S1/dac_key.der" dac_key.der
install -m 0644 "$S1/dac_cert.der" dac_cert.der
install -m 0644 "$S1/pai_cert.der" pai_cert.der
install -m 0600 "$S4/rsa_client_key.pem" rsa_key.pem
install -m 0644 "$S4/rsa_client_cert.pem" rsa_cert.pem
install -m 0644 "$S4/rsa_ca_cert.pem" rsa_ca.pem
install -m 0600 "$S4/hmac_key.bin" hmac_key.bin
install -m 0600 "$S6/h2dev_key.pem" ec_key.pem
install -m 0644 "$S6/h2dev_cert.der" h2_cert.der
printf 'this is not a key\n' > notkey.pem && chmod 600 notkey.pem
printf -- '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n' > badpem.pem && chmod 600 badpem.pem
head -c 16 "$S4/hmac_key.bin" > short_hmac.bin && chmod 600 short_hmac.bin
head -c 3000 /dev/urandom > noise.bin
head -c 8 "$S4/hmac_key.bin" > key8.bin && chmod 600 key8.bin
head -c 200 "$S1/dac_cert.der" > trunc_cert.der
mkdir adir
printf 'x\n' > afile
PT=$V/partition_table/p01_esp_matter_factory
cp "$PT/partitions.csv" good_parts.csv
printf 'nvs,data,nvs,0x9000,0x6000,\nfactory,app,factory,0x10000,1M,\nstorage,data,nvs,0x10000,0x1000,\n' > overlap.csv
printf 'nvs,data,nvs,0x9000,0x6000,\nfactory,app,factory,0x10000,3M,\n' > big.csv
printf 'nvs,data,nvs,0x9000,0x1000,\n' > nvs_small.csv
printf 'nvs,data,nvs,0x9000,0xZZ,\n' > parts_badhex.csv
printf 'nvs,data,nvs,0x9001,0x6000,\n' > parts_align.csv
printf 'nvs,data,bogus,0x9000,0x6000,\n' > parts_subtype.csv
printf 'nvs,data,nvs,0x9000,0x6000,bogus\n' > parts_flag.csv
printf 'nvs,data,nvs,0x9000,0x6000,\nnvs,data,nvs,0xf000,0x6000,\n' > parts_dupname.csv
printf 'nvs,data,nvs,0x9000,0x6000,\nbig,data,fat,0x10000,0xFFFF1000,\nafter,data,fat,,0x1000,\n' > parts_4g.csv
head -c 100 "$PT/expected.bin" > pt_trunc.bin
cp "$PT/expected.bin" pt_md5.bin && printf '\x01' | dd of=pt_md5.bin bs=1 seek=41 conv=notrunc 2>/dev/null
NV=$(ls -d "$V"/nvs/n02_* | head -1)
cp "$NV/expected.bin" nvs_crc.bin && printf '\x55' | dd of=nvs_crc.bin bs=1 seek=200 conv=notrunc 2>/dev/null
head -c 5000 "$NV/expected.bin" > nvs_trunc.bin
cp "$S1/expected.bin" sc_crc.bin && printf '\x55' | dd of=sc_crc.bin bs=1 seek=40 conv=notrunc 2>/dev/null
cp "$S1/expected.bin" sc_crc2.bin && printf '\x55' | dd of=sc_crc2.bin bs=1 seek=$((0x1b0 + 40)) conv=notrunc 2>/dev/null
head -c 700 "$S1/expected.bin" > sc_trunc.bin
# several defects in one image: both certificates' CRCs; a damaged magic; a damaged first magic
cp sc_crc.bin sc_crc12.bin && printf '\x55' | dd of=sc_crc12.bin bs=1 seek=$((0x1b0 + 40)) conv=notrunc 2>/dev/null
cp "$S1/expected.bin" sc_magic.bin && printf '\x00' | dd of=sc_magic.bin bs=1 seek=$((0x1b0 + 1)) conv=notrunc 2>/dev/null
cp "$S1/expected.bin" sc_magic0.bin && printf '\x12' | dd of=sc_magic0.bin bs=1 seek=0 conv=notrunc 2>/dev/null
chmod 644 sc_crc12.bin sc_magic.bin sc_magic0.bin
# NVS: a truncated image with a damaged entry too; a cut encrypted image; a blob key written
# twice whose second index is damaged (its chunk is left orphan); a blob missing its chunk 1
cp nvs_trunc.bin nvs_trunc2.bin && printf '\x55' | dd of=nvs_trunc2.bin bs=1 seek=200 conv=notrunc 2>/dev/null
NE=$V/nvs/e02_encrypted_inputkey_multipage
head -c $((4096 + 50)) "$NE/expected.bin" > nvs_enc_trunc.bin
install -m 0600 "$NE/nvs_keys.bin" nvs_enc_keys.bin
printf 'key,type,encoding,value\nns,namespace,,\nb,data,hex2bin,aabb\nb,data,hex2bin,ccddeeff\nc,data,u8,5\n' > nvs_rep.csv
"$E" nvs generate nvs_rep.csv nvs_rep.bin 0x3000 > /dev/null
printf '\x55' | dd of=nvs_rep.bin bs=1 seek=$((64 + 32 * 6 + 9)) conv=notrunc 2>/dev/null
printf 'key,type,encoding,value\nns,namespace,,\nbig,data,base64,%s\nc,data,u8,5\n' "$(head -c 5000 /dev/zero | base64 -w0)" > nvs_big.csv
"$E" nvs generate nvs_big.csv nvs_chunk.bin 0x3000 > /dev/null
printf '\x55' | dd of=nvs_chunk.bin bs=1 seek=$((4096 + 64 + 32 + 5)) conv=notrunc 2>/dev/null
# a flash image (table, esp_secure_cert, factory NVS); damaged, and cut inside the NVS partition
printf 'nvs,data,nvs,0x9000,0x4000,\nesp_secure_cert,0x3F,,0xD000,0x2000,\nfctry,data,nvs,0x10000,0x6000,\n' > flash_parts.csv
"$E" parttable flash_parts.csv flash_pt.bin > /dev/null
head -c $((0x18000)) /dev/zero | tr '\0' '\377' > flash.bin
dd if=flash_pt.bin of=flash.bin bs=1 seek=$((0x8000)) conv=notrunc 2>/dev/null
dd if="$S1/expected.bin" of=flash.bin bs=1 seek=$((0xD000)) conv=notrunc 2>/dev/null
dd if="$V/mfg/m01_basic_factory_nvs/factory_partition.bin" of=flash.bin bs=1 seek=$((0x10000)) conv=notrunc 2>/dev/null
cp flash.bin flash_bad.bin
printf '\x55' | dd of=flash_bad.bin bs=1 seek=$((0x10000 + 64 + 32 * 3 + 10)) conv=notrunc 2>/dev/null
printf '\x01' | dd of=flash_bad.bin bs=1 seek=$((0xD000 + 40)) conv=notrunc 2>/dev/null
head -c $((0x12000)) flash.bin > flash_cut.bin
H='key,type,encoding,value'
printf '%s\nns,namespace,,\nk,data,u32,42\n' "$H" > nvs_ok.csv
printf '%s\nns,namespace,,\nk,data,u8,300\n' "$H" > nvs_range.csv
printf '%s\nk,data,u8,3\n' "$H" > nvs_nons.csv
printf '%s\nns,namespace,,\nk,data,hex2bin,abc\n' "$H" > nvs_oddhex.csv
printf '%s\nns,namespace,,\nk,data,hex2bin,zz\n' "$H" > nvs_badhex.csv
printf '%s\nns,namespace,,\nthis_key_is_far_too_long,data,u32,42\n' "$H" > nvs_longkey.csv
printf '%s\nns,namespace,,\nk,data,bogus,42\n' "$H" > nvs_enc.csv
printf '%s\nns,namespace,,\nk,file,binary,nosuchfile.bin\n' "$H" > nvs_nofile.csv
printf '%s\nns,namespace,,\nk,data,u32,forty-two\n' "$H" > nvs_nan.csv
{ printf '%s\nns,namespace,,\n' "$H"; for i in 1 2 3 4; do
	printf 'blob%d,data,base64,%s\n' "$i" "$(head -c 3000 /dev/zero | base64 -w0)"; done; } > nvs_toobig.csv
MI=$V/mfg/m01_basic_factory_nvs/inputs
install -m 0600 "$MI/PAI_key.pem" pai_key.pem
install -m 0600 "$MI/DAC_key.pem" dac_key.pem
cp "$MI/PAI_cert.pem" pai_cert.pem
cp "$MI/DAC_cert.pem" dac_cert.pem
cp "$MI/CD.der" cd_fff2_8001.der
FE=$V/flash_encryption/f02_xts_aes128_esp32c3
install -m 0600 "$FE/key.bin" fe_key.bin
cp "$FE/plaintext.bin" fe_plain.bin
C='tlv_type,tlv_subtype,data_value,data_type,priv_key_type,algorithm,key_size,efuse_id,efuse_key'
printf '%s\nESP_SECURE_CERT_BOGUS_TLV,0,abcd,hex,,,,,\n' "$C" > sc_type.csv
printf '%s\nESP_SECURE_CERT_USER_DATA_1_TLV,0,abc,hex,,,,,\n' "$C" > sc_oddhex.csv
printf '%s\nESP_SECURE_CERT_USER_DATA_1_TLV,0,@@@,base64,,,,,\n' "$C" > sc_b64.csv
printf '%s\nESP_SECURE_CERT_USER_DATA_1_TLV,0,nosuch.bin,file,,,,,\n' "$C" > sc_nofile.csv
printf '%s\nESP_SECURE_CERT_USER_DATA_1_TLV,0,abcd,hex,,,,,\nESP_SECURE_CERT_USER_DATA_1_TLV,0,abcd,hex,,,,,\n' "$C" > sc_dup.csv
printf '%s\nESP_SECURE_CERT_USER_DATA_1_TLV,999,abcd,hex,,,,,\n' "$C" > sc_subtype.csv
printf 'a,b\n1,2\n' > sc_header.csv
printf '%s\nESP_SECURE_CERT_USER_DATA_1_TLV,0,%s,base64,,,,,\n' "$C" "$(head -c 12000 /dev/zero | base64 -w0)" > sc_big.csv
if [ "$(id -u)" = 0 ]; then
	UNREADABLE=/proc/self/mem   # open() succeeds, read() fails, even for root
else
	cp nvs_ok.csv unreadable.csv && chmod 000 unreadable.csv
	UNREADABLE=unreadable.csv
fi

# ---- the table
rows=0 failed=0 gaps=0
# gap NAME "WHY": the next row is a known defect, reported to its module: its failure is shown as
# GAP and does not fail the test; once it passes it shows FIXED (drop the gap line then).
gap_name= gap_why=
gap() { gap_name=$1; gap_why=$2; }
table=$(mktemp "$work/table.XXXXXX")
printf '%-4s %-26s %-5s %-4s %-6s %s\n' no case want got result "message (stderr, first line)" > "$table"

# check NAME WANT NEEDLE OUTPUT STDOUT_NEEDLE -- ARGS...
#   WANT: exit codes allowed, e.g. "1" or "1|2"; NEEDLE: text stderr must contain (the input
#   named); OUTPUT: a path that must not exist afterwards ("-": none; "=FILE": FILE is an input
#   the command rewrites in place and must leave unchanged); STDOUT_NEEDLE: text the decoded
#   part on stdout must contain ("-": not checked).
check() {
	local name=$1 want=$2 needle=$3 output=$4 outneedle=$5
	shift 6
	local rc result=ok why=
	local keep=
	if [ "${output#=}" != "$output" ]; then
		keep=${output#=}
		output=-
		cp "$keep" keep.orig
	else
		rm -rf "$output" 2>/dev/null
	fi
	"$E" "$@" > out.txt 2> err.txt
	rc=$?
	rows=$((rows + 1))
	if [ $rc -ge 128 ] || grep -q 'Sanitizer\|runtime error:' err.txt; then
		why="crashed"
	elif [ $rc -eq 0 ]; then
		why="exit 0"
	elif ! [[ "|$want|" == *"|$rc|"* ]]; then
		why="exit $rc, expected $want"
	elif ! grep -qiF -- "$needle" err.txt; then
		why="message does not name '$needle'"
	elif [ "$output" != - ] && [ -e "$output" ]; then
		why="output $output left behind"
	elif ls -a . "$(dirname "${output/#-/.}")" 2>/dev/null | grep -q '\.tmp\.'; then
		why="temporary file left behind"
	elif [ "$outneedle" != - ] && ! grep -qF -- "$outneedle" out.txt; then
		why="decoded part missing on stdout ('$outneedle')"
	elif [ -n "$keep" ] && ! cmp -s "$keep" keep.orig; then
		why="$keep was modified"
	fi
	if [ "$gap_name" = "$name" ]; then
		if [ -n "$why" ]; then
			result=GAP
			gaps=$((gaps + 1))
			echo "GAP $name: $why (known: $gap_why)" >&2
		else
			result=FIXED
			echo "FIXED $name: passes now; remove its gap line" >&2
		fi
		gap_name=
	elif [ -n "$why" ]; then
		result=FAIL
		failed=$((failed + 1))
		{ echo "FAIL $name: $why"; echo "  espfab $*"; sed 's/^/  stderr: /' err.txt | head -5; } >&2
	fi
	printf '%-4s %-26s %-5s %-4s %-6s %s\n' "$rows" "$name" "$want" "$rc" "$result" \
		"$(grep -v '^usage:\|^  \|^ *\[' err.txt | grep -v 'warning:' | head -1 | cut -c1-110)" >> "$table"
	rm -f out.txt err.txt keep.orig
}

# ---- payload / onboarding codes
check vid-not-hex          "1|2" "0xZZ"        - - -- payload -d 3840 -p 20202021 -vid 0xZZ -pid 0x8000
check vid-too-large        "1|2" "70000"       - - -- payload -d 3840 -p 20202021 -vid 70000 -pid 0x8000
check pid-negative         "1|2" "-5"          - - -- payload -d 3840 -p 20202021 -vid 0xFFF1 -pid -5
check passcode-12345678    1     "12345678"    - - -- payload -d 3840 -p 12345678 -vid 0xFFF1 -pid 0x8000
check passcode-11111111    1     "11111111"    - - -- payload -d 3840 -p 11111111
check passcode-zero        1     "passcode"    - - -- payload -d 3840 -p 0
check passcode-9-digits    1     "100000000"   - - -- payload -d 3840 -p 100000000
check discriminator-4096   1     "4096"        - - -- payload -d 4096 -p 20202021 -vid 0xFFF1 -pid 0x8000
check flow-3               2     "3"           - - -- payload -d 3840 -p 20202021 -cf 3
check discovery-mask-9     1     "9"           - - -- payload -d 3840 -p 20202021 -dm 9
check passcode-missing     2     "passcode"    - - -- payload -d 3840
check unknown-option       2     "--bogus"     - - -- payload --bogus
check qr-short             1     "length"      - - -- payload parse MT:ABC
check qr-bad-alphabet      1     "position 18"         - - -- payload parse 'MT:Y.K9042C00KA0648G0a'
check manual-check-digit   1     "34970112333" - - -- payload parse 34970112333
check manual-10-digits     1     "3497011233"  - - -- payload parse 3497011233
check vendor-int-not-num   2     "0x80=abc"    - - -- payload -d 3840 -p 20202021 --vendor-int 0x80=abc
check vendor-tag-range     2     "vendor tag 5" - - -- payload -d 3840 -p 20202021 --vendor-string 5=abc
check serial-too-long      2     "--serial-number" - - -- payload -d 3840 -p 20202021 --serial-number "$(head -c 200 /dev/zero | tr '\0' A)"
check unknown-command      2     "nosuch"      - - -- nosuch
# ---- SPAKE2+
check spake2p-passcode     1     "12345678"    - - -- spake2p gen-verifier -p 12345678 -s U1BBS0UyUCBLZXkgU2FsdA== -i 1000
check spake2p-salt-base64  "1|2" "salt"        - - -- spake2p gen-verifier -p 20202021 -s 'not base64!' -i 1000
check spake2p-salt-short   1     "salt"        - - -- spake2p gen-verifier -p 20202021 -s AAAA -i 1000
check spake2p-no-value     2     "-p"          - - -- spake2p gen-verifier -s U1BBS0UyUCBLZXkgU2FsdA== -i 1000 -p
check spake2p-iterations   1     "iteration"   - - -- spake2p gen-verifier -p 20202021 -s U1BBS0UyUCBLZXkgU2FsdA== -i 10
# ---- partition tables
check parts-overlap        1     "overlap.csv" out.bin - -- parttable overlap.csv out.bin
check parts-flash-too-small 1    "big.csv"     out.bin - -- parttable --flash-size 2MB big.csv out.bin
check parts-nvs-too-small  1     "nvs_small.csv" out.bin - -- parttable nvs_small.csv out.bin
check parts-bad-hex        1     "0xZZ"        out.bin - -- parttable parts_badhex.csv out.bin
check parts-misaligned     1     "0x9001"      out.bin - -- parttable parts_align.csv out.bin
check parts-bad-subtype    1     "bogus"       out.bin - -- parttable parts_subtype.csv out.bin
check parts-bad-flag       1     "bogus"       out.bin - -- parttable parts_flag.csv out.bin
check parts-dup-name       1     "nvs"         out.bin - -- parttable parts_dupname.csv out.bin
check parts-beyond-4g      1     "parts_4g.csv" out.bin - -- parttable parts_4g.csv out.bin
check parts-missing-file   1     "missing.csv" out.bin - -- parttable missing.csv out.bin
check parts-directory      1     "adir"        out.bin - -- parttable adir out.bin
check parts-unreadable     1     "$UNREADABLE" out.bin - -- parttable "$UNREADABLE" out.bin
check parts-bin-truncated  1     "pt_trunc.bin" out.csv - -- parttable pt_trunc.bin out.csv
check parts-bin-md5        1     "MD5"         out.csv - -- parttable pt_md5.bin out.csv
check parts-offset-not-num 2     "--offset"    out.bin - -- parttable --offset 0xZZ good_parts.csv out.bin
check parts-flash-size     2     "3MB"         out.bin - -- parttable --flash-size 3MB good_parts.csv out.bin
check parts-output-notdir  1     "afile/out.bin" afile/out.bin - -- parttable good_parts.csv afile/out.bin
# ---- esp_secure_cert generation (DS / ECDSA paths)
check sc-key-not-pem       1     "notkey.pem"  o/esp_secure_cert.bin - -- seccert --private-key notkey.pem --device-cert dac_cert.der --ca-cert pai_cert.der --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-key-bad-pem       1     "badpem.pem"  o/esp_secure_cert.bin - -- seccert --private-key badpem.pem --device-cert dac_cert.der --ca-cert pai_cert.der --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-rsa-for-ecdsa     1     "rsa_key.pem" o/esp_secure_cert.bin - -- seccert --private-key rsa_key.pem --device-cert h2_cert.der --ca-cert pai_cert.der --configure_ds --priv_key_algo ECDSA 256 --efuse_key_id 1 --target_chip esp32h2 --skip_flash --esp_secure_cert_data_dir o
check sc-ec-for-rsa-ds     1     "ec_key.pem"  o/esp_secure_cert.bin - -- seccert --private-key ec_key.pem --device-cert rsa_cert.pem --ca-cert rsa_ca.pem --configure_ds --priv_key_algo RSA 2048 --efuse_key_id 1 --efuse_key_file hmac_key.bin --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-efuse-key-id-9    2     "efuse_key_id" o/esp_secure_cert.bin - -- seccert --private-key rsa_key.pem --device-cert rsa_cert.pem --ca-cert rsa_ca.pem --configure_ds --priv_key_algo RSA 2048 --efuse_key_id 9 --efuse_key_file hmac_key.bin --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-hmac-key-short    1     "short_hmac.bin" o/esp_secure_cert.bin - -- seccert --private-key rsa_key.pem --device-cert rsa_cert.pem --ca-cert rsa_ca.pem --configure_ds --priv_key_algo RSA 2048 --efuse_key_id 1 --efuse_key_file short_hmac.bin --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-ds-iv-bad-hex     2     "--ds-iv"     o/esp_secure_cert.bin - -- seccert --private-key rsa_key.pem --device-cert rsa_cert.pem --ca-cert rsa_ca.pem --configure_ds --priv_key_algo RSA 2048 --efuse_key_id 1 --efuse_key_file hmac_key.bin --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o --ds-iv zz
check sc-cert-not-cert     1     "notkey.pem"  o/esp_secure_cert.bin - -- seccert --private-key dac_key.der --device-cert notkey.pem --ca-cert pai_cert.der --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-cert-truncated    1     "trunc_cert.der" o/esp_secure_cert.bin - -- seccert --private-key dac_key.der --device-cert trunc_cert.der --ca-cert pai_cert.der --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-unknown-chip      2     "esp32zz"     o/esp_secure_cert.bin - -- seccert --private-key dac_key.der --device-cert dac_cert.der --ca-cert pai_cert.der --target_chip esp32zz --skip_flash --esp_secure_cert_data_dir o
check sc-ds-on-esp32       1     "esp32"       o/esp_secure_cert.bin - -- seccert --private-key rsa_key.pem --device-cert rsa_cert.pem --ca-cert rsa_ca.pem --configure_ds --priv_key_algo RSA 2048 --efuse_key_id 1 --efuse_key_file hmac_key.bin --target_chip esp32 --skip_flash --esp_secure_cert_data_dir o
check sc-key-missing       1     "nosuch.pem"  o/esp_secure_cert.bin - -- seccert --private-key nosuch.pem --device-cert dac_cert.der --ca-cert pai_cert.der --target_chip esp32c3 --skip_flash --esp_secure_cert_data_dir o
check sc-csv-unknown-type  1     "sc_type.csv line 2" o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_type.csv --skip_flash --esp_secure_cert_data_dir o
check sc-csv-odd-hex       1     "sc_oddhex.csv line 2" o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_oddhex.csv --skip_flash --esp_secure_cert_data_dir o
check sc-csv-bad-base64    1     "sc_b64.csv line 2" o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_b64.csv --skip_flash --esp_secure_cert_data_dir o
check sc-csv-missing-file  1     "nosuch.bin"  o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_nofile.csv --skip_flash --esp_secure_cert_data_dir o
check sc-csv-duplicate     1     "sc_dup.csv line 3" o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_dup.csv --skip_flash --esp_secure_cert_data_dir o
check sc-csv-subtype-999   1     "999"         o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_subtype.csv --skip_flash --esp_secure_cert_data_dir o
check sc-csv-no-header     1     "sc_header.csv" o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_header.csv --skip_flash --esp_secure_cert_data_dir o
check sc-partition-full    1     "sc_big.csv line 2" o/esp_secure_cert.bin - -- seccert --esp_secure_cert_csv sc_big.csv --skip_flash --esp_secure_cert_data_dir o
check sc-append-integrity-trunc 1 "sc_trunc.bin" =sc_trunc.bin - -- seccert --append-integrity sc_trunc.bin
# ---- decoders on corrupted data: what decodes is printed, the corruption is named, exit 1
check sc-dump-crc-first    1     "bad CRC"     - "DEV_CERT" -- seccert dump sc_crc.bin
check sc-dump-crc-second   1     "offset 0x1b0" - "CA_CERT" -- seccert dump sc_crc2.bin
check sc-dump-truncated    1     "past the end" - "CA_CERT" -- seccert dump sc_trunc.bin
check sc-dump-json-trunc   1     "past the end" - '"CA_CERT"' -- seccert dump sc_trunc.bin --json
check sc-parse-bin-trunc   1     "past the end" - "CA_CERT" -- seccert --parse_bin sc_trunc.bin
check nvs-dump-wrong-key   1     "CRC"         - "page 0" -- nvs dump "$V/nvs/e01_encrypted_keygen_seeded/expected.bin" --keyfile "$V/nvs/e02_encrypted_inputkey_multipage/nvs_keys.bin"
check nvs-dump-crc         1     "CRC"         - "namespace" -- nvs dump nvs_crc.bin
check nvs-dump-crc-json    1     "CRC"         - '"namespace' -- nvs dump nvs_crc.bin --json
check nvs-dump-truncated   1     "nvs_trunc.bin: 1 problem(s): image truncated" - "namespace 1:" -- nvs dump nvs_trunc.bin
check nvs-dump-trunc-offset 1    "page 1 at offset 0x1000 has only 904 of 4096 bytes" - '"values"' -- nvs dump nvs_trunc.bin --json
check nvs-dump-trunc-and-crc 1   "nvs_trunc2.bin: 2 problem(s)" - "problem: image truncated" -- nvs dump nvs_trunc2.bin
check nvs-dump-trunc-encrypted 1 "offset 0x1000 has only 50 of 4096 bytes" - "namespace 1: secure" -- nvs dump nvs_enc_trunc.bin --keyfile nvs_enc_keys.bin
check nvs-dump-orphan-chunk 1    "page 0 entry 4: blob 'b' data chunk 0 (4 bytes) belongs to no blob index (orphan chunk)" - "ns:b blob (2 bytes) = aabb" -- nvs dump nvs_rep.bin
check nvs-dump-missing-chunk 1   "blob 'big' (chunk_start 0, 2 chunk(s)): chunk 1 is missing or damaged" - "ns:c u8 (1 bytes) = 5" -- nvs dump nvs_chunk.bin
check sc-dump-two-crc      1     "TLV at offset 0x1b0 (type 1 (DEV_CERT) subtype 0): bad CRC" - "defect: TLV at offset 0x0 (type 0 (CA_CERT) subtype 0): bad CRC" -- seccert dump sc_crc12.bin
check sc-dump-two-crc-rest 1     "sc_crc12.bin: TLV at offset 0x0" - "PRIV_KEY" -- seccert dump sc_crc12.bin
check sc-dump-bad-magic    1     "offset 0x1b0: bad TLV magic" - "PRIV_KEY" -- seccert dump sc_magic.bin
check sc-dump-first-magic  1     "offset 0x0: bad TLV magic" - "DEV_CERT" -- seccert dump sc_magic0.bin
check sc-dump-json-defects 1     "offset 0x1b0" - '"defect": "TLV at offset 0x1b0' -- seccert dump sc_crc2.bin --json
check sc-dump-key-file     1     "dac_key.der: offset 0x0: bad TLV magic" - "defect: offset 0x0" -- seccert dump dac_key.der
check inspect-nvs-truncated 1    "nvs_trunc.bin" - '"namespaces"' -- inspect nvs_trunc.bin
check inspect-sc-crc       1     "offset 0x1b0" - "CA_CERT" -- inspect sc_crc2.bin
check inspect-flash-nvs-crc 1    "fctry: page 0 entry 3" - "esp_secure_cert" -- inspect flash_bad.bin
check inspect-flash-sc-crc 1     "esp_secure_cert: TLV at offset 0x0" - "DEV_CERT" -- inspect flash_bad.bin
check inspect-flash-cut    1     "the partition at 0x10000 has only 8192 of its 24576 bytes" - '"namespaces"' -- inspect flash_cut.bin
# ---- NVS generation
check nvs-u8-range         1     "nvs_range.csv:3" out.bin - -- nvs generate nvs_range.csv out.bin 0x3000
check nvs-no-namespace     1     "nvs_nons.csv:2" out.bin - -- nvs generate nvs_nons.csv out.bin 0x3000
check nvs-odd-hex          1     "nvs_oddhex.csv:3" out.bin - -- nvs generate nvs_oddhex.csv out.bin 0x3000
check nvs-bad-hex          1     "nvs_badhex.csv:3" out.bin - -- nvs generate nvs_badhex.csv out.bin 0x3000
check nvs-not-a-number     1     "nvs_nan.csv:3" out.bin - -- nvs generate nvs_nan.csv out.bin 0x3000
check nvs-long-key         1     "this_key_is_far_too_long" out.bin - -- nvs generate nvs_longkey.csv out.bin 0x3000
check nvs-bad-encoding     1     "bogus"       out.bin - -- nvs generate nvs_enc.csv out.bin 0x3000
check nvs-file-row-missing 1     "nosuchfile.bin" out.bin - -- nvs generate nvs_nofile.csv out.bin 0x3000
check nvs-size-unaligned   1     "0x3001"      out.bin - -- nvs generate nvs_ok.csv out.bin 0x3001
check nvs-size-not-number  "1|2" "0x1000zz"    out.bin - -- nvs generate nvs_ok.csv out.bin 0x1000zz
check nvs-partition-full   1     "nvs_toobig.csv" out.bin - -- nvs generate nvs_toobig.csv out.bin 0x3000
check nvs-csv-missing      1     "missing.csv" out.bin - -- nvs generate missing.csv out.bin 0x3000
check nvs-csv-unreadable   1     "$UNREADABLE" out.bin - -- nvs generate "$UNREADABLE" out.bin 0x3000
check nvs-key-short        1     "short_hmac.bin" out.bin - -- nvs encrypt nvs_ok.csv out.bin 0x3000 --inputkey short_hmac.bin
check nvs-encrypt-no-key   2     "--inputkey"  out.bin - -- nvs encrypt nvs_ok.csv out.bin 0x3000
check nvs-decrypt-key-short 1    "short_hmac.bin" out.bin - -- nvs decrypt nvs_crc.bin short_hmac.bin out.bin
check nvs-decrypt-truncated 1    "nvs_trunc.bin" out.bin - -- nvs decrypt nvs_trunc.bin "$V/nvs/e01_encrypted_keygen_seeded/nvs_keys.bin" out.bin
# ---- labels
check label-qr-invalid     1     "--qr"        out.png - -- label --qr MT:ZZZ --png out.png
check label-manual-digit   1     "--manual"    out.png - -- label --qr MT:Y.K9042C00KA0648G00 --manual 11111111111 --png out.png
check label-ecc            2     "X"           out.png - -- label --qr MT:Y.K9042C00KA0648G00 --ecc X --png out.png
check label-template-missing 1   "nosuch.tpl"  out.png - -- label --qr MT:Y.K9042C00KA0648G00 --template nosuch.tpl --png out.png
check label-output-notdir  1     "afile/out.png" afile/out.png - -- label --qr MT:Y.K9042C00KA0648G00 --png afile/out.png
check label-print-notdir   1     "afile/x.prn" afile/x.prn - -- label --qr MT:Y.K9042C00KA0648G00 --print-to afile/x.prn
check label-dpi            2     "--dpi"       out.zpl - -- label --qr MT:Y.K9042C00KA0648G00 --zpl out.zpl --dpi 0

# ---- Matter attestation: certificates, CD, factory batches
check cd-other-pid         1     "cd_fff2_8001.der" mo/fff2_8002/staging - -- mfg -v 0xFFF2 -p 0x8002 --pai -c pai_cert.pem -k pai_key.pem -cd cd_fff2_8001.der --passcode 20202021 --discriminator 3840 --outdir mo
check cd-other-vid         1     "cd_fff2_8001.der" mo/fff1_8001 - -- mfg -v 0xFFF1 -p 0x8001 --pai -c pai_cert.pem -k pai_key.pem -cd cd_fff2_8001.der --outdir mo
check mfg-passcode         "1|2" "12345678"    mo/fff2_8001 - -- mfg -v 0xFFF2 -p 0x8001 --pai -c pai_cert.pem -k pai_key.pem -cd cd_fff2_8001.der --passcode 12345678 --discriminator 3840 --outdir mo
check mfg-discriminator    "1|2" "4096"        mo/fff2_8001 - -- mfg -v 0xFFF2 -p 0x8001 --pai -c pai_cert.pem -k pai_key.pem -cd cd_fff2_8001.der --passcode 20202021 --discriminator 4096 --outdir mo
check mfg-vid-not-hex      "1|2" "0xZZ"        mo - -- mfg -v 0xZZ -p 0x8001 --pai -c pai_cert.pem -k pai_key.pem -cd cd_fff2_8001.der --outdir mo
check mfg-key-not-pai      1     "dac_key.pem" mo/fff2_8001 - -- mfg -v 0xFFF2 -p 0x8001 --pai -c pai_cert.pem -k dac_key.pem -cd cd_fff2_8001.der --outdir mo
check attest-dac-is-ca     1     "attestation rules" - "DAC: basicConstraints" -- attest validate-att-cert --dac pai_cert.pem --pai pai_cert.pem
check attest-print-cd-cert 1     "dac_cert.pem" - - -- attest print-cd dac_cert.pem
check attest-cd-key-mismatch 1   "signing key" cd.der - -- attest gen-cd -K pai_key.pem -C dac_cert.pem -O cd.der -f 1 -V 0xFFF1 -p 0x8000 -d 0x16 -c ZIG20142ZB330003-24 -l 0 -i 0 -n 9876 -t 0
check attest-cd-cert-id    1     "SHORT"       cd.der - -- attest gen-cd -K pai_key.pem -C pai_cert.pem -O cd.der -f 1 -V 0xFFF1 -p 0x8000 -d 0x16 -c SHORT -l 0 -i 0 -n 9876 -t 0
# ---- flash encryption
check fe-address-unaligned 1     "0x10001"     fe.bin - -- flashenc encrypt-flash-data --keyfile fe_key.bin --address 0x10001 --aes-xts --output fe.bin fe_plain.bin
check fe-address-not-num   2     "--address"   fe.bin - -- flashenc encrypt-flash-data --keyfile fe_key.bin --address 0xZZ --aes-xts --output fe.bin fe_plain.bin
check fe-key-8-bytes       1     "key file key8.bin: key length 8 bytes, expected 16, 32 or 64" fe.bin - -- flashenc encrypt-flash-data --keyfile key8.bin --address 0x10000 --aes-xts --output fe.bin fe_plain.bin
check fe-key-8-esp32       1     "key file key8.bin: key length 8 bytes, expected 24 or 32" fe.bin - -- flashenc encrypt-flash-data --keyfile key8.bin --address 0x10000 --output fe.bin fe_plain.bin
check fe-decrypt-key-8     1     "key file key8.bin: key length 8 bytes, expected 16, 32 or 64" fe.bin - -- flashenc decrypt-flash-data --keyfile key8.bin --address 0x10000 --aes-xts --output fe.bin fe_plain.bin
check fe-input-missing     1     "missing.bin" fe.bin - -- flashenc encrypt-flash-data --keyfile fe_key.bin --address 0x10000 --aes-xts --output fe.bin missing.bin
check fe-crypt-conf        1     "flash-crypt-conf" fe.bin - -- flashenc decrypt-flash-data --keyfile fe_key.bin --address 0x10000 --flash-crypt-conf 99 --output fe.bin fe_plain.bin
# ---- ports and devices
check port-missing         3     "/nonexistent/ttyUSB9" - - -- info --port /nonexistent/ttyUSB9
check port-refused         3     "socket://127.0.0.1:1" - - -- info --port socket://127.0.0.1:1
check port-unknown-host    3     "nohost.invalid" - - -- info --port socket://nohost.invalid:5555
check port-not-a-port      3     "noise.bin"   - - -- info --port noise.bin
check port-closes          3     "/dev/null"   - - -- info --port /dev/null
check port-option-missing  2     "--port"      - - -- info
check flash-read-no-device 3     "/dev/null"   fl.bin - -- flash --port /dev/null read 0x0 0x1000 fl.bin
check efuse-no-device      3     "/dev/null"   - - -- efuse --port /dev/null summary
# burn-key --sb-digest (ESP32-C2 only, beside the derived key): refused before the port is opened
head -c 16 "$FE/key.bin" > c2_key16.bin && chmod 600 c2_key16.bin
head -c 32 "$S1/dac_cert.der" > sb_digest32.bin
head -c 20 "$S1/dac_cert.der" > sb_digest20.bin
check efuse-sbdigest-purpose 2   "--sb-digest" - - -- efuse --port socket://127.0.0.1:1 burn-key BLOCK_KEY0 c2_key16.bin XTS_AES_128_KEY --sb-digest sb_digest32.bin --yes
check efuse-sbdigest-length 1    "sb_digest20.bin" - - -- efuse --port socket://127.0.0.1:1 burn-key BLOCK_KEY0 c2_key16.bin XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS --sb-digest sb_digest20.bin --yes
check efuse-sbdigest-missing 1   "nosuch_digest.bin" - - -- efuse --port socket://127.0.0.1:1 burn-key BLOCK_KEY0 c2_key16.bin XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS --sb-digest nosuch_digest.bin --yes
check efuse-sbdigest-chip  2     "--chip esp32c3" - - -- efuse --port socket://127.0.0.1:1 burn-key BLOCK_KEY0 c2_key16.bin XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS --sb-digest sb_digest32.bin --chip esp32c3 --yes
check efuse-sbdigest-summary 2   "--sb-digest" - - -- efuse --port socket://127.0.0.1:1 summary --sb-digest sb_digest32.bin
if command -v python3 >/dev/null; then
	# a TCP peer that talks, but not the ROM protocol
	python3 -c '
import os, socket, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(4); print(s.getsockname()[1], flush=True)
def serve(c):
    end = time.time() + 30
    try:
        while time.time() < end:
            c.sendall(b"220 not a bootloader\r\n" + os.urandom(48)); time.sleep(0.05)
    except OSError: pass
    c.close()
s.settimeout(60)
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
' > noise_port.txt 2>/dev/null &
	noise_pid=$!
	for _ in $(seq 50); do [ -s noise_port.txt ] && break; sleep 0.1; done
	check port-not-an-esp    3     "127.0.0.1"   - - -- info --port "socket://127.0.0.1:$(cat noise_port.txt)"
	kill "$noise_pid" 2>/dev/null
	wait "$noise_pid" 2>/dev/null
fi

# ---- product profiles and `espfab run` (against espfab-sim when it is built)
mkprofile() { # mkprofile FILE [EXTRA LINES]: a valid profile for the esp32h2 simulator, plus EXTRA
	printf '[product]\nvendor_id = 0xFFF2\nproduct_id = 0x8001\nvendor_name = V\nproduct_name = P\nchips = esp32h2\n[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd_fff2_8001.der\n[partitions]\ntable = %s\n[security]\nmode = development\n[device]\nserial = BI-{seq:03}\n%s' \
		"${ESPFAB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/assets/partitions/h2-light.csv" "${2:-}" > "$1"
}
mkprofile pr_unknown.ini 'bogus_key = 1
'
mkprofile pr_section.ini '[bogus]
x = 1
'
mkprofile pr_passcode.ini '[commissioning]
passcode = 12345678
'
mkprofile pr_disc.ini '[commissioning]
discriminator = 4096
'
mkprofile pr_cdmissing.ini
sed -i 's/cd = cd_fff2_8001.der/cd = missing_cd.der/' pr_cdmissing.ini
mkprofile pr_vid.ini
sed -i 's/vendor_id = 0xFFF2/vendor_id = 0xZZ/' pr_vid.ini
mkprofile pr_otherpid.ini
sed -i 's/product_id = 0x8001/product_id = 0x8002/' pr_otherpid.ini
if [ -n "${ESPFAB_SIM_BIN:-}" ] && [ -x "$ESPFAB_SIM_BIN" ]; then
	# port 0: the simulator picks a free port and prints it (a fixed port can be taken by
	# another test's connection, and a sanitizer build can take a while to start)
	"$ESPFAB_SIM_BIN" --chip esp32h2 --tcp 0 --flash sim_flash.bin --efuse sim_efuse.bin \
		--flash-size 8MB --no-throttle >sim.out 2>sim.err &
	sim_pid=$!
	sim_addr=
	for _ in $(seq 1 200); do
		sim_addr=$(sed -n 's/^tcp //p' sim.out)
		[ -n "$sim_addr" ] && break
		kill -0 "$sim_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -z "$sim_addr" ]; then
		echo "FAIL: espfab-sim did not start:"
		cat sim.err
		exit 1
	fi
	SP=socket://$sim_addr
	check profile-unknown-key  1     "pr_unknown.ini:17" pout - -- run --profile pr_unknown.ini --port "$SP" --out pout --yes
	check profile-unknown-section 1  "pr_section.ini:18" pout - -- run --profile pr_section.ini --port "$SP" --out pout --yes
	check profile-bad-vid      1     "pr_vid.ini:2" pout - -- run --profile pr_vid.ini --port "$SP" --out pout --yes
	check profile-passcode     1     "12345678"    pout - -- run --profile pr_passcode.ini --port "$SP" --out pout --yes
	check profile-discriminator 1    "4096"        pout - -- run --profile pr_disc.ini --port "$SP" --out pout --yes
	check profile-cd-missing   1     "missing_cd.der" pout - -- run --profile pr_cdmissing.ini --port "$SP" --out pout --yes
	check profile-missing      1     "nosuch.ini"  pout - -- run --profile nosuch.ini --port "$SP" --out pout --yes
	check run-cd-other-pid     1     "cd_fff2_8001.der" - - -- run --profile pr_otherpid.ini --port "$SP" --out pout --yes
	kill "$sim_pid" 2>/dev/null
	wait "$sim_pid" 2>/dev/null
fi
check profile-error-no-device 1  "pr_unknown.ini" pout - -- run --profile pr_unknown.ini --port socket://127.0.0.1:1 --out pout --yes
check run-profile-option   2     "--profile"   - - -- run --port socket://127.0.0.1:1

cat "$table"
echo "bad inputs: $rows rows, $failed failed, $gaps known gaps"
[ "$failed" -eq 0 ]
