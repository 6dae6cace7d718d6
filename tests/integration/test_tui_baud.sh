#!/bin/bash
# --baud for the device commands of the front ends: `espfab inspect --port P --baud B` and
# `espfab tui --port P --baud B` switch the link to B (CHANGE_BAUDRATE, accepted, and the
# simulated UART then runs at B: espfab-sim's log says so); without --baud inspect stays at the
# ROM's 115200. Bad values are usage errors naming the option.
set -u
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
SIM=${ESPFAB_SIM_BIN:-$(dirname "$ESPFAB")/espfab-sim}
[ -x "$SIM" ] || { echo "no espfab-sim"; exit 77; }

T=$(mktemp -d)
SOCK="espfab-baud-test-$$"
tm() { tmux -L "$SOCK" "$@"; }
SIMPID=""
stop_sim() {
	[ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null && wait "$SIMPID" 2>/dev/null
	SIMPID=""
}
cleanup() { stop_sim; tm kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t baud 2>/dev/null
	echo "---- simulator log ----"
	tail -n 20 "$T"/sim*.log 2>/dev/null
	exit 1
}
# start_sim LOG: a fresh simulator on a free TCP port; sets ADDR
start_sim() {
	: > "$T/sim.out"
	"$SIM" --chip esp32h2 --tcp 0 --flash "$T/flash.bin" --log "$1" > "$T/sim.out" 2>&1 &
	SIMPID=$!
	local i
	for i in $(seq 100); do grep -q "^tcp " "$T/sim.out" && break; sleep 0.1; done
	ADDR=$(sed -n 's/^tcp //p' "$T/sim.out")
	[ -n "$ADDR" ] || fail "espfab-sim did not start: $(cat "$T/sim.out")"
}
baud_switches() { grep -c "baud now $2" "$1" 2>/dev/null; }

# a flash with a partition table, so inspect has something to read
printf 'nvs, data, nvs, 0x9000, 0x4000,\nfctry, data, nvs, 0x10000, 0x6000,\n' > "$T/parts.csv"
"$ESPFAB" parttable "$T/parts.csv" "$T/pt.bin" >/dev/null || fail "parttable"
head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' '\377' > "$T/flash.bin"
dd if="$T/pt.bin" of="$T/flash.bin" bs=1 seek=$((0x8000)) conv=notrunc 2>/dev/null || fail "dd"

# ---- usage errors ----
"$ESPFAB" inspect --port socket://127.0.0.1:1 --baud fast > /dev/null 2> "$T/err"
[ $? = 2 ] || fail "inspect --baud fast: exit not 2"
grep -q -- "--baud" "$T/err" || fail "inspect --baud error does not name the option: $(cat "$T/err")"
"$ESPFAB" inspect "$T/flash.bin" --baud 921600 > /dev/null 2> "$T/err"
[ $? = 2 ] || fail "inspect FILE --baud: exit not 2"
"$ESPFAB" tui --baud=12x < /dev/null > /dev/null 2> "$T/err"
[ $? = 2 ] || fail "tui --baud=12x: exit not 2"
grep -q -- "--baud" "$T/err" || fail "tui --baud error does not name the option: $(cat "$T/err")"

# ---- inspect --port: 115200 by default, --baud switches ----
start_sim "$T/sim1.log"
timeout 120 "$ESPFAB" inspect --port "socket://$ADDR" --json > "$T/i1.json" 2> "$T/i1.err"
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "inspect --port exited $rc: $(cat "$T/i1.err")"
stop_sim
grep -q "CHANGE_BAUDRATE" "$T/sim1.log" && fail "inspect without --baud changed the baud rate"
grep -q '"fctry"' "$T/i1.json" || fail "inspect without --baud did not read the table"

start_sim "$T/sim2.log"
timeout 120 "$ESPFAB" inspect --port "socket://$ADDR" --baud 921600 --json > "$T/i2.json" 2> "$T/i2.err"
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "inspect --baud 921600 exited $rc: $(cat "$T/i2.err")"
stop_sim
[ "$(baud_switches "$T/sim2.log" 921600)" -ge 1 ] || fail "inspect --baud 921600 did not switch the link"
grep "CHANGE_BAUDRATE" "$T/sim2.log" | grep -q "rejected" && fail "the baud switch was rejected"
sed "s/socket:[^\"]*//" "$T/i1.json" > "$T/i1.norm"
sed "s/socket:[^\"]*//" "$T/i2.json" > "$T/i2.norm"
cmp -s "$T/i1.norm" "$T/i2.norm" || { diff "$T/i1.norm" "$T/i2.norm" | head; fail "inspect at 921600 decoded differently than at 115200"; }

# ---- the TUI: DETECT on the worker opens the port at --baud ----
start_sim "$T/sim3.log"
printf '[product]\nvendor_id = 0xFFF1\n' > "$T/p.ini"
tm new-session -d -s baud -x 80 -y 24 \
	"cd '$T' && LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' tui --port 'socket://$ADDR' --baud 921600 --profile '$T/p.ini' 2> '$T/tui.err'; echo \$? > '$T/exit'; sleep 60" ||
	fail "tmux did not start"
for i in $(seq 100); do tm capture-pane -p -t baud | grep -qF "Serial port" && break; sleep 0.1; done
tm send-keys -t baud Enter
for i in $(seq 300); do tm capture-pane -p -t baud | grep -qF "ESP32-H2" && break; sleep 0.1; done
tm capture-pane -p -t baud | grep -qF "ESP32-H2" || fail "the TUI never showed the detected chip"
[ "$(baud_switches "$T/sim3.log" 921600)" -ge 1 ] || fail "espfab tui --baud 921600 did not switch the link"
tm send-keys -t baud q
for i in $(seq 50); do [ -f "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "espfab tui exited $(cat "$T/exit" 2>/dev/null)"
grep -q "Sanitizer" "$T/tui.err" && { cat "$T/tui.err"; fail "sanitizer report from espfab tui"; }
stop_sim
echo "ok: inspect and tui --baud switch the link; inspect defaults to 115200; bad values are usage errors"
