#!/bin/bash
# Printing from the TUI through CUPS: a private cupsd (own config, spool and port in a temporary
# folder; the system's CUPS is not touched) with a raw queue whose device is a socket listener
# standing in for a network label printer. `espfab demo --keep` supplies a profile, its test PKI
# and a blank board's flash; espfab-sim serves that board to `espfab tui --printer QUEUE`, which
# provisions it (BURN typed at the confirmation); p sends PRINT to the backend, the status line
# says "printed to QUEUE (job N)", and the bytes the printer receives are the label PNG, whose
# QR code decodes (zbarimg) to the payload on the screen.
# Exit 77 (skipped) when not root, when a tool is missing or when cupsd cannot be started.
set -u
skip() { echo "test_tui_print_cups: SKIP: $*" >&2; exit 77; }
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || skip "ESPFAB_BIN not set"
SIM=${ESPFAB_SIM_BIN:-$(dirname "$ESPFAB")/espfab-sim}
[ -x "$SIM" ] || skip "no espfab-sim"
[ "$(id -u)" -eq 0 ] || skip "needs root to run a private cupsd"
for tool in cupsd lpadmin lpstat tmux python3 zbarimg; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing"
done

. "$(dirname "$0")/cups_private.sh"
T=$(mktemp -d /tmp/espfab-tui-cups.XXXXXX) || exit 1
SOCK="espfab-tui-cups-$$"
tm() { tmux -L "$SOCK" "$@"; }
CUPSD_PID="" LISTENER="" SIMPID=""
cleanup() {
	tm kill-server 2>/dev/null
	[ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	cups_private_stop
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t tui 2>/dev/null
	[ -f "$T/log/error_log" ] && tail -n 30 "$T/log/error_log"
	exit 1
}
screen() { tm capture-pane -p -t "$1"; }
wait_for() { # SESSION TEXT SECONDS
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		screen "$1" | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	fail "screen $1 never showed '$2'"
}

# ---- the private scheduler ----
cups_private_start "$T" || skip "$CUPS_WHY"

# the printer: records what it receives
python3 - "$T/raw/job.bin" "$T/raw/port" <<'PY' &
import os, socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(300)
open(sys.argv[2], "w").write(str(srv.getsockname()[1]))
conn, _ = srv.accept()
conn.settimeout(60)
data = b""
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    data += chunk
open(sys.argv[1] + ".part", "wb").write(data)
os.rename(sys.argv[1] + ".part", sys.argv[1])
PY
LISTENER=$!
for _ in $(seq 1 50); do [ -s "$T/raw/port" ] && break; sleep 0.1; done
[ -s "$T/raw/port" ] || fail "the stand-in printer did not start"
QUEUE="espfab-tui-$$"
lpadmin -p "$QUEUE" -E -v "socket://127.0.0.1:$(cat "$T/raw/port")" || fail "lpadmin could not add $QUEUE"

# ---- a demo profile, its test PKI and a fresh board's flash: `espfab demo --keep`, quit at the plan ----
ENVV="XDG_CACHE_HOME='$T/cache' TMPDIR='$T' LANG=C.UTF-8 LC_ALL=C.UTF-8"
tm new-session -d -s demo -x 80 -y 24 \
	"cd '$T' && $ENVV '$ESPFAB' demo --chip esp32h2 --keep 2> '$T/demo.err'; echo \$? > '$T/demo.exit'; sleep 60" ||
	fail "tmux did not start"
wait_for demo "plan ready: r runs it" 120
tm send-keys -t demo q
for i in $(seq 100); do [ -f "$T/demo.exit" ] && break; sleep 0.1; done
KEPT=$(sed -n 's/^espfab demo: files kept in //p' "$T/demo.err")
[ -f "$KEPT/demo.ini" ] && [ -f "$KEPT/flash.bin" ] || fail "the demo kept no profile or flash ($(cat "$T/demo.err"))"
rm -f "$KEPT/efuse.bin" # blank eFuses: nothing was burned, but start clean

# ---- the board provisioned in the TUI, the label printed through CUPS ----
"$SIM" --chip esp32h2 --tcp 0 --flash "$KEPT/flash.bin" --efuse "$KEPT/efuse.bin" > "$T/sim.out" 2>&1 &
SIMPID=$!
for i in $(seq 100); do grep -q "^tcp " "$T/sim.out" && break; sleep 0.1; done
ADDR=$(sed -n 's/^tcp //p' "$T/sim.out")
[ -n "$ADDR" ] || fail "espfab-sim did not start"
tm new-session -d -s tui -x 80 -y 24 \
	"cd '$T' && $ENVV CUPS_SERVER='$CUPS_SERVER' '$ESPFAB' tui --port 'socket://$ADDR' --profile '$KEPT/demo.ini' --printer '$QUEUE' 2> '$T/tui.err'; echo \$? > '$T/tui.exit'; sleep 60" ||
	fail "tmux did not start"
wait_for tui "Serial port" 10
tm send-keys -t tui Enter
wait_for tui "plan ready: r runs it" 60
tm send-keys -t tui r
for i in $(seq 1200); do
	s=$(screen tui)
	echo "$s" | grep -qF "Device provisioned" && break
	if echo "$s" | grep -qF "IRREVERSIBLE"; then
		tm send-keys -t tui B U R N Enter
		sleep 0.5
	fi
	echo "$s" | grep -q "run failed" && fail "the run failed"
	sleep 0.1
done
wait_for tui "Device provisioned" 5
QR=$(screen tui | grep -o 'MT:[0-9A-Z.:-]*' | head -1)
[ -n "$QR" ] || fail "no QR payload on the result screen"

tm send-keys -t tui p
for i in $(seq 300); do screen tui | tail -1 | grep -qF "printed to $QUEUE (job " && break; sleep 0.1; done
screen tui | tail -1 | grep -qF "printed to $QUEUE (job " || fail "status line never said 'printed to $QUEUE (job N)'"
wait_for tui "Label   printed to $QUEUE" 5
for i in $(seq 600); do [ -f "$T/raw/job.bin" ] && break; sleep 0.1; done
[ -f "$T/raw/job.bin" ] || fail "the printer received no job"
head -c 8 "$T/raw/job.bin" | od -An -c | grep -q "P   N   G" || fail "the printer did not receive a PNG"
got=$(zbarimg -q --raw "$T/raw/job.bin" 2>/dev/null | head -1)
[ "$got" = "$QR" ] || fail "the printed label decodes to '$got', the screen shows '$QR'"

tm send-keys -t tui q
for i in $(seq 100); do [ -f "$T/tui.exit" ] && break; sleep 0.1; done
[ "$(cat "$T/tui.exit" 2>/dev/null)" = 0 ] || fail "espfab tui exited $(cat "$T/tui.exit" 2>/dev/null)"
grep -q "Sanitizer" "$T/tui.err" && { cat "$T/tui.err"; fail "sanitizer report from espfab tui"; }
echo "ok: the TUI printed the provisioned device's label through CUPS ($QUEUE, raw socket printer): $got"
