#!/bin/bash
# The whole flow in the TUI: `espfab demo --auto` in tmux (80x24) starts espfab-sim, previews
# the plan, runs it, types BURN for the irreversible step, writes and verifies, and stays on
# the result screen. The QR code on screen is turned back into an image and decoded by zbarimg
# to the payload the run printed (and recorded in the manifest); the manual code on screen
# carries the same passcode; the inspector reads the written partitions back from the chip.
set -u
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
PY=$(command -v python3 || true)
msg=$("$ESPFAB" demo --auto </dev/null 2>&1)
case "$msg" in
*"no provisioning engine"*) echo "skipped: $msg"; exit 77 ;;
esac
[ -n "${ESPFAB_SIM_BIN:-}" ] || [ -x "$(dirname "$ESPFAB")/espfab-sim" ] || { echo "no espfab-sim"; exit 77; }

T=$(mktemp -d)
TUI_SESSION=demo
. "$(dirname "$0")/tmux_screen.sh"
cleanup() { tm kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	tm capture-pane -p -t demo 2>/dev/null
	cat "$T/stderr" 2>/dev/null
	exit 1
}

# the PKI cache and the temporary folders go below $T
tm new-session -d -s demo -x 80 -y 24 \
	"cd '$T' && XDG_CACHE_HOME='$T/cache' TMPDIR='$T' LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' demo --chip esp32h2 --auto --keep 2> '$T/stderr'; echo \$? > '$T/exit'; sleep 120" ||
	fail "tmux did not start"

# every frame until the result, to check what passed by on the way
( for i in $(seq 2400); do screen 2>/dev/null; echo "=== frame"; sleep 0.1; done ) > "$T/frames" &
REC=$!
wait_for "Device provisioned" 240
sleep 0.3
kill $REC 2>/dev/null
wait $REC 2>/dev/null
grep -q "Chip        esp32h2\|Chip        ESP32-H2" "$T/frames" || fail "device panel never showed the chip"
grep -q "KEY0        " "$T/frames" || fail "device panel never showed the key blocks"
# the irreversible step is marked and confirmed by typing the word, never by one key
grep -qF "BURN! burn" "$T/frames" || fail "irreversible step never marked"
grep -qF "IRREVERSIBLE - confirm" "$T/frames" || fail "no confirmation asked"
grep -qF "BURN_" "$T/frames" || fail "the confirmation word was never typed"
grep -q "ok BURN! burn" "$T/frames" || fail "the burn step never finished"
# the panel is re-read from the chip after the burn: the DAC key block now ECDSA_KEY, protected
grep -q "Device (after burn-" "$T/frames" || fail "device panel not refreshed after the burn"
grep -q "KEY[0-5]        ECDSA_KEY.* WR" "$T/frames" || fail "device panel never showed the burned ECDSA key block"
QR=$(screen | grep -o 'MT:[0-9A-Z.:-]*' | head -1)
[ -n "$QR" ] || fail "no QR payload on the result screen"
MANUAL=$(screen | grep -A1 "Manual pairing code" | tail -1 | tr -dc '0-9')
[ ${#MANUAL} = 11 ] || fail "manual code '$MANUAL' is not 11 digits"
screen | grep -q "[0-9]\{4\}-[0-9]\{3\}-[0-9]\{4\}" || fail "manual code not grouped 4-3-4"
screen | grep -qF "Serial  DEMO-0001" || fail "serial not shown"
screen | grep -q "MAC     [0-9a-f:]\{17\}" || fail "MAC not shown"

# the QR code on screen is the payload
if [ -n "$PY" ] && command -v zbarimg >/dev/null; then
	screen > "$T/cap.txt"
	inv=normal
	grep -qF "light on dark (inverted)" "$T/cap.txt" && inv=inverted
	"$PY" - "$T/cap.txt" "$T/qr.pbm" "$inv" <<'PYEOF' || fail "screen to bitmap"
import sys
text = open(sys.argv[1], encoding="utf-8").read().split("\n")
glyph = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
rows = [l for l in text if any(c in "\u2580\u2584\u2588" for c in l)]
left = min(min(i for i, c in enumerate(l) if c in "\u2580\u2584\u2588") for l in rows)
right = max(max(i for i, c in enumerate(l) if c in "\u2580\u2584\u2588") for l in rows) + 1
bits = []
for l in rows:
    l = l.ljust(right)
    bits.append([glyph.get(c, (0, 0))[0] for c in l[left:right]])
    bits.append([glyph.get(c, (0, 0))[1] for c in l[left:right]])
if sys.argv[3] == "inverted":
    bits = [[1 - v for v in r] for r in bits]
w, h, pad, s = right - left, len(bits), 6, 6
with open(sys.argv[2], "w") as f:
    f.write("P1\n%d %d\n" % ((w + 2 * pad) * s, (h + 2 * pad) * s))
    for y in range(h + 2 * pad):
        row = []
        for x in range(w + 2 * pad):
            yy, xx = y - pad, x - pad
            row += [str(bits[yy][xx] if 0 <= yy < h and 0 <= xx < w else 0)] * s
        f.write((" ".join(row) + "\n") * s)
PYEOF
	got=$(zbarimg -q --raw "$T/qr.pbm" 2>/dev/null | head -1)
	[ "$got" = "$QR" ] || fail "QR on screen decodes to '$got', the run printed '$QR'"
else
	echo "python3 or zbarimg missing: QR image not decoded"
fi
# QR and manual code carry the same passcode
pq=$("$ESPFAB" payload parse "$QR" 2>&1 | grep -i "passcode" | tr -dc '0-9')
pm=$("$ESPFAB" payload parse "$MANUAL" 2>&1 | grep -i "passcode" | tr -dc '0-9')
[ -n "$pq" ] && [ "$pq" = "$pm" ] || fail "passcode of the QR ($pq) and of the manual code ($pm) differ"

# the inspector reads the partitions back from the (simulated) chip
tm send-keys -t demo i
sleep 0.3
tm send-keys -t demo R
wait_for "reading back" 10
# the flash is read at the simulated UART's pace: give it time
for i in $(seq 180); do
	tm send-keys -t demo End
	sleep 0.5
	screen | grep -qF "serial-num: DEMO-0001 (string)" && break
done
screen | grep -qF "serial-num: DEMO-0001 (string)" || fail "serial not in the read-back factory partition"
# compared with the device's manifest row
for i in $(seq 20); do
	screen | grep -qF "serial: same (manifest DEMO-0001, device DEMO-0001)" && break
	tm send-keys -t demo End
	sleep 0.3
done
screen | grep -qF "serial: same (manifest DEMO-0001, device DEMO-0001)" || fail "no manifest comparison"
screen | grep -q "discriminator: same" || fail "discriminator not compared with the manifest"
screen | grep -q "DIFFERENT" && fail "read-back data differs from the manifest"
# the label goes to a file in the demo: p sends PRINT to the backend, which writes the PNG; its
# answer shows on the status line and in the info box
tm send-keys -t demo F4
sleep 0.3
tm send-keys -t demo p
for i in $(seq 200); do screen | tail -1 | grep -q "printed to .*/label.png" && break; sleep 0.1; done
screen | tail -1 | grep -q "printed to .*/label.png" || fail "status line never said the label was printed"
LABEL=$(screen | tail -1 | sed -n 's/.*printed to \(.*label\.png\).*/\1/p')
[ -s "$LABEL" ] || fail "label file '$LABEL' missing"
head -c 8 "$LABEL" | od -An -c | grep -q "P   N   G" || fail "label file is not a PNG"
wait_for "Label   printed to" 5
if command -v zbarimg >/dev/null; then
	got=$(zbarimg -q --raw "$LABEL" 2>/dev/null | head -1)
	[ "$got" = "$QR" ] || fail "the printed label decodes to '$got', the run showed '$QR'"
fi

tm send-keys -t demo q
for i in $(seq 100); do [ -f "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "espfab demo exited $(cat "$T/exit" 2>/dev/null)"
# the manifest of the kept folder records the same payload
KEPT=$(sed -n 's/^espfab demo: files kept in //p' "$T/stderr")
[ -d "$KEPT" ] || fail "kept folder missing"
grep -rqF -- "$QR" "$KEPT/out" || fail "the manifest does not record $QR"
# the simulator is gone
pgrep -f "espfab-sim.*$KEPT" >/dev/null && fail "espfab-sim still running"

# the provisioned flash decodes: from the file, and from a simulated chip holding it
check_view() {
	"$PY" - "$1" <<'EOF' || fail "inspect of the provisioned flash ($1)"
import json, sys
v = json.load(open(sys.argv[1]))
assert v["problems"] == 0, v["problems"]
parts = {p["name"]: p for p in v["partitions"]}
assert parts["esp_secure_cert"]["status"] == "ok"
names = [e["type_name"] for e in parts["esp_secure_cert"]["decoded"]["entries"]]
assert "DEV_CERT" in names and "CA_CERT" in names, names
cf = parts["fctry"]["decoded"]["namespaces"]["chip-factory"]
assert cf["serial-num"]["value"] == "DEMO-0001"
EOF
}
if [ -n "$PY" ]; then
	"$ESPFAB" inspect "$KEPT/flash.bin" --json > "$T/file.json" || fail "inspect of the kept flash exited $?"
	check_view "$T/file.json"
	SIM=${ESPFAB_SIM_BIN:-$(dirname "$ESPFAB")/espfab-sim}
	: > "$T/sim.out"
	"$SIM" --chip esp32h2 --tcp 0 --flash "$KEPT/flash.bin" --efuse "$KEPT/efuse.bin" > "$T/sim.out" 2>/dev/null &
	SIMPID=$!
	for i in $(seq 50); do grep -q "^tcp " "$T/sim.out" && break; sleep 0.1; done
	ADDR=$(sed -n 's/^tcp //p' "$T/sim.out")
	timeout 300 "$ESPFAB" inspect --port "socket://$ADDR" --json --manifest "$(find "$KEPT/out" -name manifest.csv | head -1)" \
		> "$T/dev.json" 2> "$T/dev.err"
	rc=$?
	kill $SIMPID 2>/dev/null
	[ $rc = 0 ] || { cat "$T/dev.err"; fail "inspect --port exited $rc"; }
	check_view "$T/dev.json"
	"$PY" - "$T/dev.json" <<'EOF' || fail "manifest diff of the provisioned device"
import json, sys
d = {x["field"]: x for x in json.load(open(sys.argv[1]))["manifest_diff"]}
assert all(x["match"] for x in d.values()), d
assert {"serial", "mac", "discriminator"} <= set(d), d
EOF
fi
# the ds path (ESP32-C3): HMAC key burned for the DS peripheral, to the result screen
tm new-session -d -s demo3 -x 80 -y 24 \
	"XDG_CACHE_HOME='$T/cache' TMPDIR='$T' LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' demo --chip esp32c3 --auto; sleep 60"
for i in $(seq 2400); do
	tm capture-pane -p -t demo3 | grep -q "Device provisioned\|run failed" && break
	sleep 0.1
done
tm capture-pane -p -t demo3 | grep -q "Device provisioned" ||
	{ tm capture-pane -p -t demo3; fail "the ESP32-C3 demo did not finish"; }
tm send-keys -t demo3 F3
sleep 0.5
tm capture-pane -p -t demo3 | grep -q "ok BURN! burn the DS HMAC key" || fail "no DS HMAC key burned on the C3"
tm send-keys -t demo3 q

# without --keep the demo leaves nothing behind, and its simulator is gone
mkdir -p "$T/t2"
tm new-session -d -s demo2 -x 80 -y 24 \
	"XDG_CACHE_HOME='$T/cache' TMPDIR='$T/t2' LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' demo; echo \$? > '$T/exit2'; sleep 60"
for i in $(seq 300); do tm capture-pane -p -t demo2 | grep -qF "plan ready: r runs it" && break; sleep 0.1; done
D2=$(ls -d "$T"/t2/espfab-demo-* 2>/dev/null | head -1)
[ -n "$D2" ] || fail "no temporary folder while the demo runs"
tm send-keys -t demo2 q
for i in $(seq 100); do [ -f "$T/exit2" ] && break; sleep 0.1; done
[ "$(cat "$T/exit2" 2>/dev/null)" = 0 ] || fail "demo without --keep exited $(cat "$T/exit2" 2>/dev/null)"
[ -z "$(ls -A "$T/t2")" ] || fail "the demo left $(ls "$T/t2") behind"
pgrep -f "espfab-sim.*$D2" >/dev/null && fail "espfab-sim of the demo still running"

echo "ok: demo --auto to the result screen, QR decoded to $QR, manual code, readback, manifest, inspect of file and device"
