#!/bin/bash
# The device panel follows the eFuses through a run, and names the key blocks as the chip does.
# `espfab demo --chip esp32 --auto` in tmux (80x24) runs the flash-encryption path against
# espfab-sim: before the burn the panel shows the ESP32's key blocks as BLOCK1-3 with their fixed
# roles (flash encryption, secure boot, user), all empty, flash encryption off; after the burns the
# backend re-reads the chip and the panel shows BLOCK1 holding the key (write-protected) and the
# FE counter odd (FE ON), and keeps showing it once the run is done.
set -u
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
msg=$("$ESPFAB" demo --auto </dev/null 2>&1)
case "$msg" in
*"no provisioning engine"*) echo "skipped: $msg"; exit 77 ;;
esac
[ -n "${ESPFAB_SIM_BIN:-}" ] || [ -x "$(dirname "$ESPFAB")/espfab-sim" ] || { echo "no espfab-sim"; exit 77; }

T=$(mktemp -d)
TUI_SESSION=efuse
. "$(dirname "$0")/tmux_screen.sh"
REC=""
cleanup() {
	[ -n "$REC" ] && kill "$REC" 2>/dev/null
	tm kill-server 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t efuse 2>/dev/null
	cat "$T/stderr" 2>/dev/null
	exit 1
}

tm new-session -d -s efuse -x 80 -y 24 \
	"cd '$T' && XDG_CACHE_HOME='$T/cache' TMPDIR='$T' LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' demo --chip esp32 --auto 2> '$T/stderr'; echo \$? > '$T/exit'; sleep 120" ||
	fail "tmux did not start"
( for i in $(seq 3000); do screen 2>/dev/null; echo "=== frame"; sleep 0.1; done ) > "$T/frames" &
REC=$!
wait_for "Device provisioned" 280
sleep 0.3
kill $REC 2>/dev/null
wait $REC 2>/dev/null
REC=""

# as detected: the ESP32's own block names and roles, never the KEYn of the newer chips
grep -q "Chip        ESP32 " "$T/frames" || fail "device panel never showed the ESP32"
grep -q "│KEY[0-9] " "$T/frames" && fail "ESP32 key blocks shown as KEYn"
grep -q "BLOCK1      FLASH_ENC empty" "$T/frames" || fail "BLOCK1 (flash encryption) not shown empty before the burn"
grep -q "BLOCK2      SECURE_BOOT empty" "$T/frames" || fail "BLOCK2 (secure boot) not shown"
grep -q "BLOCK3      USER empty" "$T/frames" || fail "BLOCK3 (user) not shown"
grep -q "FE counter  0x0 (FE off)" "$T/frames" || fail "flash encryption not shown off before the burn"
grep -qF "Device (as detected)" "$T/frames" || fail "panel title at detection"
# after the burns: the state read back from the chip
grep -q "Device (after burn-" "$T/frames" || fail "the panel was never refreshed after a burn"
grep -q "BLOCK1      FLASH_ENC.* WR" "$T/frames" || fail "BLOCK1 never shown holding the key after the burn"

# once done, the flow screen's panel is the burned state, not the detected one
tm send-keys -t efuse F3
wait_for "Plan: " 5
sleep 0.3
screen > "$T/final"
grep -q "Device (after burn-" "$T/final" || fail "final panel is not the re-read state"
grep -q "FE counter  0x1 (FE ON)" "$T/final" || fail "final panel does not show flash encryption on"
grep -q "BLOCK1      FLASH_ENC.* WR" "$T/final" || fail "final panel does not show BLOCK1 burned"
grep -q "FLASH_ENC empty" "$T/final" && fail "final panel still shows BLOCK1 empty"

tm send-keys -t efuse q
for i in $(seq 100); do [ -f "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "espfab demo exited $(cat "$T/exit" 2>/dev/null)"
grep -q "Sanitizer" "$T/stderr" && fail "sanitizer report from espfab demo"
echo "ok: ESP32 key blocks BLOCK1-3 with roles; panel re-read after the eFuse burns (BLOCK1 burned, FE ON)"
