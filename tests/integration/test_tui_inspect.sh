#!/bin/bash
# espfab inspect on files: a full flash image (partition table at 0x8000, esp_secure_cert, a
# Matter factory NVS partition, all from the golden vectors), single partition files detected by
# content, and the same with a corrupted NVS entry and a corrupted TLV. --json is checked field
# by field; the curses inspector runs in tmux and must show the damage, mask the private key in
# the hex view, and exit cleanly. No private key byte may appear anywhere.
set -u
ESPFAB=${ESPFAB_BIN:-}
V=${ESPFAB_VECTORS:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "python3 missing"; exit 77; }
SC=$V/secure_cert/s01_matter_dac_ecdsa_der
MF=$V/mfg/m01_basic_factory_nvs
[ -f "$SC/expected.bin" ] && [ -f "$MF/factory_partition.bin" ] || { echo "vectors absent"; exit 77; }

T=$(mktemp -d)
TUI_SESSION=insp
. "$(dirname "$0")/tmux_screen.sh"
cleanup() { tm kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t insp 2>/dev/null
	exit 1
}

cat > "$T/parts.csv" <<'EOF'
# Name,   Type, SubType, Offset,  Size, Flags
nvs,      data, nvs,     0x9000,  0x4000,
esp_secure_cert, 0x3F, , 0xD000, 0x2000,
phy_init, data, phy,     0xF000,  0x1000,
fctry,    data, nvs,     0x10000, 0x6000,
factory,  app,  factory, 0x20000, 0x10000,
EOF
"$ESPFAB" parttable "$T/parts.csv" "$T/pt.bin" >/dev/null || fail "parttable"
"$PY" - "$T" "$SC/expected.bin" "$MF/factory_partition.bin" <<'EOF' || fail "image build"
import sys
t, sc, fn = sys.argv[1], open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
img = bytearray(b"\xff" * 0x30000)
pt = open(t + "/pt.bin", "rb").read()
img[0x8000:0x8000 + len(pt)] = pt
img[0xD000:0xD000 + len(sc)] = sc
img[0x10000:0x10000 + len(fn)] = fn
open(t + "/flash.bin", "wb").write(img)
open(t + "/fctry.bin", "wb").write(img[0x10000:0x16000])
open(t + "/seccert.bin", "wb").write(img[0xD000:0xF000])
bad = bytearray(img)
bad[0x10000 + 64 + 32 * 3 + 10] ^= 0x55   # inside the 4th entry of the first NVS page
bad[0xD000 + 40] ^= 0x01                   # inside the first TLV's value
open(t + "/flash_bad.bin", "wb").write(bad)
open(t + "/fctry_bad.bin", "wb").write(bad[0x10000:0x16000])
open(t + "/seccert_bad.bin", "wb").write(bad[0xD000:0xF000])
EOF
# the private key scalars in the hex spelling a dump would use, to prove they are never printed
KEYHEX=$("$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
i = d.index(bytes([2, 1, 1, 4, 32])) + 5
print(d[i:i + 32].hex())' "$SC/dac_key.der") || fail "key scalar"
MFKEY=$(xxd -p -c 1000 "$MF/internal/DAC_private_key.bin" | cut -c1-64)
[ ${#KEYHEX} = 64 ] && [ ${#MFKEY} = 64 ] || fail "key scalars not found"
# the keys are in the image, so not finding them in the output means something
xxd -p -c 256 "$T/flash.bin" | tr -d '\n' | grep -q "$KEYHEX" || fail "secure cert key not in the image"
xxd -p -c 256 "$T/flash.bin" | tr -d '\n' | grep -q "$MFKEY" || fail "factory DAC key not in the image"

check_json() { # FILE PYTHON-ASSERTIONS (v = the view)
	"$ESPFAB" inspect "$1" --json > "$T/out.json"
	echo $? > "$T/rc"
	"$PY" - "$T/out.json" "$2" <<'EOF' || fail "json check of $1"
import json, sys
v = json.load(open(sys.argv[1]))
parts = {p.get("name") or "-": p for p in v["partitions"]}
exec(sys.argv[2])
EOF
	grep -qi -- "$KEYHEX" "$T/out.json" && fail "$1: private key bytes printed"
	grep -qi -- "$MFKEY" "$T/out.json" && fail "$1: factory DAC key printed"
	return 0
}

# ---- sound files ----
check_json "$T/flash.bin" '
assert v["kind"] == "flash image" and v["problems"] == 0, v["kind"]
assert v["table_offset"] == 0x8000
assert [p["name"] for p in v["partition_table"]] == ["nvs", "esp_secure_cert", "phy_init", "fctry", "factory"]
sc = parts["esp_secure_cert"]
assert sc["status"] == "ok" and sc["offset"] == 0xD000
ents = sc["decoded"]["entries"]
assert [e["type_name"] for e in ents] == ["CA_CERT", "DEV_CERT", "PRIV_KEY", "INTEGRITY"], ents
assert ents[1]["subject"] == "CN=Test DAC, VID=FFF1, PID=8000", ents[1]["subject"]
assert "hex" not in ents[2] and "value" not in ents[2] and len(ents[2]["sha256"]) == 64
f = parts["fctry"]
assert f["status"] == "ok"
cf = f["decoded"]["namespaces"]["chip-factory"]
assert cf["serial-num"]["value"] == "SN-000001"
assert cf["discriminator"]["value"] == "3840"
assert cf["dac-cert"]["certificate"]["subject"].endswith("VID=FFF2, PID=8001")
assert "value" not in cf["dac-key"] and cf["dac-key"]["hidden"]
assert parts["nvs"]["status"] == "empty"
'
[ "$(cat "$T/rc")" = 0 ] || fail "sound image: exit $(cat "$T/rc")"
check_json "$T/fctry.bin" '
assert v["kind"] == "nvs" and v["problems"] == 0
assert parts["-"]["decoded"]["namespaces"]["chip-factory"]["product-name"]["value"] == "Test Light"
'
check_json "$T/seccert.bin" '
assert v["kind"] == "esp_secure_cert" and parts["-"]["decoded"]["integrity_checked"] is True
'

# ---- corrupted files: the damage is named, the rest still decoded, exit 1 ----
check_json "$T/flash_bad.bin" '
assert v["problems"] == 2, v["problems"]
sc, f = parts["esp_secure_cert"], parts["fctry"]
assert sc["status"] == "corrupt" and "bad CRC" in sc["problem"], sc
assert f["status"] == "corrupt" and "page 0 entry 3" in f["problem"], f
assert f["decoded"]["namespaces"]["chip-factory"]["serial-num"]["value"] == "SN-000001"
'
[ "$(cat "$T/rc")" = 1 ] || fail "damaged image: exit $(cat "$T/rc"), expected 1"
check_json "$T/fctry_bad.bin" 'assert parts["-"]["status"] == "corrupt"'
check_json "$T/seccert_bad.bin" 'assert parts["-"]["status"] == "corrupt" and "offset 0x0" in parts["-"]["problem"]'

# diff against the manifest row of the device (found by serial); a wrong QR shows as mismatches
printf 'serial,mac,chip,revision,path,qr,result,time\nSN-000001,7c:df:a1:00:00:01,esp32h2,v0.1,ecdsa-efuse,MT:634J042C00KA0648G00,ok,2026-01-01\n' > "$T/manifest.csv"
"$ESPFAB" inspect "$T/flash.bin" --json --manifest "$T/manifest.csv" > "$T/diff.json" || fail "inspect --manifest"
"$PY" - "$T/diff.json" <<'EOF' || fail "manifest diff of a matching device"
import json, sys
d = {x["field"]: x for x in json.load(open(sys.argv[1]))["manifest_diff"]}
assert d["serial"]["match"] and d["serial"]["device"] == "SN-000001", d
assert d["discriminator"]["match"] and d["discriminator"]["manifest"] == "3840", d
assert d["vendor-id"]["match"] and d["product-id"]["match"], d
EOF
# same serial, another device's QR (VID 0xFFF1, PID 0x8000, discriminator 3840 → 3841)
QR2=$("$ESPFAB" payload -d 3841 -p 20202021 -vid 0xFFF1 -pid 0x8000 | grep -o 'MT:[0-9A-Z.:-]*' | head -1)
[ -n "$QR2" ] || fail "payload for the mismatch case"
printf 'serial,mac,chip,revision,path,qr,result,time\nSN-000001,x,esp32h2,v0.1,ecdsa-efuse,%s,ok,t\n' "$QR2" > "$T/manifest2.csv"
"$ESPFAB" inspect "$T/flash.bin" --json --manifest "$T/manifest2.csv" > "$T/diff2.json"
"$PY" - "$T/diff2.json" <<'EOF' || fail "manifest diff of a mismatching device"
import json, sys
d = {x["field"]: x for x in json.load(open(sys.argv[1]))["manifest_diff"]}
assert d["serial"]["match"]
assert not d["discriminator"]["match"] and d["discriminator"]["manifest"] == "3841", d
assert not d["vendor-id"]["match"] and not d["product-id"]["match"], d
EOF
# the inspector screen shows the diff line by line
tm new-session -d -s diff -x 100 -y 40 \
	"LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' inspect '$T/flash.bin' --manifest '$T/manifest2.csv'; sleep 60" 2>/dev/null &&
{
	for i in $(seq 50); do
		tm send-keys -t diff End 2>/dev/null
		sleep 0.2
		tm capture-pane -p -t diff | grep -q "discriminator: DIFFERENT (manifest 3841, device 3840)" && break
	done
	tm capture-pane -p -t diff | grep -q "discriminator: DIFFERENT (manifest 3841, device 3840)" ||
		fail "manifest mismatch not shown on the inspector screen"
	tm capture-pane -p -t diff | grep -q "serial: same (manifest SN-000001, device SN-000001)" ||
		fail "manifest match not shown on the inspector screen"
	tm kill-session -t diff
}
printf 'serial,mac\nSN-999999,x\n' > "$T/manifest3.csv"
"$ESPFAB" inspect "$T/flash.bin" --json --manifest "$T/manifest3.csv" | grep -q '"manifest_row": "no row for this device"' ||
	fail "a device missing from the manifest is not reported"

# not a terminal: a text listing
"$ESPFAB" inspect "$T/flash_bad.bin" > "$T/text.txt"
grep -q "problem: page 0 entry 3: entry CRC mismatch" "$T/text.txt" || fail "text listing lacks the NVS damage"
grep -qi -- "$KEYHEX" "$T/text.txt" && fail "text listing prints the private key"
# usage errors
"$ESPFAB" inspect > /dev/null 2>&1; [ $? = 2 ] || fail "inspect without FILE must exit 2"
"$ESPFAB" inspect "$T/nope.bin" > /dev/null 2>&1; [ $? = 1 ] || fail "missing file must exit 1"

# ---- the curses inspector ----
command -v tmux >/dev/null || { echo "tmux missing: curses part skipped"; exit 0; }
tm new-session -d -s insp -x 80 -y 24 \
	"LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' inspect '$T/flash_bad.bin'; echo \$? > '$T/exit'; sleep 60" ||
	fail "tmux did not start"
wait_for "flash_bad.bin (flash image) - DAMAGED"
wait_for "problems: 2"
wait_for "esp_secure_cert  esp_secure_cert, corrupt"
wait_for "problem: TLV at offset 0x0"
# down to the fctry partition: its damage and its decoded keys
for i in $(seq 40); do
	screen | grep -q "problem: page 0 entry 3" && break
	keys PgDn
done
screen | grep -q "problem: page 0 entry 3" || fail "NVS damage not shown"
for i in $(seq 10); do
	screen | grep -qF "serial-num: SN-000001 (string)" && break
	keys PgDn
done
screen | grep -qF "serial-num: SN-000001 (string)" || fail "NVS keys not shown"
screen | grep -F "dac-key" | grep -qi "$MFKEY" && fail "dac-key value on screen"
# a sound image for the hex view (a damaged secure cert is masked whole)
tm new-session -d -s insp2 -x 80 -y 24 \
	"LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' inspect '$T/flash.bin'; echo \$? > '$T/exit'; sleep 60"
tm kill-session -t insp
tm rename-session -t insp2 insp
wait_for "flash.bin (flash image)"
# rows: source size kind problems table_offset partition_table partitions nvs esp_secure_cert
keys Down Down Down Down Down Down Down Down
keys x
wait_for "Hex: esp_secure_cert at 0xd000"
keys PgDn PgDn PgDn
wait_for "** ** ** ** ** ** ** ** ** ** ** ** ** ** ** **"
screen | tr -d ' │' | grep -qi -- "$(echo "$KEYHEX" | cut -c1-16)" && fail "private key bytes in the hex view"
keys x
keys '?'
wait_for "hex view of the partition (secrets masked)"
keys Space
keys q
for i in $(seq 50); do [ -f "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "inspector on a sound image did not exit 0"
echo "ok: inspect --json (sound and damaged image, single partitions), text listing, curses inspector, hex masking"
