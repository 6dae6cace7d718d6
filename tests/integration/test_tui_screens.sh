#!/bin/bash
# The TUI in a real terminal (tmux, 80x24): a recorded run is replayed as the backend
# (espfab tui --replay), and send-keys walks every screen: start (port and profile pickers),
# flow (device panel, plan with the irreversible step marked, a wrong confirmation refused, BURN
# accepted, progress with rate and ETA), result (QR turned back into an image and decoded by
# zbarimg, manual code 4-3-4, serial, MAC), inspector, help overlay, resizes, quit.
set -u
ESPFAB=${ESPFAB_BIN:-}
[ -x "$ESPFAB" ] || { echo "ESPFAB_BIN not set"; exit 77; }
command -v tmux >/dev/null || { echo "tmux missing"; exit 77; }
PY=$(command -v python3 || true)

T=$(mktemp -d)
TUI_SESSION=tui
. "$(dirname "$0")/tmux_screen.sh"
cleanup() { tm kill-server 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "---- screen ----"
	tm capture-pane -p -t tui 2>/dev/null
	exit 1
}
# the screen may still be catching up with the last key on a loaded machine: wait a little
assert_screen() { wait_for "$1" 3; }
assert_not_screen() { ! screen | grep -qF -- "$1" || fail "screen shows '$1'"; }

QR='MT:Y.K9042C00KA0648G00'
mkdir -p "$T/profiles"
printf '[product]\nvendor_id = 0xFFF1\n' > "$T/profiles/a-light.ini"
printf '[product]\nvendor_id = 0xFFF1\n' > "$T/profiles/b-plug.ini"
cat > "$T/run.jsonl" <<EOF
{"await":"detect"}
{"event":"log","level":"info","text":"connected to the ROM loader"}
{"event":"chip","info":{"chip":"esp32h2","description":"ESP32-H2","rev_major":0,"rev_minor":1,"mac":"60:55:f9:00:00:01","flash_size":4194304,"crystal_mhz":32,"security":{"crypt_cnt":0,"secure_boot":false,"key_blocks":[{"block":"KEY0","purpose":0,"empty":true},{"block":"KEY1","purpose":"HMAC_UP","empty":false,"rd_dis":true}]}}}
{"event":"plan","steps":[{"id":"detect","text":"Detect chip"},{"id":"generate","text":"Generate DAC, verifier, partitions"},{"id":"burn-ecdsa-key","text":"Burn DAC key into KEY0","irreversible":true},{"id":"write-esp_secure_cert","text":"Write esp_secure_cert at 0xd000"},{"id":"write-fctry","text":"Write fctry at 0x3e0000"},{"id":"verify","text":"Read back and verify"}]}
{"await":"run"}
{"event":"step","step":"detect","state":"done"}
{"event":"step","step":"generate","state":"done"}
{"event":"need_confirm","step":"burn-ecdsa-key","text":"Burn the DAC key into KEY0 of ESP32-H2 60:55:f9:00:00:01"}
{"await":"confirm"}
{"event":"step","step":"burn-ecdsa-key","state":"done"}
{"event":"step","step":"write-esp_secure_cert","state":"done"}
{"event":"step","step":"write-fctry","state":"running"}
{"event":"progress","step":"write-fctry","done":8192,"total":24576,"bytes_per_s":11520.0}
{"sleep_ms":2500}
{"event":"progress","step":"write-fctry","done":24576,"total":24576,"bytes_per_s":11520.0}
{"event":"step","step":"write-fctry","state":"done"}
{"event":"step","step":"verify","state":"done"}
{"event":"payload","qr":"$QR","manual":"34970112332"}
{"event":"done","result":0,"summary":{"serial":"H2L-000001","mac":"60:55:f9:00:00:01"}}
{"await":"print"}
{"event":"error","code":3,"text":"print failed: $T/label.png: No space left on device"}
{"event":"done","result":3,"summary":{"result":"print-failed","target":"$T/label.png","format":"png","error":"$T/label.png: No space left on device"}}
{"await":"print"}
{"event":"log","level":"info","text":"label of H2L-000001 written to $T/label.png (png)"}
{"event":"done","result":0,"summary":{"result":"printed","target":"$T/label.png","format":"png","serial":"H2L-000001","job":0}}
{"await":"readback"}
{"event":"partition","name":"fctry","view":{"format":"nvs","status":"corrupt","problem":"page 0 entry 3: entry CRC mismatch","decoded":{"namespaces":{"chip-factory":{"serial-num":{"type":"string","value":"H2L-000001"}}}}}}
EOF

tm new-session -d -s tui -x 80 -y 24 \
	"cd '$T' && LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' tui --replay run.jsonl --port /dev/ttyFAKE0 --profiles-dir '$T/profiles' --label-file '$T/label.png'; echo \$? > '$T/exit'; sleep 60" ||
	fail "tmux did not start"

# ---- start screen ----
wait_for "Serial port"
assert_screen "/dev/ttyFAKE0"
assert_screen "a-light.ini"
assert_screen "b-plug.ini"
assert_screen "Profile: $T/profiles/a-light.ini"
# mouse (optional): a click on a row selects it (an X10 mouse report typed into the pane)
click() {
	local b
	for b in 0 3; do
		tm send-keys -t tui -l "$(printf '\033[M%b%b%b' "\\0$(printf %o $((32 + b)))" \
			"\\0$(printf %o $((33 + $1)))" "\\0$(printf %o $((33 + $2)))")"
	done
	sleep 0.3
}
row=$(screen | grep -n "b-plug.ini" | head -1 | cut -d: -f1)
click 10 $((row - 1))
wait_for "Profile: $T/profiles/b-plug.ini"
keys Up
wait_for "Profile: $T/profiles/a-light.ini"
keys Down
wait_for "Profile: $T/profiles/b-plug.ini"
keys Enter

# ---- flow screen: device panel and plan ----
wait_for "ESP32-H2"
wait_for "Plan: 0/6 steps"
assert_screen "60:55:f9:00:00:01"
assert_screen "Revision    v0.1"
assert_screen "Flash       4 MB"
assert_screen "KEY1        HMAC_UP RD"
screen | grep -F "Burn DAC key into KEY0" | grep -qF "BURN!" || fail "irreversible step not marked"
screen | grep -F "Write fctry" | grep -qF "BURN!" && fail "a reversible step is marked"
assert_screen "> detect /dev/ttyFAKE0"
keys r
# a single key is never a confirmation, a wrong word burns nothing
wait_for "IRREVERSIBLE"
keys y Enter
wait_for "is not BURN: nothing was burned"
assert_screen "IRREVERSIBLE"
screen | grep -F "Burn DAC key into KEY0" | grep -qF "ok" && fail "step done without confirmation"
keys B U R N Enter
wait_for "confirm burn-ecdsa-key"
wait_for "ETA"
screen | grep -F "33%" | grep -qF "11.2 KiB/s" || fail "progress line lacks rate or percentage"

# ---- result screen ----
wait_for "Device provisioned" 15
assert_screen "3497-011-2332"
assert_screen "$QR"
assert_screen "Serial  H2L-000001"
assert_screen "MAC     60:55:f9:00:00:01"

# the QR on screen, turned back into an image, decodes to the payload
decode_qr() {
	[ -n "$PY" ] && command -v zbarimg >/dev/null || return 77
	screen > "$T/cap.txt"
	local inv=normal
	grep -qF "light on dark (inverted)" "$T/cap.txt" && inv=inverted
	"$PY" - "$T/cap.txt" "$T/qr.pbm" "$inv" <<'PYEOF' || return 1
import sys
text = open(sys.argv[1], encoding="utf-8").read().split("\n")
inverted = sys.argv[3] == "inverted"
glyph = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}
rows = [l for l in text if any(c in "\u2580\u2584\u2588" for c in l)]
if not rows:
    sys.exit("no half-block rows on screen")
left = min(min(i for i, c in enumerate(l) if c in "\u2580\u2584\u2588") for l in rows)
# the symbol ends where the half blocks end (the info box starts further right with a border)
right = max(max(i for i, c in enumerate(l) if c in "\u2580\u2584\u2588") for l in rows) + 1
bits = []
for l in rows:
    l = l.ljust(right)
    top = [glyph.get(c, (0, 0))[0] for c in l[left:right]]
    bot = [glyph.get(c, (0, 0))[1] for c in l[left:right]]
    bits += [top, bot]
if inverted:
    bits = [[1 - v for v in r] for r in bits]
w, h, pad, s = right - left, len(bits), 6, 6
with open(sys.argv[2], "w") as f:
    f.write("P1\n%d %d\n" % ((w + 2 * pad) * s, (h + 2 * pad) * s))
    for y in range(h + 2 * pad):
        row = []
        for x in range(w + 2 * pad):
            yy, xx = y - pad, x - pad
            v = bits[yy][xx] if 0 <= yy < h and 0 <= xx < w else 0
            row += [str(v)] * s
        line = " ".join(row) + "\n"
        f.write(line * s)
PYEOF
	zbarimg -q --raw "$T/qr.pbm" 2>/dev/null | head -1
}
got=$(decode_qr); rc=$?
if [ $rc -eq 77 ]; then
	echo "python3 or zbarimg missing: QR decode not checked"
else
	[ "$got" = "$QR" ] || fail "QR on screen decodes to '$got', expected '$QR'"
	# inverted glyphs (v) are still the same symbol
	keys v
	wait_for "light on dark (inverted)"
	got=$(decode_qr) && [ "$got" = "$QR" ] || fail "inverted QR decodes to '$got'"
	keys v
	wait_for "QR: dark on light"
fi

# ---- print: a PRINT command to the backend, whose answer (DONE of the label job, replayed
# here: a failure, then a success) shows on the status line and in the info box; the run's own
# result stays. The real backend's label file is checked in test_tui_demo. ----
keys p
for i in $(seq 50); do screen | tail -1 | grep -qF "print failed: $T/label.png: No space left" && break; sleep 0.1; done
screen | tail -1 | grep -qF "print failed: $T/label.png: No space left" || fail "status line lacks the print failure"
assert_screen "Label   print failed:"
assert_screen "Result  ok"
assert_screen "Device provisioned"
keys p
for i in $(seq 50); do screen | tail -1 | grep -qF "printed to $T/label.png" && break; sleep 0.1; done
screen | tail -1 | grep -qF "printed to $T/label.png" || fail "status line lacks 'printed to'"
assert_screen "Label   printed to"
assert_screen "Result  ok"

# ---- help overlay: generated from the key table ----
keys '?'
wait_for "Help: Result"
assert_screen "print the label"
assert_screen "next device"
assert_screen "invert the QR colours"
keys Space
for i in $(seq 20); do screen | grep -qF "Help: Result" || break; sleep 0.2; done
assert_not_screen "Help: Result"

# ---- resize keeps the layout sane ----
tm resize-window -t tui -x 100 -y 30
for i in $(seq 30); do
	[ "$(screen | wc -l)" -eq 30 ] && screen | head -1 | grep -q "^ espfab | Result" && break
	sleep 0.2
done
screen | head -1 | grep -q "^ espfab | Result" || fail "title line lost after resize"
[ "$(screen | wc -l)" -eq 30 ] || fail "not 30 lines after resize"
assert_screen "3497-011-2332"
if [ -n "$PY" ] && command -v zbarimg >/dev/null; then
	got=$(decode_qr) && [ "$got" = "$QR" ] || fail "QR after resize decodes to '$got'"
fi
tm resize-window -t tui -x 50 -y 15
sleep 0.6
wait_for "terminal too small"
tm resize-window -t tui -x 80 -y 24
wait_for "Device provisioned"
for i in $(seq 30); do screen | tail -1 | grep -qF "?:help" && break; sleep 0.2; done
screen | tail -1 | grep -qF "?:help" || fail "status line lost after resize"

# ---- other screens ----
keys F3
wait_for "Plan: 6/6 steps - done"
keys '?'
wait_for "Help: Flow"
assert_screen "answer the pending confirmation (type BURN)"
keys Escape
keys F5
wait_for "nothing read back yet"
keys R
wait_for "reading back 2 partition(s)"
wait_for "page 0 entry 3: entry CRC mismatch"
assert_screen "serial-num: H2L-000001"
keys F2
wait_for "Serial port"

# ---- quit ----
keys q
for i in $(seq 50); do [ -f "$T/exit" ] && break; sleep 0.1; done
[ "$(cat "$T/exit" 2>/dev/null)" = 0 ] || fail "espfab tui did not exit 0"
tm kill-session -t tui 2>/dev/null

# ---- `espfab` alone is the TUI; --mono draws the QR light on dark and it still decodes ----
cat > "$T/short.jsonl" <<EOF
{"await":"detect"}
{"event":"payload","qr":"$QR","manual":"34970112332"}
{"event":"done","result":0,"summary":{"serial":"H2L-000002","mac":"60:55:f9:00:00:02"}}
EOF
tm new-session -d -s tui -x 80 -y 24 \
	"cd '$T/profiles' && LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB'; echo \$? > '$T/exit2'; sleep 60" ||
	fail "tmux did not start"
wait_for "Serial port"
wait_for "Profile ("
keys q
for i in $(seq 50); do [ -f "$T/exit2" ] && break; sleep 0.1; done
[ "$(cat "$T/exit2" 2>/dev/null)" = 0 ] || fail "espfab without arguments did not run the TUI"
tm kill-session -t tui 2>/dev/null
tm new-session -d -s tui -x 80 -y 24 \
	"cd '$T' && LANG=C.UTF-8 LC_ALL=C.UTF-8 '$ESPFAB' tui --mono --replay short.jsonl --port /dev/ttyFAKE1 --profile '$T/profiles/a-light.ini'; sleep 60" ||
	fail "tmux did not start"
wait_for "Serial port"
keys Enter
wait_for "QR: light on dark (inverted)"
assert_screen "Serial  H2L-000002"
if [ -n "$PY" ] && command -v zbarimg >/dev/null; then
	got=$(decode_qr) && [ "$got" = "$QR" ] || fail "monochrome QR decodes to '$got'"
fi
echo "ok: start, flow, confirmation, progress, result + QR decode, help, resize, inspector, quit, no-argument start, monochrome"
