#!/bin/bash
# Irreversible steps in the TUI against the real engine and a simulated ESP32-H2: a wrong word,
# Enter or Esc never confirm, abort stops the run, and the chip is then detected afresh with
# blank key blocks. The next device (n) is the same board, provisioned after BURN is typed; its
# eFuses then hold the DAC key with purpose ECDSA_KEY.
# (The ds and flash-encryption paths need BLOCK0 burns the device layer does not do yet.)
set -u
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "python3 missing"; exit 77; }
msg=$("$ESPFAB" demo </dev/null 2>&1)
case "$msg" in
*"no provisioning engine"*) echo "skipped: $msg"; exit 77 ;;
esac
SIM=${ESPFAB_SIM_BIN:-$(dirname "$ESPFAB")/espfab-sim}
[ -x "$SIM" ] || { echo "no espfab-sim"; exit 77; }

T=$(mktemp -d)
TUI_SESSION=demo
. "$(dirname "$0")/tmux_screen.sh"
SIMPID=
cleanup() { tm kill-server 2>/dev/null; [ -n "$SIMPID" ] && kill $SIMPID 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t demo 2>/dev/null
	exit 1
}

tm new-session -d -s demo -x 80 -y 24 \
	"cd '$T' && XDG_CACHE_HOME='$T/cache' TMPDIR='$T' LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' demo --chip esp32h2 --keep 2> '$T/stderr'; echo \$? > '$T/exit'; sleep 120" ||
	fail "tmux did not start"
wait_for "plan ready: r runs it" 60
wait_for "Chip        ESP32-H2"
screen | grep -q "BURN! burn the DAC private key" || fail "irreversible step not marked"
keys r
wait_for "IRREVERSIBLE" 60
# Enter alone, a wrong word, lower case: refused, nothing burned
keys Enter
wait_for "is not BURN: nothing was burned"
keys b u r n Enter
wait_for "'burn' is not BURN"
keys Escape
wait_for "not confirmed; c answers it, a aborts the run"
keys a
wait_for "run failed" 30
screen | grep -q "Plan: .* - FAILED" || fail "the plan does not show the failed run"
# the same board again: detected afresh, nothing was burned by the aborted run
keys n
wait_for "plan ready: r runs it" 60
wait_for "Chip        ESP32-H2"
[ "$(screen | grep -c "KEY[0-5] .*USER empty")" = 6 ] || fail "a key block changed although the run was aborted"
screen | grep -qF "FE counter  0x0 (FE off)" || fail "flash encryption changed although the run was aborted"
keys r
wait_for "IRREVERSIBLE" 60
keys B U R N Enter
wait_for "Device provisioned" 300
screen | grep -q "MT:[0-9A-Z.:-]*" || fail "no payload"
keys q
for i in $(seq 100); do [ -f "$T/exit" ] && break; sleep 0.1; done
KEPT=$(sed -n 's/^espfab demo: files kept in //p' "$T/stderr")
[ -d "$KEPT" ] || fail "kept folder missing"

efuse_summary() {
	: > "$T/sim.out"
	"$SIM" --chip esp32h2 --tcp 0 --flash "$KEPT/flash.bin" --efuse "$KEPT/efuse.bin" > "$T/sim.out" 2>/dev/null &
	SIMPID=$!
	for i in $(seq 50); do grep -q "^tcp " "$T/sim.out" && break; sleep 0.1; done
	"$ESPFAB" efuse --port "socket://$(sed -n 's/^tcp //p' "$T/sim.out")" summary --json > "$1" ||
		fail "efuse summary"
	kill $SIMPID; wait $SIMPID 2>/dev/null; SIMPID=
}
efuse_summary "$T/after.json"
"$PY" - "$T/after.json" <<'EOF' || fail "eFuses after the confirmed run"
import json, sys
v = json.load(open(sys.argv[1]))
purposes = [b["purpose"] for b in v["key_blocks"] if not b["empty"] or b["read_protected"]]
assert purposes == ["ECDSA_KEY"], v["key_blocks"]
EOF
echo "ok: wrong words, Enter and Esc never confirm; abort burns nothing; BURN then provisions"
